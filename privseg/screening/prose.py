"""Free text: remarks, buyer messages, ticket text and memos, screened for every sensitive class.

Each category of :data:`~privseg.screening.terms.TERMS` is reported on its own when a
meaningful share of the values mention it (several classes in one remarks column are all
reported, not only the first that fires). Spans that name a thing rather than say something
about a person (titles in 《》, occupations, products) are blanked first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from privseg.screening.detectors import Finding, Values, contains, finding
from privseg.screening.masking import mask
from privseg.screening.report import Detector
from privseg.screening.terms import CHILD_AGE, NOT_MENTIONS, TERMS
from privseg.taxonomy import Category

__all__ = ["MIN_SHARE", "scan_prose"]

#: Share of examined values that must mention a category (with at least two of them).
MIN_SHARE = 0.002
_EXAMPLES = 50


def _mentions(values: pd.Series) -> pd.Series:
    """The values with titles, occupations and product names blanked out."""
    named = contains(values, NOT_MENTIONS)
    if not named.any():
        return values
    out = values.copy()
    out[named] = values[named].str.replace(NOT_MENTIONS, " ", regex=True)
    return out


def _shown(text: str) -> str:
    """A term as evidence: short vocabulary words as they are, longer spans masked."""
    return text if len(text) <= 4 else mask(text)


def scan_prose(
    vals: Values, extra: Mapping[Category, re.Pattern[str]] | None = None
) -> list[Finding]:
    """One vocabulary finding per category that the values mention (``extra``: user terms)."""
    if not len(vals.counts):
        return []
    text = _mentions(vals.values)
    vocabularies: dict[Category, list[re.Pattern[str]]] = {c: [p] for c, p in TERMS.items()}
    vocabularies[Category.MINOR].append(CHILD_AGE)
    for category, pattern in (extra or {}).items():
        vocabularies.setdefault(category, []).append(pattern)
    out = []
    for category, patterns in vocabularies.items():
        hit = np.logical_or.reduce([contains(text, p) for p in patterns])
        if not hit.any():
            continue
        examples: dict[str, None] = {}
        for value in text[hit].head(_EXAMPLES).tolist():
            found = next(m for m in (p.search(value) for p in patterns) if m is not None)
            examples.setdefault(_shown(found.group(0)), None)
        f = finding(
            vals,
            np.asarray(hit),
            category,
            Detector.VOCABULARY,
            f"{category.value} vocabulary",
            score=0.9,
            min_share=MIN_SHARE,
            examples=examples,
        )
        if f is not None:
            out.append(f)
    return out
