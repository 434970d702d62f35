"""How a run ends: SIGTERM and SIGHUP unwind like Ctrl-C; worker processes die with privseg.

``handle_termination()`` (installed by the CLI) turns SIGTERM and SIGHUP into a
:class:`Terminated` exception in the main thread, so every ``finally`` runs: temporary
folders are removed, staged outputs discarded, pools killed and the failed run audited.
``die_with_parent()`` (run in each worker process) asks Linux to kill the worker when the
process that started it dies, even by SIGKILL.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Final

__all__ = ["Terminated", "critical", "die_with_parent", "handle_termination"]

_SIGNALS: Final = (signal.SIGTERM, signal.SIGHUP)
_PR_SET_PDEATHSIG: Final = 1


class Terminated(BaseException):
    """The process received SIGTERM or SIGHUP; unwinds like KeyboardInterrupt."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"terminated by {signal.Signals(signum).name}")
        self.signum = signum


#: Signals that arrived inside ``critical`` blocks (how deep we are, and what came).
_critical_depth = 0
_pending: list[int] = []


def _raise(signum: int, _frame: FrameType | None) -> None:
    if _critical_depth:
        _pending.append(signum)  # raised when the critical block ends
        return
    for sig in _SIGNALS:  # a second signal while unwinding must not interrupt the clean-up
        signal.signal(sig, signal.SIG_IGN)
    raise Terminated(signum)


@contextlib.contextmanager
def critical() -> Iterator[None]:
    """Within the block SIGTERM and SIGHUP wait: :class:`Terminated` is raised when it ends
    (an audit line is never cut in half, a publication never left half done)."""
    global _critical_depth
    _critical_depth += 1
    try:
        yield
    finally:
        _critical_depth -= 1
        if not _critical_depth and _pending:
            signum = _pending[0]
            _pending.clear()
            _raise(signum, None)


@contextlib.contextmanager
def handle_termination() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise :class:`Terminated` in the main thread
    (no-op in other threads); the previous handlers come back afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _raise) for sig in _SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def die_with_parent(parent: int) -> None:
    """Have the kernel SIGKILL this worker when its parent (pid ``parent``) dies (Linux;
    no-op elsewhere); exit at once if the parent is already gone."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)
