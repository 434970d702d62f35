"""``privseg screen``: the real console script and its JSON contract (issue 3, item 3)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from privseg.cli import main

PRIVSEG = shutil.which("privseg") or str(Path(sys.executable).with_name("privseg"))
DATA = Path(__file__).resolve().parent.parent / "data" / "screening"
LABELS = json.loads((DATA / "labels.json").read_text(encoding="utf-8"))


def _privseg(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PRIVSEG, *args], input=stdin, capture_output=True, text=True, timeout=180
    )


def test_json_contract_via_console_script() -> None:
    src = DATA / "tricky_gb18030.csv"  # GB18030, detected without --encoding
    done = _privseg("screen", str(src), "--format", "json", "--sample", "150")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert set(data) == {"source", "rows", "rows_examined", "columns"}
    assert data["source"] == str(src)
    assert data["rows"] == 200 and 150 <= data["rows_examined"] <= 200
    labels = LABELS["tricky_gb18030.csv"]
    assert [c["name"] for c in data["columns"]] == list(labels)
    for column in data["columns"]:
        assert set(column["categories"]) == set(labels[column["name"]])
        assert isinstance(column["sensitive"], bool) and 0 <= column["confidence"] <= 1
        assert column["sampled"] is (column["name"] != "宗教信仰")  # mostly empty: all seen
        for e in column["evidence"]:
            assert e["category"] in column["categories"]
            assert set(e) == {"category", "detector", "rule", "matched", "examined", "examples"}
    raw = src.read_text(encoding="gb18030").splitlines()[1].split(",")
    for value in raw:
        if len(value) >= 5:
            assert value not in done.stdout


def test_full_scan_and_html_out(tmp_path: Path) -> None:
    out = tmp_path / "screening.html"
    done = _privseg(
        "screen", str(DATA / "tricky.csv"), "--full", "--format", "html", "--out", str(out)
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "身份证号码" in html
    assert [p.name for p in tmp_path.iterdir()] == ["screening.html"]  # no temp file left


def test_stdin_and_bad_input_exit_2(tmp_path: Path) -> None:
    done = _privseg("screen", "-", "--format", "json", stdin="手机号,金额\n13812345678,1.00\n")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["columns"][0]["categories"] == ["phone_number"]
    missing = _privseg("screen", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "r.json"))
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1 and "nope.csv" in missing.stderr
    assert not (tmp_path / "r.json").exists()


def test_sample_and_full_exclude_each_other(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["screen", str(DATA / "tricky.csv"), "--sample", "5", "--full"]
    )
    assert result.exit_code == 2
    assert "exclude" in result.output


@pytest.mark.parametrize("fmt", ["text", "md"])
def test_text_and_markdown(fmt: str) -> None:
    result = CliRunner().invoke(
        main, ["screen", str(DATA / "tricky_gb18030.csv"), "--format", fmt, "--sample", "20"]
    )
    assert result.exit_code == 0, result.output
    assert "证件号码" in result.output and "national" in result.output


def test_help_has_examples() -> None:
    result = CliRunner().invoke(main, ["screen", "--help"])
    assert result.exit_code == 0 and "Examples:" in result.output and "--full" in result.output


def test_recognizers_option(tmp_path: Path) -> None:
    src = tmp_path / "crm.csv"
    rows = "\n".join(f"{i},SC{1000000000 + i * 7919}" for i in range(50))
    src.write_text("id,c1\n" + rows + "\n", encoding="utf-8")
    example = Path(__file__).resolve().parents[2] / "examples" / "recognizers.yaml"
    runner = CliRunner()
    args = ["screen", str(src), "--format", "json"]
    plain = json.loads(runner.invoke(main, args).output)
    assert plain["columns"][1]["categories"] == []
    result = runner.invoke(main, [*args, "--recognizers", str(example)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["columns"][1]["categories"] == ["financial_account"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("recognizers:\n  - name: x\n    category: nope\n    headers: [a]\n")
    result = runner.invoke(main, [*args, "--recognizers", str(bad)])
    assert result.exit_code == 2 and f"{bad}:3" in result.output
