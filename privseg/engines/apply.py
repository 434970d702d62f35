"""``apply`` on this machine: screen, plan, enforce and write a table of any size in chunks."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pandas as pd

from privseg._files import file_sha256
from privseg.engines.pool import WORKERS, EnforcePool, worker_result
from privseg.engines.streaming import WriteBehind, prefetched
from privseg.errors import InputError
from privseg.io import Fingerprint, iter_table, open_table, open_table_writer
from privseg.manifest import Manifest, manifest_path, output_columns
from privseg.policy import Plan, Policy, PolicyKeys, enforce, input_columns, plan, unscreened_plan
from privseg.publish import Staging, guard_output, staged
from privseg.screening import ScreenReport, load_recognizers, screen
from privseg.screening.reservoir import StreamSample
from privseg.screening.scan import warm_up

__all__ = ["APPLY_CHUNK_ROWS", "apply_file"]

#: Rows per chunk of a streamed ``apply``: a few chunks in flight stay far below 1.5 GB.
APPLY_CHUNK_ROWS = 100_000
#: Chunks in flight per worker process.
_IN_FLIGHT_PER_WORKER = 2


def _merge_reports(reports: Sequence[ScreenReport]) -> ScreenReport:
    """One report from full screens of consecutive chunks: a column has every category found."""
    first = reports[0]
    columns = []
    for i, verdict in enumerate(first.columns):
        found = [r.columns[i] for r in reports]
        categories = tuple(dict.fromkeys(c for v in found for c in v.categories))
        columns.append(
            replace(
                verdict,
                categories=categories,
                sensitive=any(v.sensitive for v in found),
                evidence=tuple(e for v in found for e in v.evidence),
                examined=sum(v.examined for v in found),
            )
        )
    return replace(
        first,
        rows=sum(r.rows for r in reports),
        rows_examined=sum(r.rows_examined for r in reports),
        columns=tuple(columns),
    )


def _with_whole_file(first: ScreenReport, whole: ScreenReport) -> ScreenReport:
    """The first chunk's report with each column also given what the whole-file sample found
    (categories and evidence of both: a finding is never lost, row order hides none)."""
    sampled = {v.name: v for v in whole.columns}
    columns = []
    for verdict in first.columns:
        other = sampled.get(verdict.name)
        if other is not None:
            verdict = replace(
                other,
                categories=tuple(dict.fromkeys(verdict.categories + other.categories)),
                sensitive=other.sensitive or verdict.sensitive,
                evidence=other.evidence + verdict.evidence,
            )
        columns.append(verdict)
    return replace(
        first,
        rows=whole.rows,
        rows_examined=max(first.rows_examined, whole.rows_examined),
        columns=tuple(columns),
    )


def apply_file(
    source: str | Path,
    policy: Policy,
    keys: PolicyKeys,
    out: str | Path,
    *,
    full: bool = False,
    encoding: str | None = None,
    chunk_rows: int = APPLY_CHUNK_ROWS,
    staging: Staging | None = None,
) -> Manifest:
    """Screen ``source``, plan ``policy`` against it, enforce, write ``out`` and its manifest.

    Both files are written to ``staging`` (``privseg.publish``; its owner, e.g.
    ``audit.run``, publishes them after the audit record), or published at the end when
    ``staging`` is None. ``out`` or its manifest being ``source`` raises FileAccessError.

    The table is streamed in chunks of ``chunk_rows`` rows (memory stays bounded whatever
    its size). Reading, enforcing (whole chunks in two worker processes, reading only the
    columns with an output) and writing overlap. The actions follow from the policy and the
    header alone; the verdict comes from a sample of the whole file (the first values of each
    column and a reservoir sample of the rest, :class:`~privseg.screening.reservoir.StreamSample`,
    taken while streaming; the first chunk's sampling screen, run in a worker, adds to it and
    can refuse early), so row order cannot hide a sensitive column. The output stays a
    temporary file until the verdict has passed. ``full`` screens every chunk in a first pass
    instead. A refusal leaves no output. The policy's ``recognizers`` file, if any, is used. Returns the manifest: input fingerprint, policy
    sha256, per-column action and categories found, key ids (never keys), output fingerprint.
    """
    source, out = Path(source), Path(out)
    if str(source) == "-":
        raise InputError("apply needs a file (its fingerprint goes into the manifest), not stdin")
    for dest in (out, manifest_path(out)):
        guard_output(dest, [source])
    with staged(staging) as files:
        return _apply_staged(source, policy, keys, out, files, full, encoding, chunk_rows)


def _apply_staged(
    source: Path,
    policy: Policy,
    keys: PolicyKeys,
    out: Path,
    staging: Staging,
    full: bool,
    encoding: str | None,
    chunk_rows: int,
) -> Manifest:
    """``apply_file`` writing into ``staging``."""
    first_pass = open_table(source, chunk_rows=chunk_rows, encoding=encoding).chunks
    first = next(first_pass)
    del first_pass  # the last reference: the reader closes
    provisional = unscreened_plan(policy, first.columns, source=source)  # a mismatch raises
    custom = None if policy.recognizers is None else load_recognizers(policy.recognizers)
    the_plan: Plan | None = None
    if full:  # a refusal raises before any worker starts
        the_plan = plan(
            policy,
            _merge_reports(
                [
                    screen(c, full=True, recognizers=custom)
                    for c in iter_table(source, chunk_rows=chunk_rows, encoding=encoding)
                ]
            ),
        )
    pool = EnforcePool.start(provisional, keys, first)
    screening: Future[ScreenReport] | None = None
    first_report: ScreenReport | None = None
    if the_plan is None:
        if pool is None:
            first_report = screen(first)
            plan(policy, first_report)  # a refusal raises now
        else:
            screening = pool.screen_first()
    whole = None if the_plan is not None else StreamSample()
    warming = None if whole is None else warm_up()  # presidio, for the whole-file sample
    del first

    with ThreadPoolExecutor(1, thread_name_prefix="privseg-sha256") as hashing:
        input_sha = hashing.submit(file_sha256, source)
        # Second pass over the whole file, reading only the columns with an output.
        chunks = iter_table(
            source, chunk_rows=chunk_rows, encoding=encoding, columns=input_columns(provisional)
        )
        rows = 0
        pending: deque[Future[pd.DataFrame]] = deque()
        try:
            written = staging.path(out)
            with open_table_writer(written) as writer, WriteBehind(writer.write) as behind:
                for chunk in prefetched(chunks):
                    if first_report is None and screening is not None and screening.done():
                        first_report = worker_result(screening)
                        plan(policy, first_report)  # a refusal raises now
                    if whole is not None:
                        whole.add(chunk)
                    rows += len(chunk)
                    if pool is None:
                        behind.submit(enforce(provisional, chunk, keys))
                        continue
                    pending.append(pool.enforce(chunk))
                    if len(pending) >= WORKERS * _IN_FLIGHT_PER_WORKER:
                        behind.submit(worker_result(pending.popleft()))
                # screened while the workers finish their last chunks
                sampled = None
                if whole is not None and warming is not None:
                    warming.join()
                    sampled = whole.report(str(source), recognizers=custom)
                while pending:
                    behind.submit(worker_result(pending.popleft()))
                if the_plan is None:  # the output is committed only once screened
                    assert sampled is not None
                    if first_report is None:
                        assert screening is not None
                        first_report = worker_result(screening)
                    the_plan = plan(policy, _with_whole_file(first_report, sampled))
        except BaseException:
            if pool is not None:  # a stuck worker would never finish: do not wait for it
                pool.kill()
                pool = None
            raise
        finally:
            if pool is not None:
                pool.shutdown()
        input_fp = Fingerprint(input_sha.result(), rows, tuple(s.column for s in the_plan.columns))
    output_fp = Fingerprint(file_sha256(written), writer.rows, tuple(output_columns(the_plan)))
    manifest = Manifest.of(the_plan, keys, source, input_fp, out, output_fp)
    manifest.write(staging)
    return manifest
