"""The presidio analyzer that screens samples, over an NLP engine that needs no model.

``NoOpNlpEngine`` does no tokenisation, so nothing is downloaded; recognizers are all
pattern recognizers with validators (:mod:`privseg.screening.recognizers`). A column's sample
is analysed in one call: its distinct values that hold a candidate of some pattern, joined by
newlines (no pattern crosses a newline), with the column header and its tokens passed as
context words. :class:`HeaderContextEnhancer` raises the score of a match whose recognizer
lists a context word found in the header.
"""

from __future__ import annotations

import bisect
from datetime import date
from functools import lru_cache

import numpy as np
from presidio_analyzer import (
    AnalyzerEngine,
    EntityRecognizer,
    RecognizerRegistry,
    RecognizerResult,
)
from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer
from presidio_analyzer.nlp_engine import NlpArtifacts, NoOpNlpEngine

from privseg.screening.detectors import (
    CONTEXT_BOOST,
    RESIDENT_ENTITIES,
    Finding,
    Values,
    candidates,
    pattern_finding,
)
from privseg.screening.lexicon import header_tokens
from privseg.screening.patterns import LANGUAGE, SPECS
from privseg.screening.recognizers import build_recognizers

__all__ = ["HeaderContextEnhancer", "analyze_sample", "build_analyzer"]

MIN_SCORE = 0.3


class HeaderContextEnhancer(ContextAwareEnhancer):
    """Boosts a match when the header supplies one of its recognizer's context words.

    presidio's ``LemmaContextAwareEnhancer`` with substring matching, less what the no-op NLP
    engine cannot use (words around the match) and less its deep copy of every result: the
    results are fresh and ours, so they are updated in place.
    """

    def __init__(self) -> None:
        super().__init__(
            context_similarity_factor=CONTEXT_BOOST,
            min_score_with_context_similarity=0.4,
            context_prefix_count=0,
            context_suffix_count=0,
        )

    def enhance_using_context(
        self,
        text: str,
        raw_results: list[RecognizerResult],
        nlp_artifacts: NlpArtifacts,
        recognizers: list[EntityRecognizer],
        context: list[str] | None = None,
    ) -> list[RecognizerResult]:
        """Raise scores of results whose recognizer's context words occur in ``context``."""
        words = [w.lower() for w in context or ()]
        supported = {
            r.id
            for r in recognizers
            if r.context and any(c.lower() in w for c in r.context for w in words)
        }
        for result in raw_results:
            meta = result.recognition_metadata or {}
            if meta.get(RecognizerResult.RECOGNIZER_IDENTIFIER_KEY) not in supported:
                continue
            boosted = max(
                result.score + self.context_similarity_factor,
                self.min_score_with_context_similarity,
            )
            result.score = min(boosted, self.MAX_SCORE)
            meta[RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY] = True
        return raw_results


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
        context_aware_enhancer=HeaderContextEnhancer(),
    )


def analyze_sample(vals: Values, header: str, *, as_of: date) -> list[Finding]:
    """Pattern findings of one column's sampled values, by presidio."""
    cands = {spec.entity: candidates(spec, vals) for spec in SPECS}
    cells = np.flatnonzero(np.logical_or.reduce(list(cands.values())))
    if not len(cells):
        return []
    texts = [v.replace("\n", " ") for v in vals.values.iloc[cells].tolist()]
    starts = np.cumsum([0] + [len(t) + 1 for t in texts[:-1]]).tolist()
    joined = "\n".join(texts)
    context = [header, *header_tokens(header)]
    # only the recognizers of entities with candidates here: the others cannot match
    entities = [entity for entity, cand in cands.items() if cand.any()]
    results = build_analyzer().analyze(
        text=joined, language=LANGUAGE, entities=entities, context=context
    )
    per_entity: dict[str, dict[int, list[str]]] = {}
    scores: dict[str, list[float]] = {}
    resident_spans = {(r.start, r.end) for r in results if r.entity_type in RESIDENT_ENTITIES}
    for r in results:
        if r.entity_type not in RESIDENT_ENTITIES and (r.start, r.end) in resident_spans:
            continue  # a valid resident ID is not also a card or IMEI
        cell = int(cells[bisect.bisect_right(starts, r.start) - 1])
        text = joined[r.start : r.end].replace(" ", "")
        per_entity.setdefault(r.entity_type, {}).setdefault(cell, []).append(text)
        scores.setdefault(r.entity_type, []).append(r.score)
    findings = []
    for spec in SPECS:
        cand = cands[spec.entity]
        matches = per_entity.get(spec.entity, {})
        if not cand.any() and not matches:
            continue
        score = float(np.mean(scores[spec.entity])) if matches else 0.0
        f = pattern_finding(spec, vals, cand, matches, score=score, as_of=as_of)
        if f is not None:
            findings.append(f)
    return findings
