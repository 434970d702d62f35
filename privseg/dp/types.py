"""Values shared by every DP release: mechanisms, kinds, the account charged, the bounding of
each customer's contribution, the plan made before any budget is spent, and the release.

Guarantee of every release: epsilon-DP for neighbouring datasets that differ by adding or
removing one customer (the privacy unit is the ``unit`` column; without one, one row, and the
guarantee says so: ``Bounding.neighbours``). Contributions are bounded explicitly: at most ``max_rows_per_unit`` rows per customer
are kept (the first ones in input order), values are clipped to declared bounds, and keys are
declared, never read from the data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from privseg.audit import RunRecorder
from privseg.dp.ledger import Ledger, PrivacyBudget, Spend, SpendState
from privseg.errors import InputError

__all__ = [
    "DEFAULT_EPSILON",
    "MEANS_SANITY",
    "MEAN_COUNT_SHARE",
    "PER_ROW",
    "SIZE_PILOT_EPSILON",
    "SUM_GRID",
    "Account",
    "Bounding",
    "Mechanism",
    "RandomState",
    "Release",
    "ReleaseKind",
    "ReleasePlan",
]

DEFAULT_EPSILON = 1.0
SIZE_PILOT_EPSILON = 0.02
MEAN_COUNT_SHARE = 0.25
#: Sanity bound of the means' relative error, as a share of the declared range.
MEANS_SANITY = 0.01
SUM_GRID = 10_000
#: A test seed or RandomState; None (always, outside tests) draws secure noise.
RandomState = int | np.random.RandomState | None


class Mechanism(StrEnum):
    """Noise mechanisms privseg releases with."""

    GEOMETRIC = "geometric"
    EXPONENTIAL = "exponential"
    DP_KMEANS = "dp-kmeans"
    DP_TREE = "dp-tree"


class ReleaseKind(StrEnum):
    """Kinds of release, as recorded in the ledger."""

    COUNTS = "counts"
    SIZE_ESTIMATE = "size-estimate"
    MEANS = "means"
    QUANTILES = "quantiles"
    KMEANS = "kmeans"
    TREE = "tree"

    @property
    def value_measure(self) -> str:
        """What the analytic value of this kind of release measures (README)."""
        return _VALUE_MEASURES[self]


_VALUE_MEASURES = {
    ReleaseKind.COUNTS: "per-segment accuracy",
    ReleaseKind.SIZE_ESTIMATE: "per-segment accuracy",
    ReleaseKind.MEANS: "1 - mean relative error of the segment means",
    ReleaseKind.QUANTILES: "1 - mean relative error of the segment quantiles",
    ReleaseKind.KMEANS: "exact cost / cost of the DP centroids",
    ReleaseKind.TREE: "held-out accuracy / that of a non-private tree of the same depth",
}


@dataclass(frozen=True)
class Account:
    """Where a release is charged: a ledger, a dataset (population) and a purpose, all three
    required (a purpose never defaults silently: the budget it draws on must be named).

    >>> ledger = privseg.Ledger("budget.db")
    >>> _ = ledger.set_budget("crm", privseg.PrivacyBudget(2), purpose="wecom-marketing")
    >>> account = privseg.Account(ledger, "crm", "wecom-marketing")
    >>> account.remaining_epsilon() > 1.99
    True
    """

    ledger: Ledger
    dataset: str
    purpose: str
    state: SpendState = SpendState.COMMITTED
    replay: bytes | None = field(default=None, repr=False)

    def spend(self, epsilon: float, kind: ReleaseKind, predicted: float | None = None) -> Spend:
        """Check and record ``epsilon`` atomically; raises BudgetExceededError, recording nothing.
        A CLI release's ``replay`` (its secret seed and options) is kept with the charge."""
        return self.ledger.spend(
            self.dataset,
            PrivacyBudget(epsilon),
            purpose=self.purpose,
            kind=kind.value,
            predicted_value=predicted,
            state=self.state,
            replay=self.replay,
        )

    def remaining_epsilon(self) -> float:
        """The epsilon that remains (rounded down a hair so that it always fits)."""
        return float(self.ledger.remaining(self.dataset, self.purpose).epsilon) * (1 - 1e-12)


@dataclass(frozen=True)
class Bounding:
    """How each customer's contribution is bounded.

    At most ``max_rows_per_unit`` rows of each ``unit`` (the first ones) enter a release:

    >>> privseg.Bounding(unit="外部联系人ID", max_rows_per_unit=50)
    Bounding(unit='外部联系人ID', max_rows_per_unit=50)
    """

    unit: str | None = None
    max_rows_per_unit: int = 1

    def __post_init__(self) -> None:
        if self.max_rows_per_unit < 1:
            raise InputError(f"max rows per unit must be at least 1, got {self.max_rows_per_unit}")

    def describe(self) -> str:
        """One sentence stating the bound, printed with every release."""
        if self.unit is None:
            return (
                "privacy unit: one row (row-level: a customer with several rows is protected "
                "only as several neighbours)"
            )
        return f"privacy unit: one customer ({self.unit}), at most {self.max_rows_per_unit} row(s) each"

    @property
    def neighbours(self) -> str:
        """The neighbouring datasets the guarantee holds for, as the unit actually used."""
        if self.unit is None:
            return "add/remove one row"
        return f"add/remove one customer ({self.unit})"


