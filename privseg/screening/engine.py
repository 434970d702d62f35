"""The presidio analyzer that screens samples, over an NLP engine that needs no model.

``NoOpNlpEngine`` does no tokenisation, so nothing is downloaded; recognizers are all
pattern recognizers with validators (:mod:`privseg.screening.recognizers`). A column's sample
is analysed in one call: its distinct values joined by newlines (no pattern crosses a
newline), with the column header and its tokens passed as context words.
"""

from __future__ import annotations

import bisect
from datetime import date
from functools import lru_cache

import numpy as np
from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
from presidio_analyzer.nlp_engine import NoOpNlpEngine

from privseg.screening.detectors import Finding, Values, candidates, pattern_finding
from privseg.screening.lexicon import header_tokens
from privseg.screening.patterns import LANGUAGE, SPECS
from privseg.screening.recognizers import build_recognizers

__all__ = ["analyze_sample", "build_analyzer"]

MIN_SCORE = 0.3


@lru_cache(maxsize=1)
def build_analyzer() -> AnalyzerEngine:
    """A presidio ``AnalyzerEngine`` with privseg's recognizers only, offline."""
    registry = RecognizerRegistry(supported_languages=[LANGUAGE])
    for recognizer in build_recognizers():
        registry.add_recognizer(recognizer)
    return AnalyzerEngine(
        registry=registry,
        nlp_engine=NoOpNlpEngine(models=[{"lang_code": LANGUAGE, "model_name": "no_op"}]),
        supported_languages=[LANGUAGE],
        default_score_threshold=MIN_SCORE,
    )


def analyze_sample(vals: Values, header: str, *, as_of: date) -> list[Finding]:
    """Pattern findings of one column's sampled values, by presidio."""
    texts = [v.replace("\n", " ") for v in vals.values.tolist()]
    if not texts:
        return []
    starts = np.cumsum([0] + [len(t) + 1 for t in texts[:-1]]).tolist()
    joined = "\n".join(texts)
    context = [header, *header_tokens(header)]
    results = build_analyzer().analyze(text=joined, language=LANGUAGE, context=context)
    per_entity: dict[str, dict[int, list[str]]] = {}
    scores: dict[str, list[float]] = {}
    resident_spans = {(r.start, r.end) for r in results if r.entity_type == "CN_RESIDENT_ID"}
    for r in results:
        if r.entity_type != "CN_RESIDENT_ID" and (r.start, r.end) in resident_spans:
            continue  # a valid resident ID is not also a card or IMEI
        cell = bisect.bisect_right(starts, r.start) - 1
        text = joined[r.start : r.end].replace(" ", "")
        per_entity.setdefault(r.entity_type, {}).setdefault(cell, []).append(text)
        scores.setdefault(r.entity_type, []).append(r.score)
    findings = []
    for spec in SPECS:
        cand = candidates(spec, vals)
        matches = per_entity.get(spec.entity, {})
        if not cand.any() and not matches:
            continue
        score = float(np.mean(scores[spec.entity])) if matches else 0.0
        f = pattern_finding(spec, vals, cand, matches, score=score, as_of=as_of)
        if f is not None:
            findings.append(f)
    return findings
