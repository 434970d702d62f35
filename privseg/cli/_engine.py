"""The ``--engine local|spark`` option of apply, segment assign and release counts, mean,
quantile and kmeans."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Any

import click

from privseg.cli._common import F
from privseg.errors import InputError

__all__ = ["Engine", "engine_option", "spark_session"]


class Engine(StrEnum):
    """Where a command runs."""

    LOCAL = "local"
    SPARK = "spark"


def engine_option(f: F) -> F:
    """``--engine local|spark`` (default local)."""
    return click.option(
        "--engine",
        type=click.Choice([e.value for e in Engine]),
        default=Engine.LOCAL.value,
        show_default=True,
        help="local: stream and partition files on this machine (both cores); spark: run the "
        "same stages on PySpark in local mode (pip install 'privseg[spark]').",
    )(f)


@contextmanager
def spark_session() -> Iterator[Any]:
    """The active Spark session, or a local one started (and stopped) for this command."""
    from privseg.engines import spark

    try:
        from pyspark.sql import SparkSession
    except ImportError as error:
        raise InputError("--engine spark needs pyspark: pip install 'privseg[spark]'") from error
    active = SparkSession.getActiveSession()
    session = active if active is not None else spark.session()
    if active is None:
        session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        if active is None:
            session.stop()
