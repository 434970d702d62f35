"""``privseg info`` through the installed console script."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from privseg.io import write_table

SECRET = "13800138000"
TABLE = (
    "外部联系人ID,姓名,手机号,金额,注册时间,生日,会员,备注,空列\n"
    f'wmA001,张三,{SECRET},12.50,2026-01-02 10:00:00,1990-01-02,true,"说了""你好""",\n'
    "wmA002,李四,,0.99,2026-01-03 11:30:00,1985-12-31,false,,\n"
    'wmA003,王五,13900000000,7,2026-02-01 09:15:59,2012-06-30,TRUE,"两行\n备注",\n'
)
EXPECTED_COLUMNS = [
    {"name": "外部联系人ID", "type": "string", "nulls": 0},
    {"name": "姓名", "type": "string", "nulls": 0},
    {"name": "手机号", "type": "integer", "nulls": 1},
    {"name": "金额", "type": "float", "nulls": 0},
    {"name": "注册时间", "type": "datetime", "nulls": 0},
    {"name": "生日", "type": "date", "nulls": 0},
    {"name": "会员", "type": "boolean", "nulls": 0},
    {"name": "备注", "type": "string", "nulls": 1},
    {"name": "空列", "type": "empty", "nulls": 3},
]


def privseg_executable() -> str:
    script = Path(sys.executable).with_name("privseg")
    found = str(script) if script.exists() else shutil.which("privseg")
    assert found, "the privseg console script is not installed"
    return found


def run(
    *args: str, stdin: bytes | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [privseg_executable(), *args],
        input=stdin,
        capture_output=True,
        timeout=120,
        cwd=cwd,
        check=False,
    )
    return subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode("utf-8"), done.stderr.decode("utf-8")
    )


def test_info_json(tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(TABLE, encoding="utf-8")
    done = run("info", str(path), "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert list(report) == ["source", "format", "encoding", "rows", "columns"]
    assert report["source"] == str(path)
    assert report["format"] == "csv"
    assert report["encoding"] == "utf-8"
    assert report["rows"] == 3
    assert report["columns"] == EXPECTED_COLUMNS
    assert SECRET not in done.stdout and "张三" not in done.stdout


def test_info_text(tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(TABLE, encoding="utf-8")
    done = run("info", str(path))
    assert done.returncode == 0, done.stderr
    for expected in ("csv", "utf-8", "rows:     3", "外部联系人ID", "datetime", "boolean"):
        assert expected in done.stdout
    assert SECRET not in done.stdout and "张三" not in done.stdout
    assert done.stderr == ""


def test_utf8_bom_and_gb18030_give_identical_info(tmp_path: Path) -> None:
    reports = {}
    for encoding in ("utf-8", "utf-8-sig", "gb18030"):
        path = tmp_path / f"{encoding}.csv"
        path.write_bytes(TABLE.encode(encoding))
        done = run("info", str(path), "--format", "json")
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report.pop("encoding") == encoding
        assert report.pop("source") == str(path)
        reports[encoding] = report
    assert reports["utf-8"] == reports["utf-8-sig"] == reports["gb18030"]
    assert reports["utf-8"]["columns"] == EXPECTED_COLUMNS


def test_info_reads_stdin_and_other_formats(tmp_path: Path) -> None:
    done = run("info", "-", "--format", "json", stdin=TABLE.encode("gb18030"))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["source"], report["encoding"], report["rows"]) == ("-", "gb18030", 3)

    df = pd.DataFrame({"n": [1.5, 2.25, None], "s": ["a", None, "c"]})
    for ext in ("parquet", "xlsx", "jsonl"):
        path = write_table(df, tmp_path / f"t.{ext}")
        done = run("info", str(path), "--format", "json")
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["format"] == ext and report["rows"] == 3
        assert report["columns"] == [
            {"name": "n", "type": "float", "nulls": 1},
            {"name": "s", "type": "string", "nulls": 1},
        ]


def test_encoding_option(tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes(b"a,b\n" + b"x,y\n" * 20_000 + "张,三\n".encode("gbk"))
    assert run("info", str(path)).returncode == 2
    done = run("info", str(path), "--encoding", "gbk", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["rows"] == 20_001


def _corrupt_copy(tmp_path: Path, ext: str) -> Path:
    good = write_table(pd.DataFrame({"a": [1, 2, 3]}), tmp_path / f"good.{ext}")
    bad = tmp_path / f"bad.{ext}"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    good.unlink()
    return bad


BAD_INPUTS: dict[str, tuple[str, bytes | None, str]] = {
    # case: (file name, bytes or None for no file, text expected in the message)
    "missing": ("missing.csv", None, "no such file"),
    "empty": ("empty.csv", b"", "empty"),
    "header only": ("header.csv", b"a,b,c\n", "no rows"),
    "ragged": ("ragged.csv", f"a,b\n1,2\n3,{SECRET},5\n".encode(), "expected 2 fields, found 3"),
    "undecodable": ("bytes.csv", f"a,b\n1,{SECRET}\n2,\xff\n".encode("latin-1"), ":3:"),
    "duplicate columns": ("dup.csv", b"a,b,a\n1,2,3\n", "duplicate column name 'a'"),
    "empty column name": ("blank.csv", b"a,,c\n1,2,3\n", "column 2 has an empty name"),
    "unsupported": ("legacy.xls", b"a,b\n1,2\n", "unsupported file extension"),
    "bad jsonl": ("bad.jsonl", b'{"a": 1}\n[1]\n', "expected a JSON object"),
}


@pytest.mark.parametrize("case", [*BAD_INPUTS, "corrupt parquet", "corrupt xlsx"])
def test_bad_input_exits_2_with_one_line(tmp_path: Path, case: str) -> None:
    if case.startswith("corrupt"):
        path = _corrupt_copy(tmp_path, case.split()[1])
        expected = "not a valid"
    else:
        name, data, expected = BAD_INPUTS[case]
        path = tmp_path / name
        if data is not None:
            path.write_bytes(data)
    before = sorted(tmp_path.iterdir())
    done = run("info", str(path), "--format", "json", cwd=tmp_path)
    assert done.returncode == 2, (case, done.stdout, done.stderr)
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("privseg: error: ")
    assert path.name in lines[0] and expected in lines[0]
    assert "Traceback" not in done.stderr and SECRET not in done.stderr
    assert done.stdout == ""
    assert sorted(tmp_path.iterdir()) == before


def test_unknown_encoding_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(TABLE, encoding="utf-8")
    done = run("info", str(path), "--encoding", "klingon")
    assert done.returncode == 2
    assert done.stderr.strip() == "privseg: error: " + f"{path}: unknown encoding 'klingon'"


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    done = run("--debug", "info", str(tmp_path / "missing.csv"))
    assert done.returncode == 2
    assert "Traceback" in done.stderr and "SourceNotFoundError" in done.stderr
