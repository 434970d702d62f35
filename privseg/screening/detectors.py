"""Value detectors that run over a whole column at once (pandas string methods, regex).

A column is first reduced to its distinct non-empty values and their counts
(:class:`Values`), so every detector runs once per distinct value and weighs by count.
Each detector returns :class:`Finding` objects: how many examined values matched, how many
were candidates before validation, and how strong one match is. Pattern entities use the
same :data:`~privseg.screening.patterns.SPECS` as the presidio recognizers.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from privseg.screening import vocab
from privseg.screening.masking import mask
from privseg.screening.patterns import (
    SPECS,
    PatternSpec,
    is_resident_id,
    resident_id_birth_date,
)
from privseg.screening.report import Detector
from privseg.taxonomy import Category

__all__ = [
    "RESIDENT_ENTITIES",
    "Finding",
    "Values",
    "ages",
    "birth_dates",
    "contains",
    "finding",
    "gender",
    "names",
    "pattern_finding",
    "places",
    "scan_patterns",
]

C = Category
MINOR_AGE = 14
PLACE_RULE = "province or city"
CONTEXT_BOOST = 0.35  # presidio's LemmaContextAwareEnhancer default factor
#: Entities of valid resident IDs: a span they match is not also a card or an IMEI.
RESIDENT_ENTITIES = frozenset(s.entity for s in SPECS if s.validator is is_resident_id)


@dataclass(frozen=True)
class Values:
    """Distinct non-empty values of a column as text, with how often each occurs."""

    values: pd.Series
    counts: np.ndarray
    total: int | None = None  # examined values of the whole column, when this is a subset

    @classmethod
    def of(cls, column: pd.Series) -> Values:
        """Distinct values of a column converted to text (bytes become base64)."""
        text = as_text(column)
        vc = text.value_counts(sort=False)
        return cls(pd.Series(vc.index, dtype="str"), vc.to_numpy(dtype=np.int64))

    @property
    def examined(self) -> int:
        """Number of non-empty values examined (of the whole column, for a subset)."""
        return int(self.counts.sum()) if self.total is None else self.total

    def subset(self, keep: np.ndarray) -> Values:
        """The distinct values where ``keep`` holds; shares stay relative to the whole."""
        values = self.values[keep].reset_index(drop=True)
        return Values(values, self.counts[keep], self.examined)

    def weight(self, mask_: np.ndarray | pd.Series) -> int:
        """Number of examined values where ``mask_`` (over distinct values) holds."""
        return int(self.counts[np.asarray(mask_, dtype=bool)].sum())


def as_text(column: pd.Series) -> pd.Series:
    """Non-empty values as text: integral floats without ``.0``, bytes as base64, lists as JSON."""
    s = column.dropna()
    if s.empty:
        return pd.Series([], dtype="str")
    if pd.api.types.is_float_dtype(s.dtype):
        integral = bool(np.all(np.mod(s.to_numpy(dtype=float), 1) == 0))
        s = s.astype("Int64") if integral and s.abs().max() < 2**62 else s
    elif pd.api.types.is_datetime64_any_dtype(s.dtype):
        return s.dt.strftime("%Y-%m-%d %H:%M:%S").str.replace(" 00:00:00", "", regex=False)
    elif s.dtype == object:
        s = s.map(_object_text)
    text = s.astype("str").str.strip()
    return text[text != ""]


def _object_text(value: object) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, list | tuple | np.ndarray):
        return json.dumps([v.item() if isinstance(v, np.generic) else v for v in value])
    return str(value)


@dataclass(frozen=True)
class Finding:
    """What one detector saw in one column.

    ``matched`` values supported ``category`` out of ``candidates`` that had its shape (equal
    when there is no validator) and ``examined`` in all; ``score`` is the strength of one
    match; ``min_share`` the share of examined values needed when the header is silent;
    ``needs_header`` findings count only when the header names the category; ``minors``
    counts matched values showing a holder under 14.
    """

    category: Category
    detector: Detector
    rule: str
    matched: int
    candidates: int
    examined: int
    score: float
    min_share: float
    needs_header: bool = False
    examples: tuple[str, ...] = ()
    minors: int = 0

    @property
    def share(self) -> float:
        """Share of examined values that matched."""
        return self.matched / self.examined if self.examined else 0.0

    @property
    def precision(self) -> float:
        """Share of candidates that passed validation."""
        return self.matched / self.candidates if self.candidates else 0.0


_LOOKAROUND = re.compile(r"\(\?<?[=!][^()]*\)")
_CAPTURE = re.compile(r"(?<!\\)\((?!\?)")


@lru_cache(maxsize=256)
def _plain(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """The pattern with its capture groups made non-capturing (``contains`` needs none)."""
    return re.compile(_CAPTURE.sub("(?:", pattern.pattern), pattern.flags)


@lru_cache(maxsize=256)
def _loose(pattern: re.Pattern[str]) -> str | None:
    """A superset of the pattern that pyarrow's RE2 engine runs, or None if there is none here.

    Lookarounds and word boundaries are dropped; ``\\d`` becomes ``\\p{Nd}`` (Python's
    ``\\d`` is every Unicode decimal digit, RE2's only ASCII ones); ``(?ms)`` lets ``.``,
    ``^`` and ``$`` match more, never less. ``\\w`` and ``\\s`` differ between the engines:
    patterns using them get None.
    """
    text = _LOOKAROUND.sub("", _plain(pattern).pattern)
    if _PYTHON_CLASSES.search(text):
        return None
    text = _DIGITS_AND_BOUNDARIES.sub(
        lambda m: m[1] + {"d": r"\p{Nd}", "D": r"\P{Nd}"}.get(m[2], ""), text
    )
    return ("(?ims)" if pattern.flags & re.IGNORECASE else "(?ms)") + text


_PYTHON_CLASSES = re.compile(r"(?<!\\)(?:\\\\)*\\[wWsS]")
_DIGITS_AND_BOUNDARIES = re.compile(r"(?<!\\)((?:\\\\)*)\\([dDbB])")


#: Up to this many values (a sample) ``fullmatch`` runs Python's ``re`` directly: its
#: compiled patterns are cached, while pandas parses the pattern again on every call to choose
#: an engine and pyarrow compiles it again.
_PYTHON_RE_MAX = 20_000


def fullmatch(values: pd.Series, pattern: re.Pattern[str]) -> np.ndarray:
    """Where each (non-null) value matches ``pattern`` whole."""
    if len(values) <= _PYTHON_RE_MAX:
        whole = pattern.fullmatch
        return np.fromiter(
            (whole(v) is not None for v in values.tolist()), dtype=bool, count=len(values)
        )
    return np.asarray(values.str.fullmatch(pattern.pattern, flags=pattern.flags), dtype=bool)


def contains(values: pd.Series, pattern: re.Pattern[str]) -> np.ndarray:
    """Where ``pattern`` matches somewhere in each (non-null) value.

    Lookarounds push pandas onto a per-value Python loop, and Python's ``re`` searches the
    long vocabulary alternations slowly even on a sample; so a superset of the pattern
    (:func:`_loose`) runs first in pyarrow's RE2 (vectorized, called directly: pandas parses
    the pattern again on every call), and the exact pattern only on the values it let through.
    """
    maybe = np.ones(len(values), dtype=bool)  # without a superset RE2 runs: check every value
    loose = _loose(pattern)
    if loose is not None:
        with contextlib.suppress(pa.ArrowException):  # RE2 refused the pattern
            found = pc.match_substring_regex(pa.array(values, from_pandas=True), loose)
            maybe = found.fill_null(False).to_numpy(zero_copy_only=False)
    hit = np.zeros(len(values), dtype=bool)
    idx = np.flatnonzero(maybe)
    if len(idx):
        exact = values.iloc[idx].str.contains(_plain(pattern), regex=True)
        hit[idx] = exact.to_numpy(dtype=bool)
    return hit


def _under(birth: date, as_of: date, years: int = MINOR_AGE) -> bool:
    try:
        limit = birth.replace(year=birth.year + years)
    except ValueError:  # 29 February
        limit = date(birth.year + years, 3, 1)
    return birth <= as_of < limit


def pattern_finding(
    spec: PatternSpec,
    vals: Values,
    candidate: np.ndarray,
    matches: dict[int, list[str]],
    *,
    score: float,
    as_of: date,
) -> Finding | None:
    """Finding of one spec from candidate cells and the validated matches per cell."""
    candidates = vals.weight(candidate)
    if not candidates and not matches:
        return None
    cells = np.zeros(len(vals.counts), dtype=bool)
    cells[list(matches)] = True
    minors = 0
    if spec.entity in RESIDENT_ENTITIES:
        minor = np.zeros_like(cells)
        for i, texts in matches.items():
            births = (resident_id_birth_date(t) for t in texts)
            minor[i] = any(b is not None and _under(b, as_of) for b in births)
        minors = vals.weight(minor)
    examples = tuple(mask(t[0]) for t in list(matches.values())[:3])
    detector = Detector.VALIDATED if spec.validator else Detector.PATTERN
    rule = f"{spec.entity} + {spec.validator_name}" if spec.validator else spec.entity
    return Finding(
        spec.category,
        detector,
        rule,
        vals.weight(cells),
        max(candidates, vals.weight(cells)),
        vals.examined,
        score,
        spec.min_share,
        examples=examples,
        minors=minors,
    )


def spec_score(spec: PatternSpec, header: str) -> float:
    """Score of a match as presidio would give it: validated 1.0, else base + header context."""
    if spec.validator is not None:
        return 1.0
    lowered = header.lower()
    boost = CONTEXT_BOOST if any(w.lower() in lowered for w in spec.context) else 0.0
    return min(1.0, spec.score + boost)


def candidates(spec: PatternSpec, vals: Values) -> np.ndarray:
    """Distinct values holding at least one match of the spec's pattern."""
    return contains(vals.values, spec.compiled)


