"""Screening quality on realistic private-domain exports (issue 12, item 6).

Seven exports from different verticals (WeCom customers, Youzan and Taobao orders, a retail
CRM, maternity-store service tickets, a children's-education enrolment sheet, gym
check-ins) and a catalogue of benign look-alikes, written by
``tests/data/screening/make_exports.py`` with its own generators; each also with opaque
headers (``cNN``: values alone), three in GB18030 and three as XLSX. Recall over
(column, category) pairs of Art. 28 sensitive and of direct-identifier categories; the
false-positive rate over benign columns. Required on this benchmark: sensitive recall >= 0.97,
identifier recall >= 0.95, benign FPR <= 0.03 for named headers; with opaque headers the
header-only facts (a due date is a date) cannot be seen, so the floor there is lower.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from screening_scores import SENSITIVE, Case, score, table

from privseg.screening import screen

DATA = Path(__file__).resolve().parent.parent / "data" / "screening" / "exports"
LABELS: dict[str, dict[str, list[str]]] = json.loads(
    (DATA / "labels.json").read_text(encoding="utf-8")
)
AS_OF = __import__("datetime").date(2026, 6, 30)


def run(files: list[str], full: bool) -> list[Case]:
    cases = []
    for name in files:
        report = screen(DATA / name, full=full, as_of=AS_OF, source=name)
        for verdict in report.columns:
            cases.append(
                Case(
                    name,
                    verdict.name,
                    frozenset(LABELS[name][verdict.name]),
                    frozenset(c.value for c in verdict.categories),
                )
            )
    return cases


NAMED = [f for f in LABELS if "_opaque" not in f]
OPAQUE = [f for f in LABELS if "_opaque" in f]


@pytest.mark.slow
@pytest.mark.parametrize("full", [False, True], ids=["sample", "full"])
def test_named_headers(full: bool) -> None:
    s = score(run(NAMED, full))
    print("\n" + table(f"named headers, {'full' if full else 'sample'} mode", s))
    assert s.sensitive >= 0.97, s.missed
    assert s.identifiers >= 0.95, s.missed
    assert s.fpr <= 0.03, s.false_positives


@pytest.mark.slow
def test_opaque_headers() -> None:
    s = score(run(OPAQUE, False))
    print("\n" + table("opaque headers, sample mode", s))
    assert s.sensitive >= 0.75, s.missed
    assert s.identifiers >= 0.85, s.missed
    assert s.fpr <= 0.03, s.false_positives


def test_exports_are_varied_and_balanced() -> None:
    named = [LABELS[f] for f in NAMED if f.endswith(".csv") and "_gb18030" not in f]
    assert len(named) >= 7
    covered = {c for table in named for cats in table.values() for c in cats}
    assert SENSITIVE - {"biometric"} <= covered
    assert sum(not cats for table in named for cats in table.values()) >= 25
    assert any(f.endswith(".xlsx") for f in LABELS) and any("_gb18030" in f for f in LABELS)
