"""The same stages on PySpark DataFrames (extra ``privseg[spark]``): policy, tokens, segments,
counts, sums, means and quantiles.

Executors run privseg's own code on Arrow batches (``mapInArrow``, ``applyInPandas``), so
tokens and labels are bit-identical to the local engine; screening looks at the first rows on
the driver, like the streamed local ``apply``. Releases never add noise on the executors:
``exact_counts`` brings the exact bounded counts (one integer per declared cell) to the
driver, where ``privseg.dp.counts.release_counts`` plans, charges the ledger and draws the
noise once, as for a local table. ``exact_sums`` does the same for a mean release (one count
and one integer grid sum per cell, for ``release_means``); each value is clipped and put on
the grid by ``dp.cells.grid_units`` itself, on the executors. Quantiles (``SparkRows``) need
the values themselves: the driver draws the secret seed, each declared segment's values are
sorted on one executor and only the released quantiles come back. ``kmeans_source`` keeps a
k-means release's rows on the executors: the fit, on the driver, asks them only for exact
counts per grid cell and per-cluster counts and sums (``privseg.dp.kmeans.Synopses``).

Row order: ``read_csv`` numbers rows in file order (``ROW_ID``); bounding (a customer's first
rows) and per-customer sums follow that order, as locally.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from privseg._files import file_sha256
from privseg.dp.cells import ExactCounts, ExactSums, cell_index, grid_units
from privseg.dp.kmeans_release import KMeansSource, kmeans_rows
from privseg.dp.quantiles import QuantileTask
from privseg.dp.types import PER_ROW, Bounding
from privseg.dp.validation import measure_bounds
from privseg.errors import InputError
from privseg.io import Fingerprint, open_table_writer
from privseg.manifest import Manifest, manifest_path, output_columns
from privseg.policy import (
    Plan,
    PolicyKeys,
    enforce,
    plan,
)
from privseg.policy import Policy as _Policy
from privseg.publish import Staging, guard_output, staged
from privseg.screening import screen
from privseg.segments import Schemes, assign, load_schemes

__all__ = [
    "ROW_ID",
    "SCREEN_ROWS",
    "SparkRows",
    "apply_file",
    "apply_policy",
    "assign_segments",
    "collect_to",
    "data_columns",
    "exact_counts",
    "exact_sums",
    "kmeans_source",
    "plan_from_sample",
    "read_csv",
    "read_table",
    "session",
]

#: Column holding each row's position in its file (dropped from outputs).
ROW_ID = "__privseg_row"
#: Rows screened on the driver before a policy is planned (the local engine's first chunk).
SCREEN_ROWS = 100_000
_INTEGER_COLUMNS = ("R", "F", "M", "frequency")
_FLOAT_COLUMNS = ("recency", "monetary")
_TABLE = "__privseg_table"
_TABLES = ("customers", "orders", "interactions")


def session(app: str = "privseg", *, cores: int = 2) -> Any:
    """A local-mode SparkSession for privseg (Arrow on, few shuffle partitions)."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers need privseg's packages
    return (
        SparkSession.builder.master(f"local[{cores}]")
        .appName(app)
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.shuffle.partitions", str(2 * cores))
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )


def read_csv(spark: Any, path: str, *, multiline: bool = True) -> Any:
    """A CSV as written by privseg (RFC 4180 quoting, UTF-8): every column text, rows numbered.

    ``multiline`` (default) keeps quoted line breaks inside cells correct; turn it off for
    faster parallel reads of files known to have none.
    """
    from pyspark.sql import functions as F

    df = (
        spark.read.option("header", True)
        .option("escape", '"')
        .option("multiLine", multiline)
        .option("inferSchema", False)
        .option("mode", "FAILFAST")
        .csv(path)
    )
    return df.withColumn(ROW_ID, F.monotonically_increasing_id())


def data_columns(df: Any) -> list[str]:
    """The columns of a table read by ``read_csv``/``read_table``, without ``ROW_ID``."""
    return [c for c in df.columns if c != ROW_ID]


# -- policy and tokens ------------------------------------------------------------------------
def plan_from_sample(policy: _Policy, df: Any, *, rows: int = SCREEN_ROWS) -> Plan:
    """Screen the first ``rows`` rows on the driver and plan ``policy`` against them."""
    sample = df.orderBy(ROW_ID).limit(rows).toPandas() if ROW_ID in df.columns else None
    if sample is None:
        sample = df.limit(rows).toPandas()
    sample = sample.drop(columns=[ROW_ID], errors="ignore").astype("str")
    return plan(policy, screen(sample))


