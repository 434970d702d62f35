"""privseg: make Chinese private-domain customer data safe to segment under PIPL.

Stages (one module each): screen -> policy -> pseudonymize -> segment -> release -> audit.
The public API is re-exported here; ``__all__`` is kept sorted and tested.
"""

from __future__ import annotations

__version__ = "0.1.0"

from privseg.budget import BudgetStatus, Ledger, PrivacyBudget
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
from privseg.release import (
    Account,
    Bounding,
    Release,
    ReleasePlan,
    release_counts,
    release_kmeans,
    release_means,
    release_quantiles,
)
from privseg.screening import ColumnVerdict, Evidence, ScreenReport, screen
from privseg.taxonomy import Category

__all__ = [
    "Account",
    "Bounding",
    "BudgetExceededError",
    "BudgetStatus",
    "Category",
    "ColumnVerdict",
    "EmptyInputError",
    "EncodingError",
    "Evidence",
    "InputError",
    "IntegrityError",
    "KeyFileError",
    "Ledger",
    "MalformedInputError",
    "PolicyError",
    "PolicyRefusal",
    "PrivacyBudget",
    "PrivsegError",
    "PrivsegWarning",
    "Release",
    "ReleasePlan",
    "ScreenReport",
    "SourceNotFoundError",
    "TableFormat",
    "UnsupportedFormatError",
    "__version__",
    "iter_table",
    "read_table",
    "release_counts",
    "release_kmeans",
    "release_means",
    "release_quantiles",
    "screen",
    "write_table",
]
