"""privseg.io: round trips, encodings, streaming, atomic writes and every bad-input case."""

from __future__ import annotations

import io
import os
import stat
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from privseg.errors import (
    EmptyInputError,
    EncodingError,
    InputError,
    MalformedInputError,
    SourceNotFoundError,
    UnsupportedFormatError,
)
from privseg.io import (
    TableFormat,
    atomic_path,
    fingerprint,
    iter_table,
    open_table,
    open_table_writer,
    read_table,
    sniff,
    write_table,
)
from privseg.rawvalues import raw_shape

SECRET = "13800138000"  # a "cell value" that must never appear in an error message

CSV_TEXT = (
    "外部联系人ID,姓名,手机号,金额,备注\n"
    'wmA001,张三,13800138000,12.50,"说了""你好"",然后走了"\n'
    "wmA002,李四,,0.99,\n"
    'wmA003,王五,13900000000,007,"两行\n备注"\n'
)
EXPECTED = pd.DataFrame(
    {
        "外部联系人ID": ["wmA001", "wmA002", "wmA003"],
        "姓名": ["张三", "李四", "王五"],
        "手机号": ["13800138000", None, "13900000000"],
        "金额": ["12.50", "0.99", "007"],
        "备注": ['说了"你好",然后走了', None, "两行\n备注"],
    },
    dtype="str",
)


def text_frame(rows: int = 50) -> pd.DataFrame:
    """A text table with CJK, quotes, separators, newlines, leading zeros and missing cells."""
    return pd.DataFrame(
        {
            "id": [f"wm{i:06d}" for i in range(rows)],
            "姓名": [["张三", "李四", 'a "q"', "x,y\tz"][i % 4] for i in range(rows)],
            "note": [None if i % 3 == 0 else f"第{i}行\n第二行" for i in range(rows)],
            "zip": [f"{i:06d}" for i in range(rows)],
        },
        dtype="str",
    )


def native_frame(rows: int = 50) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "name": pd.array([None if i % 7 == 0 else f"客户{i}" for i in range(rows)], "str"),
            "orders": np.arange(rows, dtype="int64"),
            "amount": [None if i % 5 == 0 else i * 1.25 for i in range(rows)],
            "vip": [i % 2 == 0 for i in range(rows)],
            "at": pd.date_range("2026-01-01", periods=rows, freq="h"),
        }
    )


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# --- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize("ext", ["csv", "tsv", "jsonl"])
def test_text_formats_round_trip_as_text(tmp_path: Path, ext: str) -> None:
    df = text_frame()
    path = write_table(df, tmp_path / f"t.{ext}")
    pd.testing.assert_frame_equal(read_table(path), df)


def test_csv_reads_cells_exactly_as_written(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "c.csv", CSV_TEXT.encode())
    df = read_table(path)
    pd.testing.assert_frame_equal(df, EXPECTED)
    assert all(dtype == "str" for dtype in df.dtypes)
    assert df.loc[2, "金额"] == "007"


@pytest.mark.parametrize("ext", ["parquet", "xlsx"])
def test_binary_formats_round_trip_with_native_types(tmp_path: Path, ext: str) -> None:
    df = native_frame()
    back = read_table(write_table(df, tmp_path / f"n.{ext}"))
    assert list(back.columns) == list(df.columns)
    assert back["orders"].tolist() == df["orders"].tolist()
    assert pd.api.types.is_integer_dtype(back["orders"])
    assert back["vip"].tolist() == df["vip"].tolist()
    assert back["name"].isna().tolist() == df["name"].isna().tolist()
    assert back["name"].dropna().tolist() == df["name"].dropna().tolist()
    np.testing.assert_allclose(back["amount"].to_numpy(float), df["amount"].to_numpy(float))
    assert pd.api.types.is_datetime64_any_dtype(back["at"])
    assert (back["at"].to_numpy() == df["at"].to_numpy()).all()


