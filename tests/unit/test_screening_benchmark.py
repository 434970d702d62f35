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
from pathlib import Path

import pandas as pd
import pytest
from screening_scores import Case, score

from privseg.demo.generator import DEMO_AS_OF, Lang, generate
from privseg.screening import ScreenReport, screen
from privseg.taxonomy import Category

DATA = Path(__file__).resolve().parent.parent / "data" / "screening"
LABELS = json.loads((DATA / "labels.json").read_text(encoding="utf-8"))
AS_OF = DEMO_AS_OF


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


@pytest.mark.slow
@pytest.mark.parametrize("full", [False, True], ids=["sample", "full"])
def test_recall_and_false_positive_rate(full: bool) -> None:
    cases = benchmark(full)
    s = score(cases)
    benign = sum(not c.expected for c in cases)
    exact = sum(c.expected == c.got for c in cases) / len(cases)
    print(
        f"\nscreening benchmark ({'full' if full else 'sample'}): {len(cases)} columns; "
        f"sensitive recall {s.sensitive:.3f}, identifier recall {s.identifiers:.3f}, "
        f"benign FPR {s.fpr:.3f} ({benign} columns), exact category sets {exact:.3f}"
    )
    assert s.sensitive >= 0.95, s.missed
    assert s.identifiers >= 0.95, s.missed
    assert s.fpr <= 0.05, s.false_positives


def test_benchmark_is_balanced() -> None:
    """With the realistic exports, the labels cover every category; many benign columns."""
    tricky = LABELS["tricky.csv"]
    assert set(pd.read_csv(DATA / "tricky.csv", nrows=0).columns) == set(tricky)
    exports = json.loads((DATA / "exports" / "labels.json").read_text(encoding="utf-8"))
    covered = set().union(*map(set, tricky.values()))
    covered |= {c for table in exports.values() for cats in table.values() for c in cats}
    assert covered == {c.value for c in Category}
    assert sum(not v for v in tricky.values()) >= 15
