"""``privseg release kmeans --engine spark`` through the real console script (Spark local mode)."""

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

from privseg.budget import Ledger

pytest.importorskip("pyspark")

pytestmark = [pytest.mark.spark, pytest.mark.slow]

PRIVSEG = (
    str(Path(sys.executable).with_name("privseg"))
    if Path(sys.executable).with_name("privseg").exists()
    else shutil.which("privseg") or "privseg"
)
UNIT = "外部联系人ID"


def _privseg(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}
    return subprocess.run(
        [PRIVSEG, *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


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
    assert reports[0]["plan"] == reports[1]["plan"]

    records = [json.loads(line) for line in trail.read_text("utf-8").splitlines()]
    assert [r["command"] for r in records] == ["release kmeans"] * 2
    assert [r["epsilon_spent"] for r in records] == [0.8, 0.8]
    assert [r["epsilon_remaining"] for r in records] == pytest.approx([1.2, 0.4])
    same = ("inputs", "purpose", "outcome", "metrics")
    assert {k: records[0][k] for k in same} == {k: records[1][k] for k in same}
    assert records[1]["inputs"][0]["rows"] == n
    verified = _privseg("audit", "verify", "--trail", trail, cwd=tmp_path)
    assert verified.returncode == 0, verified.stderr

    # Refused before anything is spent or written: evaluation needs the rows here.
    refused = _privseg(*args, "--out", tmp_path / "e.csv", "--engine", "spark", "--evaluate",
                       cwd=tmp_path)  # fmt: skip
    assert refused.returncode == 2 and "use --engine local" in refused.stderr
    assert not (tmp_path / "e.csv").exists()
    assert float(Ledger(ledger).remaining("crm").epsilon) == pytest.approx(0.4)