def test_xlsx_text_that_looks_like_a_formula_stays_text(tmp_path: Path) -> None:
    df = pd.DataFrame({"remark": ["=1+1", "@SUM(A1)", "普通"]}, dtype="str")
    back = read_table(write_table(df, tmp_path / "f.xlsx"))
    assert back["remark"].tolist() == ["=1+1", "@SUM(A1)", "普通"]


def test_single_column_with_missing_cells_round_trips(tmp_path: Path) -> None:
    df = pd.DataFrame({"only": ["a", None, "b", None]}, dtype="str")
    for ext in ("csv", "tsv", "jsonl"):
        pd.testing.assert_frame_equal(read_table(write_table(df, tmp_path / f"o.{ext}")), df)


def test_jsonl_keeps_number_text_and_nested_json(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(
        '{"id": "a", "n": 1.50, "ok": true, "tags": [1, "x"], "none": null}\n'
        "\n"
        '{"id": "b", "n": 12345678901234567890, "ok": false, "none": ""}\n',
        encoding="utf-8",
    )
    df = read_table(path)
    assert df["n"].tolist() == ["1.50", "12345678901234567890"]
    assert df["ok"].tolist() == ["true", "false"]
    assert df.loc[0, "tags"] == '[1,"x"]'
    assert pd.isna(df.loc[1, "tags"])
    assert df["none"].isna().all()


def test_stdin_and_stdout(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(CSV_TEXT.encode("gb18030")), encoding="gb18030")
    monkeypatch.setattr(sys, "stdin", stdin)
    stream = open_table("-")
    assert stream.info.encoding == "gb18030"
    pd.testing.assert_frame_equal(pd.concat(stream.chunks), EXPECTED)

    out = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(out, encoding="utf-8"))
    assert write_table(EXPECTED, "-") == Path("-")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(out.getvalue())))
    pd.testing.assert_frame_equal(read_table("-"), EXPECTED)


# --- encodings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "detected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gb18030", "gb18030"), ("gbk", "gb18030")],
)
def test_same_table_from_every_encoding(tmp_path: Path, encoding: str, detected: str) -> None:
    path = write_bytes(tmp_path / "e.csv", CSV_TEXT.encode(encoding))
    assert sniff(path).encoding == detected
    pd.testing.assert_frame_equal(read_table(path), EXPECTED)
    pd.testing.assert_frame_equal(pd.concat(iter_table(path, chunk_rows=2)), EXPECTED)


def test_multibyte_character_cut_by_the_detection_prefix(tmp_path: Path) -> None:
    for encoding in ("utf-8", "gb18030"):
        head = "名,值\n".encode(encoding)
        filler = b"x," + b"y" * (64 * 1024 - len(head) - 4) + b"\n"
        prefix = head + filler
        assert len(prefix) == 64 * 1024 - 1  # "张" starts on the last byte of the prefix
        path = write_bytes(tmp_path / f"cut-{encoding}.csv", prefix + "张,三\n".encode(encoding))
        assert sniff(path).encoding == encoding
        assert read_table(path)["名"].iloc[-1] == "张"


def _late_bad_bytes(encoding: str, bad: bytes) -> tuple[bytes, int]:
    rows = ["名,值"] + [f"第{i}行,{i}" for i in range(20_000)]
    data = "\n".join(rows).encode(encoding) + b"\n"
    assert len(data) > 3 * 64 * 1024
    data += b"x," + bad + b"\n"
    return data, len(rows) + 1


@pytest.mark.parametrize(("encoding", "bad"), [("utf-8", b"\xff\xfe"), ("gb18030", b"\x80")])
def test_undecodable_bytes_past_the_prefix_name_their_line(
    tmp_path: Path, encoding: str, bad: bytes
) -> None:
    data, line = _late_bad_bytes(encoding, bad)
    path = write_bytes(tmp_path / "late.csv", data)
    assert sniff(path).encoding == encoding
    with pytest.raises(EncodingError) as info:
        read_table(path)
    assert info.value.line == line
    with pytest.raises(EncodingError) as info:
        for _ in iter_table(path, chunk_rows=1000):
            pass
    assert info.value.line == line


