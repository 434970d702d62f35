"""User recognizers: a company's own identifier formats, vocabulary and header words, in YAML.

A file like Presidio's YAML recognizers, validated by :class:`RecognizersFile`::

    recognizers:
      - name: store_card
        category: financial_account
        patterns:
          - name: card
            regex: "SC\\d{10}"
            score: 0.8
        context: [储值卡, store card]
        headers: [储值卡号]
        vocabulary: [储值余额]
        min_share: 0.5

``patterns`` match values (a whole-value share of ``min_share`` with a silent header),
``context`` words raise a pattern's score when the header holds them, ``headers`` name the
category outright, and ``vocabulary`` terms count in free text like the built-in ones.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from privseg._yaml import load_yaml_model
from privseg.errors import InputError
from privseg.screening.lexicon import HeaderHit
from privseg.screening.patterns import PatternSpec
from privseg.taxonomy import Category

__all__ = ["CustomRecognizers", "RecognizersFile", "load_recognizers"]

HEADER_WEIGHT = 0.7


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _PatternModel(_Model):
    name: str = Field(min_length=1)
    regex: str = Field(min_length=1, description="Python regular expression of one value.")
    score: float = Field(default=0.6, gt=0, le=1)

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            compiled = re.compile(value)
        except re.error as error:
            raise ValueError(f"not a valid regular expression: {error}") from None
        if compiled.fullmatch(""):
            raise ValueError("the regular expression matches the empty string")
        return value


class _RecognizerModel(_Model):
    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    category: Category
    patterns: tuple[_PatternModel, ...] = ()
    context: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()
    vocabulary: tuple[str, ...] = ()
    min_share: float = Field(default=0.5, gt=0, le=1)

    @model_validator(mode="after")
    def _does_something(self) -> _RecognizerModel:
        if not (self.patterns or self.headers or self.vocabulary):
            raise ValueError("a recognizer needs patterns, headers or vocabulary")
        if any(not t.strip() for t in (*self.context, *self.headers, *self.vocabulary)):
            raise ValueError("context, headers and vocabulary terms must not be blank")
        return self


class RecognizersFile(_Model):
    """The schema of a ``--recognizers`` file."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="privseg recognizers")
    recognizers: tuple[_RecognizerModel, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> RecognizersFile:
        names = [r.name for r in self.recognizers]
        if len(set(names)) != len(names):
            raise ValueError("recognizer names must be unique")
        return self


@dataclass(frozen=True)
class CustomRecognizers:
    """Compiled user recognizers: pattern specs, vocabularies and header terms per category."""

    specs: tuple[PatternSpec, ...] = ()
    vocabularies: Mapping[Category, re.Pattern[str]] = field(default_factory=dict)
    headers: Mapping[Category, tuple[str, ...]] = field(default_factory=dict)
    source: str = ""

    def header_hits(self, header: str) -> tuple[HeaderHit, ...]:
        """Categories whose user header words occur in ``header`` (case-insensitive)."""
        lowered = header.lower()
        hits = []
        for category, words in self.headers.items():
            term = next((w for w in words if w.lower() in lowered), None)
            if term is not None:
                hits.append(HeaderHit(category, term, HEADER_WEIGHT))
        return tuple(hits)


def _compile(model: RecognizersFile, source: str) -> CustomRecognizers:
    specs = []
    vocab: dict[Category, list[str]] = {}
    headers: dict[Category, list[str]] = {}
    for r in model.recognizers:
        for p in r.patterns:
            specs.append(
                PatternSpec(
                    f"CUSTOM_{r.name.upper()}_{p.name.upper()}",
                    r.category,
                    rf"(?<![0-9A-Za-z])(?:{p.regex})(?![0-9A-Za-z])",
                    p.score,
                    r.context,
                    validator_name="",
                    in_text=True,
                    min_share=r.min_share,
                )
            )
        vocab.setdefault(r.category, []).extend(r.vocabulary)
        headers.setdefault(r.category, []).extend(r.headers)
    return CustomRecognizers(
        tuple(specs),
        {
            c: re.compile("|".join(re.escape(t) for t in terms), re.IGNORECASE)
            for c, terms in vocab.items()
            if terms
        },
        {c: tuple(words) for c, words in headers.items() if words},
        source,
    )


def load_recognizers(path: str | Path) -> CustomRecognizers:
    """Read and validate a recognizers file; InputError names the file, line and field."""
    source = Path(path)
    model, _ = load_yaml_model(source, RecognizersFile, InputError, "recognizers")
    return _compile(model, str(source))
