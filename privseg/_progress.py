"""Progress bars (rich) on a terminal; silence when piped or ``--quiet``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn


class Steps:
    """A sequence of named steps shown as one progress bar."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self._progress = progress
        self._task = progress.add_task("starting", total=total) if progress else None

    def step(self, description: str) -> None:
        """Mark the start of the next step."""
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, description=description)

    def done(self) -> None:
        """Mark the current step finished."""
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task)


@contextmanager
def steps(total: int, *, quiet: bool = False) -> Iterator[Steps]:
    """Yield a ``Steps`` that draws a bar only on an interactive stderr and when not quiet."""
    if quiet or not sys.stderr.isatty():
        yield Steps(None, total)
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, transient=True) as progress:
        yield Steps(progress, total)
