"""The lattice search against brute force on small ladders; ladders that are no hierarchy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privseg.anonymity import count_classes
from privseg.anonymity.lattice import Lattice, Requirement, brute_force, search
from privseg.errors import PolicyError


def _ladder(cardinality: int, divisors: list[int]) -> pd.DataFrame:
    """Values 0..n-1 generalized by integer division, coarser and coarser."""
    values = np.arange(cardinality)
    levels = {0: values.astype(str)}
    step = 1
    for i, d in enumerate(divisors, start=1):
        step *= d
        levels[i] = (values // step).astype(str)
    return pd.DataFrame(levels)


@st.composite
def problems(draw: st.DrawFn) -> tuple[Lattice, Requirement]:
    rows = draw(st.integers(5, 300))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    cards = [draw(st.integers(1, 12)) for _ in range(3)]
    df = pd.DataFrame(
        {f"q{i}": rng.integers(0, c, rows).astype(str) for i, c in enumerate(cards)}
        | {"s": rng.integers(0, 3, rows).astype(str)}
    )
    ladders = {
        f"q{i}": _ladder(c, draw(st.lists(st.integers(2, 4), max_size=3)))
        for i, c in enumerate(cards)
        if draw(st.booleans())
    }
    diverse = draw(st.booleans())
    counts = count_classes([df], ["q0", "q1", "q2"], ["s"] if diverse else [])
    requirement = Requirement(
        k=draw(st.integers(1, 25)),
        l=draw(st.integers(1, 3)) if diverse else None,
        max_suppression=draw(st.sampled_from([0.0, 0.02, 0.1, 0.3])),
    )
    return Lattice(counts, ladders), requirement


@settings(max_examples=80, deadline=None)
@given(problems())
def test_search_finds_the_brute_force_optimum(problem: tuple[Lattice, Requirement]) -> None:
    lattice, requirement = problem
    result = search(lattice, requirement)
    expected = brute_force(lattice, requirement)
    assert result.best == expected
    assert result.evaluated <= result.nodes
    if expected is None:
        assert not result.top.meets


def test_the_loss_is_zero_at_level_zero_and_one_when_all_is_suppressed() -> None:
    df = pd.DataFrame({"a": list("aabbc"), "b": list("xyxyx")})
    lattice = Lattice(count_classes([df], ["a", "b"]), {})
    assert lattice.evaluate((0, 0), Requirement(1)).loss == 0
    everything = lattice.evaluate((0, 0), Requirement(10, None, 1.0))
    assert everything.suppressed == 5 and everything.loss == pytest.approx(1.0)
    assert everything.k == 0


def test_search_skips_nodes_below_a_failure() -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({c: rng.integers(0, 16, 400).astype(str) for c in "abc"})
    ladders = {c: _ladder(16, [2, 2, 2, 2]) for c in "abc"}
    lattice = Lattice(count_classes([df], list("abc")), ladders)
    result = search(lattice, Requirement(20))
    assert result.best == brute_force(lattice, Requirement(20))
    assert result.evaluated < result.nodes  # nodes below a failure or past the bound are skipped


def test_a_ladder_that_is_no_hierarchy_is_refused() -> None:
    df = pd.DataFrame({"a": ["1", "2", "3"]})
    # level 1 joins 1 and 2; level 2 splits them again
    ladder = pd.DataFrame({0: ["1", "2", "3"], 1: ["x", "x", "y"], 2: ["p", "q", "q"]})
    with pytest.raises(PolicyError, match="not a hierarchy"):
        Lattice(count_classes([df], ["a"]), {"a": ladder})
    with pytest.raises(PolicyError, match="lacks 1 counted values"):
        Lattice(count_classes([df], ["a"]), {"a": ladder.iloc[:2]})


def test_best_k_within_the_suppression_limit() -> None:
    df = pd.DataFrame({"a": list("abbccc") + ["d"] * 10})
    lattice = Lattice(count_classes([df], ["a"]), {})
    result = search(lattice, Requirement(20))
    assert result.best is None
    sizes = np.array([1, 2, 3, 10])
    assert result.best_k_within_limit(sizes, 0.0) == 1
    assert result.best_k_within_limit(sizes, 1 / 16) == 2
    assert result.best_k_within_limit(sizes, 6 / 16) == 10
