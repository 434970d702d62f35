"""Shape detectors of blobs and machine values: image payloads and URLs, face-embedding
vectors, trajectories and geohashes, device UUIDs; and :func:`scan_shapes`, which runs them
with the person detectors of :mod:`.detectors` (dates, ages, gender, names, places).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

import numpy as np

from privseg.screening.detectors import (
    Finding,
    Values,
    ages,
    birth_dates,
    contains,
    finding,
    fullmatch,
    gender,
    names,
    places,
)
from privseg.screening.patterns import SPECS
from privseg.screening.report import Detector
from privseg.taxonomy import Category

__all__ = ["scan_shapes", "split_opaque"]

C = Category

_IMAGE_PAYLOAD = re.compile(
    r"data:image/[a-z+.-]+;base64,|/9j/|iVBORw0KGg|(?i:ffd8ff|89504e470d0a1a0a)"
)
_FLOAT = r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
_VECTOR = re.compile(rf"\[? *{_FLOAT}(?: *, *{_FLOAT})* *\]?")
_IMAGE_URL = re.compile(r"https?://\S+\.(?:jpe?g|png|webp|bmp|gif|heic)(?:\?\S*)?", re.I)
_LAT_KEY = re.compile(r"[\"']?(?:lat|latitude|纬度)[\"']? *[:=] *-?\d{1,2}\.\d{3,}", re.I)
_TIMESTAMP = re.compile(r"(?:19|20)\d{2}-\d{2}-\d{2}[ T]\d{2}:\d{2}|(?<!\d)1[5-9]\d{8}(?!\d)")
_GEOHASH = re.compile(r"[0-9bcdefghjkmnpqrstuvwxyz]{5,12}")
_LOWER_LETTER = re.compile("[a-z]")
_UUID = re.compile(
    r"[0-9A-Fa-f]{8}-(?:[0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}|[0-9a-f]{16}|[0-9a-f]{32}|[0-9a-f]{64}"
)


def split_opaque(vals: Values) -> tuple[list[Finding], Values]:
    """Findings of image payloads and face-embedding vectors, and the values left over.

    Payloads and vectors are opaque blobs: no other detector runs over them (their digits
    are neither phone numbers nor coordinates), which also keeps long values cheap.
    """
    payload = vals.values.str.match(_IMAGE_PAYLOAD.pattern).to_numpy(dtype=bool)
    lengths = vals.values.str.len()
    commas = (lengths - vals.values.str.replace(",", "", regex=False).str.len()).to_numpy()
    vector = np.isin(commas, (127, 511))
    vector[vector] = fullmatch(vals.values[vector], _VECTOR)
    found = []
    for hit, rule in (
        (payload, "image payload (data URI, JPEG/PNG magic bytes)"),
        (vector, "face-embedding vector (128/512 numbers)"),
    ):
        f = finding(vals, hit, C.BIOMETRIC, Detector.SHAPE, rule, score=0.9, min_share=0.3)
        if f:
            found.append(f)
    return found, vals.subset(~(payload | vector))


def _image_urls(vals: Values) -> Finding | None:
    url = fullmatch(vals.values, _IMAGE_URL)
    return finding(
        vals,
        url,
        C.BIOMETRIC,
        Detector.SHAPE,
        "image URL",
        score=0.9,
        min_share=0.3,
        needs_header=True,
    )


def _whereabouts(vals: Values) -> list[Finding]:
    out = []
    coords = next(s for s in SPECS if s.entity == "GEO_COORDINATES").compiled
    pairs = np.zeros(len(vals.counts), dtype=np.int64)
    some = contains(vals.values, coords)
    pairs[some] = vals.values[some].str.count(coords.pattern).to_numpy()
    keyed = contains(vals.values, _LAT_KEY)
    stamped = contains(vals.values, _TIMESTAMP)
    track = ((pairs >= 2) | ((pairs >= 1) | keyed) & stamped).astype(bool)
    f = finding(
        vals,
        track,
        C.WHEREABOUTS,
        Detector.SHAPE,
        "trajectory (points with timestamps)",
        score=0.9,
        min_share=0.02,
    )
    if f:
        out.append(f)
    geo = fullmatch(vals.values, _GEOHASH) & contains(vals.values, _LOWER_LETTER)  # not numbers
    if geo.sum() >= 5:
        heads = vals.values[geo].str[0].value_counts().to_numpy()
        lengths = vals.values[geo].str.len().nunique()
        # Real geohashes of one region share their first character; random ids do not.
        if heads[:3].sum() >= 0.9 * heads.sum() and lengths <= 2 and len(heads) < 8:
            f = finding(
                vals, geo, C.WHEREABOUTS, Detector.SHAPE, "geohash", score=0.8, min_share=0.8
            )
            if f:
                out.append(f)
    return out


def _device(vals: Values) -> Finding | None:
    hit = fullmatch(vals.values, _UUID)
    return finding(
        vals,
        hit,
        C.DEVICE_ID,
        Detector.SHAPE,
        "UUID/IDFA/Android ID",
        score=0.7,
        min_share=0.8,
        needs_header=True,
    )


def scan_shapes(vals: Values, *, as_of: date) -> list[Finding]:
    """Vocabulary and shape detectors (after :func:`split_opaque`) over distinct values."""
    if not len(vals.counts):
        return []
    found: Sequence[Finding | None] = [
        gender(vals),
        names(vals),
        _device(vals),
        *birth_dates(vals, as_of),
        *ages(vals),
        *places(vals),
        _image_urls(vals),
        *_whereabouts(vals),
    ]
    return [f for f in found if f is not None]
