"""Full-domain generalization: search the lattice of ladder levels for the least loss that
meets a k-anonymity (and l-diversity) requirement with a suppression limit.

Each quasi-identifier has a ladder of levels, 0 (what the policy already outputs) up to its
most general; a lattice node picks one level per column (full-domain: every value of a
column is generalized to the same level). At a node, records in classes smaller than k (or
with fewer than l distinct values of a sensitive column) are suppressed; the node meets the
requirement if at most ``max_suppression`` of the records are.

**Loss** (non-uniform entropy, as in ARX): a record whose value x of a column is shown as g
loses log2(count(g) / count(x)) bits of that column, i.e. -log2 P(x | g) with the
probabilities of the table at level 0; a suppressed record loses log2(rows / count(x)) of
every column (its whole value). The loss of a node is the total over records and columns
divided by that of suppressing every record, so it runs from 0 (level 0, nothing
suppressed) to 1.

**Search**: meeting the requirement is monotone (a coarser node merges classes, so it
suppresses no more records), and the loss of a node is at least its loss without
suppression, which adds up per column. The search (in the spirit of ARX's OLA and Flash)
visits nodes in order of that lower bound, skips every node below one that failed, and
stops once the bound exceeds the best loss found; ties go to the lower total level, then to
the lexicographically smaller levels. :func:`brute_force` evaluates every node and the tests
check both agree.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from privseg.anonymity.classes import ClassCounts, dense_ids
from privseg.errors import PolicyError

__all__ = [
    "Lattice",
    "Node",
    "Requirement",
    "SearchResult",
    "brute_force",
    "search",
]


@dataclass(frozen=True)
class Requirement:
    """What a generalized table must meet: every class at least ``k`` records, at least ``l``
    distinct values of each sensitive column, after suppressing at most ``max_suppression``
    (a share) of the records."""

    k: int
    l: int | None = None  # noqa: E741 (the measure's name)
    max_suppression: float = 0.0


@dataclass(frozen=True)
class Node:
    """One lattice node evaluated: levels per quasi-identifier and what they give."""

    levels: tuple[int, ...]
    meets: bool
    k: int  # smallest class left after suppression (0 if every record is suppressed)
    suppressed: int  # records suppressed
    loss: float

    def key(self) -> tuple[float, int, tuple[int, ...]]:
        """Order of preference among nodes that meet the requirement."""
        return (self.loss, sum(self.levels), self.levels)


@dataclass(frozen=True)
class SearchResult:
    """The best node (None if none meets the requirement), the most general node, and how
    many of the lattice's nodes were evaluated."""

    best: Node | None
    top: Node
    evaluated: int
    nodes: int

    def best_k_within_limit(self, sizes: np.ndarray, max_suppression: float) -> int:
        """The largest k the most general node reaches by suppressing at most the limit."""
        ordered = np.sort(sizes)
        allowed = max_suppression * ordered.sum()
        kept = ordered[np.cumsum(ordered) > allowed]
        return int(kept[0]) if len(kept) else 0


def _codes(values: pd.Series) -> np.ndarray:
    codes, _ = pd.factorize(values, use_na_sentinel=False)
    return np.asarray(codes, dtype=np.int64)


