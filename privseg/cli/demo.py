"""CLI commands for built-in demo data: ``demo-data`` and ``demo``."""

from __future__ import annotations

from pathlib import Path

import click

from privseg import audit
from privseg.cli._common import operator_option, quiet_option, trail_option
from privseg.demo.generator import Lang, write_demo_data
from privseg.demo.pipeline import DEFAULT_DEMO_DIR, run_demo

COMMANDS: list[click.Command] = []

_customers_option = click.option(
    "--customers",
    type=click.IntRange(min=1),
    default=20_000,
    show_default=True,
    help="Number of synthetic customers.",
)
_seed_option = click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Random seed; the same seed gives the same files.",
)


@click.command("demo-data")
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path))
@_customers_option
@_seed_option
@click.option(
    "--lang",
    type=click.Choice([lang.value for lang in Lang]),
    default=Lang.ZH.value,
    show_default=True,
    help="Language of headers and categorical values.",
)
@click.option("--force", is_flag=True, help="Overwrite the three files if they exist.")
@trail_option
@operator_option
def demo_data(
    outdir: Path,
    customers: int,
    seed: int,
    lang: str,
    force: bool,
    trail: Path | None,
    operator: str | None,
) -> None:
    """Write synthetic WeCom customer data: customers.csv, orders.csv, interactions.csv.

    The data is generated offline and is the same for the same seed. Customers carry
    WeChat ids, names, mobiles, resident IDs, addresses, tags, religion, face data, bank
    cards, locations and remarks (all synthetic); orders and interactions are shaped so that
    every seed segment (lifecycle, value tier, activity) occurs as of 2026-06-30. Existing
    files are never overwritten without --force.

    \b
    Examples:
      privseg demo-data demo/
      privseg demo-data big/ --customers 1000000 --seed 7
      privseg demo-data demo-en/ --lang en
    """
    with audit.run("demo-data", trail=trail, operator=operator) as record:
        paths = write_demo_data(
            outdir,
            customers,
            seed=seed,
            lang=Lang(lang),
            overwrite=force,
            staging=record.staging,
        )
        record.set_metric("customers", customers)
        record.set_metric("seed", seed)
        for path in paths.values():
            record.add_output(path)
    for path in paths.values():
        click.echo(f"wrote {path}")


@click.command("demo")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_DEMO_DIR,
    show_default=True,
    help="Folder for the demo data and every output.",
)
@_customers_option
@quiet_option
@click.option(
    "--force", is_flag=True, help="Delete an earlier demo run in OUT first and start afresh."
)
def demo(out_dir: Path, customers: int, quiet: bool, force: bool) -> None:
    """Run the whole pipeline on built-in demo data and say where the outputs are.

    Generates synthetic WeCom data into OUT/data/ and runs every available stage on it.
    Each run starts afresh so its audit trail, budget ledger and keys belong together: an
    OUT that holds an earlier run is refused unless --force deletes that run first.
    Shows a progress bar on a terminal; --quiet prints only where the outputs are.

    \b
    Examples:
      privseg demo
      privseg demo --out /tmp/privseg-demo --quiet
      privseg demo --force
    """
    summary = run_demo(out_dir, quiet=quiet, customers=customers, force=force)
    if not quiet:
        for line in summary.lines:
            click.echo(line)
        for label, path in {**summary.data, **summary.outputs}.items():
            click.echo(f"  {label}: {path}")
    click.echo(f"outputs: {summary.out_dir.resolve()}")


COMMANDS.extend([demo_data, demo])
