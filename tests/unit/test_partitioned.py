"""Out-of-core assignment and counts give the in-memory results."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from privseg.demo.generator import DEMO_AS_OF, generate
from privseg.dp.cells import exact_counts
from privseg.dp.counts import release_counts
from privseg.dp.types import Bounding
from privseg.engines.partitioned import assign_files, count_file
from privseg.io import read_table, write_table
from privseg.segments import assign, load_schemes

UNIT = "外部联系人ID"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("parts")
    data = generate(1_500, seed=7)
    for name, df in data.tables().items():
        write_table(df, folder / f"{name}.csv")
    return folder


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(UNIT, kind="stable").reset_index(drop=True)


@pytest.mark.parametrize("partitions", [1, 3])
def test_assign_files_equals_in_memory_assign(demo: Path, tmp_path: Path, partitions: int) -> None:
    schemes = load_schemes()
    out = tmp_path / "labels.csv"
    run = assign_files(
        demo / "customers.csv",
        demo / "orders.csv",
        demo / "interactions.csv",
        schemes,
        as_of=DEMO_AS_OF,
        out=out,
        partitions=partitions,
    )
    tables = [read_table(demo / f"{n}.csv") for n in ("customers", "orders", "interactions")]
    expected = assign(*tables, schemes, as_of=DEMO_AS_OF)
    write_table(expected, tmp_path / "expected.csv")
    assert run.rows == len(expected) == 1_500
    assert [i.rows for i in run.inputs] == [len(t) for t in tables]
    assert run.partitions == partitions
    pd.testing.assert_frame_equal(
        _sorted(read_table(out)), _sorted(read_table(tmp_path / "expected.csv"))
    )
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("privseg-parts-")]


def test_missing_output_folder_is_created(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "nowhere" / "labels.csv"
    run = assign_files(
        demo / "customers.csv",
        demo / "orders.csv",
        demo / "interactions.csv",
        as_of=DEMO_AS_OF,
        out=out,
    )
    assert len(read_table(out)) == run.rows > 0
    assert not [p for p in out.parent.iterdir() if p.name.startswith("privseg-parts-")]


def test_partitions_hold_each_customer_once(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "labels.parquet"
    assign_files(
        demo / "customers.csv",
        demo / "orders.csv",
        demo / "interactions.csv",
        as_of=date(2026, 6, 30),
        out=out,
        partitions=4,
    )
    labels = read_table(out)
    assert labels[UNIT].is_unique
    assert set(labels[UNIT]) == set(read_table(demo / "customers.csv")[UNIT])


@pytest.mark.parametrize(
    "bounding", [Bounding(), Bounding(UNIT, 1), Bounding(UNIT, 3)], ids=["rows", "1", "3"]
)
def test_count_file_equals_exact_counts(demo: Path, bounding: Bounding) -> None:
    keys = {"互动类型": ("消息", "点击")}  # 分享 stays undeclared
    by = ["互动类型"]
    run = count_file(demo / "interactions.csv", by=by, keys=keys, bounding=bounding, partitions=3)
    got = run.exact
    table = read_table(demo / "interactions.csv")
    want = exact_counts(table, by=by, keys=keys, bounding=bounding)
    np.testing.assert_array_equal(got.counts, want.counts)
    assert got.index.equals(want.index)
    assert run.input.rows == len(table)
    assert run.input.columns == tuple(table.columns)
    assert got.counts[-1] > 0 or bounding.unit is not None


def test_release_of_exact_counts_is_the_release_of_the_table(demo: Path) -> None:
    table = read_table(demo / "interactions.csv")
    keys = {"互动类型": ("消息", "点击", "分享")}
    bounding = Bounding(UNIT, 2)
    common = {"by": ["互动类型"], "keys": keys, "epsilon": 0.5, "account": None}
    direct = release_counts(table, bounding=bounding, random_state=11, **common)
    exact = count_file(
        demo / "interactions.csv", by=["互动类型"], keys=keys, bounding=bounding
    ).exact
    via = release_counts(exact, random_state=11, **common)
    pd.testing.assert_frame_equal(direct.table, via.table)
    assert direct.plan == via.plan
