"""``privseg budget`` and ``privseg release``: the CLI contract, through the real console script."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from privseg.cli import main
from privseg.cli.budget import COMMANDS as BUDGET_COMMANDS
from privseg.cli.release import COMMANDS as RELEASE_COMMANDS

TIERS = "platinum,gold,silver,bronze"
PRIVSEG = (
    str(Path(sys.executable).with_name("privseg"))
    if Path(sys.executable).with_name("privseg").exists()
    else shutil.which("privseg") or "privseg"
)


def _privseg(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real console script, in ``cwd`` (so the default ledger is ``cwd/audits/budget.db``)."""
    return subprocess.run(
        [PRIVSEG, *map(str, args)], cwd=cwd, capture_output=True, text=True, check=False
    )


@pytest.fixture
def labels(tmp_path: Path) -> Path:
    rng = np.random.default_rng(7)
    n = 1500
    df = pd.DataFrame(
        {
            "外部联系人ID": [f"wm{i:06d}" for i in range(n)],
            "value_tier": rng.choice(
                ["gold", "silver", "bronze", "vip"], n, p=[0.2, 0.35, 0.4, 0.05]
            ),
            "省份": rng.choice(["北京市", "上海市", "广东省"], n),
            "monetary": rng.gamma(2.0, 800.0, n).round(2),
            "frequency": rng.poisson(6, n),
        }
    )
    path = tmp_path / "labels.csv"
    df.to_csv(path, index=False)
    return path


def _budget(ledger: Path, labels: Path, epsilon: str) -> None:
    """Population ``crm`` with ``epsilon``, and ``labels`` (made outside privseg, so without a
    lineage in the trail) registered to it."""
    runner = CliRunner()
    result = runner.invoke(
        main, ["budget", "set", "crm", "--epsilon", epsilon, "--ledger", str(ledger)]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        main, ["budget", "register", "crm", str(labels), "--ledger", str(ledger)]
    )
    assert result.exit_code == 0, result.output


def test_budget_then_counts_then_refusal(tmp_path: Path, labels: Path) -> None:
    ledger = tmp_path / "audits" / "budget.db"  # the default, under the working folder
    _budget(ledger, labels, "1")

    out = tmp_path / "counts.csv"
    done = _privseg(
        "release", "counts", labels, "--by", "value_tier,省份", "--keys", f"value_tier={TIERS}",
        "--keys", "省份=北京市,上海市,广东省,四川省", "--epsilon", "0.6", "--dataset", "crm",
        "--unit", "外部联系人ID", "--out", out, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(out)
    assert list(table.columns[:3]) == ["value_tier", "省份", "count"]
    assert {"count_ci95_low", "count_ci95_high", "mechanism", "noise_scale"} <= set(table.columns)
    assert len(table) == 4 * 4  # every declared key combination, also platinum and 四川省
    assert (table["count"] >= 0).all()
    assert "noisy count" in done.stderr and "add/remove one customer (外部联系人ID)" in done.stderr

    refused = tmp_path / "refused.csv"
    done = _privseg(
        "release", "counts", labels, "--by", "value_tier", "--keys", f"value_tier={TIERS}",
        "--epsilon", "0.5", "--dataset", "crm", "--unit", "外部联系人ID", "--out", refused,
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 4
    assert "requested epsilon=0.5" in done.stderr and "remaining epsilon=0.4" in done.stderr
    assert not refused.exists()

    status = CliRunner().invoke(
        main, ["budget", "status", "--format", "json", "--ledger", str(ledger)]
    )
    assert status.exit_code == 0, status.output
    budgets = json.loads(status.output)["budgets"]
    assert budgets[0]["spent"]["epsilon"] == pytest.approx(0.6)
    assert budgets[0]["remaining"]["epsilon"] == pytest.approx(0.4)
    assert [h["kind"] for h in budgets[0]["history"]] == ["counts"]
    assert budgets[0]["history"][0]["predicted_value"] > 0.5


def test_kmeans_contract(tmp_path: Path, labels: Path) -> None:
    ledger = tmp_path / "b.db"
    runner = CliRunner()
    _budget(ledger, labels, "2")
    out = tmp_path / "clusters.csv"
    result = runner.invoke(main, [
        "release", "kmeans", str(labels), "--features", "monetary,frequency",
        "--bounds", "monetary=0:8000,frequency=0:30", "--k", "3", "--epsilon", "1",
        "--dataset", "crm", "--unit", "外部联系人ID", "--ledger", str(ledger), "--out", str(out),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert len(table) == 3
    assert {"monetary", "frequency", "size"} <= set(table.columns)
    assert table["monetary"].between(0, 8000).all()


def test_undeclared_bounds_and_keys_are_usage_errors(tmp_path: Path, labels: Path) -> None:
    runner = CliRunner()
    ledger = tmp_path / "b.db"
    _budget(ledger, labels, "2")
    out = tmp_path / "m.csv"
    result = runner.invoke(main, [
        "release", "mean", str(labels), "--by", "value_tier", "--keys", f"value_tier={TIERS}",
        "--value", "monetary", "--epsilon", "1", "--dataset", "crm", "--ledger", str(ledger),
        "--unit", "外部联系人ID", "--out", str(out),
    ])  # fmt: skip
    assert result.exit_code == 2 and "no declared bounds" in result.output
    result = runner.invoke(main, [
        "release", "counts", str(labels), "--by", "value_tier", "--epsilon", "1",
        "--dataset", "crm", "--ledger", str(ledger), "--unit", "外部联系人ID", "--out", str(out),
    ])  # fmt: skip
    assert result.exit_code == 2 and "no declared keys" in result.output
    assert not out.exists()


def test_mean_and_quantile_commands(tmp_path: Path, labels: Path) -> None:
    runner = CliRunner()
    ledger = tmp_path / "b.db"
    _budget(ledger, labels, "3")
    common = ["--dataset", "crm", "--ledger", str(ledger), "--unit", "外部联系人ID"]
    result = runner.invoke(main, [
        "release", "mean", str(labels), "--by", "value_tier", "--keys", f"value_tier={TIERS}",
        "--value", "monetary", "--bounds", "monetary=0:8000", "--epsilon", "1", "--evaluate",
        "--out", str(tmp_path / "m.csv"), "--report", str(tmp_path / "m.json"), *common,
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    means = pd.read_csv(tmp_path / "m.csv")
    assert {"count", "sum", "mean", "mean_ci95_low", "mean_ci95_high"} <= set(means.columns)
    assert "INTERNAL" in result.output
    report = json.loads((tmp_path / "m.json").read_text("utf-8"))
    assert "INTERNAL" not in json.dumps(report) and report["plan"]["kind"] == "means"
    result = runner.invoke(main, [
        "release", "quantile", str(labels), "--value", "monetary", "--bounds", "monetary=0:8000",
        "--quantiles", "0.25,0.75", "--epsilon", "1", "--evaluate", "--out", str(tmp_path / "q.csv"),
        *common,
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    q = pd.read_csv(tmp_path / "q.csv")
    assert q["q0.25"].iloc[0] < q["q0.75"].iloc[0] and q["count"].iloc[0] > 0
    assert "INTERNAL" in result.output and "predicted" in result.output


def test_every_command_has_help_with_examples() -> None:
    runner = CliRunner()
    for group in [*BUDGET_COMMANDS, *RELEASE_COMMANDS]:
        assert isinstance(group, __import__("click").Group)
        for name in [None, *group.commands]:
            args = [group.name] if name is None else [group.name, name]
            result = runner.invoke(main, [*args, "--help"])
            assert result.exit_code == 0 and "Examples:" in result.output, args
