"""privseg: make Chinese private-domain customer data safe to segment under PIPL.

Stages (one module each): screen -> policy -> pseudonymize -> segment -> release -> audit.
The public API is re-exported here; ``__all__`` is kept sorted and tested.
"""

from __future__ import annotations

__version__ = "0.1.0"

from privseg.errors import (
    BudgetExceededError,
    EmptyInputError,
    EncodingError,
    InputError,
    IntegrityError,
    KeyFileError,
    MalformedInputError,
    PolicyError,
    PolicyRefusal,
    PrivsegError,
    PrivsegWarning,
    SourceNotFoundError,
    UnsupportedFormatError,
)
from privseg.io import TableFormat, iter_table, read_table, write_table
from privseg.screening import ColumnVerdict, Evidence, ScreenReport, screen
from privseg.taxonomy import Category

__all__ = [
    "BudgetExceededError",
    "Category",
    "ColumnVerdict",
    "EmptyInputError",
    "EncodingError",
    "Evidence",
    "InputError",
    "IntegrityError",
    "KeyFileError",
    "MalformedInputError",
    "PolicyError",
    "PolicyRefusal",
    "PrivsegError",
    "PrivsegWarning",
    "ScreenReport",
    "SourceNotFoundError",
    "TableFormat",
    "UnsupportedFormatError",
    "__version__",
    "iter_table",
    "read_table",
    "screen",
    "write_table",
]