def apply_policy(the_plan: Plan, df: Any, keys: PolicyKeys) -> Any:
    """``policy.enforce`` on every Arrow batch of ``df``: planned columns out, as text."""
    from pyspark.sql.types import StringType, StructField, StructType

    names = [c for step in the_plan.columns for c in step.output_columns]
    schema = StructType([StructField(n, StringType(), True) for n in names])
    columns = data_columns(df)

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            frame = batch.to_pandas()[columns].astype("str")
            out = enforce(the_plan, frame, keys)
            arrays = [_text(out[n]) for n in names]
            yield pa.RecordBatch.from_arrays(arrays, names=names)

    return df.select(*columns).mapInArrow(run, schema)


def read_table(spark: Any, path: str | Path) -> Any:
    """A CSV (``read_csv``) or Parquet file/folder, rows numbered in file order."""
    from pyspark.sql import functions as F

    text = str(path)
    if text.endswith(".parquet") or (Path(text).is_dir() and any(Path(text).glob("*.parquet"))):
        return spark.read.parquet(text).withColumn(ROW_ID, F.monotonically_increasing_id())
    if not text.endswith((".csv", ".txt")):
        raise InputError("the Spark engine reads CSV or Parquet", source=text)
    return read_csv(spark, text)


def collect_to(df: Any, out: str | Path) -> int:
    """Write a (driver-sized) result to one file atomically like the local engine; its rows."""
    table = df.drop(ROW_ID).toArrow() if ROW_ID in df.columns else df.toArrow()
    with open_table_writer(out) as writer:
        for batch in table.to_batches(max_chunksize=100_000):
            writer.write(batch.to_pandas())
        if table.num_rows == 0:
            writer.write(table.to_pandas())
        return writer.rows


def apply_file(
    spark: Any,
    source: str | Path,
    policy: _Policy,
    keys: PolicyKeys,
    out: str | Path,
    *,
    staging: Staging | None = None,
) -> Manifest:
    """``engines.apply.apply_file`` on Spark: same screening sample, tokens, output and
    manifest, staged and published the same way.

    The output is collected to the driver and written as one file (use ``apply_policy`` and
    Spark's writers for outputs larger than the driver's memory).
    """
    for dest in (out, manifest_path(out)):
        guard_output(dest, [source])
    df = read_table(spark, source)
    the_plan = plan_from_sample(policy, df)
    result = apply_policy(the_plan, df, keys)
    with staged(staging) as files:
        written = files.path(out)
        rows_out = collect_to(result, written)
        rows_in = df.count()
        input_fp = Fingerprint(_sha256(source), rows_in, tuple(data_columns(df)))
        output_fp = Fingerprint(_sha256(written), rows_out, tuple(output_columns(the_plan)))
        manifest = Manifest.of(the_plan, keys, Path(source), input_fp, Path(out), output_fp)
        manifest.write(files)
        return manifest


def _sha256(path: str | Path) -> str:
    target = Path(path)
    if target.is_dir():  # a Parquet folder: hash of its parts in name order
        digest = hashlib.sha256()
        for part in sorted(target.glob("*.parquet")):
            digest.update(file_sha256(part).encode())
        return digest.hexdigest()
    return file_sha256(target)


def _text(values: pd.Series) -> pa.Array:
    """A column as Arrow strings, formatted like privseg's CSV writer formats it."""
    array = pa.array(values, from_pandas=True)
    return array if pa.types.is_string(array.type) else array.cast(pa.string())


