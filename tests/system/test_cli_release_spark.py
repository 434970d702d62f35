"""``privseg release quantile --engine spark`` through the real console script (Spark local mode)."""

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

pytest.importorskip("pyspark")

pytestmark = [pytest.mark.spark, pytest.mark.slow]

PRIVSEG = (
    str(Path(sys.executable).with_name("privseg"))
    if Path(sys.executable).with_name("privseg").exists()
    else shutil.which("privseg") or "privseg"
)
TIERS = ("gold", "silver", "platinum")


def _privseg(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}
    return subprocess.run(
        [PRIVSEG, *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


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
    assert reports[0]["plan"] == reports[1]["plan"]

    records = [json.loads(line) for line in trail.read_text("utf-8").splitlines()]
    assert [r["command"] for r in records] == ["release quantile"] * 2
    assert [r["epsilon_spent"] for r in records] == [0.6, 0.6]
    assert [r["epsilon_remaining"] for r in records] == pytest.approx([1.4, 0.8])
    same = ("inputs", "purpose", "outcome", "metrics")
    assert {k: records[0][k] for k in same} == {k: records[1][k] for k in same}
    assert records[1]["inputs"][0]["rows"] == n
    assert [o["columns"] for o in records[0]["outputs"]] == [
        o["columns"] for o in records[1]["outputs"]
    ]
    verified = _privseg("audit", "verify", "--trail", trail, cwd=tmp_path)
    assert verified.returncode == 0, verified.stderr
