"""Column verdicts: header evidence combined with the share of matching values.

Rules, per category:

- a header lexicon term gives strength 0.7 (0.5 for weak terms such as 省份/city; 0 for a
  term that only admits values, such as 证件号码 for passports);
- a value finding counts when the header names its category and at least one value matched,
  or, with a silent header, when its share of examined values reaches the detector's
  ``min_share`` with at least two matches (or one in ten examined values); validated patterns
  also need 80% of their candidates to pass the validator (50% when the header names them),
  so 16-digit codes that pass Luhn by chance, about one in ten, do not make a card column.
  Findings that ``needs_header`` count only with the header;
- a counted finding has strength ``score x min(1, matched / 5)`` (times its precision);
  strengths combine as independent evidence: ``1 - (1 - a)(1 - b)``;
- a header naming whereabouts over values that are only provinces or cities gives an address,
  not whereabouts;
- ``minor`` is derived from counted resident-ID, birth-date and age findings that show a
  holder under 14, with the strength of the finding it comes from.

A column's confidence is the strength of its strongest category; a column without personal
information gets ``1 - (strongest rejected signal)``, discounted when few values were seen.
"""

from __future__ import annotations

from collections import defaultdict

from privseg.screening.detectors import PLACE_RULE, Finding
from privseg.screening.lexicon import HeaderHit
from privseg.screening.report import ColumnVerdict, Detector, Evidence
from privseg.taxonomy import Category, info

__all__ = ["decide"]

MIN_PRECISION = 0.8
MIN_PRECISION_NAMED = 0.5
SATURATION = 5
_MINOR_SOURCES = (Category.NATIONAL_ID, Category.BIRTH_DATE, Category.AGE)


def _counts(f: Finding, named: bool) -> bool:
    if f.needs_header and not named:
        return False
    floor = MIN_PRECISION_NAMED if named else MIN_PRECISION
    if f.detector is Detector.VALIDATED and f.precision < floor:
        return False
    if named:
        return f.matched >= 1
    return (f.matched >= 2 or f.share >= 0.1) and f.share >= f.min_share


def _strength(f: Finding) -> float:
    v = f.score * min(1.0, f.matched / SATURATION)
    if f.detector is Detector.VALIDATED:
        v *= f.precision
    return v


def _combine(a: float, b: float) -> float:
    return 1.0 - (1.0 - a) * (1.0 - b)


def _evidence(f: Finding, category: Category | None = None, matched: int | None = None) -> Evidence:
    return Evidence(
        category or f.category,
        f.detector if category is None else Detector.DERIVED,
        f.rule if category is None else f"holder under 14 from {f.category.value}",
        f.matched if matched is None else matched,
        f.examined,
        f.examples if category is None else (),
    )


def _only_places(evidence: dict[Category, list[Evidence]], findings: list[Finding]) -> bool:
    where = evidence.get(Category.WHEREABOUTS, [])
    if not where or any(e.detector is not Detector.HEADER for e in where):
        return False
    return any(
        f.category is Category.ADDRESS and f.rule == PLACE_RULE and f.share >= 0.8 for f in findings
    )


def decide(
    name: str,
    header: tuple[HeaderHit, ...],
    findings: list[Finding],
    *,
    sampled: bool,
    examined: int,
) -> ColumnVerdict:
    """The verdict of one column from its header hits and value findings."""
    strength: dict[Category, float] = {}
    evidence: dict[Category, list[Evidence]] = defaultdict(list)
    named = {h.category for h in header}
    for h in header:
        if h.weight > 0:  # a weight-0 term only admits the category's values
            strength[h.category] = h.weight
            evidence[h.category].append(Evidence(h.category, Detector.HEADER, h.term))
    rejected = 0.0
    for f in findings:
        if not _counts(f, f.category in named):
            rejected = max(rejected, f.score * f.share * (f.precision or 1.0))
            continue
        v = _strength(f)
        strength[f.category] = _combine(strength.get(f.category, 0.0), v)
        evidence[f.category].append(_evidence(f))
        if f.category in _MINOR_SOURCES and f.minors:
            strength[Category.MINOR] = _combine(strength.get(Category.MINOR, 0.0), v)
            evidence[Category.MINOR].append(_evidence(f, Category.MINOR, f.minors))
    if _only_places(evidence, findings):
        # A province or city alone is not whereabouts (at most an address).
        del strength[Category.WHEREABOUTS], evidence[Category.WHEREABOUTS]
    order = sorted(strength, key=lambda c: (strength[c], info(c).sensitive), reverse=True)
    if order:
        confidence = strength[order[0]]
    else:
        coverage = 0.5 + 0.5 * min(1.0, examined / 100)
        confidence = (1.0 - min(rejected, 1.0)) * coverage
    return ColumnVerdict(
        name=name,
        categories=tuple(order),
        sensitive=any(info(c).sensitive for c in order),
        confidence=round(confidence, 3),
        evidence=tuple(e for c in order for e in evidence[c]),
        sampled=sampled,
        examined=examined,
    )
