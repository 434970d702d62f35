"""The demo pipeline: named steps run in order and report their outputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from privseg import audit
from privseg.demo.pipeline import DEMO_ENTRIES, DEMO_STEPS, run_demo
from privseg.dp.ledger import Ledger
from privseg.dp.types import DEFAULT_EPSILON
from privseg.errors import InputError
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
    assert "| apply | pseudonymized/customers.csv |" in run_report  # paths below the demo folder


def test_a_second_run_is_refused_and_force_starts_afresh(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = run_demo(out, quiet=True, customers=200, seed=1)
    trail = first.outputs["audit_trail"]
    records = len(audit.read_records(trail))
    key = (out / "keys" / "wecom-marketing.key").read_text()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match=r"already holds a demo run.*--force"):
        run_demo(out, quiet=True, customers=200, seed=1)
    assert len(audit.read_records(trail)) == records  # nothing of the refused run was added
    second = run_demo(out, quiet=True, customers=200, seed=1, force=True)
    # a fresh trail, ledger and key that belong together; other files are left alone
    assert len(audit.read_records(trail)) == records
    assert audit.verify(trail, key=out / "keys" / "audit-signing.key").ok
    assert (out / "keys" / "wecom-marketing.key").read_text() != key
    remaining = Ledger(second.outputs["budget_ledger"]).remaining("demo", "wecom-marketing")
    assert float(remaining.epsilon) == 5.0 - 2 * DEFAULT_EPSILON
    assert (out / "notes.txt").read_text() == "mine"
    assert set(first.outputs) == set(second.outputs)


def test_a_folder_without_a_demo_run_is_used(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    assert DEMO_ENTRIES[0] == "data"
    summary = run_demo(tmp_path, quiet=True, customers=150, seed=2)
    assert summary.data["customers"].parent == tmp_path / "data"