def scan_patterns(
    vals: Values, header: str, *, as_of: date, specs: Sequence[PatternSpec] = SPECS
) -> list[Finding]:
    """Pattern specs over the whole column, validators applied (the ``--full`` path, and user
    recognizers in both modes)."""
    findings = []
    for spec in specs:
        cand = candidates(spec, vals)
        if not cand.any():
            continue
        found = vals.values[cand].str.extractall(spec.grouped)[0]
        texts = found.str.replace(" ", "", regex=False)
        if spec.validator is not None:
            verdicts = {t: spec.validator(t) for t in texts.unique()}
            texts = texts[texts.map(verdicts).astype(bool)]
        if spec.entity not in RESIDENT_ENTITIES:  # a valid resident ID is not a card or IMEI
            ids = {t: len(t) in (15, 18) and is_resident_id(t) for t in texts.unique()}
            texts = texts[~texts.map(ids).astype(bool)]
        matches: dict[int, list[str]] = {}
        for (cell, _), text in texts.items():
            matches.setdefault(int(cell), []).append(str(text))
        f = pattern_finding(spec, vals, cand, matches, score=spec_score(spec, header), as_of=as_of)
        if f is not None:
            findings.append(f)
    return findings


# --- vocabularies and shapes -------------------------------------------------------------

