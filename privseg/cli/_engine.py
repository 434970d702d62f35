"""The ``--engine local|spark`` option of apply, segment assign and release counts, mean,
quantile and kmeans (the library chooses what each engine does: ``privseg.engines.engine``)."""

from __future__ import annotations

import click

from privseg.cli._common import F
from privseg.engines.engine import Engine

__all__ = ["engine_option"]


def engine_option(f: F) -> F:
    """``--engine local|spark`` (default local), passed on as an ``Engine``."""
    return click.option(
        "--engine",
        type=click.Choice([e.value for e in Engine]),
        default=Engine.LOCAL.value,
        show_default=True,
        callback=lambda _ctx, _param, value: Engine(value),
        help="local: stream and partition files on this machine (both cores); spark: run the "
        "same stages on PySpark in local mode (pip install 'privseg[spark]').",
    )(f)