class Lattice:
    """The generalization lattice of counted classes and the ladders of their columns.

    ``ladders`` maps a quasi-identifier to a DataFrame of its distinct values: column 0 the
    values at level 0 (as counted), column i the same values at level i. Quasi-identifiers
    without a ladder have level 0 only.
    """

    def __init__(self, counts: ClassCounts, ladders: Mapping[str, pd.DataFrame]) -> None:
        self.counts = counts
        frame = counts.counts.index.to_frame(index=False)
        self.weights = counts.counts.to_numpy(dtype=np.int64)
        self.rows = int(self.weights.sum())
        self.codes: list[np.ndarray] = []  # level-0 code of each counted row, per column
        self.maps: list[list[np.ndarray]] = []  # per column, per level: level-0 code -> code
        for column in counts.quasi:
            ladder = ladders.get(column)
            if ladder is None:
                codes = counts.codes(column)
                maps = [np.arange(int(codes.max(initial=0)) + 1)]
            else:
                codes, maps = self._ladder(column, frame[column], ladder)
            self.codes.append(codes)
            self.maps.append(maps)
        self.sensitive = [counts.codes(c) for c in counts.sensitive]
        self._costs = [self._column_costs(i) for i in range(len(self.codes))]
        self._total = float(sum(top @ count for top, _, count in self._costs))

    @property
    def heights(self) -> tuple[int, ...]:
        """Number of levels of each quasi-identifier."""
        return tuple(len(m) for m in self.maps)

    @staticmethod
    def _ladder(
        column: str, values: pd.Series, ladder: pd.DataFrame
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        ladder = ladder.drop_duplicates()
        base = ladder.iloc[:, 0]
        if base.duplicated().any():
            raise PolicyError(f"ladder of {column!r} gives one value two generalizations")
        position = pd.Index(base)
        codes = position.get_indexer(values)
        if (codes < 0).any():
            raise PolicyError(f"ladder of {column!r} lacks {int((codes < 0).sum())} counted values")
        maps = [_codes(ladder.iloc[:, level]) for level in range(ladder.shape[1])]
        for level in range(1, len(maps)):
            finer = pd.Series(maps[level - 1])
            if (pd.Series(maps[level]).groupby(finer).nunique() > 1).any():
                raise PolicyError(
                    f"ladder of {column!r} is not a hierarchy: level {level} splits values "
                    f"that level {level - 1} joins"
                )
        return codes.astype(np.int64), maps

    def _column_costs(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per level-0 code of column ``i``: bits lost when suppressed, bits lost per level
        (levels x codes), and its record count."""
        size = len(self.maps[i][0])
        count0 = np.bincount(self.codes[i], weights=self.weights, minlength=size)
        present = count0 > 0
        safe = np.where(present, count0, 1.0)
        top = np.where(present, np.log2(self.rows / safe), 0.0)
        per_level = []
        for mapping in self.maps[i]:
            count = np.bincount(mapping, weights=count0)
            per_level.append(np.log2(np.where(present, count[mapping], 1.0) / safe))
        return top, np.array(per_level), count0

    def bound(self, levels: Sequence[int]) -> float:
        """Loss of ``levels`` without suppression: a lower bound of the node's loss."""
        if self._total == 0:
            return 0.0
        bits = sum(self._costs[i][1][level] @ self._costs[i][2] for i, level in enumerate(levels))
        return float(bits / self._total)

    def classes(self, levels: Sequence[int]) -> np.ndarray:
        """Class id of every counted row at ``levels``."""
        return dense_ids([self.maps[i][lv][self.codes[i]] for i, lv in enumerate(levels)])

    def failing(self, levels: Sequence[int], requirement: Requirement) -> np.ndarray:
        """Which counted rows a node suppresses (their class is too small or not diverse)."""
        ids = self.classes(levels)
        sizes = np.bincount(ids, weights=self.weights).astype(np.int64)
        bad = sizes[ids] < requirement.k
        if requirement.l is not None:
            for codes in self.sensitive:
                pairs = np.unique(ids * (int(codes.max(initial=0)) + 1) + codes)
                distinct = np.bincount(
                    pairs // (int(codes.max(initial=0)) + 1), minlength=len(sizes)
                )
                bad |= distinct[ids] < requirement.l
        return np.asarray(bad)

    def evaluate(self, levels: Sequence[int], requirement: Requirement) -> Node:
        """The node at ``levels``: whether it meets ``requirement``, its k and loss."""
        bad = self.failing(levels, requirement)
        suppressed = int(self.weights[bad].sum())
        kept = ~bad
        ids = self.classes(levels)
        sizes = np.bincount(ids[kept], weights=self.weights[kept]).astype(np.int64)
        k = int(sizes[sizes > 0].min()) if kept.any() else 0
        extra = 0.0
        if bad.any() and self._total > 0:
            weights = self.weights[bad]
            for i, level in enumerate(levels):
                top, per_level, _ = self._costs[i]
                codes = self.codes[i][bad]
                extra += float((top[codes] - per_level[level][codes]) @ weights)
        loss = self.bound(levels) + (extra / self._total if self._total else 0.0)
        meets = suppressed <= requirement.max_suppression * self.rows
        return Node(tuple(levels), meets, k, suppressed, loss)

    def nodes(self) -> list[tuple[int, ...]]:
        """Every node of the lattice."""
        return list(itertools.product(*(range(h) for h in self.heights)))


def search(lattice: Lattice, requirement: Requirement) -> SearchResult:
    """The node of least loss meeting ``requirement`` (see the module docstring)."""
    nodes = lattice.nodes()
    order = sorted(nodes, key=lambda n: (lattice.bound(n), sum(n), n))
    failed: list[tuple[int, ...]] = []
    best: Node | None = None
    evaluated = 0
    for levels in order:
        if best is not None and lattice.bound(levels) > best.loss:
            break
        if any(all(a <= b for a, b in zip(levels, f, strict=True)) for f in failed):
            continue
        node = lattice.evaluate(levels, requirement)
        evaluated += 1
        if not node.meets:
            failed.append(levels)
        elif best is None or node.key() < best.key():
            best = node
    top = lattice.evaluate(tuple(h - 1 for h in lattice.heights), requirement)
    return SearchResult(best, top, evaluated, len(nodes))


def brute_force(lattice: Lattice, requirement: Requirement) -> Node | None:
    """Every node evaluated; the best one meeting ``requirement`` (for tests)."""
    meeting = [n for n in (lattice.evaluate(lv, requirement) for lv in lattice.nodes()) if n.meets]
    return min(meeting, key=Node.key, default=None)
