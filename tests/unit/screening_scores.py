"""Scoring of screening benchmarks: recall per category over labelled (column, category)
pairs and the false-positive rate over benign columns (shared by the export benchmarks)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from privseg.taxonomy import Category, info

SENSITIVE = {c.value for c in Category if info(c).sensitive}
IDENTIFIERS = {c.value for c in Category if info(c).direct_identifier}


@dataclass(frozen=True)
class Case:
    table: str
    column: str
    expected: frozenset[str]
    got: frozenset[str]


@dataclass(frozen=True)
class Scores:
    sensitive: float
    identifiers: float
    fpr: float
    missed: tuple[str, ...]
    false_positives: tuple[str, ...]
    per_category: dict[str, tuple[int, int]]


def score(cases: list[Case]) -> Scores:
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    missed = []
    for case in cases:
        for cat in case.expected:
            per[cat][1] += 1
            if cat in case.got:
                per[cat][0] += 1
            else:
                missed.append(f"{case.table}:{case.column}:{cat}")

    def recall(kinds: set[str]) -> float:
        hit = sum(per[c][0] for c in kinds if c in per)
        total = sum(per[c][1] for c in kinds if c in per)
        return hit / total

    benign = [c for c in cases if not c.expected]
    false_pos = tuple(f"{c.table}:{c.column}:{sorted(c.got)}" for c in benign if c.got)
    return Scores(
        recall(SENSITIVE),
        recall(IDENTIFIERS),
        len(false_pos) / len(benign),
        tuple(missed),
        false_pos,
        {c: (v[0], v[1]) for c, v in sorted(per.items())},
    )


def table(title: str, s: Scores) -> str:
    """The figures as markdown, for benchmarks/README.md (``pytest -s`` prints them)."""
    lines = [
        f"{title}: sensitive recall {s.sensitive:.3f}, identifier recall {s.identifiers:.3f}, "
        f"benign false-positive rate {s.fpr:.3f}",
        "| category | found / labelled |",
        "|---|---:|",
    ]
    lines += [f"| `{c}` | {hit} / {total} |" for c, (hit, total) in s.per_category.items()]
    return "\n".join(lines)