_DATE = re.compile(
    r"((?:19|20)\d{2})[-/.年](0?[1-9]|1[0-2])[-/.月](0?[1-9]|[12]\d|3[01])日?"
    r"(?:[ T]00:00(?::00)?)?"
)
_MONTH_DAY = re.compile(
    r"(?:0?[1-9]|1[0-2])(?:[-/.]|月)(?:0?[1-9]|[12]\d|3[01])日?|(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
)
_AGE_NUMBER = re.compile(r"\d{1,3}")
_AGE_SUFFIX = re.compile(r"(\d{1,3}) ?(?:岁|周岁|years?(?: old)?)")
_ADDRESS = re.compile(
    r"(?:省|市|区|县|自治州|镇|乡).{0,30}?(?:路|街|大道|巷|弄|胡同|村|小区|号|栋|幢|室)"
    r"|\d+ *[A-Za-z .]{2,40}(?:road|rd|street|st|avenue|ave|lane|ln)\b",
    re.I,
)
_SURNAME = "(?:" + "|".join(vocab.COMPOUND_SURNAMES) + "|[" + "".join(sorted(vocab.SURNAMES)) + "])"
_NAME = re.compile(_SURNAME + "[\u4e00-\u9fff]{1,2}")
#: A contact's remark name: a name or surname + kinship/title, then a note: 黄姐(北京), 李雪 133****2434
_NAME_LABEL = re.compile(  # not a product option: 白色/M码, 金卡-年费
    _SURNAME
    + r"(?![\u4e00-\u9fff]?[色码款号型装件级卡区店])(?:[\u4e00-\u9fff]{1,2}|[\u4e00-\u9fff]?(?:姐|哥|总|老师|女士|先生|阿姨|叔|小姐))"
    r"(?:[\s(（\-_/|·,，:：@#*].{0,30}|\d.{0,20})"
)
#: A name or surname with a title or role, as staff columns write them: 王伟医生, 刘老师, 陈经理
_NAME_TITLE = re.compile(
    _SURNAME
    + r"(?![\u4e00-\u9fff]?[色码款号型装件级卡区店])[\u4e00-\u9fff]{0,2}(?:姐|哥|总|老师|女士|先生|阿姨|叔"
    r"|小姐|医生|大夫|护士|医师|药师|律师|经理|主任|主管|教练|顾问|助理|专员|店长|院长|老板"
    r"|宝妈|宝爸|妈妈|爸爸|奶奶|爷爷|外婆|姥姥)"
)
_WORD_END = re.compile("[色东南西北中区店仓部组卡级类型款版号一二三四五六日天末金银铜牌]$")
_MASKED_NAME = re.compile(_SURNAME + r"[*＊]{1,2}|[\u4e00-\u9fff][*＊][\u4e00-\u9fff]")
_PLACE = (
    "(?:"
    + "|".join(sorted(set(vocab.PROVINCES + vocab.CITIES), key=len, reverse=True))
    + ")(?:省|市|自治区|特别行政区|壮族自治区|回族自治区|维吾尔自治区)?"
)
#: A province or city, or a province and city (广东省 深圳, 浙江/杭州).
_PLACES = re.compile(f"{_PLACE}(?:[ /·-]?{_PLACE}){{0,2}}")


