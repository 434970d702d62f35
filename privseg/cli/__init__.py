"""The ``privseg`` command line: a thin layer over the library.

Each module of this package holds the commands of one stage in a ``COMMANDS`` list; this
module gathers them under one root group that turns every error into one line on stderr and
an exit code (2 bad input or usage, 3 policy refusal, 4 privacy budget exceeded,
5 integrity failure, 1 internal error).
"""

from __future__ import annotations

import sys
from typing import Any

import click

from privseg import __version__
from privseg.cli import _common
from privseg.cli import apply as _apply
from privseg.cli import audit as _audit
from privseg.cli import budget as _budget
from privseg.cli import data as _data
from privseg.cli import demo as _demo
from privseg.cli import release as _release
from privseg.cli import release_tree as _release_tree
from privseg.cli import report as _report
from privseg.cli import risk as _risk
from privseg.cli import screen as _screen
from privseg.cli import segment as _segment
from privseg.lifecycle import Terminated, handle_termination

__all__ = ["main"]


class _Root(click.Group):
    """Root group: maps exceptions to exit codes once."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with handle_termination():
                return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except Terminated as stop:
            click.echo(f"privseg: {stop}; nothing published, temporary files removed", err=True)
            sys.exit(128 + stop.signum)
        except Exception as error:
            _common.fail(error, debug=bool(ctx.meta.get("privseg.debug")))


@click.group(cls=_Root, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="privseg")
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """privseg: PIPL-aware screening, minimization, pseudonymization and DP segmentation.

    \b
    Examples:
      privseg demo                      # everything, on built-in demo data
      privseg info customers.csv        # format, encoding, rows and columns
      privseg screen customers.xlsx --format html --out screening.html
    """
    ctx.meta["privseg.debug"] = debug


_release.release_group.add_command(_release_tree.tree_command)
for _module in (
    _data, _demo, _screen, _risk, _apply, _segment, _budget, _release, _audit, _report
):  # fmt: skip
    for _command in _module.COMMANDS:
        main.add_command(_command)
