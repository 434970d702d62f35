"""``privseg risk --engine spark``: the same figures as the local engine (Spark local mode)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pyspark")

pytestmark = [pytest.mark.spark, pytest.mark.slow]

PRIVSEG = str(Path(sys.executable).with_name("privseg"))


def test_spark_and_local_give_the_same_report(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    n = 400
    df = pd.DataFrame(
        {
            "性别": rng.choice(["男", "女"], n),
            "省份": rng.choice(
                ["广东省", "上海市", "北京市", "西藏自治区"], n, p=[0.5, 0.3, 0.19, 0.01]
            ),
            "年龄段": rng.choice(["20-29", "30-39", "40-49"], n),
            "渠道": rng.choice(["公众号", "小程序"], n),
        }
    )
    df.loc[::37, "省份"] = None  # missing values are a value of their own in both engines
    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    reports = []
    for engine in ("local", "spark"):
        done = subprocess.run(
            [PRIVSEG, "risk", str(path), "--quasi", "性别,省份,年龄段", "--sensitive", "渠道",
             "--format", "json", "--engine", engine],
            capture_output=True, text=True, check=False,
            env={**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"},
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        reports.append(json.loads(done.stdout))
    assert reports[0] == reports[1]
    assert reports[0]["rows"] == n and reports[0]["l_diversity"]["渠道"] >= 1
