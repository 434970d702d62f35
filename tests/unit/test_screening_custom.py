"""User recognizers: the YAML schema, its errors, and what they add to a screen."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from privseg.errors import InputError
from privseg.screening import load_recognizers, screen

AS_OF = date(2026, 6, 30)
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "recognizers.yaml"


def test_example_file_adds_patterns_headers_and_vocabulary() -> None:
    custom = load_recognizers(EXAMPLE)
    table = pd.DataFrame(
        {
            "c1": [f"SC{1000000000 + i * 7919}" for i in range(80)],
            "储值账户": ["一号卡"] * 80,
            "备注": ["热玛吉第二次"] * 4 + ["老客户"] * 76,
        }
    )
    for full in (False, True):
        plain = screen(table, as_of=AS_OF, full=full)
        assert all(not c.categories for c in plain.columns)
        report = screen(table, as_of=AS_OF, full=full, recognizers=custom)
        assert report.column("c1").categories == ("financial_account",)
        assert report.column("储值账户").categories == ("financial_account",)
        assert report.column("备注").categories == ("medical_health",)
        (evidence,) = report.column("c1").evidence
        assert evidence.rule == "CUSTOM_STORE_CARD_CARD_NUMBER" and evidence.matched == 80
        assert all(e.startswith("SC1") and "*" in e for e in evidence.examples)


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        ("recognizers: []\n", 1, "recognizers"),
        ("recognizers:\n  - name: x\n    category: nope\n    headers: [a]\n", 3, "category"),
        ("recognizers:\n  - name: x\n    category: email\n", 2, "patterns, headers or vocabulary"),
        (
            "recognizers:\n  - name: x\n    category: email\n    patterns:\n"
            "      - name: p\n        regex: '(unclosed'\n",
            6,
            "regular expression",
        ),
        (
            "recognizers:\n  - name: x\n    category: email\n    patterns:\n"
            "      - name: p\n        regex: 'a*'\n",
            6,
            "empty string",
        ),
        ("recognizers:\n  - name: x\n    category: email\n    headers: [a]\n    extra: 1\n", 5, ""),
        ("recognizers: [\n", 2, "YAML"),
    ],
)
def test_bad_files_name_file_line_and_field(
    tmp_path: Path, body: str, line: int, message: str
) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_recognizers(path)
    assert caught.value.line == line
    assert str(path) in str(caught.value) and message in str(caught.value)


def test_missing_file() -> None:
    with pytest.raises(InputError, match="not found"):
        load_recognizers("/nonexistent/recognizers.yaml")


def test_a_policy_names_its_recognizers_relative_to_itself(tmp_path: Path) -> None:
    from privseg.policy import load_policy

    shipped = Path(__file__).resolve().parents[2] / "policies" / "wecom-marketing.yaml"
    policy_file = tmp_path / "p.yaml"
    text = shipped.read_text(encoding="utf-8")
    policy_file.write_text(text + "recognizers: company.yaml\n", encoding="utf-8")
    assert load_policy(policy_file).recognizers == tmp_path / "company.yaml"
    assert load_policy(shipped).recognizers is None
