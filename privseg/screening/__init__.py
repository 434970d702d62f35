"""Screening: which columns hold personal information and PIPL Art. 28 sensitive categories.

``screen()`` returns a :class:`ScreenReport` (one :class:`ColumnVerdict` per column, with
:class:`Evidence`) that a person reviews before any policy acts on the data.
"""

from __future__ import annotations

from privseg.screening.custom import CustomRecognizers, load_recognizers
from privseg.screening.report import ColumnVerdict, Detector, Evidence, ScreenReport
from privseg.screening.scan import DEFAULT_SAMPLE, screen

__all__ = [
    "DEFAULT_SAMPLE",
    "ColumnVerdict",
    "CustomRecognizers",
    "Detector",
    "Evidence",
    "ScreenReport",
    "load_recognizers",
    "screen",
]
