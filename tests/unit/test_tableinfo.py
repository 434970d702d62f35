"""privseg.tableinfo: inferred column types and null counts, streamed, without values."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from privseg.io import TableFormat, write_table
from privseg.tableinfo import ColumnType, describe


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["1", "-2", "+30", "0"], ColumnType.INTEGER),
        (["13800138000", "13900000000"], ColumnType.INTEGER),
        (["007", "12"], ColumnType.STRING),  # leading zeros: an identifier, not a number
        (["1.5", "2", "-0.25", "1e+20", ".5"], ColumnType.FLOAT),
        (["true", "FALSE", "True"], ColumnType.BOOLEAN),
        (["2026-06-30", "2026/1/2"], ColumnType.DATE),
        (["2026-06-30 10:00:00", "2026-06-30T10:00:01.5+08:00", "2026-07-01"], ColumnType.DATETIME),
        (["2026-13-01"], ColumnType.STRING),
        (["张三", "1"], ColumnType.STRING),
        (["+", "e5", "1."], ColumnType.STRING),
        ([None, None], ColumnType.EMPTY),
    ],
)
def test_text_types(tmp_path: Path, values: list[str | None], expected: ColumnType) -> None:
    path = write_table(pd.DataFrame({"c": values}, dtype="str"), tmp_path / "t.csv")
    (column,) = describe(path).columns
    assert column.type is expected
    assert column.nulls == sum(v is None for v in values)


def test_types_and_nulls_combine_across_chunks(tmp_path: Path) -> None:
    rows = 1_000
    df = pd.DataFrame(
        {
            "n": [str(i) for i in range(rows - 1)] + ["2.5"],  # a float only in the last chunk
            "d": ["2026-01-01"] * (rows - 1) + ["2026-01-01 08:00"],
            "s": [None if i % 10 else "x" for i in range(rows)],
        },
        dtype="str",
    )
    path = write_table(df, tmp_path / "t.csv")
    info = describe(path, chunk_rows=100)
    assert info.rows == rows
    assert [(c.name, c.type, c.nulls) for c in info.columns] == [
        ("n", ColumnType.FLOAT, 0),
        ("d", ColumnType.DATETIME, 0),
        ("s", ColumnType.STRING, 900),
    ]
    assert info.to_dict() == describe(path).to_dict()


def test_native_types_and_json_form(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {
            "i": [1, 2, 3],
            "f": [1.5, None, 2.0],
            "b": [True, False, True],
            "t": pd.to_datetime(["2026-01-01", "2026-01-02", None]),
            "s": ["007", None, "x"],
        }
    )
    path = write_table(df, tmp_path / "t.parquet")
    info = describe(path)
    assert info.format is TableFormat.PARQUET and info.encoding is None
    document = info.to_dict()
    assert list(document) == ["source", "format", "encoding", "rows", "columns"]
    assert document["columns"] == [
        {"name": "i", "type": "integer", "nulls": 0},
        {"name": "f", "type": "float", "nulls": 1},
        {"name": "b", "type": "boolean", "nulls": 0},
        {"name": "t", "type": "datetime", "nulls": 1},
        {"name": "s", "type": "string", "nulls": 1},
    ]
    assert "007" not in json.dumps(document)