# -- segments ---------------------------------------------------------------------------------
def assign_segments(
    customers: Any,
    orders: Any,
    interactions: Any,
    schemes: Schemes | None = None,
    *,
    as_of: date,
    partitions: int = 8,
) -> Any:
    """``segments.assign`` per hash partition of the unit: one row per customer, as locally.

    The three tables are tagged, unioned and grouped by ``pmod(hash(unit), partitions)``;
    each group is put back in file order and assigned with the local code.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType, LongType, StringType, StructField, StructType

    schemes = schemes if schemes is not None else load_schemes()
    unit = schemes.columns.unit
    tables = {"customers": customers, "orders": orders, "interactions": interactions}
    for name, df in tables.items():
        if unit not in df.columns:
            raise InputError("column not found (the scheme file's unit)", source=name, column=unit)
    columns = {name: data_columns(df) for name, df in tables.items()}
    every = list(dict.fromkeys(c for cols in columns.values() for c in cols))
    tagged = None
    for name, df in tables.items():
        part = df.select(
            F.lit(name).alias(_TABLE),
            F.col(ROW_ID)
            if ROW_ID in df.columns
            else F.monotonically_increasing_id().alias(ROW_ID),
            *[
                F.col(c).cast("string") if c in df.columns else F.lit(None).cast("string").alias(c)
                for c in every
            ],
        )
        tagged = part if tagged is None else tagged.unionByName(part)
    assert tagged is not None
    empty = {n: pd.DataFrame({c: pd.Series(dtype="str") for c in columns[n]}) for n in tables}
    labels = assign(
        empty["customers"], empty["orders"], empty["interactions"], schemes, as_of=as_of
    )
    names = list(labels.columns)

    def field(name: str) -> StructField:
        kind = (
            LongType()
            if name in _INTEGER_COLUMNS
            else DoubleType()
            if name in _FLOAT_COLUMNS
            else StringType()
        )
        return StructField(name, kind, True)

    schema = StructType([field(n) for n in names])

    def run(group: pd.DataFrame) -> pd.DataFrame:
        group = group.sort_values(ROW_ID, kind="stable")
        part = {
            n: group.loc[group[_TABLE] == n, columns[n]].reset_index(drop=True).astype("str")
            for n in _TABLES
        }
        out = assign(part["customers"], part["orders"], part["interactions"], schemes, as_of=as_of)
        for n in names:
            if n in _INTEGER_COLUMNS:
                out[n] = out[n].astype("int64")
            elif n in _FLOAT_COLUMNS:
                out[n] = out[n].astype("float64")
            else:
                out[n] = out[n].astype(object).where(out[n].notna(), None)
        return out[names]

    bucket = F.pmod(F.hash(F.col(unit)), F.lit(partitions))
    return tagged.groupBy(bucket.alias("__privseg_bucket")).applyInPandas(run, schema)


# -- exact bounded counts, sums ----------------------------------------------------------------
def _bounded(df: Any, bounding: Bounding, columns: Sequence[str]) -> Any:
    """``df`` with at most ``max_rows_per_unit`` rows per unit (the first in file order)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    wanted = [*columns, *([bounding.unit] if bounding.unit else [])]
    missing = [c for c in wanted if c not in df.columns]
    if missing:
        raise InputError(f"no such columns in the input: {missing}")
    if bounding.unit is None:
        return df
    order = F.col(ROW_ID) if ROW_ID in df.columns else F.monotonically_increasing_id()
    window = Window.partitionBy(bounding.unit).orderBy(order)
    return (
        df.where(F.col(bounding.unit).isNotNull())
        .withColumn("__privseg_rank", F.row_number().over(window))
        .where(F.col("__privseg_rank") <= bounding.max_rows_per_unit)
    )


def _declared(by: Sequence[str], index: pd.MultiIndex) -> Any:
    """A Spark condition: every ``by`` value is one of the declared keys (never null)."""
    from pyspark.sql import functions as F

    declared = F.lit(True)
    for i, column in enumerate(by):
        declared = declared & F.col(column).cast("string").isin(list(index.unique(level=i)))
    return F.coalesce(declared, F.lit(False))


def _positions(rows: list[Any], by: Sequence[str], index: pd.MultiIndex) -> np.ndarray:
    """Position in ``index`` of each collected cell row."""
    found = pd.MultiIndex.from_tuples([tuple(r[c] for c in by) for r in rows], names=list(by))
    return np.asarray(index.get_indexer(found), dtype=np.int64)


def exact_counts(
    df: Any,
    *,
    by: Sequence[str],
    keys: Mapping[str, Sequence[str]],
    bounding: Bounding = PER_ROW,
) -> ExactCounts:
    """``dp.cells.exact_counts`` on Spark: bound rows per unit, count declared cells, collect.

    Only ``len(cells) + 1`` integers reach the driver; pass the result to ``release_counts``.
    """
    from pyspark.sql import functions as F

    index = cell_index(by, keys)
    rows = _bounded(df, bounding, by)
    declared = _declared(by, index)
    cells = [F.col(c).cast("string").alias(c) for c in by]
    grouped = rows.where(declared).groupBy(*cells).count().collect()
    counts = np.zeros(len(index) + 1, dtype=np.int64)
    if grouped:
        counts[_positions(grouped, by, index)] = [r["count"] for r in grouped]
    counts[-1] = rows.where(~declared).count()
    return ExactCounts(counts, index, bounding)


