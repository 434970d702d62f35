"""``privseg segment assign`` through the installed console script, ``segment tags`` in process."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result

from privseg.cli import main
from privseg.demo.generator import DEMO_AS_OF, write_demo_data
from privseg.io import read_table, write_table
from privseg.segments import assign


def _privseg() -> str:
    script = Path(sys.executable).with_name("privseg")
    found = str(script) if script.exists() else shutil.which("privseg")
    assert found, "the privseg console script is not installed"
    return found


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_demo_data(tmp_path_factory.mktemp("demo"), 600, seed=2)


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_privseg(), "segment", "assign", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_assign_writes_one_row_per_customer(demo: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "labels.csv"
    done = _run(
        "--customers", demo["customers"], "--orders", demo["orders"],
        "--interactions", demo["interactions"], "--as-of", "2026-06-30", "--out", out,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    labels = pd.read_csv(out, dtype=str)
    customers = pd.read_csv(demo["customers"], dtype=str)
    assert list(labels["外部联系人ID"]) == list(customers["外部联系人ID"])
    schemes = (
        "rfm", "lifecycle", "value_tier", "activity", "channel", "region", "city_tier",
        "generation", "social", "service_priority", "loyalty", "behaviour",
    )  # fmt: skip
    for column in (*schemes, "R", "F", "M", "省份"):
        assert labels[column].notna().all(), column
    assert set(labels["lifecycle"]) <= {"introduction", "decline", "growth", "mature", "other"}
    assert "600 customers" in done.stderr


def test_bad_amount_is_exit_2_naming_the_column(demo: dict[str, Path], tmp_path: Path) -> None:
    orders = pd.read_csv(demo["orders"], dtype=str)
    orders.loc[3, "金额"] = "十元"
    bad = tmp_path / "orders.csv"
    orders.to_csv(bad, index=False)
    out = tmp_path / "labels.csv"
    done = _run(
        "--customers", demo["customers"], "--orders", bad,
        "--interactions", demo["interactions"], "--as-of", "2026-06-30", "--out", out,
    )  # fmt: skip
    assert done.returncode == 2
    assert "金额" in done.stderr
    assert "十元" not in done.stderr
    assert not out.exists()


def test_bad_scheme_file_is_exit_2_with_line(demo: dict[str, Path], tmp_path: Path) -> None:
    schemes = tmp_path / "s.yaml"
    schemes.write_text("schemes:\n  activity:\n    high: {weeks: 0, per_week_over: 3}\n", "utf-8")
    done = _run(
        "--customers", demo["customers"], "--orders", demo["orders"],
        "--interactions", demo["interactions"], "--schemes", schemes, "--out", tmp_path / "o.csv",
    )  # fmt: skip
    assert done.returncode == 2
    assert f"{schemes}:3:" in done.stderr
    assert "weeks" in done.stderr


def test_help_has_examples() -> None:
    done = subprocess.run(
        [_privseg(), "segment", "assign", "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0
    assert "Examples:" in done.stdout


def _tags(*args: str | Path) -> Result:
    """``segment tags`` in process (the console script is covered by the assign tests)."""
    return CliRunner().invoke(main, ["segment", "tags", *map(str, args)])


def test_tags_writes_the_plan_and_each_customers_tags(
    demo: dict[str, Path], tmp_path: Path
) -> None:
    tables = [read_table(demo[name]) for name in ("customers", "orders", "interactions")]
    labels = tmp_path / "labels.csv"
    write_table(assign(*tables, as_of=DEMO_AS_OF), labels)
    plan, tagged = tmp_path / "plan.csv", tmp_path / "tags.csv"
    trail = tmp_path / "trail.jsonl"
    done = _tags("--out", plan, "--labels", labels, "--assignments", tagged, "--trail", trail)
    assert done.exit_code == 0, done.output
    rows = pd.read_csv(plan, dtype=str)
    assert list(rows.columns) == ["tag_group", "tag", "rule"]
    assert 0 < len(rows) <= 100
    assert f"{len(rows)} tags" in done.output
    per_customer = pd.read_csv(tagged, dtype=str, keep_default_na=False)
    assert len(per_customer) == 600
    used = {t for cell in per_customer["tags"] for t in cell.split(";") if t}
    assert used <= set(rows["tag"])
    assert "segment tags" in trail.read_text(encoding="utf-8")


def test_tags_over_the_limit_is_exit_2_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "plan.csv"
    done = _tags("--limit", "20", "--out", out)
    assert done.exit_code == 2
    assert "more than the limit of 20" in done.output
    assert not out.exists()
