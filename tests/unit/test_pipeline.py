"""The demo pipeline: named steps run in order and report their outputs."""

from __future__ import annotations

from pathlib import Path

from privseg.demo.pipeline import DEMO_STEPS, run_demo
from privseg.io import fingerprint


def test_steps_have_unique_names_and_start_with_the_data() -> None:
    names = [step.name for step in DEMO_STEPS]
    assert len(names) == len(set(names))
    assert names[0] == "generate demo data"


def test_run_demo_generates_data_and_summarizes_it(tmp_path: Path) -> None:
    summary = run_demo(tmp_path / "out", quiet=True, customers=250, seed=4)
    assert summary.steps == tuple(step.name for step in DEMO_STEPS)
    assert set(summary.data) == {"customers", "orders", "interactions"}
    for name, path in summary.data.items():
        assert path.parent == tmp_path / "out" / "data"
        rows = fingerprint(path).rows
        assert any(line.startswith(f"{name}: {rows:,} rows") for line in summary.lines)
    assert "250 synthetic WeCom customers" in summary.lines[0]
    for path in summary.outputs.values():
        assert path.exists()
    risk = next(line for line in summary.lines if line.startswith("customers: risk on"))
    assert "(required 5)" in risk
    run_report = summary.outputs["run_report"].with_suffix(".md").read_text(encoding="utf-8")
    assert "Re-identification risk of the outputs" in run_report
    assert "| apply | customers.csv |" in run_report
