"""Where a command runs: the library's choice of engine, so the CLI (or any caller) only
names one.

``local`` streams and partitions files on this machine (a table read from standard input is
read whole); ``spark`` runs the same stages on PySpark (``pip install 'privseg[spark]'``),
bringing back only exact synopses, released numbers or (for apply and segment) the output.
Every input read is reported to an ``InputRecorder`` (e.g. ``privseg.audit.RunRecorder``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from privseg.anonymity.classes import ClassCounts, count_classes, spark_class_counts
from privseg.dp.cells import ExactCounts, ExactSums
from privseg.dp.kmeans_release import KMeansSource
from privseg.dp.quantiles import QuantileRows
from privseg.dp.types import Bounding
from privseg.engines.apply import apply_file
from privseg.engines.partitioned import assign_files, count_file
from privseg.errors import InputError
from privseg.io import iter_table, read_table, write_table
from privseg.manifest import Manifest
from privseg.policy import Policy, PolicyKeys
from privseg.publish import Staging, staged
from privseg.segments import Schemes, assign

__all__ = [
    "Engine",
    "InputRecorder",
    "apply",
    "assign_segments",
    "class_counts_input",
    "count_input",
    "kmeans_input",
    "quantile_input",
    "read_recorded",
    "spark_session",
    "sums_input",
]


class Engine(StrEnum):
    """Where a command runs."""

    LOCAL = "local"
    SPARK = "spark"


class InputRecorder(Protocol):
    """What is told of each input read (``privseg.audit.RunRecorder`` is one)."""

    def add_input(
        self, path: str | Path, *, rows: int | None = None, columns: Sequence[str] = ()
    ) -> None:
        """Record an input with its row count and columns."""
        ...  # pragma: no cover


@contextmanager
def spark_session() -> Iterator[Any]:
    """The active Spark session, or a local one started (and stopped) for this command."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as error:
        raise InputError("--engine spark needs pyspark: pip install 'privseg[spark]'") from error
    from privseg.engines import spark

    active = SparkSession.getActiveSession()
    session = active if active is not None else spark.session()
    if active is None:
        session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        if active is None:
            session.stop()


def read_recorded(
    source: Path, record: InputRecorder, *, encoding: str | None = None
) -> pd.DataFrame:
    """Read a table (``-``: standard input) and record it as an input."""
    table = read_table(source, encoding=encoding)
    if str(source) != "-":
        record.add_input(source, rows=len(table), columns=list(table.columns))
    return table


@contextmanager
def _spark_table(source: Path, record: InputRecorder) -> Iterator[Any]:
    """``source`` read on Spark (a local session unless one is active), its input recorded."""
    from privseg.engines import spark

    with spark_session() as session:
        df = spark.read_table(session, source)
        record.add_input(source, rows=df.count(), columns=spark.data_columns(df))
        yield df


# -- risk, apply and segments --------------------------------------------------------------
def class_counts_input(
    engine: Engine,
    source: Path,
    *,
    quasi: Sequence[str],
    sensitive: Sequence[str],
    record: InputRecorder,
    encoding: str | None = None,
) -> ClassCounts:
    """What ``privseg risk`` reads: records per quasi-identifier (+ sensitive) combination,
    counted chunk by chunk locally or with one ``groupBy`` on Spark."""
    if engine is Engine.SPARK:
        with _spark_table(source, record) as df:
            return spark_class_counts(df, quasi, sensitive)
    columns = [*quasi, *sensitive]
    chunks = iter_table(source, encoding=encoding, columns=columns or None)
    counts = count_classes(chunks, quasi, sensitive)
    if str(source) != "-":
        record.add_input(source, rows=counts.rows, columns=columns)
    return counts


def apply(
    engine: Engine,
    source: Path,
    policy: Policy,
    keys: PolicyKeys,
    out: Path,
    *,
    full: bool = False,
    encoding: str | None = None,
    staging: Staging | None = None,
) -> Manifest:
    """``apply_file`` on ``engine`` (``full`` screening needs the local engine), then the
    policy's risk gate on the output (``privseg.anonymity.gate``): the manifest carries its
    ``risk`` entry; a refusal raises PolicyRefusal. The output and manifest are staged
    (``privseg.publish``) in ``staging``, or published at the end when it is None: a refusal
    publishes nothing."""
    from privseg.anonymity.gate import gate_file, update_manifest

    with staged(staging) as files:
        if engine is not Engine.SPARK:
            manifest = apply_file(
                source, policy, keys, out, full=full, encoding=encoding, staging=files
            )
        elif full:
            raise InputError("full screening needs the local engine (Spark screens the first rows)")
        else:
            from privseg.engines import spark

            with spark_session() as session:
                manifest = spark.apply_file(session, source, policy, keys, out, staging=files)
        gate = gate_file(source, out, policy, encoding=encoding, staged=files.where(out))
        return manifest if gate is None else update_manifest(manifest, gate, files)


