"""The per-column sample is documented, reproducible and differs between columns."""

from __future__ import annotations

import numpy as np
import pytest

from privseg.screening.sampling import sample_positions


def test_small_columns_are_examined_whole() -> None:
    assert sample_positions(5, 10, "a").tolist() == [0, 1, 2, 3, 4]


def test_first_half_then_seeded_draw_without_replacement() -> None:
    pos = sample_positions(10_000, 1000, "手机号")
    assert len(pos) == 1000 == len(set(pos.tolist()))
    assert pos[:500].tolist() == list(range(500))
    assert (pos[500:] >= 500).all() and (pos[500:] < 10_000).all()
    assert np.all(np.diff(pos) > 0)


def test_reproducible_and_keyed_by_column_name() -> None:
    a = sample_positions(50_000, 101, "mobile")
    assert a.tolist() == sample_positions(50_000, 101, "mobile").tolist()
    assert a.tolist() != sample_positions(50_000, 101, "email").tolist()
    assert len(a) == 101 and a[:51].tolist() == list(range(51))


def test_rejects_non_positive_size() -> None:
    with pytest.raises(ValueError):
        sample_positions(10, 0, "a")
