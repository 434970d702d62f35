"""Screening quality on the labelled benchmark (issue 3, item 7).

The benchmark: the demo generator's customers, orders and interactions with Chinese and
English headers, the same customers with opaque headers (``col_NN``: values alone), and the
hand-written tricky tables in ``tests/data/screening`` (all header styles, decoys, GB18030).
Recall is measured over (column, category) pairs: on Art. 28 sensitive categories and on
direct-identifier categories; the false-positive rate over benign columns (any category
reported for a column labelled empty). Required: recall >= 0.95, FPR <= 0.05, in both the
sampling and the full-scan mode.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from privseg.demo.generator import DEMO_AS_OF, Lang, generate
from privseg.screening import ScreenReport, screen
from privseg.taxonomy import Category, info

DATA = Path(__file__).resolve().parent.parent / "data" / "screening"
LABELS = json.loads((DATA / "labels.json").read_text(encoding="utf-8"))
AS_OF = DEMO_AS_OF


@dataclass(frozen=True)
class Case:
    table: str
    column: str
    expected: frozenset[str]
    got: frozenset[str]


def _cases(
    report: ScreenReport, labels: dict[str, list[str]], names: dict[str, str]
) -> Iterator[Case]:
    for verdict in report.columns:
        original = names.get(verdict.name, verdict.name)
        yield Case(
            report.source,
            original,
            frozenset(labels[original]),
            frozenset(c.value for c in verdict.categories),
        )


def benchmark(full: bool) -> list[Case]:
    cases: list[Case] = []
    for name in ("tricky.csv", "tricky_gb18030.csv"):
        report = screen(DATA / name, full=full, as_of=AS_OF, source=name)
        cases += _cases(report, LABELS[name], {})
    demo = LABELS["demo"]
    for lang in Lang:
        data = generate(3000, seed=7, lang=lang)
        for table in ("customers", "orders", "interactions"):
            frame = getattr(data, table)
            report = screen(frame, full=full, as_of=AS_OF, source=f"demo {lang} {table}")
            cases += _cases(report, demo[table], {})
    customers = generate(3000, seed=11).customers.drop(columns=LABELS["demo_opaque_skip"])
    opaque = {f"col_{i:02d}": str(c) for i, c in enumerate(customers.columns)}
    frame = customers.set_axis(list(opaque), axis=1)
    report = screen(frame, full=full, as_of=AS_OF, source="demo opaque customers")
    cases += _cases(report, demo["customers"], opaque)
    return cases


def _recall(cases: list[Case], kinds: set[str]) -> tuple[float, int, list[str]]:
    pairs = [(c, cat) for c in cases for cat in c.expected if cat in kinds]
    missed = [f"{c.table}:{c.column}:{cat}" for c, cat in pairs if cat not in c.got]
    return 1 - len(missed) / len(pairs), len(pairs), missed


SENSITIVE = {c.value for c in Category if info(c).sensitive}
IDENTIFIERS = {c.value for c in Category if info(c).direct_identifier}


@pytest.mark.slow
@pytest.mark.parametrize("full", [False, True], ids=["sample", "full"])
def test_recall_and_false_positive_rate(full: bool) -> None:
    cases = benchmark(full)
    sensitive, n_sensitive, missed_s = _recall(cases, SENSITIVE)
    identifiers, n_ident, missed_i = _recall(cases, IDENTIFIERS)
    benign = [c for c in cases if not c.expected]
    false_pos = [f"{c.table}:{c.column}:{sorted(c.got)}" for c in benign if c.got]
    fpr = len(false_pos) / len(benign)
    exact = sum(c.expected == c.got for c in cases) / len(cases)
    print(
        f"\nscreening benchmark ({'full' if full else 'sample'}): {len(cases)} columns; "
        f"sensitive recall {sensitive:.3f} ({n_sensitive} pairs), identifier recall "
        f"{identifiers:.3f} ({n_ident} pairs), benign FPR {fpr:.3f} ({len(benign)} columns), "
        f"exact category sets {exact:.3f}"
    )
    assert sensitive >= 0.95, missed_s
    assert identifiers >= 0.95, missed_i
    assert fpr <= 0.05, false_pos


def test_benchmark_is_balanced() -> None:
    """With the realistic exports, the labels cover every category; many benign columns."""
    tricky = LABELS["tricky.csv"]
    assert set(pd.read_csv(DATA / "tricky.csv", nrows=0).columns) == set(tricky)
    exports = json.loads((DATA / "exports" / "labels.json").read_text(encoding="utf-8"))
    covered = set().union(*map(set, tricky.values()))
    covered |= {c for table in exports.values() for cats in table.values() for c in cats}
    assert covered == {c.value for c in Category}
    assert sum(not v for v in tricky.values()) >= 15
