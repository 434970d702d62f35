"""Streaming helpers: overlap reading, processing and writing of table chunks on two cores.

Reading (pyarrow's CSV/Parquet readers) and writing (pyarrow's writers) release the GIL, so a
reader thread and a writer thread run beside the main thread's per-chunk work; at most one
chunk waits on each side, which bounds memory to a few chunks whatever the input size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

__all__ = ["WriteBehind", "prefetched"]

T = TypeVar("T")


def prefetched(items: Iterable[T]) -> Iterator[T]:
    """Iterate ``items`` with the next one read ahead in a background thread."""
    iterator = iter(items)
    done = object()
    with ThreadPoolExecutor(1, thread_name_prefix="privseg-read") as pool:
        pending: Future[object] = pool.submit(next, iterator, done)
        while True:
            item = pending.result()
            if item is done:
                return
            pending = pool.submit(next, iterator, done)
            yield item  # type: ignore[misc]


class WriteBehind(Generic[T]):
    """Run ``write(item)`` calls in order on a background thread, one at a time.

    ``submit`` waits for the previous write to finish (so errors surface at once and at
    most one item is in flight); leaving the ``with`` block waits for the last one.
    """

    def __init__(self, write: Callable[[T], object]) -> None:
        self._write = write
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="privseg-write")
        self._pending: Future[object] | None = None

    def submit(self, item: T) -> None:
        """Queue ``item`` after the previous write has finished."""
        self.wait()
        self._pending = self._pool.submit(self._write, item)

    def wait(self) -> None:
        """Wait for the write in flight (re-raising its error)."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def __enter__(self) -> WriteBehind[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if exc[0] is None:
                self.wait()
        finally:
            self._pool.shutdown(wait=True)
