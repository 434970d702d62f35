"""Shapes of raw personal values that must never reach a name, record, manifest or report.

``raw_shape(text)`` names the first shape found in ``text`` (a mobile number, resident ID,
e-mail, card number, IP, coordinates, WeChat id), or None. Used on audit fields and on
column names (a header that looks like data is usually a data row read as a header).
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["RAW_SHAPES", "raw_shape"]

RAW_SHAPES: Final[tuple[tuple[str, re.Pattern[str]], ...]] = (
    ("email address", re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")),
    ("resident ID number", re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")),
    ("mobile number", re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d{9}(?!\d)")),
    ("card or account number", re.compile(r"(?<!\d)\d{12,19}(?!\d)")),
    ("IP address", re.compile(r"(?<!\d)(?:\d{1,3}\.){3}\d{1,3}(?!\d)")),
    ("coordinates", re.compile(r"-?\d{1,3}\.\d{3,}\s*,\s*-?\d{1,3}\.\d{3,}")),
    (
        "WeChat identifier",
        re.compile(
            r"(?<![A-Za-z0-9])(?:o[A-Za-z0-9_-]{27}|w[mo][A-Za-z0-9_-]{30})(?![A-Za-z0-9_-])"
        ),
    ),
)


#: privseg's own key ids (16 hex) and hashes (64 hex): a run of digits inside one is not a card
#: or mobile number. Only tokens with a letter a-f count, so a 16-digit card number stays caught.
_OWN_HEX = re.compile(
    r"(?<![0-9A-Za-z])(?=[0-9]*[a-f])(?:[0-9a-f]{64}|[0-9a-f]{16})(?![0-9A-Za-z])"
)


def raw_shape(text: str) -> str | None:
    """The kind of raw personal value ``text`` contains, or None."""
    text = _OWN_HEX.sub("#", text)
    for shape, pattern in RAW_SHAPES:
        if pattern.search(text):
            return shape
    return None