def finding(
    vals: Values,
    hit: np.ndarray | pd.Series,
    category: Category,
    detector: Detector,
    rule: str,
    *,
    score: float,
    min_share: float,
    needs_header: bool = False,
    examples: Iterable[str] = (),
    minors: int = 0,
) -> Finding | None:
    matched = vals.weight(hit)
    if not matched:
        return None
    return Finding(
        category,
        detector,
        rule,
        matched,
        matched,
        vals.examined,
        score,
        min_share,
        needs_header,
        tuple(examples)[:3],
        minors,
    )


def birth_dates(vals: Values, as_of: date) -> list[Finding]:
    hit = fullmatch(vals.values, _DATE)
    if not hit.any():
        day = fullmatch(vals.values, _MONTH_DAY)
        f = finding(
            vals, day, C.BIRTH_DATE, Detector.SHAPE, "month and day", score=0.6, min_share=0.8,
            needs_header=True,
        )  # fmt: skip
        return [f] if f else []
    ymd = vals.values[hit].str.extract(_DATE.pattern).astype(int)
    years = ymd[0].to_numpy()
    weights = vals.counts[hit]
    births: list[date | None] = []
    for y, m, d in ymd.itertuples(index=False):
        try:
            births.append(date(y, m, d))
        except ValueError:
            births.append(None)
    minor = np.array([b is not None and _under(b, as_of) for b in births])
    ages = as_of.year - years
    median_age = float(np.median(np.repeat(ages, weights)))
    spread = int(years.max() - years.min())
    # Event dates (registrations, orders) cluster in recent years; birth dates spread over decades.
    looks_like_births = median_age >= 10 and spread >= 15
    f = finding(
        vals,
        hit,
        C.BIRTH_DATE,
        Detector.SHAPE,
        "calendar date spread over decades" if looks_like_births else "calendar date",
        score=0.8 if looks_like_births else 0.5,
        min_share=0.8,
        needs_header=not looks_like_births,
        minors=int(weights[minor].sum()),
    )
    return [f] if f else []