def exact_sums(
    df: Any,
    *,
    by: Sequence[str],
    keys: Mapping[str, Sequence[str]],
    value: str,
    bounds: Mapping[str, tuple[float, float]],
    bounding: Bounding = PER_ROW,
) -> ExactSums:
    """``dp.cells.exact_sums`` on Spark: bound rows per unit, clip ``value`` to its declared
    bounds on the sum grid (``dp.cells.grid_units`` on each batch), count and sum per declared
    cell, collect. Only ``2 * len(cells) + 1`` integers reach the driver; pass the result to
    ``release_means``.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.functions import pandas_udf

    lo, hi = measure_bounds(value, bounds)
    index = cell_index(by, keys)
    rows = _bounded(df, bounding, [*by, value])

    def units(values: pd.Series) -> pd.Series:
        return pd.Series(grid_units(values, lo, hi)).astype("Int64")

    to_units = pandas_udf(units, "long")  # type: ignore[call-overload]  # stubs miss Series
    unit_column = "__privseg_units"
    rows = rows.withColumn(unit_column, to_units(F.col(value)))
    kept = _declared(by, index) & F.col(unit_column).isNotNull()
    cells = [F.col(c).cast("string").alias(c) for c in by]
    grouped = (
        rows.where(kept)
        .groupBy(*cells)
        .agg(F.count(F.lit(1)).alias("n"), F.sum(unit_column).alias("s"))
        .collect()
    )
    counts = np.zeros(len(index) + 1, dtype=np.int64)
    sums = np.zeros(len(index), dtype=np.int64)
    if grouped:
        where = _positions(grouped, by, index)
        counts[where] = [r["n"] for r in grouped]
        sums[where] = [r["s"] for r in grouped]
    counts[-1] = rows.where(~kept).count()
    return ExactSums(counts, sums, index, value, (lo, hi), bounding)


# -- quantiles ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class SparkRows:
    """A Spark DataFrame as the rows of ``dp.quantiles.release_quantiles`` (``QuantileRows``).

    The driver plans, charges the ledger and draws the secret seed (``QuantileTask``); the
    executors bound the rows per unit, keep the declared cells, group by cell
    (``applyInPandas``) and run ``QuantileTask.released`` on each group (values clipped to the
    declared bounds, sorted, a candidate drawn from that cell's seeded stream): only the released numbers
    reach the driver. A group is held whole, so one segment's values (all rows without ``by``)
    must fit in one executor's memory.
    """

    df: Any

    @property
    def columns(self) -> list[str]:
        """The data columns (without ``ROW_ID``)."""
        return data_columns(self.df)

    def cell_quantiles(self, task: QuantileTask) -> np.ndarray:
        """``task.outputs`` of every declared cell (cells without rows: on the driver)."""
        from pyspark.sql import functions as F

        rows = _bounded(self.df, task.bounding, [*task.by, task.value])
        names = [*(f"q{j}" for j in range(len(task.quantiles))), "rows"]
        schema = ", ".join(["cell long", *(f"{n} double" for n in names)])
        index, by = task.index, list(task.by)

        def run(key: tuple[Any, ...], group: pd.DataFrame) -> pd.DataFrame:
            cell = 0
            if index is not None:
                cell = int(_positions([dict(zip(by, key, strict=True))], by, index)[0])
            out = task.outputs(cell, group[task.value])
            return pd.DataFrame([[cell, *out]], columns=["cell", *names])

        if index is None:
            groups = rows.select(task.value).groupBy(F.lit(0).alias("__privseg_cell"))
        else:
            cells = [F.col(c).cast("string").alias(c) for c in by]
            groups = rows.where(_declared(by, index)).select(*cells, task.value).groupBy(*by)
        found = groups.applyInPandas(run, schema).collect()
        empty = pd.Series([], dtype="float64")
        released = np.array([task.outputs(c, empty) for c in range(task.cells)])
        for row in found:
            released[row["cell"]] = [row[n] for n in names]
        return released


# -- k-means ------------------------------------------------------------------------------------
_UNIT_BOX = "__privseg_u"


def _unit_rows(batch: pa.RecordBatch) -> np.ndarray:
    """The unit-box coordinates of a batch of ``kmeans_source`` rows (one column per feature)."""
    return np.column_stack([column.to_numpy() for column in batch.columns]).astype(np.float64)


class _SparkSynopses:
    """``kmeans.Synopses`` of persisted unit-box rows: each partition computes its part with
    ``kmeans.ArraySynopses`` (the local code); only the parts' counts and sums are collected."""

    def __init__(self, rows: Any, dims: int) -> None:
        self._rows = rows
        self._dims = dims
        self._count: int | None = None

    @property
    def dims(self) -> int:
        """Number of features."""
        return self._dims

    def count(self) -> int:
        """Number of rows."""
        if self._count is None:
            self._count = int(self._rows.count())
        return self._count

    def grid_counts(self, m: int) -> np.ndarray:
        """Rows per cell of the ``m**d`` grid (``kmeans.Synopses.grid_counts``)."""
        from pyspark.sql import functions as F

        cells = m**self._dims

        def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            from privseg.dp.kmeans import ArraySynopses

            counts = np.zeros(cells, dtype=np.int64)
            for batch in batches:
                counts += ArraySynopses(_unit_rows(batch)).grid_counts(m)
            where = np.flatnonzero(counts)
            yield pa.RecordBatch.from_arrays(
                [pa.array(where, pa.int64()), pa.array(counts[where], pa.int64())],
                names=["cell", "n"],
            )

        parts = self._rows.mapInArrow(run, "cell long, n long")
        grouped = parts.groupBy("cell").agg(F.sum("n").alias("n")).collect()
        counts = np.zeros(cells, dtype=np.int64)
        counts[[r["cell"] for r in grouped]] = [r["n"] for r in grouped]
        return counts

    def cluster_stats(self, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows and offset sums per nearest centroid (``kmeans.Synopses.cluster_stats``)."""
        k, d = centroids.shape
        names = ["cluster", "n", *(f"s{j}" for j in range(d))]

        def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            from privseg.dp.kmeans import ArraySynopses

            counts, sums = np.zeros(k, dtype=np.int64), np.zeros((k, d))
            for batch in batches:
                part_counts, part_sums = ArraySynopses(_unit_rows(batch)).cluster_stats(centroids)
                counts += part_counts
                sums += part_sums
            arrays = [
                pa.array(np.arange(k), pa.int64()),
                pa.array(counts, pa.int64()),
                *(pa.array(sums[:, j]) for j in range(d)),
            ]
            yield pa.RecordBatch.from_arrays(arrays, names=names)

        schema = ", ".join(["cluster long", "n long", *(f"s{j} double" for j in range(d))])
        parts = self._rows.mapInArrow(run, schema).toArrow()  # k rows per partition
        cluster = parts.column("cluster").to_numpy()
        counts, sums = np.zeros(k, dtype=np.int64), np.zeros((k, d))
        np.add.at(counts, cluster, parts.column("n").to_numpy())
        for j in range(d):
            np.add.at(sums[:, j], cluster, parts.column(f"s{j}").to_numpy())
        return counts, sums


@contextmanager
def kmeans_source(
    df: Any,
    *,
    features: Sequence[str],
    bounds: Mapping[str, tuple[float, float]],
    bounding: Bounding = PER_ROW,
) -> Iterator[KMeansSource]:
    """The rows of a k-means release on Spark, for ``dp.kmeans_release.release_kmeans``.

    Each unit's first row is kept (``bounding``), its features parsed and clipped to their
    declared ``bounds`` (``dp.kmeans_release.kmeans_rows``) and scaled to the unit box on the executors,
    where the rows stay (persisted while the block runs). The fit on the driver reads only
    their exact synopses: the row count, counts per grid cell, per-cluster counts and sums.
    """
    from pyspark.sql.types import DoubleType, StructField, StructType

    from privseg.dp.kmeans import ArraySynopses  # scikit-learn: loaded for k-means only

    if not features:
        raise InputError("at least one feature is needed")
    box = tuple(measure_bounds(f, bounds) for f in features)
    names = [f"{_UNIT_BOX}{j}" for j in range(len(box))]
    columns = list(features)

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            rows = ArraySynopses.from_rows(kmeans_rows(batch.to_pandas(), columns, box), box)
            arrays = [pa.array(rows.data[:, j]) for j in range(len(box))]
            yield pa.RecordBatch.from_arrays(arrays, names=names)

    schema = StructType([StructField(n, DoubleType(), False) for n in names])
    rows = _bounded(df, bounding, columns).select(*columns).mapInArrow(run, schema).persist()
    try:
        yield KMeansSource(_SparkSynopses(rows, len(box)), tuple(columns), box, bounding)
    finally:
        rows.unpersist()
