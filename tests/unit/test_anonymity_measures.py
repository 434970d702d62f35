"""Risk measures against an independent pandas group-by; the Zayatz estimate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privseg.anonymity import count_classes, risk
from privseg.anonymity.population import zayatz
from privseg.errors import InputError

VALUES = st.sampled_from(["a", "b", "c", None])


@st.composite
def tables(draw: st.DrawFn) -> pd.DataFrame:
    rows = draw(st.integers(1, 60))
    cols = {name: draw(st.lists(VALUES, min_size=rows, max_size=rows)) for name in "xyzs"}
    return pd.DataFrame(cols, dtype="str")


def _expected(df: pd.DataFrame, quasi: list[str], k: int) -> dict[str, object]:
    # independent: class size of every record by transform('size') on a filled copy
    filled = df.fillna("<null>")
    size = filled.groupby(quasi)[quasi[0]].transform("size").to_numpy()
    rows = len(df)
    return {
        "k_anonymity": int(size.min()),
        "classes": int(filled.drop_duplicates(quasi).shape[0]),
        "sample_uniques": float((size == 1).mean()),
        "records_below_k": float((size < k).mean()),
        "prosecutor_max": float((1 / size).max()),
        "prosecutor_mean": float((1 / size).mean()),
        "l": int(filled.groupby(quasi)["s"].nunique().min()),
        "rows": rows,
    }


@settings(max_examples=60, deadline=None)
@given(tables(), st.integers(1, 6), st.sampled_from([["x"], ["x", "y"], ["x", "y", "z"]]))
def test_measures_match_an_independent_group_by(df: pd.DataFrame, k: int, quasi: list[str]) -> None:
    report = risk(df, quasi, sensitive=["s"], k=k)
    expected = _expected(df, quasi, k)
    assert report.rows == expected["rows"]
    assert report.k_anonymity == expected["k_anonymity"]
    assert report.classes == expected["classes"]
    assert report.sample_uniques == pytest.approx(expected["sample_uniques"])
    assert report.records_below_k == pytest.approx(expected["records_below_k"])
    assert report.prosecutor_max == pytest.approx(expected["prosecutor_max"])
    assert report.prosecutor_mean == pytest.approx(expected["prosecutor_mean"])
    assert report.l_diversity == {"s": expected["l"]}
    assert sum(s * n for s, n in report.class_size_histogram) == len(df)


@settings(max_examples=25, deadline=None)
@given(tables(), st.integers(1, 7))
def test_chunked_counts_equal_whole_table_counts(df: pd.DataFrame, chunk: int) -> None:
    whole = count_classes([df], ["x", "y"], ["s"]).counts.sort_index()
    parts = [df.iloc[i : i + chunk] for i in range(0, len(df), chunk)]
    merged = count_classes(parts, ["x", "y"], ["s"]).counts.sort_index()
    pd.testing.assert_series_equal(whole, merged, check_names=False)


def test_a_file_is_streamed_with_the_same_figures(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    df = pd.DataFrame(
        {"g": rng.choice(["男", "女"], 500), "p": rng.integers(0, 30, 500).astype(str)}
    )
    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    from_file = risk(path, ["g", "p"]).to_dict()
    from_frame = risk(df, ["g", "p"]).to_dict()
    assert from_file | {"source": ""} == from_frame | {"source": ""}
    assert from_file["source"] == str(path)


def test_json_contract_fields() -> None:
    df = pd.DataFrame({"a": ["1", "1", "2"], "b": ["x", "y", "x"]})
    data = risk(df, ["a"], sensitive=["b"], k=2).to_dict()
    for field in (
        "source",
        "rows",
        "quasi_identifiers",
        "k_anonymity",
        "classes",
        "sample_uniques",
        "records_below_k",
        "prosecutor_risk",
        "l_diversity",
        "population_uniqueness",
    ):
        assert field in data
    assert data["prosecutor_risk"] == {"max": 1.0, "mean": pytest.approx(2 / 3)}
    assert data["l_diversity"] == {"b": 1}
    assert data["population_uniqueness"]["model"] == "zayatz"


def test_bad_columns_are_named() -> None:
    df = pd.DataFrame({"a": ["1"]})
    with pytest.raises(InputError, match="lacks the columns"):
        risk(df, ["missing"])
    with pytest.raises(InputError, match="no quasi-identifiers"):
        risk(df, [])


def test_zayatz_whole_population_is_the_sample_uniques() -> None:
    sizes = np.array([1, 1, 1, 2, 5])
    estimate = zayatz(sizes)
    assert estimate.uniques == 3 and estimate.sampling_fraction == 1.0


def test_zayatz_on_a_simulated_sample() -> None:
    """Population classes of sizes 1..4; a 50% sample: the estimate is in the right range
    and below the naive scaling of sample uniques."""
    rng = np.random.default_rng(7)
    population = np.repeat(np.arange(4000), rng.integers(1, 5, 4000))
    true_uniques = int((np.bincount(population) == 1).sum())
    sample = rng.choice(population, size=len(population) // 2, replace=False)
    sizes = np.bincount(sample)
    sizes = sizes[sizes > 0]
    estimate = zayatz(sizes, population=len(population))
    naive = (sizes == 1).sum() / estimate.sampling_fraction
    assert estimate.uniques < naive
    assert 0.5 * true_uniques < estimate.uniques < 2 * true_uniques
    with pytest.raises(InputError, match="smaller than the table"):
        zayatz(sizes, population=10)