def assign_segments(
    engine: Engine,
    sources: tuple[Path, Path, Path],
    schemes: Schemes,
    *,
    as_of: date,
    out: Path,
    record: InputRecorder,
    encoding: str | None = None,
) -> tuple[int, list[str]]:
    """Segment labels of (customers, orders, interactions) written to ``out``: its rows and
    columns. Files are partitioned by unit locally; standard input is read whole."""
    if engine is Engine.SPARK:
        from privseg.engines import spark

        with spark_session() as session:
            frames = [spark.read_table(session, source) for source in sources]
            for source, frame in zip(sources, frames, strict=True):
                record.add_input(source, rows=frame.count(), columns=spark.data_columns(frame))
            c, o, i = frames
            labels = spark.assign_segments(c, o, i, schemes, as_of=as_of)
            return spark.collect_to(labels, out), list(labels.columns)
    if "-" not in map(str, sources):
        run = assign_files(*sources, schemes, as_of=as_of, out=out, encoding=encoding)
        for stats in run.inputs:
            record.add_input(stats.path, rows=stats.rows, columns=list(stats.columns))
        return run.rows, list(run.columns)
    c, o, i = (read_recorded(source, record, encoding=encoding) for source in sources)
    table = assign(c, o, i, schemes, as_of=as_of)
    write_table(table, out)
    return len(table), list(table.columns)


# -- release inputs -------------------------------------------------------------------------
def count_input(
    engine: Engine,
    source: Path,
    *,
    by: Sequence[str],
    keys: Mapping[str, Sequence[str]],
    bounding: Bounding,
    record: InputRecorder,
) -> pd.DataFrame | ExactCounts:
    """What ``release_counts`` reads: the exact bounded counts of a file (out of core or on
    Spark), or standard input's table."""
    if engine is Engine.SPARK:
        from privseg.engines import spark

        with _spark_table(source, record) as df:
            return spark.exact_counts(df, by=by, keys=keys, bounding=bounding)
    if str(source) == "-":
        return read_recorded(source, record)
    run = count_file(source, by=by, keys=keys, bounding=bounding)
    record.add_input(source, rows=run.input.rows, columns=list(run.input.columns))
    return run.exact


def sums_input(
    engine: Engine,
    source: Path,
    *,
    by: Sequence[str],
    keys: Mapping[str, Sequence[str]],
    value: str,
    bounds: Mapping[str, tuple[float, float]],
    bounding: Bounding,
    record: InputRecorder,
) -> pd.DataFrame | ExactSums:
    """What ``release_means`` reads: exact counts and clipped sums on Spark, or the table."""
    if engine is not Engine.SPARK:
        return read_recorded(source, record)
    from privseg.engines import spark

    with _spark_table(source, record) as df:
        return spark.exact_sums(df, by=by, keys=keys, value=value, bounds=bounds, bounding=bounding)


@contextmanager
def quantile_input(
    engine: Engine, source: Path, record: InputRecorder
) -> Iterator[pd.DataFrame | QuantileRows]:
    """What ``release_quantiles`` reads: the table, or its rows kept on Spark meanwhile."""
    if engine is not Engine.SPARK:
        yield read_recorded(source, record)
        return
    from privseg.engines import spark

    with _spark_table(source, record) as df:
        yield spark.SparkRows(df)


@contextmanager
def kmeans_input(
    engine: Engine,
    source: Path,
    *,
    features: Sequence[str],
    bounds: Mapping[str, tuple[float, float]],
    bounding: Bounding,
    record: InputRecorder,
) -> Iterator[pd.DataFrame | KMeansSource]:
    """What ``release_kmeans`` reads: the table, or its rows kept on Spark meanwhile."""
    if engine is not Engine.SPARK:
        yield read_recorded(source, record)
        return
    from privseg.engines import spark

    with (
        _spark_table(source, record) as df,
        spark.kmeans_source(df, features=features, bounds=bounds, bounding=bounding) as rows,
    ):
        yield rows
