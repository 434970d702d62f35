"""The Spark engine (local mode) against the local engine on small demo data."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

pytest.importorskip("pyspark")

from privseg import audit
from privseg._resources import policies_dir
from privseg.cli import main
from privseg.demo.generator import DEMO_AS_OF, generate
from privseg.dp import kmeans
from privseg.dp.cells import exact_counts, exact_sums
from privseg.dp.counts import release_counts
from privseg.dp.kmeans_release import kmeans_rows, release_kmeans
from privseg.dp.ledger import Ledger, PrivacyBudget
from privseg.dp.means import release_means
from privseg.dp.quantiles import release_quantiles
from privseg.dp.types import Account, Bounding
from privseg.engines import spark as ps
from privseg.engines.apply import apply_file
from privseg.errors import InputError
from privseg.io import read_table, write_table
from privseg.policy import PolicyKeys, load_policy
from privseg.pseudonym import Key
from privseg.segments import assign, load_schemes

pytestmark = [
    pytest.mark.spark,
    # pyspark 4.3 on pandas 3: its support warning and its own use of a deprecated keyword;
    # nothing else is silenced (privseg's warnings stay errors)
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated::pyspark"),
]

UNIT = "外部联系人ID"
KEYS = PolicyKeys(Key(bytes(range(32))))


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    session = ps.session("privseg-tests")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("spark")
    for name, df in generate(400, seed=5).tables().items():
        write_table(df, folder / f"{name}.csv")
    return folder


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(UNIT, kind="stable").reset_index(drop=True)


def test_policy_and_tokens_match_the_local_engine(spark: Any, demo: Path, tmp_path: Path) -> None:
    policy = load_policy(policies_dir() / "wecom-marketing.yaml")
    local = tmp_path / "local.csv"
    apply_file(demo / "customers.csv", policy, KEYS, local)
    df = ps.read_csv(spark, str(demo / "customers.csv"))
    the_plan = ps.plan_from_sample(policy, df)
    got = ps.apply_policy(the_plan, df, KEYS).toPandas()
    write_table(got, tmp_path / "spark.csv")
    pd.testing.assert_frame_equal(read_table(tmp_path / "spark.csv"), read_table(local))


def test_segments_match_the_local_engine(spark: Any, demo: Path, tmp_path: Path) -> None:
    schemes = load_schemes()
    frames = [
        ps.read_csv(spark, str(demo / f"{n}.csv")) for n in ("customers", "orders", "interactions")
    ]
    got = ps.assign_segments(*frames, schemes, as_of=DEMO_AS_OF, partitions=3).toPandas()
    tables = [read_table(demo / f"{n}.csv") for n in ("customers", "orders", "interactions")]
    expected = assign(*tables, schemes, as_of=DEMO_AS_OF)
    write_table(got, tmp_path / "got.csv")
    write_table(expected, tmp_path / "expected.csv")
    pd.testing.assert_frame_equal(
        _sorted(read_table(tmp_path / "got.csv")), _sorted(read_table(tmp_path / "expected.csv"))
    )


def test_counts_match_and_noise_is_drawn_once_on_the_ledger(
    spark: Any, demo: Path, tmp_path: Path
) -> None:
    keys = {"互动类型": ("消息", "点击")}
    bounding = Bounding(UNIT, 2)
    df = ps.read_csv(spark, str(demo / "interactions.csv"))
    got = ps.exact_counts(df, by=["互动类型"], keys=keys, bounding=bounding)
    want = exact_counts(
        read_table(demo / "interactions.csv"), by=["互动类型"], keys=keys, bounding=bounding
    )
    np.testing.assert_array_equal(got.counts, want.counts)

    ledger = Ledger(tmp_path / "budget.db")
    ledger.set_budget("demo", PrivacyBudget(1.0))
    account = Account(ledger, "demo", "default")
    release = release_counts(got, by=["互动类型"], keys=keys, epsilon=0.4, account=account)
    assert release.epsilon_spent == pytest.approx(0.4)
    assert float(ledger.remaining("demo", account.purpose).epsilon) == pytest.approx(0.6)
    assert list(release.table["互动类型"]) == ["消息", "点击"]


# Units "a" (4 rows), "b", "c", none: undeclared and missing keys, text, blanks, NaN, inf,
# values outside the bounds and exactly half a grid step (rounded half to even).
SPEND_CSV = """u,tier,spend
a,gold,120.5
b,silver,-80
a,gold,abc
a,silver,3000
c,bronze,40
,gold,10
b,gold,
c,silver,0.025
a,gold,0.075
b,silver,NaN
c,gold,inf
a,silver,7
"""
SPEND_KEYS = {"tier": ("gold", "silver", "platinum")}
SPEND_BOUNDS = {"spend": (-50.0, 500.0)}


@pytest.mark.parametrize("bounding", [Bounding(), Bounding("u", 2)], ids=["rows", "unit"])
def test_sums_and_means_match_the_local_engine(
    spark: Any, tmp_path: Path, bounding: Bounding
) -> None:
    path = tmp_path / "spend.csv"
    path.write_text(SPEND_CSV, encoding="utf-8")
    local_df = read_table(path)
    spec = {"by": ["tier"], "keys": SPEND_KEYS, "value": "spend", "bounds": SPEND_BOUNDS}
    got = ps.exact_sums(ps.read_csv(spark, str(path)), **spec, bounding=bounding)
    want = exact_sums(local_df, **spec, bounding=bounding)
    np.testing.assert_array_equal(got.counts, want.counts)
    np.testing.assert_array_equal(got.sums, want.sums)
    assert got.sums.dtype == want.sums.dtype == np.int64
    assert got.index.equals(want.index) and got.bounds == want.bounds == (-50.0, 500.0)
    assert got.bounding == bounding and got.value == "spend"

    seeded = {**spec, "epsilon": 0.8, "account": None, "evaluate": True, "random_state": 11}
    on_spark = release_means(got, **seeded)
    local = release_means(local_df, **seeded, bounding=bounding)
    pd.testing.assert_frame_equal(on_spark.table, local.table)
    assert on_spark.undeclared_noisy == local.undeclared_noisy
    assert on_spark.evaluation == local.evaluation
    assert on_spark.plan == local.plan


def test_exact_sums_are_checked_against_the_release(spark: Any, tmp_path: Path) -> None:
    path = tmp_path / "spend.csv"
    path.write_text(SPEND_CSV, encoding="utf-8")
    spec = {"by": ["tier"], "keys": SPEND_KEYS, "value": "spend"}
    got = ps.exact_sums(ps.read_csv(spark, str(path)), **spec, bounds=SPEND_BOUNDS)
    with pytest.raises(InputError, match="other cells, measure or bounds"):
        release_means(got, **spec, bounds={"spend": (0, 500)}, epsilon=1.0, account=None)
    with pytest.raises(InputError, match="no such columns"):
        ps.exact_sums(ps.read_csv(spark, str(path)), **{**spec, "value": "x"}, bounds={"x": (0, 1)})


# -- quantiles: the driver's uniforms, each segment's values on the executors ----------------
def _tiered(path: Path) -> None:
    """800 rows of 300 customers: tied integer amounts, some text and blanks, an undeclared tier."""
    rng = np.random.default_rng(3)
    spend = rng.poisson(40, 800).astype(str).astype(object)
    spend[rng.choice(800, 40, replace=False)] = rng.choice(["", "n/a", "9e9", "-5"], 40)
    pd.DataFrame(
        {
            "u": [f"c{i}" for i in rng.integers(0, 300, 800)],
            "tier": rng.choice(["gold", "silver", "other"], 800, p=[0.3, 0.6, 0.1]),
            "spend": spend,
        }
    ).to_csv(path, index=False)


@pytest.mark.parametrize(
    ("table", "by", "bounding"),
    [
        ("spend", ["tier"], Bounding("u", 2)),
        ("spend", [], Bounding()),
        ("tiered", ["tier"], Bounding("u", 3)),
    ],
    ids=["segments-unit", "overall-rows", "ties-unit"],
)
def test_quantiles_match_the_local_engine(
    spark: Any, tmp_path: Path, table: str, by: list[str], bounding: Bounding
) -> None:
    path = tmp_path / f"{table}.csv"
    if table == "spend":
        path.write_text(SPEND_CSV, encoding="utf-8")
    else:
        _tiered(path)
    spec: dict[str, Any] = {
        "value": "spend", "quantiles": [0.1, 0.5, 0.9], "bounds": SPEND_BOUNDS, "epsilon": 0.9,
        "by": by, "keys": SPEND_KEYS, "bounding": bounding, "account": None,
    }  # fmt: skip
    for seed in (13, 14):
        on_spark = release_quantiles(ps.SparkRows(ps.read_csv(spark, str(path))), **spec,
                                     random_state=seed)  # fmt: skip
        local = release_quantiles(read_table(path), **spec, random_state=seed)
        pd.testing.assert_frame_equal(on_spark.table, local.table)
        assert repr(on_spark.plan) == repr(local.plan)  # NaN error fields: == would fail
    assert len(local.table) == (3 if by else 1)  # platinum (no rows) is released too


def test_quantiles_on_spark_charge_once_and_check_columns_first(spark: Any, tmp_path: Path) -> None:
    path = tmp_path / "spend.csv"
    path.write_text(SPEND_CSV, encoding="utf-8")
    rows = ps.SparkRows(ps.read_csv(spark, str(path)))
    assert rows.columns == ["u", "tier", "spend"]
    ledger = Ledger(tmp_path / "budget.db")
    ledger.set_budget("crm", PrivacyBudget(1.0))
    account = Account(ledger, "crm", "default")
    spec: dict[str, Any] = {"quantiles": [0.5], "epsilon": 0.4, "account": account}
    with pytest.raises(InputError, match="no such column"):
        release_quantiles(rows, value="x", bounds={"x": (0, 1)}, **spec)
    with pytest.raises(InputError, match="no such column"):
        release_quantiles(rows, value="spend", bounds=SPEND_BOUNDS, bounding=Bounding("v"), **spec)
    assert float(ledger.remaining("crm").epsilon) == pytest.approx(1.0)
    release = release_quantiles(rows, value="spend", bounds=SPEND_BOUNDS, **spec)
    assert -50 <= release.table["q0.5"].iloc[0] <= 500
    assert [s.kind for s in ledger.status("crm").history] == ["quantiles"]
    assert float(ledger.remaining("crm").epsilon) == pytest.approx(0.6)


# -- the CLI's --engine spark (CliRunner, reusing this module's session) -----------------------
def _cli(*args: str | Path) -> Any:
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def test_cli_apply_on_spark_writes_the_local_output_and_manifest(
    spark: Any, demo: Path, tmp_path: Path
) -> None:
    key = tmp_path / "k.key"
    _cli("keys", "new", key)
    manifests = {}
    for engine in ("local", "spark"):
        out = tmp_path / f"c.{engine}.csv"
        _cli(
            "apply", demo / "customers.csv", "--policy", "wecom-marketing",
            "--key", key, "--out", out, "--engine", engine,
        )  # fmt: skip
        manifests[engine] = json.loads(Path(f"{out}.manifest.json").read_text(encoding="utf-8"))
    assert (tmp_path / "c.local.csv").read_bytes() == (tmp_path / "c.spark.csv").read_bytes()
    local, on_spark = manifests["local"], manifests["spark"]
    assert local["input"] == on_spark["input"]
    assert local["columns"] == on_spark["columns"]
    assert local["output"] == {**on_spark["output"], "path": local["output"]["path"]}
    assert spark.sparkContext._jsc is not None  # the shared session was not stopped


def test_cli_segments_and_counts_on_spark(spark: Any, demo: Path, tmp_path: Path) -> None:
    tables = [f"--{n}={demo / n}.csv" for n in ("customers", "orders", "interactions")]
    for engine in ("local", "spark"):
        _cli("segment", "assign", *tables, "--as-of", "2026-06-30", "--engine", engine,
             "--out", tmp_path / f"labels.{engine}.csv")  # fmt: skip
    pd.testing.assert_frame_equal(
        _sorted(read_table(tmp_path / "labels.spark.csv")),
        _sorted(read_table(tmp_path / "labels.local.csv")),
    )
    ledger = tmp_path / "budget.db"
    _cli("budget", "set", "crm", "--epsilon", "1", "--ledger", ledger)
    _cli("budget", "register", "crm", tmp_path / "labels.spark.csv", "--ledger", ledger)
    _cli(
        "release", "counts", tmp_path / "labels.spark.csv", "--by", "lifecycle",
        "--keys", "lifecycle=introduction,growth,mature,decline,other", "--epsilon", "0.25",
        "--dataset", "crm", "--unit", UNIT, "--ledger", ledger,
        "--out", tmp_path / "counts.csv", "--engine", "spark",
    )  # fmt: skip
    assert list(read_table(tmp_path / "counts.csv")["lifecycle"]) == [
        "introduction", "growth", "mature", "decline", "other",
    ]  # fmt: skip
    remaining = Ledger(ledger).remaining("crm")
    assert float(remaining.epsilon) == pytest.approx(0.75)


def test_cli_mean_on_spark_charges_once_and_writes_every_segment(
    spark: Any, tmp_path: Path
) -> None:
    path = tmp_path / "spend.csv"
    path.write_text(SPEND_CSV, encoding="utf-8")
    ledger = tmp_path / "budget.db"
    _cli("budget", "set", "crm", "--epsilon", "1", "--ledger", ledger)
    _cli("budget", "register", "crm", path, "--ledger", ledger)
    result = _cli(
        "release", "mean", path, "--by", "tier", "--keys", "tier=gold,silver,platinum",
        "--value", "spend", "--bounds", "spend=-50:500", "--epsilon", "0.5", "--dataset", "crm",
        "--unit", "u", "--max-rows-per-unit", "2", "--ledger", ledger,
        "--out", tmp_path / "means.csv", "--engine", "spark",
    )  # fmt: skip
    table = read_table(tmp_path / "means.csv")
    assert list(table["tier"]) == ["gold", "silver", "platinum"]
    assert {"count", "sum", "mean", "mean_ci95_low", "mean_ci95_high"} <= set(table.columns)
    assert "at most 2 row(s) each" in result.output
    assert float(Ledger(ledger).remaining("crm").epsilon) == pytest.approx(0.5)


# -- k-means: the fit on the driver, the rows on the executors ---------------------------------
KM_BOUNDS = {"days": (0.0, 365.0), "orders": (0.0, 24.0)}


def _km_table(path: Path, n: int = 900) -> None:
    """``n`` rows of 700 customers in three blobs, with repeated customers, a row without one,
    text, blanks, inf and values outside the bounds."""
    rng = np.random.default_rng(8)
    centres = np.array([[30.0, 18.0], [200.0, 4.0], [320.0, 12.0]])
    points = centres[rng.integers(0, 3, n)] + rng.normal(0, [25.0, 2.0], (n, 2))
    table = pd.DataFrame(
        {
            "u": [f"c{i % 700}" for i in range(n)],
            "days": points[:, 0].round(2).astype(str),
            "orders": points[:, 1].round(1).astype(str),
        }
    ).astype(object)
    table.loc[[3, 40], "days"] = ["n/a", "inf"]
    table.loc[[5, 41], "orders"] = ["", "-3"]
    table.loc[[7, 42], "days"] = ["900", "-1e9"]
    table.loc[9, "u"] = None
    table.to_csv(path, index=False)


@pytest.fixture(scope="module")
def km_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("kmeans") / "features.csv"
    _km_table(path)
    return path


def test_kmeans_synopses_match_the_local_rows(spark: Any, km_path: Path) -> None:
    features = ["days", "orders"]
    box = [KM_BOUNDS[f] for f in features]
    bounding = Bounding("u", 1)
    table = read_table(km_path)
    first_rows = table[table["u"].notna()].drop_duplicates("u")  # one row per customer
    local = kmeans.ArraySynopses.from_rows(kmeans_rows(first_rows, features, box), box)
    df = ps.read_csv(spark, str(km_path))
    with ps.kmeans_source(df, features=features, bounds=KM_BOUNDS, bounding=bounding) as source:
        got = source.synopses
        assert got.dims == 2 and got.count() == local.count() == 698  # 700 customers, 2 unparsable
        for m in (1, 3, 7):
            np.testing.assert_array_equal(got.grid_counts(m), local.grid_counts(m))
        centroids = np.array([[0.1, 0.8], [0.5, 0.2], [0.9, 0.5], [0.9, 0.5]])  # a tie: first
        counts, sums = got.cluster_stats(centroids)
        want_counts, want_sums = local.cluster_stats(centroids)
        np.testing.assert_array_equal(counts, want_counts)
        assert counts[3] == 0 and counts.sum() == 698
        np.testing.assert_allclose(sums, want_sums, rtol=1e-12, atol=1e-9)
    assert source.features == ("days", "orders") and source.bounds == tuple(box)


@pytest.mark.parametrize("bounding", [Bounding(), Bounding("u", 1)], ids=["rows", "unit"])
def test_kmeans_release_matches_the_local_engine(
    spark: Any, km_path: Path, tmp_path: Path, bounding: Bounding
) -> None:
    spec: dict[str, Any] = {"features": ["days", "orders"], "bounds": KM_BOUNDS}
    ledger = Ledger(tmp_path / "budget.db")
    ledger.set_budget("crm", PrivacyBudget(1.0))
    account = Account(ledger, "crm", "default")
    df = ps.read_csv(spark, str(km_path))
    fit: dict[str, Any] = {**spec, "k": 3, "epsilon": 0.6, "random_state": 5}
    with ps.kmeans_source(df, **spec, bounding=bounding) as source:
        on_spark = release_kmeans(source, **fit, account=account)
    local = release_kmeans(read_table(km_path), **fit, account=None, bounding=bounding)
    assert repr(on_spark.plan) == repr(local.plan) and on_spark.plan.bounding == bounding  # NaNs
    assert on_spark.table["method"].iloc[0] == "grid"  # auto's choice here
    pd.testing.assert_frame_equal(
        on_spark.table.drop(columns=["days", "orders"]),
        local.table.drop(columns=["days", "orders"]),
    )  # cluster, sizes (noisy counts), mechanism, epsilon, guarantee: identical
    np.testing.assert_allclose(
        on_spark.table[["days", "orders"]], local.table[["days", "orders"]], rtol=1e-9
    )
    assert float(ledger.remaining("crm").epsilon) == pytest.approx(0.4)  # charged once


@pytest.mark.parametrize("method", [kmeans.KMeansMethod.GRID, kmeans.KMeansMethod.LLOYD])
def test_kmeans_fit_on_spark_synopses_equals_fit(
    spark: Any, km_path: Path, method: kmeans.KMeansMethod
) -> None:
    features = ["days", "orders"]
    box = [KM_BOUNDS[f] for f in features]
    rows = kmeans_rows(read_table(km_path), features, box)
    want = kmeans.fit(rows, bounds=box, k=4, epsilon=2.0, method=method, random_state=9)
    df = ps.read_csv(spark, str(km_path))
    with ps.kmeans_source(df, features=features, bounds=KM_BOUNDS) as source:
        got = kmeans.fit_synopses(
            source.synopses, bounds=box, k=4, epsilon=2.0, method=method, random_state=9
        )
    np.testing.assert_array_equal(got.sizes, want.sizes)
    np.testing.assert_allclose(got.centroids, want.centroids, rtol=1e-9)
    assert (got.method, got.iterations) == (want.method, want.iterations)


def test_kmeans_on_spark_refusals_spend_nothing(spark: Any, km_path: Path, tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "budget.db")
    ledger.set_budget("crm", PrivacyBudget(1.0))
    account = Account(ledger, "crm", "default")
    spec: dict[str, Any] = {"k": 2, "epsilon": 0.5, "account": account}
    df = ps.read_csv(spark, str(km_path))
    declared_days = {"days": (0.0, 365.0)}
    with (
        pytest.raises(InputError, match="never inferred from the data"),
        ps.kmeans_source(df, features=["days", "orders"], bounds=declared_days),
    ):
        pass  # pragma: no cover
    with (
        pytest.raises(InputError, match="no such columns"),
        ps.kmeans_source(df, features=["days", "x"], bounds={**KM_BOUNDS, "x": (0, 1)}),
    ):
        pass  # pragma: no cover
    with ps.kmeans_source(df, features=["days", "orders"], bounds=KM_BOUNDS) as source:
        with pytest.raises(InputError, match="other features or bounds"):
            release_kmeans(source, features=["days", "orders"], bounds={**KM_BOUNDS,
                           "orders": (0, 30)}, **spec)  # fmt: skip
        with pytest.raises(InputError, match="needs the rows on this machine"):
            release_kmeans(source, features=["days", "orders"], bounds=KM_BOUNDS,
                           evaluate=True, **spec)  # fmt: skip
    bounded = Bounding("u", 2)
    with (
        ps.kmeans_source(df, features=["days"], bounds=KM_BOUNDS, bounding=bounded) as source,
        pytest.raises(InputError, match="one row per customer"),
    ):
        release_kmeans(source, features=["days"], bounds=KM_BOUNDS, **spec)
    assert float(ledger.remaining("crm").epsilon) == pytest.approx(1.0)
    # no numeric row is no reason to refuse (the refusal would reveal the data): released
    text = spark.createDataFrame(pd.DataFrame({"days": ["none", "", "n/a"]}))
    with ps.kmeans_source(text, features=["days"], bounds=KM_BOUNDS) as source:
        release = release_kmeans(source, features=["days"], bounds=KM_BOUNDS, **spec)
    assert len(release.table) == 2 and float(ledger.remaining("crm").epsilon) == 0.5


def test_cli_kmeans_on_spark_writes_the_local_columns_and_audit_record(
    spark: Any, km_path: Path, tmp_path: Path
) -> None:
    ledger = tmp_path / "budget.db"
    _cli("budget", "set", "crm", "--epsilon", "2", "--ledger", ledger)
    _cli("budget", "register", "crm", km_path, "--ledger", ledger)
    args = ["release", "kmeans", km_path, "--features", "days,orders",
            "--bounds", "days=0:365,orders=0:24", "--k", "3", "--epsilon", "0.5",
            "--dataset", "crm", "--unit", "u", "--ledger", ledger]  # fmt: skip
    for engine in ("local", "spark"):
        _cli(*args, "--engine", engine, "--out", tmp_path / f"{engine}.csv")
    local, on_spark = (read_table(tmp_path / f"{e}.csv") for e in ("local", "spark"))
    assert list(on_spark.columns) == list(local.columns)
    assert list(on_spark["cluster"]) == ["0", "1", "2"]
    assert float(Ledger(ledger).remaining("crm").epsilon) == pytest.approx(1.0)
    records = [r for r in audit.read_records(audit.default_trail()) if "kmeans" in r.command]
    assert len(records) == 2 and all(r.ok for r in records)
    assert records[0].inputs == records[1].inputs  # same file, rows, columns, hash
    assert records[0].epsilon_spent == records[1].epsilon_spent == 0.5
    assert [r.epsilon_remaining for r in records] == [1.5, 1.0]
    result = CliRunner().invoke(main, [*map(str, args), "--engine", "spark", "--evaluate",
                                       "--out", tmp_path / "e.csv"])  # fmt: skip
    assert result.exit_code == 2 and "use --engine local" in result.output
    assert not (tmp_path / "e.csv").exists()
    assert float(Ledger(ledger).remaining("crm").epsilon) == pytest.approx(1.0)