def test_encoding_override(tmp_path: Path) -> None:
    # ASCII for more than 64 KiB, then GBK: detection says UTF-8, --encoding fixes it.
    data = b"a,b\n" + b"x,y\n" * 20_000 + "张,三\n".encode("gbk")
    path = write_bytes(tmp_path / "gbk.csv", data)
    with pytest.raises(EncodingError, match="--encoding") as info:
        read_table(path)
    assert info.value.line == 20_002
    assert read_table(path, encoding="gbk")["a"].iloc[-1] == "张"
    with pytest.raises(EncodingError, match="unknown encoding"):
        read_table(path, encoding="no-such-codec")


def test_bytes_in_no_supported_encoding(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "bin.csv", b"a,b\n1,2\n3,\xff\n")
    with pytest.raises(EncodingError) as info:
        read_table(path)
    assert info.value.line == 3


# --- bad input -------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError) as info:
        read_table(tmp_path / "nope.csv")
    assert "nope.csv" in str(info.value)
    with pytest.raises(SourceNotFoundError):
        iter_table(tmp_path / "nope.csv")  # raised at once, not on first next()
    with pytest.raises(SourceNotFoundError):
        read_table(tmp_path)


@pytest.mark.parametrize("ext", ["csv", "tsv", "jsonl", "parquet", "xlsx"])
def test_empty_file(tmp_path: Path, ext: str) -> None:
    with pytest.raises(EmptyInputError, match="empty"):
        read_table(write_bytes(tmp_path / f"e.{ext}", b""))


