"""``privseg release tree``: a DP decision tree released only as readable rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from privseg.cli._release_options import bounds_option, columns, keys_option, release_options
from privseg.cli._release_run import checked_setup, release_run
from privseg.dp.tree import DEFAULT_DEPTH, DEFAULT_THRESHOLDS, MAX_DEPTH, release_tree
from privseg.engines import engine as engines
from privseg.errors import InputError

__all__ = ["tree_command"]


@click.command("tree")
@click.argument("input_path", type=click.Path(dir_okay=False, path_type=Path, allow_dash=True))
@click.option("--target", required=True, help="Label column the tree predicts (e.g. loyalty).")
@click.option("--features", required=True, help="Numeric feature columns, comma-separated.")
@bounds_option
@keys_option
@click.option("--epsilon", type=float, required=True, help="Epsilon to spend (splits and leaves).")
@click.option(
    "--depth",
    type=click.IntRange(1, MAX_DEPTH),
    default=DEFAULT_DEPTH,
    show_default=True,
    help="Levels of splits (at most 2^depth rules).",
)
@click.option(
    "--thresholds",
    type=click.IntRange(min=1),
    default=DEFAULT_THRESHOLDS,
    show_default=True,
    help="Candidate thresholds per feature, evenly spaced inside its declared bounds.",
)
@release_options
def tree_command(
    input_path: Path,
    target: str,
    features: str,
    bounds: tuple[str, ...],
    keys: tuple[str, ...],
    epsilon: float,
    depth: int,
    thresholds: int,
    **common: Any,
) -> None:
    """A DP decision tree ("rules + model") released only as readable rules.

    Trains a differentially private decision tree predicting TARGET (its classes declared
    with --keys TARGET=a,b,... or the policy's release.keys) from the declared --features,
    each clipped to its declared --bounds (never read from the data), charges --epsilon to
    the ledger, and releases only the rules: "if recency <= 30 and frequency > 4 then
    loyalty = fan (noisy counts: ...)". Half of epsilon picks the splits (exponential
    mechanism, one level at a time), half measures the leaves' class counts (geometric noise).
    OUT is a table with one row per rule: its conditions, the predicted class, the noisy
    count of each class and the rule as text (also printed on stderr); --report writes the
    tree as JSON (rules, splits, estimated accuracy, predicted analytic value, guarantee,
    cost). The predicted value (accuracy relative to the best tree on the same candidates) comes from the released
    counts; --evaluate trains on 80% of the rows and prints the held-out accuracy relative to
    a non-private tree of the same depth (INTERNAL, never written).

    \b
    Examples:
      privseg release tree labels.csv --target loyalty --features recency,frequency,monetary --bounds recency=0:365,frequency=0:50,monetary=0:50000 --policy policies/wecom-marketing.yaml --epsilon 1 --dataset crm --out loyalty-rules.csv --report loyalty-tree.json
      privseg release tree labels.csv --target lifecycle --keys lifecycle=introduction,decline,growth,mature,other --features recency,frequency,monetary --bounds recency=0:365,frequency=0:50,monetary=0:50000 --depth 2 --epsilon 0.5 --dataset crm --unit 外部联系人ID --out rules.csv --evaluate
    """
    setup = checked_setup(input_path, common, keys=keys, bounds=bounds)
    classes = setup.keys.get(target)
    if not classes:
        raise InputError(
            "declare the target's classes with --keys TARGET=a,b,... or a policy's release.keys",
            column=target,
        )
    with release_run("release tree", setup, common) as run:
        table = engines.read_recorded(input_path, run.recorder)
        release = release_tree(
            table,
            target=target,
            classes=classes,
            features=columns(features),
            bounds=setup.bounds,
            epsilon=epsilon,
            account=run.charge_to(input_path),
            bounding=setup.bounding,
            depth=depth,
            thresholds=thresholds,
            evaluate=common["evaluate"],
        )
        run.publish(release, by=[target], measures=columns(features))
    for number, text in enumerate(release.table["text"], start=1):
        click.echo(f"privseg: rule {number}: {text}", err=True)
