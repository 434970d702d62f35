"""The whole-stream sample: uniform over the file, independent of chunking, bounded."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from privseg.screening import screen
from privseg.screening.reservoir import StreamSample

AS_OF = date(2026, 6, 30)


def _stream(frame: pd.DataFrame, chunk: int, size: int) -> StreamSample:
    sample = StreamSample(size)
    for start in range(0, len(frame), chunk):
        sample.add(frame.iloc[start : start + chunk])
    return sample


def test_reservoir_is_uniform_over_the_rest_of_the_file() -> None:
    """Over 100 columns (seeds), each tenth of the rows after the head holds about a tenth
    of the reservoir: a binomial count per tenth, checked at 5 standard deviations."""
    n, size = 5000, 100
    frame = pd.DataFrame({f"c{j}": np.arange(n) for j in range(100)})
    sample = _stream(frame, 777, size)
    rows = np.concatenate([c.rows for c in sample._columns])
    assert len(rows) == 100 * (size // 2)
    head = (size + 1) // 2
    counts = np.bincount((rows - head) * 10 // (n - head), minlength=10)
    expected, sd = len(rows) / 10, np.sqrt(len(rows) * 0.1 * 0.9)
    assert np.all(np.abs(counts - expected) < 5 * sd), counts


@pytest.mark.parametrize("chunk", [13, 97, 1000])
def test_same_sample_whatever_the_chunking(chunk: int) -> None:
    frame = pd.DataFrame({"a": np.arange(3000), "b": [None, "x", "y"] * 1000})
    reference = {n: v for n, (v, _) in zip(["a", "b"], _sample(frame, 3000), strict=True)}
    got = {n: v for n, (v, _) in zip(["a", "b"], _sample(frame, chunk), strict=True)}
    for name in ("a", "b"):
        pd.testing.assert_series_equal(got[name], reference[name])
        assert len(got[name]) == 200 and got[name].notna().all()


def _sample(frame: pd.DataFrame, chunk: int) -> list[tuple[pd.Series, bool]]:
    return [c.sample() for c in _stream(frame, chunk, 200)._columns]


def test_small_columns_are_examined_whole() -> None:
    frame = pd.DataFrame({"a": ["x"] * 150, "b": [None] * 149 + ["y"]})
    (a, sampled_a), (b, sampled_b) = _sample(frame, 40)
    assert len(a) == 150 and not sampled_a
    assert b.tolist() == ["y"] and b.index.tolist() == [149] and not sampled_b


def test_sorted_file_cannot_hide_a_sensitive_column() -> None:
    """Harmless remarks first, religion and health later: the head alone misses them."""
    harmless = ["老客户", "要发票", "周末到店", "喜欢新品"] * 5000
    later = ["信佛，每月初一吃斋", "有糖尿病，要无糖的", "老客户", "要发票"] * 1000
    frame = pd.DataFrame({"备注": harmless + later, "n": np.arange(24000)})
    head = screen(frame.head(20000), as_of=AS_OF)
    assert head.column("备注").categories == ()
    report = _stream(frame, 5000, 1000).report("sorted.csv", as_of=AS_OF)
    assert set(report.column("备注").categories) == {"religious_belief", "medical_health"}
    assert report.rows == 24000 and report.column("备注").sampled
    assert 1000 <= report.rows_examined <= 2000


def test_columns_must_not_change() -> None:
    sample = StreamSample(10)
    sample.add(pd.DataFrame({"a": [1]}))
    with pytest.raises(ValueError, match="same columns"):
        sample.add(pd.DataFrame({"b": [1]}))
