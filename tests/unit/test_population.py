"""Lineage through the audit trail: which key ids, units and purposes an input is about."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from privseg import audit
from privseg.dp.ledger import Ledger, PrivacyBudget
from privseg.dp.population import UNIT_METRIC, trace


def _sha(c: str) -> str:
    return c * 64


def _record(
    command: str,
    *,
    inputs: Sequence[tuple[str, int | None]] = (),
    outputs: list[str],
    key_id: str | None = None,
    unit: str | None = None,
    purpose: str | None = None,
    outcome: str = audit.SUCCESS,
) -> audit.AuditRecord:
    recorder = audit.RunRecorder(command, "tester", purpose)
    recorder.inputs = [audit.DatasetRef(f"/d/{sha[0]}", sha, rows) for sha, rows in inputs]
    recorder.outputs = [audit.DatasetRef(f"/d/{sha[0]}", sha, 10) for sha in outputs]
    if key_id is not None:
        recorder.set_key_id(key_id)
    if unit is not None:
        recorder.set_metric(UNIT_METRIC, unit)
    return recorder.record(outcome)


def test_trace_follows_segment_runs_to_the_keys_and_units_of_apply(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "b.db")
    records = [
        _record("apply", inputs=[(_sha("0"), 10)], outputs=[_sha("a")], key_id="0a00000000000001",
                unit="外部联系人ID", purpose="wecom-marketing"),
        _record("apply", inputs=[(_sha("1"), 10)], outputs=[_sha("b")], key_id="0a00000000000002",
                unit="外部联系人ID", purpose="bi"),
        _record("segment assign", inputs=[(_sha("a"), 10), (_sha("5"), None)],
                outputs=[_sha("c")]),
        _record("segment assign", inputs=[(_sha("a"), 10), (_sha("b"), 10)], outputs=[_sha("d")]),
        _record("apply", inputs=[(_sha("2"), 10)], outputs=[_sha("e")], key_id="0a00000000000003",
                unit="u", outcome="PolicyRefusal"),
    ]  # fmt: skip
    labels = trace(_sha("c"), "/d/c", records, ledger)
    assert labels.keys == {("0a00000000000001", "外部联系人ID")} and labels.untraced == ()
    assert labels.purposes == {"wecom-marketing"}  # the scheme file (no rows) is no population
    mixed = trace(_sha("d"), "/d/d", records, ledger)
    assert mixed.keys == {
        ("0a00000000000001", "外部联系人ID"),
        ("0a00000000000002", "外部联系人ID"),
    }
    failed = trace(_sha("e"), "/d/e", records, ledger)  # a failed run vouches for nothing
    assert failed.keys == frozenset() and failed.untraced == ("/d/e",)
    # a registered file stands for its population, also as an input of a later run
    ledger.set_budget("crm", PrivacyBudget(1))
    ledger.register("crm", _sha("f"), "/d/f")
    records.append(_record("segment assign", inputs=[(_sha("f"), 10)], outputs=[_sha("9")]))
    registered = trace(_sha("9"), "/d/9", records, ledger)
    assert registered.registered == {"crm"} and registered.keys == frozenset()
