"""CLI commands of the privacy-budget ledger: ``budget set|register|status|recover``.

A thin layer over ``privseg.dp.ledger`` (populations, purposes' allocations, registered files),
``privseg.dp.population`` (lineage) and ``privseg.dp.commit`` (recovery of a release cut
short).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from privseg import audit
from privseg.cli._common import (
    OutputFormat,
    format_option,
    ledger_option,
    operator_option,
    trail_option,
)
from privseg.dp.ledger import Ledger, PrivacyBudget
from privseg.errors import InputError, MissingBudgetError


@click.group("budget")
def budget_group() -> None:
    """Privacy budgets: one per population (the customers of one pseudonym key and unit
    column), shared by every purpose and dataset name.

    \b
    Examples:
      privseg budget set crm --epsilon 5
      privseg budget set crm --epsilon 2 --purpose wecom-marketing
      privseg budget set crm --epsilon 5 --key marketing.key --unit 外部联系人ID
      privseg budget register crm labels-from-elsewhere.csv
      privseg budget status --format json
      privseg budget recover
    """


@budget_group.command("set")
@click.argument("population")
@click.option("--epsilon", type=float, required=True, help="Total epsilon (or the purpose's).")
@click.option("--delta", type=float, default=0.0, show_default=True, help="Total delta.")
@click.option(
    "--purpose", default=None, help="Set this purpose's allocation inside the population's total."
)
@click.option(
    "--key",
    "key_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Bind to the customers pseudonymized with this key (read for its id only).",
)
@click.option("--key-id", help="Bind to the customers pseudonymized with this key id.")
@click.option("--unit", help="Their unit column (the policy's unit); needed to bind.")
@ledger_option
def budget_set(
    population: str,
    epsilon: float,
    delta: float,
    purpose: str | None,
    key_path: Path | None,
    key_id: str | None,
    unit: str | None,
    ledger: Path | None,
) -> None:
    """Set POPULATION's total budget, or with --purpose that purpose's allocation inside it
    (a new population gets the same total). Refuses a value below what is already spent.

    A population is bound to its customers (a pseudonym key id and unit column) here with
    --key or --key-id and --unit, or by its first release, which traces the input's lineage
    in the audit trail; one population per key and unit.

    \b
    Examples:
      privseg budget set crm --epsilon 5
      privseg budget set crm --epsilon 2 --purpose wecom-marketing --ledger b.db
      privseg budget set crm --epsilon 5 --key marketing.key --unit 外部联系人ID
    """
    if key_path is not None:
        if key_id is not None:
            raise click.UsageError("give --key or --key-id, not both")
        from privseg.pseudonym import read_key_file

        key_id = read_key_file(key_path).key_id
    if key_id is not None and not unit:
        raise click.UsageError("binding to a key needs its --unit column (the policy's unit)")
    status = Ledger(ledger).set_budget(
        population, PrivacyBudget(epsilon, delta), purpose=purpose, key_id=key_id, unit=unit
    )
    click.echo(
        f"{status.dataset}/{status.purpose}: total {status.total}, remaining {status.remaining}"
    )


@budget_group.command("register")
@click.argument("population")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@ledger_option
@trail_option
@operator_option
def budget_register(
    population: str, path: Path, ledger: Path | None, trail: Path | None, operator: str | None
) -> None:
    """Tie PATH (by the SHA-256 of its bytes) to POPULATION, for a file whose lineage the
    audit trail does not hold (made outside privseg). Recorded in the audit trail.

    \b
    Examples:
      privseg budget register crm segments-from-crm.csv
    """
    from privseg.dp.population import trace, trail_records

    if not path.is_file():
        raise InputError("no such file", source=path)
    book = Ledger(ledger)
    with audit.run("budget register", trail=trail, operator=operator) as record:
        record.add_input(path)
        record.set_metric("dataset", population)
        sha256 = record.inputs[0].sha256
        lineage = trace(sha256, str(path), trail_records(trail), book)
        if lineage.keys or lineage.registered:
            raise MissingBudgetError(
                f"{path} has a lineage in the audit trail: its population is found from it "
                "at release time, never registered by hand"
            )
        book.register(population, sha256, str(path.absolute()))
    click.echo(f"{path}: registered to population {population}")


@budget_group.command("status")
@ledger_option
@format_option(OutputFormat.TEXT, OutputFormat.JSON)
def budget_status(ledger: Path | None, fmt: str) -> None:
    """Per population: what it is bound to, its total, and per purpose the allocation, spent
    and remaining budget with the spend history; spends of runs cut short are flagged.

    \b
    Examples:
      privseg budget status
      privseg budget status --ledger privseg-demo/audits/budget.db --format json
    """
    book = Ledger(ledger)
    statuses = book.statuses()
    populations = {p.name: p for p in book.populations()}
    pending = book.pending()
    if fmt == OutputFormat.JSON:
        payload = {
            "ledger": str(book.path),
            "populations": [
                {
                    "name": p.name,
                    "key_id": p.key_id,
                    "unit": p.unit,
                    "total": p.total.to_dict(),
                    "remaining": book.remaining(p.name, None).to_dict(),
                }
                for p in populations.values()
            ],
            "budgets": [s.to_dict() for s in statuses],
            "pending": [s.to_dict() for s in pending],
        }
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    if not statuses:
        click.echo(f"no budgets in {book.path}")
        return
    for name, population in populations.items():
        left = float(book.remaining(name, None).epsilon)
        click.echo(
            f"{population.describe()}: total ε {float(population.total.epsilon):.4g}, "
            f"left ε {left:.4g}"
        )
        for s in (s for s in statuses if s.dataset == name):
            click.echo(
                f"  purpose {s.purpose:<18} cap ε {float(s.total.epsilon):>7.4g}  spent ε "
                f"{float(s.spent.epsilon):>7.4g}  left ε {float(s.remaining.epsilon):>7.4g}  "
                f"{len(s.history)} release(s)"
            )
            for spend in s.history:
                value = (
                    ""
                    if spend.predicted_value is None
                    else f" predicted value {spend.predicted_value:.3f}"
                )
                click.echo(
                    f"    #{spend.id} {spend.at}  {spend.kind:<14} ε "
                    f"{float(spend.budget.epsilon):g} {spend.state.value}{value}"
                )
    for spend in pending:
        click.echo(
            f"spend #{spend.id} is {spend.state.value} (its run ended before committing): "
            f"privseg budget recover {spend.id} --ledger {book.path}"
        )


@budget_group.command("recover")
@click.argument("spend_ids", nargs=-1, type=int)
@ledger_option
@trail_option
@operator_option
def budget_recover(
    spend_ids: tuple[int, ...], ledger: Path | None, trail: Path | None, operator: str | None
) -> None:
    """Finish releases whose run ended after the charge (all pending ones without SPEND_IDS):
    write the outputs again from the noisy values stored in the ledger (the same release,
    never new noise), append the audit record and commit. A run cut short before its values
    were stored is redone from the input with the seed kept with the charge (the same noise,
    so the same output); if that input is gone or changed, the spend is marked lost and
    stays spent.

    \b
    Examples:
      privseg budget recover
      privseg budget recover 12 --ledger audits/budget.db
    """
    from privseg.cli._release_run import redo
    from privseg.dp.commit import recover

    book = Ledger(ledger)
    ids = list(spend_ids) or [s.id for s in book.pending()]
    done: set[int] = set()
    for spend_id in ids:
        if spend_id in done:
            continue
        problem = redo(book, spend_id)
        if problem is not None:
            click.echo(f"spend #{spend_id}: cannot redo the release: {problem}", err=True)
        publication = recover(book, spend_id, trail=trail, operator=operator)
        if publication is None:
            click.echo(f"spend #{spend_id}: nothing was released; marked lost (stays spent)")
            continue
        done.update(publication.spend_ids)
        click.echo(f"spend #{spend_id}: re-published {publication.out} from the ledger")
    if not ids:
        click.echo(f"nothing to recover in {book.path}")


COMMANDS: list[click.Command] = [budget_group]
