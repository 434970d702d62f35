"""The one place a release is charged and stamped.

``charge`` checks epsilon and records it in the ledger in one atomic transaction before any
noise is drawn (or raises BudgetExceededError, recording nothing); ``stamp`` adds the columns
every released table carries, so a table read alone still says how it was made.
"""

from __future__ import annotations

import pandas as pd

from privseg.dp.ledger import Spend
from privseg.dp.types import Account, Bounding, ReleaseKind, ReleasePlan
from privseg.dp.validation import check_epsilon

__all__ = ["charge", "guarantee", "record_prediction", "stamp"]

#: The provenance columns of each kind of table, in their order.
_STAMPS: dict[ReleaseKind, tuple[str, ...]] = {
    ReleaseKind.COUNTS: ("postprocessing", "mechanism", "epsilon", "noise_scale", "guarantee"),
    ReleaseKind.MEANS: (
        "mechanism",
        "epsilon",
        "noise_scale",
        "method",
        "postprocessing",
        "guarantee",
    ),
    ReleaseKind.QUANTILES: ("mechanism", "epsilon", "noise_scale", "postprocessing", "guarantee"),
    ReleaseKind.KMEANS: ("mechanism", "method", "epsilon", "postprocessing", "guarantee"),
    ReleaseKind.TREE: ("mechanism", "epsilon", "postprocessing", "guarantee"),
}


def charge(
    account: Account | None,
    epsilon: float,
    kind: ReleaseKind,
    predicted: float | None = None,
) -> tuple[Spend, ...]:
    """Check ``epsilon`` and charge it to ``account`` (one ledger entry); ``account=None``
    charges nothing (the caller answers for the budget) and returns no spend."""
    check_epsilon(epsilon)
    if account is None:
        return ()
    return (account.spend(epsilon, kind, predicted),)


def record_prediction(
    account: Account | None, spends: tuple[Spend, ...], predicted: float | None
) -> None:
    """Attach a value predicted after the draw (post-processing) to the release's last spend."""
    if account is not None and spends and predicted is not None:
        account.ledger.record_prediction(spends[-1].id, predicted)


def guarantee(epsilon: float, bounding: Bounding) -> str:
    """The guarantee sentence of a release."""
    return f"{epsilon:g}-DP, neighbours: {bounding.neighbours}; {bounding.describe()}"


def stamp(
    table: pd.DataFrame, plan: ReleasePlan, *, postprocessing: str, method: str | None = None
) -> None:
    """Add the provenance columns of ``plan.kind`` to ``table`` in place."""
    values: dict[str, object] = {
        "mechanism": plan.mechanism.value,
        "epsilon": plan.epsilon,
        "noise_scale": plan.noise_scale,
        "method": method,
        "postprocessing": postprocessing,
        "guarantee": guarantee(plan.epsilon, plan.bounding),
    }
    for column in _STAMPS[plan.kind]:
        table[column] = values[column]
