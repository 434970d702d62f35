"""Out-of-core segment assignment and exact counts: hash-partition by customer, then reuse.

Every per-customer result depends only on that customer's rows, so the input tables are
streamed once and split by a hash of the unit column into partitions small enough for memory
(Arrow IPC files in a temporary folder, input order kept within each partition). Each
partition then goes through the in-memory code (``segments.assign``, ``dp.cells.exact_counts``)
unchanged, on two processes; the results are the in-memory results, grouped by partition.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date
from multiprocessing import get_context
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa

from privseg.dp.cells import ExactCounts, exact_counts
from privseg.dp.types import PER_ROW, Bounding
from privseg.engines.streaming import WriteBehind, prefetched
from privseg.errors import InputError
from privseg.io import iter_table, make_parent, open_table_writer
from privseg.lifecycle import die_with_parent
from privseg.segments import Schemes, assign, load_schemes
from privseg.tempdirs import private_dir

__all__ = ["PARTITION_BYTES", "AssignRun", "CountRun", "InputStats", "assign_files", "count_file"]

R = TypeVar("R")
#: Input bytes per partition: two partitions in flight (and their pandas copies) stay under
#: 1.5 GB; Parquet counts ``PARQUET_EXPANSION`` times its size (it is compressed).
PARTITION_BYTES = 160 << 20
PARQUET_EXPANSION = 5
_CHUNK_ROWS = 200_000


@dataclass(frozen=True)
class InputStats:
    """What was read from one input file (for audit records)."""

    path: Path
    rows: int
    columns: tuple[str, ...]


@dataclass(frozen=True)
class AssignRun:
    """An out-of-core assignment: its inputs, the customers written, the partitions used."""

    inputs: tuple[InputStats, ...]
    rows: int
    columns: tuple[str, ...]
    partitions: int


@dataclass(frozen=True)
class CountRun:
    """Out-of-core exact counts (the input of ``release_counts``) and what was read."""

    exact: ExactCounts
    input: InputStats
    partitions: int


@dataclass(frozen=True)
class _Table:
    name: str
    path: Path
    columns: tuple[str, ...]


def _partitions_for(paths: Sequence[Path], partitions: int | None) -> int:
    if partitions is not None:
        if partitions < 1:
            raise InputError(f"partitions must be at least 1, got {partitions}")
        return partitions
    size = sum(
        p.stat().st_size * (PARQUET_EXPANSION if p.suffix == ".parquet" else 1)
        for p in paths
        if p.exists()
    )
    return max(1, math.ceil(size / PARTITION_BYTES))


def _partition_of(units: pd.Series, parts: int) -> np.ndarray:
    """Partition of each row: a fixed (keyless, deterministic) hash of the unit's text."""
    text = units.astype("str").fillna("").to_numpy(dtype=object)
    return np.asarray(pd.util.hash_array(text) % np.uint64(parts), dtype=np.int64)


def _split(
    table: _Table, unit: str, parts: int, folder: Path, encoding: str | None
) -> tuple[list[Path], InputStats]:
    """Stream ``table`` into ``parts`` Arrow IPC files by the hash of ``unit``."""
    paths = [folder / f"{table.name}-{p:04d}.arrow" for p in range(parts)]
    rows, columns = 0, tuple[str, ...]()
    with ExitStack() as stack:
        writers: list[pa.ipc.RecordBatchFileWriter | None] = [None] * parts
        for chunk in prefetched(iter_table(table.path, chunk_rows=_CHUNK_ROWS, encoding=encoding)):
            rows += len(chunk)
            columns = tuple(str(c) for c in chunk.columns)
            missing = [c for c in table.columns if c not in chunk.columns]
            if missing:
                raise InputError(
                    "no such column in the input", source=table.path, column=missing[0]
                )
            arrow = pa.Table.from_pandas(chunk[list(table.columns)], preserve_index=False)
            part = _partition_of(chunk[unit], parts)
            order = np.argsort(part, kind="stable")
            arrow = arrow.take(pa.array(order))
            bounds = np.searchsorted(part[order], np.arange(parts + 1))
            for p in range(parts):
                if bounds[p + 1] == bounds[p]:
                    continue
                piece = arrow.slice(bounds[p], bounds[p + 1] - bounds[p])
                if writers[p] is None:
                    sink = stack.enter_context(pa.OSFile(str(paths[p]), "wb"))
                    writers[p] = stack.enter_context(pa.ipc.new_file(sink, arrow.schema))
                writer = writers[p]
                assert writer is not None
                writer.write_table(piece)
        schema = None
        for p, writer in enumerate(writers):
            if writer is None:  # an empty partition: an empty table with the same columns
                if schema is None:
                    schema = pa.schema([(c, pa.large_string()) for c in table.columns])
                with pa.OSFile(str(paths[p]), "wb") as sink, pa.ipc.new_file(sink, schema):
                    pass
    return paths, InputStats(table.path, rows, columns)


