"""privseg: make Chinese private-domain customer data safe to segment under PIPL.

Stages (one module each): screen -> policy -> pseudonymize -> segment -> release -> audit.
The public API is re-exported here; ``__all__`` is kept sorted and tested.
"""

from __future__ import annotations

__version__ = "0.1.0"

from privseg.budget import BudgetStatus, Ledger, PrivacyBudget
from privseg.datasets import DemoData, write_demo_data
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
from privseg.kmeans import KMeansMethod, KMeansResult
from privseg.pipeline import DemoSummary, run_demo
from privseg.policy import Plan, Policy, PolicyKeys, enforce, load_policy, plan
from privseg.pseudonym import IdKind, Key, ReversibleCipher, Tokenizer
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
from privseg.segments import SchemeKind, Schemes, load_schemes
from privseg.segments import assign as assign_segments
from privseg.taxonomy import Category

__all__ = [
    "Account",
    "Bounding",
    "BudgetExceededError",
    "BudgetStatus",
    "Category",
    "ColumnVerdict",
    "DemoData",
    "DemoSummary",
    "EmptyInputError",
    "EncodingError",
    "Evidence",
    "IdKind",
    "InputError",
    "IntegrityError",
    "KMeansMethod",
    "KMeansResult",
    "Key",
    "KeyFileError",
    "Ledger",
    "MalformedInputError",
    "Plan",
    "Policy",
    "PolicyError",
    "PolicyKeys",
    "PolicyRefusal",
    "PrivacyBudget",
    "PrivsegError",
    "PrivsegWarning",
    "Release",
    "ReleasePlan",
    "ReversibleCipher",
    "SchemeKind",
    "Schemes",
    "ScreenReport",
    "SourceNotFoundError",
    "TableFormat",
    "Tokenizer",
    "UnsupportedFormatError",
    "__version__",
    "assign_segments",
    "enforce",
    "iter_table",
    "load_policy",
    "load_schemes",
    "plan",
    "read_table",
    "release_counts",
    "release_kmeans",
    "release_means",
    "release_quantiles",
    "run_demo",
    "screen",
    "write_demo_data",
    "write_table",
]
