"""A screening sample drawn from a whole stream of chunks in one pass, in bounded memory.

``apply`` enforces a file chunk by chunk; its verdict must not depend on row order (a file
whose first 100,000 rows are harmless must not hide a sensitive column further down). Per
column, :class:`StreamSample` keeps the first ``ceil(size / 2)`` non-empty values in file
order (as :mod:`.sampling` does) and a uniform reservoir sample of ``size // 2`` of all the
later ones (Li's Algorithm L: random draws only where a value enters, so the cost per
chunk is a count of non-empty cells; the draws do not depend on chunk boundaries), so memory is ``size`` values per column whatever the
file's length. The reservoir's generator is seeded with SHA-256 of the header: the same file
gives the same sample.
"""

from __future__ import annotations

import hashlib
import math
from datetime import date

import numpy as np
import pandas as pd

from privseg.screening.custom import CustomRecognizers
from privseg.screening.report import ScreenReport
from privseg.screening.scan import DEFAULT_SAMPLE, screen_columns

__all__ = ["StreamSample"]


class _Column:
    """The head and the reservoir of one column (values indexed by row number)."""

    def __init__(self, name: str, size: int) -> None:
        self.head_size = (size + 1) // 2
        self.size = size - self.head_size
        seed = int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big")
        self.rng = np.random.default_rng(seed)
        self.head: list[pd.Series] = []
        self.in_head = 0
        self.rows = np.zeros(self.size, dtype=np.int64)  # reservoir slots: row numbers
        self.values: list[object] = [None] * self.size
        self.seen = 0  # non-empty values after the head
        self.next = -1  # index after the head of the next value to enter (once full)
        self.w = 0.0
        self.dtype: object = None

    def add(self, column: pd.Series, offset: int) -> None:
        if self.dtype is None:
            self.dtype = column.dtype
        present = np.flatnonzero(column.notna().to_numpy())
        take = min(len(present), self.head_size - self.in_head)
        if take:
            head = column.iloc[present[:take]]
            self.head.append(head.set_axis(present[:take] + offset))
            self.in_head += take
        rest = present[take:]
        if not len(rest) or not self.size:
            return
        picks: dict[int, int] = {}  # slot -> position in ``rest`` (the last pick wins)
        end = self.seen + len(rest)
        fill = min(end, self.size) - self.seen
        for i in range(max(fill, 0)):
            picks[self.seen + i] = i
        if end >= self.size and self.next < 0:
            self._skip(first=True)  # the reservoir is full: start skipping
        while 0 <= self.next < end:
            picks[int(self.rng.integers(self.size))] = self.next - self.seen
            self._skip(first=False)
        if picks:
            slots = np.fromiter(picks, dtype=np.int64, count=len(picks))
            at = np.fromiter(picks.values(), dtype=np.int64, count=len(picks))
            values = column.iloc[rest[at]].tolist()
            self.rows[slots] = rest[at] + offset
            for slot, value in zip(slots.tolist(), values, strict=True):
                self.values[slot] = value
        self.seen = end

    def _skip(self, *, first: bool) -> None:
        """Algorithm L: the index (in the stream after the head) of the next value to enter."""
        shrink = math.exp(math.log(1.0 - self.rng.random()) / self.size)  # draws in (0, 1]
        if first:
            self.w, self.next = shrink, self.size - 1
        else:
            self.w *= shrink
        u = 1.0 - self.rng.random()
        self.next += 1 + (int(math.log(u) / math.log1p(-self.w)) if self.w < 1 else 0)

    def sample(self) -> tuple[pd.Series, bool]:
        """The sampled non-empty values (indexed by row number) and whether they are a sample."""
        kept = min(self.seen, self.size)
        tail = pd.Series(self.values[:kept], index=self.rows[:kept], dtype=self.dtype)
        return pd.concat([*self.head, tail]).sort_index(), self.seen > self.size


class StreamSample:
    """Per-column samples of a table streamed in chunks; :meth:`report` screens them."""

    def __init__(self, size: int = DEFAULT_SAMPLE) -> None:
        if size <= 1:
            raise ValueError("sample size must be at least 2")
        self.size = size
        self.names: list[str] = []
        self._columns: list[_Column] = []
        self.rows = 0

    def add(self, chunk: pd.DataFrame) -> None:
        """Take the next chunk of the stream (the same columns in every chunk)."""
        names = [str(c) for c in chunk.columns]
        if not self._columns:
            self.names = names
            self._columns = [_Column(n, self.size) for n in names]
        elif names != self.names:
            raise ValueError("every chunk must have the same columns")
        for j, column in enumerate(self._columns):
            column.add(chunk.iloc[:, j], self.rows)
        self.rows += len(chunk)

    def report(
        self,
        source: str,
        *,
        as_of: date | None = None,
        recognizers: CustomRecognizers | None = None,
    ) -> ScreenReport:
        """The screening report of the sampled values, as ``screen()`` gives it."""
        columns = [(n, *c.sample()) for n, c in zip(self.names, self._columns, strict=True)]
        return screen_columns(
            source, self.rows, columns, as_of=as_of or date.today(), recognizers=recognizers
        )