@pytest.mark.parametrize("data", [b"\n\n", b"\xef\xbb\xbf", b" \n"])
def test_blank_csv_is_empty(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(EmptyInputError):
        read_table(write_bytes(tmp_path / "blank.csv", data))


@pytest.mark.parametrize("ext", ["csv", "tsv", "parquet", "xlsx"])
def test_header_only(tmp_path: Path, ext: str) -> None:
    path = write_table(pd.DataFrame({"a": [], "b": []}, dtype="str"), tmp_path / f"h.{ext}")
    with pytest.raises(EmptyInputError, match="no rows"):
        read_table(path)
    with pytest.raises(EmptyInputError, match="no rows"):
        list(iter_table(path))
    with pytest.raises(EmptyInputError):
        fingerprint(path)


def test_jsonl_without_records(tmp_path: Path) -> None:
    with pytest.raises(EmptyInputError):
        read_table(write_bytes(tmp_path / "n.jsonl", b"\n  \n"))


@pytest.mark.parametrize(
    ("text", "line", "expected", "found"),
    [
        (f"a,b,c\n1,2,3\n4,{SECRET},6,7\n", 3, 3, 4),
        (f'a,b,c\n1,"two\nlines",3\n{SECRET},5\n', 4, 3, 2),
    ],
)
def test_ragged_rows(tmp_path: Path, text: str, line: int, expected: int, found: int) -> None:
    path = write_bytes(tmp_path / "r.csv", text.encode())
    for read in (read_table, lambda p: list(iter_table(p))):
        with pytest.raises(MalformedInputError) as info:
            read(path)
        assert info.value.line == line
        message = str(info.value)
        assert f"expected {expected} fields, found {found}" in message
        assert "r.csv" in message
        assert SECRET not in message


def test_ragged_row_far_into_a_large_file(tmp_path: Path) -> None:
    data = "a,b\n" + "1,2\n" * 300_000 + f"{SECRET}\n"
    path = write_bytes(tmp_path / "big.csv", data.encode())
    with pytest.raises(MalformedInputError) as info:
        read_table(path)
    assert info.value.line == 300_002
    assert SECRET not in str(info.value)


@pytest.mark.parametrize(
    ("header", "pattern"),
    [
        ("a,b,a", r"duplicate column name 'a' \(columns 1 and 3\)"),
        ("a,,c", "column 2 has an empty name"),
        ("a, ,c", "column 2 has an empty name"),
    ],
)
def test_bad_column_names(tmp_path: Path, header: str, pattern: str) -> None:
    for ext, sep in (("csv", ","), ("tsv", "\t")):
        text = header.replace(",", sep) + "\n" + sep.join(["1", "2", "3"]) + "\n"
        path = write_bytes(tmp_path / f"h.{ext}", text.encode())
        with pytest.raises(MalformedInputError, match=pattern) as info:
            read_table(path)
        assert info.value.line == 1


def test_bad_column_names_in_xlsx_and_jsonl(tmp_path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["a", "b", "a"])
    sheet.append([1, 2, 3])
    book.save(tmp_path / "d.xlsx")
    with pytest.raises(MalformedInputError, match="duplicate column name 'a'"):
        read_table(tmp_path / "d.xlsx")

    path = write_bytes(tmp_path / "d.jsonl", b'{"a": 1, "a": 2}\n')
    with pytest.raises(MalformedInputError, match="duplicate key 'a'"):
        read_table(path)
    path = write_bytes(tmp_path / "e.jsonl", b'{"a": 1}\n{"": 2}\n')
    with pytest.raises(MalformedInputError, match="empty name") as info:
        read_table(path)
    assert info.value.line == 2


@pytest.mark.parametrize("name", ["old.xls", "notes.txt", "noext", "data.json"])
def test_unsupported_extension(tmp_path: Path, name: str) -> None:
    path = write_bytes(tmp_path / name, b"a,b\n1,2\n")
    with pytest.raises(UnsupportedFormatError) as info:
        read_table(path)
    assert name in str(info.value)
    with pytest.raises(UnsupportedFormatError):
        write_table(pd.DataFrame({"a": ["1"]}), tmp_path / f"out-{name}")
    assert read_table(path, fmt=TableFormat.CSV)["b"].tolist() == ["2"]


@pytest.mark.parametrize("ext", ["parquet", "xlsx"])
def test_corrupt_binary_files(tmp_path: Path, ext: str) -> None:
    path = write_bytes(tmp_path / f"bad.{ext}", b"PK\x03\x04 this is not what it claims" * 10)
    with pytest.raises(MalformedInputError, match=f"not a valid {ext.capitalize()}|not a valid"):
        read_table(path)
    good = write_table(native_frame(), tmp_path / f"good.{ext}")
    truncated = write_bytes(tmp_path / f"cut.{ext}", good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(MalformedInputError):
        read_table(truncated)


@pytest.mark.parametrize(
    ("line", "pattern"),
    [("[1, 2]", "expected a JSON object"), ('{"a": ', "not valid JSON"), ('"text"', "object")],
)
def test_bad_jsonl_lines(tmp_path: Path, line: str, pattern: str) -> None:
    path = write_bytes(tmp_path / "b.jsonl", ('{"a": "ok"}\n' + line + "\n").encode())
    with pytest.raises(MalformedInputError, match=pattern) as info:
        read_table(path)
    assert info.value.line == 2


def test_jsonl_field_appearing_after_the_first_chunk(tmp_path: Path) -> None:
    lines = ['{"a": "1"}'] * 5 + ['{"a": "2", "late": "x"}']
    path = write_bytes(tmp_path / "late.jsonl", "\n".join(lines).encode())
    assert read_table(path)["late"].notna().sum() == 1
    with pytest.raises(MalformedInputError, match="first 2 records") as info:
        list(iter_table(path, chunk_rows=2))
    assert info.value.line == 6
    assert info.value.column == "late"


# --- streaming -------------------------------------------------------------------------------


@pytest.mark.parametrize("ext", ["csv", "tsv", "jsonl", "parquet", "xlsx"])
def test_chunked_reading_equals_whole_reading(tmp_path: Path, ext: str) -> None:
    df = text_frame(53) if ext in ("csv", "tsv", "jsonl") else native_frame(53)
    path = write_table(df, tmp_path / f"c.{ext}")
    chunks = list(iter_table(path, chunk_rows=10))
    assert [len(c) for c in chunks] == [10, 10, 10, 10, 10, 3]
    pd.testing.assert_frame_equal(pd.concat(chunks), read_table(path))


@pytest.mark.parametrize("ext", ["csv", "tsv", "jsonl", "parquet", "xlsx"])
def test_streaming_only_some_columns(tmp_path: Path, ext: str) -> None:
    df = text_frame(23) if ext in ("csv", "tsv", "jsonl") else native_frame(23)
    path = write_table(df, tmp_path / f"c.{ext}")
    wanted = [str(df.columns[-1]), str(df.columns[0])]
    chunks = list(iter_table(path, chunk_rows=10, columns=wanted))
    assert [list(c.columns) for c in chunks] == [[df.columns[0], df.columns[-1]]] * 3
    whole = read_table(path)
    pd.testing.assert_frame_equal(pd.concat(chunks), whole[[df.columns[0], df.columns[-1]]])
    with pytest.raises(MalformedInputError, match="no column") as info:
        list(iter_table(path, columns=["nope"]))
    assert info.value.source == str(path)


def test_csv_streaming_across_many_blocks(tmp_path: Path) -> None:
    rows = 90_000  # several pyarrow blocks, with quoted newlines crossing block edges
    df = pd.DataFrame(
        {"k": [str(i) for i in range(rows)], "v": [f'多行\n文本{i},"q"' for i in range(rows)]},
        dtype="str",
    )
    path = write_table(df, tmp_path / "many.csv")
    assert path.stat().st_size > 2 * 1024 * 1024
    chunks = list(iter_table(path, chunk_rows=7_000))
    assert [len(c) for c in chunks] == [7_000] * 12 + [6_000]
    pd.testing.assert_frame_equal(pd.concat(chunks), df)


def test_chunked_writing(tmp_path: Path) -> None:
    df = text_frame(30)
    for ext in ("csv", "parquet", "jsonl", "xlsx"):
        dest = tmp_path / f"w.{ext}"
        with open_table_writer(dest) as writer:
            for start in range(0, 30, 8):
                writer.write(df.iloc[start : start + 8])
            assert not dest.exists()
        pd.testing.assert_frame_equal(read_table(dest), df, check_dtype=ext != "xlsx")


# --- atomic writes ---------------------------------------------------------------------------


def test_atomic_path_renames_on_success_and_removes_on_failure(tmp_path: Path) -> None:
    dest = tmp_path / "out.json"
    with atomic_path(dest) as tmp:
        # staged in a private folder beside the destination
        assert tmp.parent.parent == tmp_path and tmp.parent.name.startswith(".privseg-tmp-")
        assert stat.S_IMODE(tmp.parent.stat().st_mode) == 0o700
        tmp.write_text("{}")
        assert not dest.exists()
    assert dest.read_text() == "{}"

    with pytest.raises(RuntimeError), atomic_path(dest) as tmp:
        tmp.write_text("partial")
        raise RuntimeError("boom")
    assert dest.read_text() == "{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_atomic_path_permissions(tmp_path: Path) -> None:
    with atomic_path(tmp_path / "key", mode=0o600) as tmp:
        tmp.write_bytes(b"k")
    assert stat.S_IMODE((tmp_path / "key").stat().st_mode) == 0o600
    umask = os.umask(0)
    os.umask(umask)
    with atomic_path(tmp_path / "plain") as tmp:
        tmp.write_bytes(b"p")
    assert stat.S_IMODE((tmp_path / "plain").stat().st_mode) == 0o666 & ~umask


def test_atomic_path_creates_missing_folders(tmp_path: Path) -> None:
    dest = tmp_path / "missing" / "deeper" / "x.csv"
    with atomic_path(dest) as tmp:
        tmp.write_bytes(b"x")
    assert dest.read_bytes() == b"x"


def test_atomic_path_bad_destinations(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with (
        pytest.raises(InputError, match="cannot create the output folder") as raised,
        atomic_path(blocker / "x.csv"),
    ):
        pass
    assert not isinstance(raised.value, SourceNotFoundError)
    with pytest.raises(InputError, match="directory"), atomic_path(tmp_path):
        pass


@pytest.mark.parametrize("ext", ["csv", "parquet", "jsonl", "xlsx"])
def test_failed_write_leaves_no_file(tmp_path: Path, ext: str) -> None:
    dest = tmp_path / f"out.{ext}"
    with pytest.raises(ValueError), open_table_writer(dest) as writer:
        writer.write(text_frame(5))
        raise ValueError("caller failed mid-write")
    assert list(tmp_path.iterdir()) == []

    write_table(text_frame(5), dest)
    before = dest.read_bytes()
    with pytest.raises(ValueError), open_table_writer(dest) as writer:
        writer.write(text_frame(9))
        raise ValueError("caller failed mid-write")
    assert dest.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [dest.name]


def test_chunks_with_other_columns_are_refused(tmp_path: Path) -> None:
    dest = tmp_path / "out.csv"
    with pytest.raises(ValueError, match="same columns"), open_table_writer(dest) as writer:
        writer.write(text_frame(5))
        writer.write(pd.DataFrame({"other": ["columns"]}))
    assert list(tmp_path.iterdir()) == []


# --- fingerprint -----------------------------------------------------------------------------


@pytest.mark.parametrize("ext", ["csv", "parquet", "jsonl", "xlsx"])
def test_fingerprint(tmp_path: Path, ext: str) -> None:
    import hashlib

    path = write_table(text_frame(12), tmp_path / f"f.{ext}")
    fp = fingerprint(path)
    assert fp.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert fp.rows == 12
    assert fp.columns == ("id", "姓名", "note", "zip")
    write_table(text_frame(13), path)
    assert fingerprint(path).sha256 != fp.sha256


# --- property: the CSV reader inverts the CSV writer -----------------------------------------

_cell_text = st.text(
    alphabet=st.one_of(
        st.sampled_from([*",\"\n\r\t ;'\\", "张", "三", "𠀋", "é", "\u3000"]),
        st.characters(blacklist_categories=("Cs",)),
    ),
    max_size=12,
)
# Names privseg accepts: no control characters, nothing shaped like a raw value (limits.py).
_column_name = _cell_text.filter(
    lambda s: (
        s.strip() != ""
        and "\ufeff" not in s[:1]
        and not any(ord(c) < 32 or ord(c) == 127 for c in s)
        and raw_shape(s) is None
    )
)


@st.composite
def text_tables(draw: st.DrawFn) -> pd.DataFrame:
    names = draw(st.lists(_column_name, min_size=1, max_size=4, unique=True))
    rows = draw(st.integers(min_value=1, max_value=6))
    cells = st.one_of(st.none(), _cell_text)
    data = {n: draw(st.lists(cells, min_size=rows, max_size=rows)) for n in names}
    return pd.DataFrame(data, dtype="str")


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(df=text_tables(), ext=st.sampled_from(["csv", "tsv"]))
def test_csv_round_trip_property(tmp_path: Path, df: pd.DataFrame, ext: str) -> None:
    path = write_table(df, tmp_path / f"p.{ext}")
    back = read_table(path)
    expected = df.mask(df == "")  # empty cells read as missing
    pd.testing.assert_frame_equal(back, expected)
