"""privseg: make Chinese private-domain customer data safe to segment under PIPL.

Stages: screen -> policy -> pseudonymize -> segment -> release (privseg.dp) -> audit; see
ARCHITECTURE.md for the layers.
The public API is re-exported here; ``__all__`` is kept sorted and tested.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

from privseg.errors import (
    BudgetError,
    BudgetExceededError,
    EmptyInputError,
    EncodingError,
    InputError,
    IntegrityError,
    KeyFileError,
    MalformedInputError,
    MissingBudgetError,
    PolicyError,
    PolicyRefusal,
    PrivsegError,
    PrivsegWarning,
    SourceNotFoundError,
    UnsupportedFormatError,
)
from privseg.taxonomy import Category

if TYPE_CHECKING:
    from privseg.anonymity import RiskReport, risk
    from privseg.demo.generator import DemoData, write_demo_data
    from privseg.demo.pipeline import DemoSummary, run_demo
    from privseg.dp.counts import release_counts
    from privseg.dp.kmeans import KMeansMethod, KMeansResult
    from privseg.dp.kmeans_release import release_kmeans
    from privseg.dp.ledger import BudgetStatus, Ledger, PrivacyBudget
    from privseg.dp.means import release_means
    from privseg.dp.quantiles import release_quantiles
    from privseg.dp.tree import release_tree
    from privseg.dp.types import Account, Bounding, Release, ReleasePlan
    from privseg.io import TableFormat, iter_table, read_table, write_table
    from privseg.policy import Plan, Policy, PolicyKeys, enforce, load_policy, plan
    from privseg.pseudonym import IdKind, Key, Tokenizer
    from privseg.reversible import ReversibleCipher
    from privseg.screening import ColumnVerdict, Evidence, ScreenReport, screen
    from privseg.segments import SchemeKind, Schemes, load_schemes, plan_tags
    from privseg.segments import assign as assign_segments

#: Public names loaded on first use (name -> module, attribute), so that ``import privseg``
#: and the CLI start fast: diffprivlib, scikit-learn and presidio load only when needed.
_LAZY: dict[str, tuple[str, str]] = {
    "Account": ("privseg.dp.types", "Account"),
    "Bounding": ("privseg.dp.types", "Bounding"),
    "BudgetStatus": ("privseg.dp.ledger", "BudgetStatus"),
    "ColumnVerdict": ("privseg.screening", "ColumnVerdict"),
    "DemoData": ("privseg.demo.generator", "DemoData"),
    "DemoSummary": ("privseg.demo.pipeline", "DemoSummary"),
    "Evidence": ("privseg.screening", "Evidence"),
    "IdKind": ("privseg.pseudonym", "IdKind"),
    "KMeansMethod": ("privseg.dp.kmeans", "KMeansMethod"),
    "KMeansResult": ("privseg.dp.kmeans", "KMeansResult"),
    "Key": ("privseg.pseudonym", "Key"),
    "Ledger": ("privseg.dp.ledger", "Ledger"),
    "Plan": ("privseg.policy", "Plan"),
    "Policy": ("privseg.policy", "Policy"),
    "PolicyKeys": ("privseg.policy", "PolicyKeys"),
    "PrivacyBudget": ("privseg.dp.ledger", "PrivacyBudget"),
    "Release": ("privseg.dp.types", "Release"),
    "ReleasePlan": ("privseg.dp.types", "ReleasePlan"),
    "ReversibleCipher": ("privseg.reversible", "ReversibleCipher"),
    "RiskReport": ("privseg.anonymity", "RiskReport"),
    "SchemeKind": ("privseg.segments", "SchemeKind"),
    "Schemes": ("privseg.segments", "Schemes"),
    "ScreenReport": ("privseg.screening", "ScreenReport"),
    "TableFormat": ("privseg.io", "TableFormat"),
    "Tokenizer": ("privseg.pseudonym", "Tokenizer"),
    "assign_segments": ("privseg.segments", "assign"),
    "enforce": ("privseg.policy", "enforce"),
    "iter_table": ("privseg.io", "iter_table"),
    "load_policy": ("privseg.policy", "load_policy"),
    "load_schemes": ("privseg.segments", "load_schemes"),
    "plan": ("privseg.policy", "plan"),
    "plan_tags": ("privseg.segments", "plan_tags"),
    "read_table": ("privseg.io", "read_table"),
    "release_counts": ("privseg.dp.counts", "release_counts"),
    "release_kmeans": ("privseg.dp.kmeans_release", "release_kmeans"),
    "release_means": ("privseg.dp.means", "release_means"),
    "release_quantiles": ("privseg.dp.quantiles", "release_quantiles"),
    "release_tree": ("privseg.dp.tree", "release_tree"),
    "risk": ("privseg.anonymity", "risk"),
    "run_demo": ("privseg.demo.pipeline", "run_demo"),
    "screen": ("privseg.screening", "screen"),
    "write_demo_data": ("privseg.demo.generator", "write_demo_data"),
    "write_table": ("privseg.io", "write_table"),
}


def __getattr__(name: str) -> Any:
    """Import a lazily exported public name on first access."""
    try:
        module, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'privseg' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "Account",
    "Bounding",
    "BudgetError",
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
    "MissingBudgetError",
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
    "RiskReport",
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
    "plan_tags",
    "read_table",
    "release_counts",
    "release_kmeans",
    "release_means",
    "release_quantiles",
    "release_tree",
    "risk",
    "run_demo",
    "screen",
    "write_demo_data",
    "write_table",
]
