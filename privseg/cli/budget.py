"""CLI commands of the privacy budget: ``budget set|status`` over ``privseg.dp.ledger``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from privseg.cli._common import OutputFormat, format_option, ledger_option, purpose_option
from privseg.dp.ledger import DEFAULT_PURPOSE, Ledger, PrivacyBudget


@click.group("budget")
def budget_group() -> None:
    """Set and inspect privacy budgets in the persistent ledger.

    \b
    Examples:
      privseg budget set crm-2026 --epsilon 5
      privseg budget status --format json
    """


@budget_group.command("set")
@click.argument("dataset")
@click.option("--epsilon", type=float, required=True, help="Total epsilon of the dataset.")
@click.option("--delta", type=float, default=0.0, show_default=True, help="Total delta.")
@purpose_option
@ledger_option
def budget_set(
    dataset: str, epsilon: float, delta: float, purpose: str | None, ledger: Path | None
) -> None:
    """Set the total privacy budget of DATASET (per purpose); refuses a total below the spend.

    \b
    Examples:
      privseg budget set crm-2026 --epsilon 5
      privseg budget set crm-2026 --epsilon 2 --delta 1e-6 --purpose marketing --ledger b.db
    """
    status = Ledger(ledger).set_budget(
        dataset, PrivacyBudget(epsilon, delta), purpose=purpose or DEFAULT_PURPOSE
    )
    click.echo(
        f"{status.dataset}/{status.purpose}: total {status.total}, remaining {status.remaining}"
    )


@budget_group.command("status")
@ledger_option
@format_option(OutputFormat.TEXT, OutputFormat.JSON)
def budget_status(ledger: Path | None, fmt: str) -> None:
    """Total, spent and remaining budget per dataset and purpose, with the spend history.

    \b
    Examples:
      privseg budget status
      privseg budget status --ledger privseg-demo/audits/budget.db --format json
    """
    book = Ledger(ledger)
    statuses = book.statuses()
    if fmt == OutputFormat.JSON:
        payload = {"ledger": str(book.path), "budgets": [s.to_dict() for s in statuses]}
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    if not statuses:
        click.echo(f"no budgets in {book.path}")
        return
    click.echo(
        f"{'dataset':<20} {'purpose':<16} {'total ε':>9} {'spent ε':>9} {'left ε':>9} releases"
    )
    for s in statuses:
        click.echo(
            f"{s.dataset:<20} {s.purpose:<16} {float(s.total.epsilon):>9.4g} "
            f"{float(s.spent.epsilon):>9.4g} {float(s.remaining.epsilon):>9.4g} {len(s.history)}"
        )
        for spend in s.history:
            value = (
                ""
                if spend.predicted_value is None
                else f" predicted value {spend.predicted_value:.3f}"
            )
            click.echo(f"    {spend.at}  {spend.kind:<14} ε {float(spend.budget.epsilon):g}{value}")


COMMANDS: list[click.Command] = [budget_group]