def ages(vals: Values) -> list[Finding]:
    out = []
    suffix = vals.values.where(contains(vals.values, _AGE_SUFFIX)).str.extract(_AGE_SUFFIX.pattern)[
        0
    ]
    number = vals.values.where(fullmatch(vals.values, _AGE_NUMBER))
    for rule, raw, needs_header in (
        ("number with 岁/years", suffix, False),
        ("integer 0-120", number, True),
    ):
        age = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        ok = ~np.isnan(age) & (age <= 120)
        minor = ok & (age < MINOR_AGE)
        f = finding(
            vals,
            ok,
            C.AGE,
            Detector.SHAPE,
            rule,
            score=0.8,
            min_share=0.8,
            needs_header=needs_header,
            minors=vals.weight(minor),
        )
        if f:
            out.append(f)
    return out


def gender(vals: Values) -> Finding | None:
    lowered = vals.values.str.lower()
    known = lowered.isin(vocab.GENDER_VALUES).to_numpy()
    distinct = int(known.sum())
    hit = known | lowered.isin(vocab.GENDER_UNKNOWN).to_numpy() if distinct else known
    return finding(
        vals,
        hit,
        C.GENDER,
        Detector.VOCABULARY,
        "gender values",
        score=0.8 if distinct >= 2 else 0.5,
        min_share=0.9,
        needs_header=distinct < 2,
    )


def names(vals: Values) -> Finding | None:
    whole = fullmatch(vals.values, _NAME) | fullmatch(vals.values, _MASKED_NAME)
    whole |= fullmatch(vals.values, _NAME_TITLE)
    hit = (whole | fullmatch(vals.values, _NAME_LABEL)) & ~fullmatch(vals.values, _PLACES)
    hit &= ~vals.values.str.endswith(vocab.ADMIN_SUFFIX).to_numpy(dtype=bool)
    if not hit.any():
        return None
    # Names of customers are mostly distinct; cities, channels and products repeat. A column
    # of nothing but a few names repeated is a staff column (添加人, 导购, 教练).
    distinct_ratio = int(hit.sum()) / max(vals.weight(hit), 1)
    named = whole & ~contains(vals.values, _WORD_END)  # 华东, 金色, 银卡 are not staff
    staff = int(named.sum()) >= 3 and vals.weight(named) >= 0.95 * vals.examined
    return finding(
        vals,
        hit,
        C.PERSON_NAME,
        Detector.VOCABULARY,
        "surname + given name",
        score=0.7,
        min_share=0.7,
        needs_header=distinct_ratio < 0.3 and not staff,
        examples=(mask(v) for v in vals.values[hit][:3]),
    )


def places(vals: Values) -> list[Finding]:
    out = []
    address = contains(vals.values, _ADDRESS)
    f = finding(
        vals,
        address,
        C.ADDRESS,
        Detector.SHAPE,
        "street address",
        score=0.8,
        min_share=0.3,
    )
    if f:
        out.append(f)
    place = fullmatch(vals.values, _PLACES)
    f = finding(vals, place, C.ADDRESS, Detector.VOCABULARY, PLACE_RULE, score=0.5, min_share=0.8)
    if f:
        out.append(f)
    return out
