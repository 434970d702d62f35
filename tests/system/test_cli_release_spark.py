"""``privseg release quantile|kmeans --engine spark`` through the real console script (Spark
local mode): the same outputs, ledger charges and audit records as the local engine."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from privseg.dp.ledger import Ledger

pytest.importorskip("pyspark")

pytestmark = [pytest.mark.spark, pytest.mark.slow]

PRIVSEG = (
    str(Path(sys.executable).with_name("privseg"))
    if Path(sys.executable).with_name("privseg").exists()
    else shutil.which("privseg") or "privseg"
)
TIERS = ("gold", "silver", "platinum")
UNIT = "外部联系人ID"


def _privseg(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}
    return subprocess.run(
        [PRIVSEG, *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def _assert_twin_records(
    trail: Path, command: str, spent: float, remaining: list[float], *, rows: int, cwd: Path
) -> None:
    """A local then a Spark run: two records alike but for the engine, and a trail that verifies."""
    records = [json.loads(line) for line in trail.read_text("utf-8").splitlines()]
    assert [r["command"] for r in records] == [command] * 2
    assert [r["epsilon_spent"] for r in records] == [spent, spent]
    assert [r["epsilon_remaining"] for r in records] == pytest.approx(remaining)
    same = ("inputs", "purpose", "outcome")
    assert {k: records[0][k] for k in same} == {k: records[1][k] for k in same}
    # a prediction made from noisy values (k-means) differs between two unseeded runs
    metrics = [{k: v for k, v in r["metrics"].items() if k != "predicted_value"} for r in records]
    assert metrics[0] == metrics[1]
    assert records[1]["inputs"][0]["rows"] == rows
    assert [o["columns"] for o in records[0]["outputs"]] == [
        o["columns"] for o in records[1]["outputs"]
    ]
    verified = _privseg("audit", "verify", "--trail", trail, cwd=cwd)
    assert verified.returncode == 0, verified.stderr


def test_quantiles_on_spark_write_the_local_outputs_ledger_and_audit_record(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(11)
    n = 600
    data = tmp_path / "rfm.csv"
    pd.DataFrame(
        {
            "外部联系人ID": [f"wm{i:05d}" for i in rng.integers(0, 400, n)],
            "value_tier": rng.choice(["gold", "silver", "bronze"], n),
            "monetary": rng.gamma(2.0, 800.0, n).round(2),
        }
    ).to_csv(data, index=False)
    trail = tmp_path / "trail.jsonl"
    ledger = tmp_path / "budget.db"
    assert (
        _privseg(
            "budget", "set", "crm", "--epsilon", "2", "--ledger", ledger, cwd=tmp_path
        ).returncode
        == 0
    )
    registered = _privseg("budget", "register", "crm", data, "--ledger", ledger, cwd=tmp_path)
    assert registered.returncode == 0, registered.stderr
    outputs = {}
    for engine in ("local", "spark"):
        out = tmp_path / f"q.{engine}.csv"
        done = _privseg(
            "release", "quantile", data, "--by", "value_tier", "--keys", f"value_tier={','.join(TIERS)}",
            "--value", "monetary", "--bounds", "monetary=0:8000", "--quantiles", "0.25,0.5",
            "--epsilon", "0.6", "--dataset", "crm", "--unit", "外部联系人ID", "--max-rows-per-unit", "2",
            "--ledger", ledger, "--trail", trail, "--out", out, "--report", tmp_path / f"{engine}.json",
            "--engine", engine, cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "quantiles, exponential" in done.stderr and "at most 2 row(s) each" in done.stderr
        outputs[engine] = pd.read_csv(out)
    local, on_spark = outputs["local"], outputs["spark"]
    assert list(on_spark.columns) == list(local.columns)
    assert list(on_spark["value_tier"]) == list(TIERS)  # platinum: declared, no rows
    assert ((on_spark[["q0.25", "q0.5"]] >= 0) & (on_spark[["q0.25", "q0.5"]] <= 8000)).all().all()
    reports = [json.loads((tmp_path / f"{e}.json").read_text("utf-8")) for e in ("local", "spark")]
    # k-means predicts its value from its noisy grid: two unseeded runs predict differently
    plans = [{k: v for k, v in r["plan"].items() if k != "predicted_value"} for r in reports]
    assert plans[0] == plans[1]

    _assert_twin_records(trail, "release quantile", 0.6, [1.4, 0.8], rows=n, cwd=tmp_path)


def test_kmeans_on_spark_writes_the_local_outputs_ledger_and_audit_record(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    n = 1200
    centres = np.array([[20.0, 15.0], [150.0, 3.0], [300.0, 9.0]])
    points = centres[rng.integers(0, 3, n)] + rng.normal(0, [15.0, 1.5], (n, 2))
    data = tmp_path / "rfm.csv"
    table = pd.DataFrame(
        {
            UNIT: [f"wm{i:05d}" for i in rng.integers(0, 1000, n)],  # repeated customers
            "recency": points[:, 0].round(1),
            "frequency": points[:, 1].round(0),
        }
    )
    table.to_csv(data, index=False)
    customers = table[UNIT].nunique()
    trail, ledger = tmp_path / "trail.jsonl", tmp_path / "budget.db"
    done = _privseg("budget", "set", "crm", "--epsilon", "2", "--ledger", ledger, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    done = _privseg("budget", "register", "crm", data, "--ledger", ledger, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    args = [
        "release", "kmeans", data, "--features", "recency,frequency",
        "--bounds", "recency=0:365,frequency=0:20", "--k", "3", "--epsilon", "0.8",
        "--dataset", "crm", "--unit", UNIT, "--ledger", ledger, "--trail", trail,
    ]  # fmt: skip
    outputs = {}
    for engine in ("local", "spark"):
        out = tmp_path / f"c.{engine}.csv"
        done = _privseg(
            *args, "--out", out, "--report", tmp_path / f"{engine}.json", "--engine", engine,
            cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "kmeans, dp-kmeans, epsilon 0.8 spent" in done.stderr
        assert "at most 1 row(s) each" in done.stderr
        outputs[engine] = pd.read_csv(out)
    local, on_spark = outputs["local"], outputs["spark"]
    assert list(on_spark.columns) == list(local.columns)
    assert list(on_spark["cluster"]) == [0, 1, 2]
    assert on_spark["recency"].between(0, 365).all() and on_spark["frequency"].between(0, 20).all()
    for released in (local, on_spark):  # noisy sizes of one row per customer (sd about 30)
        assert abs(int(released["size"].sum()) - customers) < 0.2 * customers
    reports = [json.loads((tmp_path / f"{e}.json").read_text("utf-8")) for e in ("local", "spark")]
    # k-means predicts its value from its noisy grid: two unseeded runs predict differently
    plans = [{k: v for k, v in r["plan"].items() if k != "predicted_value"} for r in reports]
    assert plans[0] == plans[1]

    _assert_twin_records(trail, "release kmeans", 0.8, [1.2, 0.4], rows=n, cwd=tmp_path)

    # Refused before anything is spent or written: evaluation needs the rows here.
    refused = _privseg(*args, "--out", tmp_path / "e.csv", "--engine", "spark", "--evaluate",
                       cwd=tmp_path)  # fmt: skip
    assert refused.returncode == 2 and "use --engine local" in refused.stderr
    assert not (tmp_path / "e.csv").exists()
    assert float(Ledger(ledger).remaining("crm").epsilon) == pytest.approx(0.4)
