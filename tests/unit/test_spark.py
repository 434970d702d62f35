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

from privseg import spark as ps
from privseg._resources import policies_dir
from privseg.budget import Ledger, PrivacyBudget
from privseg.cli import main
from privseg.datasets import DEMO_AS_OF, generate
from privseg.errors import InputError
from privseg.io import read_table, write_table
from privseg.policy import PolicyKeys, apply_file, load_policy
from privseg.pseudonym import Key
from privseg.release import (
    Account,
    Bounding,
    exact_counts,
    exact_sums,
    release_counts,
    release_means,
    release_quantiles,
)
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
    account = Account(ledger, "demo")
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
    account = Account(ledger, "crm")
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