@dataclass(frozen=True)
class ReleasePlan:
    """What a release will do, known before any budget is spent.

    >>> labels = pd.DataFrame({"tier": ["gold"] * 100 + ["silver"] * 200})
    >>> plan = privseg.release_counts(labels, by=["tier"], keys={"tier": ["gold", "silver"]},
    ...                               epsilon=0.5, account=None).plan
    >>> plan.kind.value, plan.mechanism.value, plan.epsilon, plan.noise_scale
    ('counts', 'geometric', 0.5, 2.0)
    """

    kind: ReleaseKind
    mechanism: Mechanism
    epsilon: float
    split: tuple[tuple[str, float], ...]
    sensitivity: float
    noise_scale: float
    expected_abs_error: float
    ci95_half_width: float
    bounding: Bounding
    size_estimate: int | None = None
    predicted_value: float | None = None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly plan."""
        return {
            "kind": self.kind.value,
            "mechanism": self.mechanism.value,
            "epsilon": self.epsilon,
            "split": dict(self.split),
            "sensitivity": self.sensitivity,
            "noise_scale": self.noise_scale,
            "expected_abs_error": self.expected_abs_error,
            "ci95_half_width": self.ci95_half_width,
            "neighbours": self.bounding.neighbours,
            "bounding": self.bounding.describe(),
            "size_estimate": self.size_estimate,
            "predicted_value": self.predicted_value,
            "value_measure": self.kind.value_measure,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Release:
    """A released table (one row per cell) with its plan and what it cost.

    ``undeclared_noisy`` is the noisy count of rows dropped by bounding (undeclared keys,
    missing measures) and ``undeclared_ci95`` its 95% interval: an estimate, never exact.
    ``evaluation`` is filled only in evaluation mode: the realised analytic value against the
    exact result, INTERNAL to the data controller and never part of the DP artefact.

    >>> labels = pd.DataFrame({"tier": ["gold"] * 100 + ["silver"] * 200})
    >>> release = privseg.release_counts(labels, by=["tier"], keys={"tier": ["gold", "silver"]},
    ...                                  epsilon=0.5, account=None)
    >>> release.table["tier"].tolist(), release.spends  # account=None charges no ledger
    (['gold', 'silver'], ())
    """

    plan: ReleasePlan
    table: pd.DataFrame
    spends: tuple[Spend, ...]
    undeclared_noisy: int | None
    evaluation: Mapping[str, float] | None = field(default=None)
    undeclared_ci95: tuple[int, int] | None = None

    @property
    def epsilon_spent(self) -> float:
        """Total epsilon charged for this release (pilot included)."""
        return float(sum(s.budget.epsilon for s in self.spends))

    def record_to(
        self,
        record: RunRecorder,
        remaining_epsilon: float,
        *,
        by: Sequence[str] = (),
        measures: Sequence[str] = (),
    ) -> None:
        """Audit this release: its group-by and measure columns, epsilon spent and remaining
        after it, kind, mechanism and predicted analytic value with what it measures
        (outputs: ``add_output``)."""
        out_columns = {str(c) for c in self.table.columns}
        for column in by:
            kept = [column] if column in out_columns else []
            record.add_column(column, (), "group_by", output_columns=kept)
        for column in measures:
            record.add_column(column, (), self.plan.kind.value)
        record.add_budget(self.epsilon_spent, remaining_epsilon)
        record.set_metric("release_kind", self.plan.kind.value)
        record.set_metric("mechanism", self.plan.mechanism.value)
        if self.plan.predicted_value is not None:
            record.set_metric("predicted_value", self.plan.predicted_value)
            record.set_metric("value_measure", self.plan.kind.value_measure)

    def to_dict(self) -> dict[str, Any]:
        """Release metadata (not the table) for reports; never includes the evaluation."""
        out: dict[str, Any] = {
            "plan": self.plan.to_dict(),
            "epsilon_spent": self.epsilon_spent,
            "ledger_spends": [s.id for s in self.spends],
            "undeclared_rows_noisy": self.undeclared_noisy,
            "undeclared_rows_ci95": None
            if self.undeclared_ci95 is None
            else list(self.undeclared_ci95),
        }
        return out


#: One row is the privacy unit (no unit column).
PER_ROW = Bounding()
