"""Privacy-budget report: per dataset and purpose, total, spent and remaining budget, a chart of
cumulative epsilon over time and every release with its epsilon and analytic value.

Built from the ledger's spend history (:class:`privseg.dp.ledger.BudgetStatus`); it holds no data
values at all, only budgets, release kinds and predicted analytic values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from markupsafe import Markup

from privseg._templates import ReportFormat, markup, render_template
from privseg.dp.ledger import BudgetStatus
from privseg.dp.types import ReleaseKind
from privseg.report.charts import cumulative_epsilon

__all__ = ["ANALYTIC_TARGET", "BudgetSection", "ReleaseRow", "budget_sections", "render_budget"]

#: The analytic value a release should keep (1 = the exact result's value); the report
#: judges releases against it only where a release was sized for a target (``--target``).
ANALYTIC_TARGET = 0.85


@dataclass(frozen=True)
class ReleaseRow:
    """One spend of the ledger as a report row."""

    index: int
    at: str
    kind: str
    epsilon: float
    delta: float
    cumulative: float
    analytic_value: float | None
    note: str

    @property
    def below_target(self) -> bool:
        """True when the predicted analytic value misses :data:`ANALYTIC_TARGET`."""
        return self.analytic_value is not None and self.analytic_value < ANALYTIC_TARGET


@dataclass(frozen=True)
class BudgetSection:
    """One dataset and purpose: totals, releases and the chart."""

    dataset: str
    purpose: str
    total: tuple[float, float]
    spent: tuple[float, float]
    remaining: tuple[float, float]
    releases: tuple[ReleaseRow, ...]
    chart: Markup

    @property
    def spent_share(self) -> float:
        """Fraction of the total epsilon spent (0 when the total is 0)."""
        return self.spent[0] / self.total[0] if self.total[0] else 0.0

    @property
    def targeted(self) -> bool:
        """True when a release of this budget was sized for a target (its DP size estimate)."""
        return any(r.kind == ReleaseKind.SIZE_ESTIMATE for r in self.releases)

    @property
    def below_target(self) -> int:
        """Releases whose predicted analytic value misses the target (0 without a target)."""
        return sum(r.below_target for r in self.releases) if self.targeted else 0


def _when(at: str) -> datetime:
    moment = datetime.fromisoformat(at)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _section(status: BudgetStatus) -> BudgetSection:
    rows: list[ReleaseRow] = []
    cumulative = 0.0
    for index, spend in enumerate(status.history, start=1):
        eps = float(spend.budget.epsilon)
        cumulative += eps
        rows.append(
            ReleaseRow(
                index=index,
                at=_when(spend.at).strftime("%Y-%m-%d %H:%M:%S"),
                kind=spend.kind,
                epsilon=eps,
                delta=float(spend.budget.delta),
                cumulative=cumulative,
                analytic_value=spend.predicted_value,
                note=spend.note,
            )
        )
    total = status.total
    chart = cumulative_epsilon(
        [_when(s.at) for s in status.history],
        [float(s.budget.epsilon) for s in status.history],
        float(total.epsilon),
    )
    return BudgetSection(
        dataset=status.dataset,
        purpose=status.purpose,
        total=(float(total.epsilon), float(total.delta)),
        spent=(float(status.spent.epsilon), float(status.spent.delta)),
        remaining=(float(status.remaining.epsilon), float(status.remaining.delta)),
        releases=tuple(rows),
        chart=markup(chart),
    )


def budget_sections(statuses: Sequence[BudgetStatus]) -> tuple[BudgetSection, ...]:
    """Report sections, one per dataset and purpose, in the given order."""
    return tuple(_section(s) for s in statuses)


def render_budget(statuses: Sequence[BudgetStatus], fmt: ReportFormat, *, source: str) -> str:
    """The privacy-budget report of ``statuses`` (read from the ledger at ``source``).

    The analytic-value target is mentioned, and releases flagged against it, only where a
    release was sized for one.
    """
    sections = budget_sections(statuses)
    return render_template(
        "budget" + ReportFormat(fmt).suffix,
        source=source,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        sections=sections,
        target=ANALYTIC_TARGET if any(s.targeted for s in sections) else None,
    )
