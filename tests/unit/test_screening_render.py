"""Reports: JSON contract, masking, risk order, summary, self-contained HTML, no raw values."""

from __future__ import annotations

import json
import re
from datetime import date

import pandas as pd
import pytest

from privseg.screening import screen
from privseg.screening.masking import mask
from privseg.screening.render import render

RAW = {
    "mobile": ["13812345678", "13912345679", "18612345670"],
    "身份证号": ["110105199003071239", "440305201506150024", "310104198512310089"],
    "备注": ["<script>alert(1)</script> 有高血压", "信基督教", "住在佛山"],
    "金额": ["12.50", "3.00", "8.80"],
    "email": ["zhang.wei@example.com", "li@qq.com", "wang@163.com"],
}


@pytest.fixture(scope="module")
def report():  # type: ignore[no-untyped-def]
    return screen(pd.DataFrame(RAW), as_of=date(2026, 6, 30), source="customers.csv")


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13812345678", "138****5678"),
        ("110105199003071239", "110***********1239"),
        ("zhang.wei@example.com", "z***@example.com"),
        ("张三丰", "张**"),
        ("E12345678", "E*******8"),
        ("", "*"),
    ],
)
def test_mask(value: str, masked: str) -> None:
    assert mask(value) == masked


def test_json_contract(report) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(render(report, "json"))
    assert set(data) == {"source", "rows", "rows_examined", "columns"}
    assert data["source"] == "customers.csv" and data["rows"] == 3
    assert [c["name"] for c in data["columns"]] == list(RAW)  # input order
    for column in data["columns"]:
        assert set(column) >= {"name", "categories", "sensitive", "confidence", "evidence"}
        assert 0 <= column["confidence"] <= 1
        for e in column["evidence"]:
            assert set(e) == {"category", "detector", "rule", "matched", "examined", "examples"}
    by_name = {c["name"]: c for c in data["columns"]}
    assert by_name["mobile"]["categories"] == ["phone_number"]
    assert by_name["身份证号"]["sensitive"] is True  # a holder under 14
    assert by_name["金额"] == {**by_name["金额"], "categories": [], "sensitive": False}


@pytest.mark.parametrize("fmt", ["text", "json", "md", "html"])
def test_no_raw_value_in_any_format(report, fmt: str) -> None:  # type: ignore[no-untyped-def]
    out = render(report, fmt)
    for values in RAW.values():
        for value in values:
            if len(value) >= 5:
                assert value not in out, value
    assert ("138\\*\\*\\*\\*5678" if fmt == "md" else "138****5678") in out


def test_markdown_neutralizes_html_in_headers() -> None:
    report = screen(pd.DataFrame({"<script>x</script>|手机号": ["13812345678"] * 3}))
    md = render(report, "md")
    assert "<script>" not in md and "&lt;script&gt;" in md
    assert "\\|手机号" in md  # the table cell is not split


def test_html_is_self_contained_and_escaped(report) -> None:  # type: ignore[no-untyped-def]
    html = render(report, "html")
    assert html.startswith("<!DOCTYPE html>") and "<style>" in html
    assert not re.search(r"(src|href)=\"?https?:", html)
    assert "<script" not in html


def test_sorted_by_risk_under_a_summary(report) -> None:  # type: ignore[no-untyped-def]
    md = render(report, "md")
    summary, table = md.split("| Column |")
    assert "Sensitive columns" in summary and "身份证号" in summary and "备注" in summary
    assert "Direct identifiers" in summary and "mobile" in summary
    assert "guardian consent" in summary
    order = [line.split("|")[1].strip() for line in table.splitlines()[2:] if line.startswith("|")]
    names = [n.split(" ")[0] for n in order]
    assert names.index("身份证号") < names.index("mobile") < names.index("金额")
    assert names.index("备注") < names.index("mobile")
    text = render(report, "text")
    assert text.index("身份证号") < text.index("金额")


@pytest.mark.parametrize("fmt", ["text", "md", "html"])
def test_uncategorised_columns_show_no_pi_not_a_bare_confidence(report, fmt: str) -> None:  # type: ignore[no-untyped-def]
    clean = [c for c in report.columns if not c.categories]
    assert [c.name for c in clean] == ["金额"]
    text = render(report, fmt)
    assert f"no PI {clean[0].confidence:.2f}" in text
    assert text.count("no PI ") == 1  # only that cell (the legend quotes "no PI")