def _read(path: Path) -> pd.DataFrame:
    with pa.memory_map(str(path)) as source:
        return pa.ipc.open_file(source).read_all().to_pandas()


def _assign_part(paths: tuple[Path, Path, Path], schemes: Schemes, as_of: date) -> Path:
    customers, orders, interactions = (_read(p) for p in paths)
    labels = assign(customers, orders, interactions, schemes, as_of=as_of)
    out = paths[0].with_suffix(".labels.arrow")
    table = pa.Table.from_pandas(labels, preserve_index=False)
    with pa.OSFile(str(out), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return out


def _pool(parts: int) -> ProcessPoolExecutor | None:
    """Two worker processes when there are several partitions (spawned: no fork with threads)."""
    workers = min(2, os.cpu_count() or 1, parts)
    if workers < 2:
        return None
    return ProcessPoolExecutor(
        workers,
        mp_context=get_context("spawn"),
        initializer=die_with_parent,
        initargs=(os.getpid(),),
    )


def assign_files(
    customers: str | Path,
    orders: str | Path,
    interactions: str | Path,
    schemes: Schemes | None = None,
    *,
    as_of: date,
    out: str | Path,
    partitions: int | None = None,
    encoding: str | None = None,
) -> AssignRun:
    """``segments.assign`` over files of any size, written to ``out``.

    The rows are the in-memory result's rows, grouped by partition (input order within
    each). ``partitions`` defaults to one per ``PARTITION_BYTES`` of input.
    """
    schemes = schemes if schemes is not None else load_schemes()
    needed = {table.value: names for table, names in schemes.needs().items()}
    tables = [
        _Table(name, Path(path), needed[name])
        for name, path in (
            ("customers", customers),
            ("orders", orders),
            ("interactions", interactions),
        )
    ]
    parts = _partitions_for([t.path for t in tables], partitions)
    unit = schemes.columns.unit
    near = None if str(out) == "-" else make_parent(out)
    with private_dir(near) as tmp:
        split = [_split(t, unit, parts, Path(tmp), encoding) for t in tables]
        jobs = list(zip(*(paths for paths, _ in split), strict=True))
        columns: list[str] = []
        with open_table_writer(out) as writer, WriteBehind(writer.write) as behind:
            for labels in _run(_assign_part, jobs, schemes, as_of):
                frame = _read(labels)
                columns = columns or [str(c) for c in frame.columns]
                if len(frame):
                    behind.submit(frame)
            behind.wait()
    return AssignRun(tuple(stats for _, stats in split), writer.rows, tuple(columns), parts)


def _run(func: Callable[..., R], jobs: list[tuple[Path, ...]], *args: object) -> Iterator[R]:
    """Results of ``func(job, *args)`` in job order, on a process pool when there are several."""
    pool = _pool(len(jobs))
    if pool is None:
        for job in jobs:
            yield func(job, *args)
        return
    with pool:
        yield from pool.map(func, jobs, *([a] * len(jobs) for a in args))


def _count_part(
    path: tuple[Path], by: Sequence[str], keys: Mapping[str, Sequence[str]], bounding: Bounding
) -> ExactCounts:
    return exact_counts(_read(path[0]), by=by, keys=keys, bounding=bounding)


def count_file(
    source: str | Path,
    *,
    by: Sequence[str],
    keys: Mapping[str, Sequence[str]],
    bounding: Bounding = PER_ROW,
    partitions: int | None = None,
    encoding: str | None = None,
) -> CountRun:
    """``dp.cells.exact_counts`` of a file of any size (``.exact`` goes to ``release_counts``).

    With a unit, rows are partitioned by it, so keeping each customer's first
    ``max_rows_per_unit`` rows gives the in-memory result; without one, chunks are counted.
    """
    path = Path(source)
    columns = tuple(dict.fromkeys([*([bounding.unit] if bounding.unit else []), *by]))
    if bounding.unit is None:
        total: ExactCounts | None = None
        rows, names = 0, tuple[str, ...]()
        for chunk in iter_table(path, chunk_rows=_CHUNK_ROWS, encoding=encoding):
            rows += len(chunk)
            names = tuple(str(c) for c in chunk.columns)
            part = exact_counts(chunk, by=by, keys=keys, bounding=bounding)
            total = part if total is None else total + part
        assert total is not None
        return CountRun(total, InputStats(path, rows, names), 1)
    parts = _partitions_for([path], partitions)
    with private_dir() as tmp:
        split, stats = _split(
            _Table("rows", path, columns), bounding.unit, parts, Path(tmp), encoding
        )
        results = list(_run(_count_part, [(p,) for p in split], by, keys, bounding))
    total = results[0]
    for result in results[1:]:
        total = total + result
    return CountRun(total, stats, parts)
