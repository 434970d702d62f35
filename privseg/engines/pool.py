"""Apply's worker pool: forked processes that enforce one plan on chunks of a table.

The processes are forked at once, before ``apply_file`` starts its own threads; the plan,
keys and first chunk are inherited at the fork, never pickled. A worker that dies or stays
silent too long raises PrivsegError; after a failure the workers are killed, not waited for.
Workers die with their parent (``privseg.lifecycle.die_with_parent``), even if it is killed.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import TypeVar

import pandas as pd

from privseg.errors import PrivsegError
from privseg.lifecycle import die_with_parent
from privseg.policy import Plan, PolicyKeys, enforce
from privseg.screening import ScreenReport, screen

__all__ = ["WORKERS", "EnforcePool", "worker_result"]

#: Worker processes enforcing chunks.
WORKERS = 2
#: A chunk takes well under a second in a worker; one silent this long is stuck (e.g. it
#: inherited a lock held by another thread at fork time).
_WORKER_TIMEOUT_S = 600.0

_R = TypeVar("_R")


@dataclass(frozen=True)
class _Job:
    plan: Plan
    keys: PolicyKeys
    first: pd.DataFrame
    parent: int


#: The job of this process when it is a pool worker: set by the fork initializer in the
#: worker only (the parent never sets it).
_worker_job: _Job | None = None


def _start_worker(job: _Job) -> None:
    global _worker_job
    die_with_parent(job.parent)
    for sig in (signal.SIGTERM, signal.SIGHUP):  # the parent's handlers are not the worker's
        signal.signal(sig, signal.SIG_DFL)
    _worker_job = job


def _enforce_in_worker(chunk: pd.DataFrame) -> pd.DataFrame:
    """``enforce`` in a pool worker: the pool already spreads chunks over the cores."""
    assert _worker_job is not None
    return enforce(_worker_job.plan, chunk, _worker_job.keys, workers=1)


def _screen_in_worker() -> ScreenReport:
    """The sampling screen of the first chunk (inherited at the fork) in a pool worker."""
    assert _worker_job is not None
    return screen(_worker_job.first)


_DIED = "an apply worker process died (killed by the system, e.g. out of memory?)"


def worker_result(future: Future[_R]) -> _R:
    """A pool worker's result; a worker that died or hangs raises PrivsegError (the errors
    the work itself raises, such as InputError, pass through)."""
    try:
        return future.result(timeout=_WORKER_TIMEOUT_S)
    except BrokenProcessPool:
        raise PrivsegError(_DIED) from None
    except TimeoutError:
        raise PrivsegError(
            f"an apply worker process gave no result in {_WORKER_TIMEOUT_S:.0f} s"
        ) from None


class EnforcePool:
    """``WORKERS`` forked processes enforcing ``plan`` with ``keys``."""

    def __init__(self, plan: Plan, keys: PolicyKeys, first: pd.DataFrame) -> None:
        self._pool = ProcessPoolExecutor(
            WORKERS,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_start_worker,
            initargs=(_Job(plan, keys, first, os.getpid()),),
        )
        try:  # a fork pool starts all its workers on the first submit
            worker_result(self._pool.submit(int))
        except BaseException:
            self.kill()  # a worker stuck from the start would otherwise hang the exit
            raise

    @classmethod
    def start(cls, plan: Plan, keys: PolicyKeys, first: pd.DataFrame) -> EnforcePool | None:
        """Started workers, or None where fork is unavailable."""
        if "fork" not in multiprocessing.get_all_start_methods():
            return None
        return cls(plan, keys, first)

    def enforce(self, chunk: pd.DataFrame) -> Future[pd.DataFrame]:
        """The chunk enforced in a worker."""
        try:  # a worker that died since the last result breaks the pool for new work too
            return self._pool.submit(_enforce_in_worker, chunk)
        except BrokenProcessPool:
            raise PrivsegError(_DIED) from None

    def screen_first(self) -> Future[ScreenReport]:
        """The sampling screen of the first chunk, in a worker."""
        return self._pool.submit(_screen_in_worker)

    def shutdown(self) -> None:
        """Stop the workers once their work is done."""
        self._pool.shutdown(cancel_futures=True)

    def kill(self) -> None:
        """Kill the workers and shut down without waiting (after a failure; workers write
        nothing). ``ProcessPoolExecutor.kill_workers`` only arrives in Python 3.14."""
        processes = getattr(self._pool, "_processes", None) or {}
        for process in list(processes.values()):
            process.kill()
        self._pool.shutdown(wait=False, cancel_futures=True)
