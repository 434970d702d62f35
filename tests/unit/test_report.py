"""Report renderers: structure, escaping, no raw values, Markdown basics, saved screen JSON."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from privseg import audit
from privseg._resources import policies_dir
from privseg._templates import md
from privseg.cli import main
from privseg.demo.generator import DEMO_AS_OF, generate
from privseg.dp.ledger import Ledger, PrivacyBudget
from privseg.dp.types import ReleaseKind
from privseg.engines.apply import apply_file
from privseg.errors import MalformedInputError
from privseg.manifest import manifest_path
from privseg.policy import PolicyKeys, load_policy
from privseg.pseudonym import Key
from privseg.report import (
    ReportFormat,
    load_screen_json,
    render_budget,
    render_run,
    render_screening,
)
from privseg.screening import screen

EVIL = "<script>alert(1)</script>|x"


def _trail() -> Path:
    return Path(os.environ["PRIVSEG_TRAIL"])


def _run_report(fmt: ReportFormat) -> str:
    trail = _trail()
    return render_run(audit.read_records(trail), audit.verify(trail), fmt, trail=str(trail))


def _md_tables_ok(text: str) -> None:
    """Every Markdown table row has as many cells as its header (escaped pipes do not split)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if re.fullmatch(r"\|(\s*:?-{3,}:?\s*\|)+", line):
            cells = len(re.split(r"(?<!\\)\|", lines[i - 1])) - 2
            j = i + 1
            while j < len(lines) and lines[j].startswith("|"):
                assert len(re.split(r"(?<!\\)\|", lines[j])) - 2 == cells, lines[j]
                j += 1


@pytest.fixture(scope="module")
def demo_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    data = generate(300, seed=3)
    return data.customers, data.orders


@pytest.fixture
def demo_run(tmp_path: Path, demo_tables: tuple[pd.DataFrame, pd.DataFrame]) -> Ledger:
    """Screen and apply the demo policy to demo customers (audited), and spend some budget."""
    customers, _ = demo_tables
    source = tmp_path / "customers.csv"
    customers.to_csv(source, index=False)
    policy = load_policy(policies_dir() / "wecom-marketing.yaml")
    report = screen(customers, as_of=DEMO_AS_OF)
    with audit.run("screen") as record:
        report.record_to(record, source)
    key = Key(bytes(range(32)))
    out = tmp_path / "out.csv"
    with audit.run("apply", purpose=policy.purpose, policy_sha256=policy.sha256) as record:
        apply_file(source, policy, PolicyKeys(key), out).record_to(record, policy)
        record.add_output(manifest_path(out))
    ledger = Ledger(tmp_path / "budget.db")
    ledger.set_budget("demo", PrivacyBudget(2), purpose=policy.purpose)
    for eps, value in (("0.5", 0.97), ("0.25", 0.8), ("0.25", None)):
        ledger.spend(
            "demo", PrivacyBudget(eps), purpose=policy.purpose, kind="counts", predicted_value=value
        )
    return ledger


def _raw_values(customers: pd.DataFrame) -> set[str]:
    columns = [
        "姓名",
        "手机号",
        "身份证号",
        "邮箱",
        "外部联系人ID",
        "unionid",
        "openid",
        "银行卡号",
    ]
    return {v for c in columns for v in customers[c].dropna().astype(str) if len(v) >= 2}


def test_no_raw_demo_value_in_any_report(
    demo_run: Ledger, demo_tables: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    customers, _ = demo_tables
    raw = _raw_values(customers)
    assert len(raw) > 1000
    report = screen(customers, as_of=DEMO_AS_OF)
    for fmt in ReportFormat:
        texts = {
            "screening": render_screening(report, fmt),
            "run": _run_report(fmt),
            "budget": render_budget(demo_run.statuses(), fmt, source="budget.db"),
        }
        for name, text in texts.items():
            leaked = sorted(v for v in raw if v in text)
            assert leaked == [], f"{name}.{fmt}: {len(leaked)} raw values"


def test_run_report_structure(demo_run: Ledger) -> None:
    html = _run_report(ReportFormat.HTML)
    assert 'class="ok" id="verify"' in html and "records verified" in html
    for heading in ("Art. 6", "Art. 28-29, 31", "Art. 51, 73", "Keys (by id only)"):
        assert heading in html
    dropped = html.split('id="dropped"')[1].split("</section>")[0]
    for column in ("姓名", "宗教信仰", "银行卡号"):  # dropped by the demo policy
        assert f"<td>{column}</td>" in dropped
    assert "<td>出生日期</td>" not in dropped  # generalized, not dropped
    assert Key(bytes(range(32))).key_id in html
    assert bytes(range(32)).hex() not in html  # key bytes never
    assert "not anonymization" in html
    assert html.count('class="flow-row"') == 26  # every customers column in the flow
    assert "<script" not in html and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )


def test_run_report_names_files_by_path_below_their_shared_folder(tmp_path: Path) -> None:
    raw, minimized = tmp_path / "data" / "customers.csv", tmp_path / "p" / "customers.csv"
    for path in (raw, minimized):
        path.parent.mkdir()
        path.write_text("id\nwm1\n", encoding="utf-8")
    with audit.run("apply") as record:
        record.add_input(raw, rows=3, columns=["id"])
        record.add_column("id", ["wechat_id"], "pseudonymize", output_columns=["id"])
        record.add_output(minimized, rows=3, columns=["id"])
    with audit.run("segment assign") as record:
        record.add_input(minimized, rows=3, columns=["id"])
    text = _run_report(ReportFormat.MD)
    inputs = text.split("### Inputs")[1].split("### Outputs")[0]
    assert "data/customers.csv" in inputs and "p/customers.csv" in inputs
    html = _run_report(ReportFormat.HTML)
    assert f'title="{raw}">data/customers.csv<' in html
    assert f'title="{minimized}">p/customers.csv<' in html


def test_run_report_flags_missing_consent(tmp_path: Path) -> None:
    with audit.run("apply") as record:
        record.add_column("宗教", ["religious_belief"], "generalize", output_columns=["宗教"])
        record.add_column(
            "年龄", ["minor"], "generalize", output_columns=["年龄"], consent="separate_consent"
        )
        record.add_column(
            "信仰",
            ["religious_belief"],
            "generalize",
            output_columns=["信仰"],
            consent="separate_consent",
        )
    html = _run_report(ReportFormat.HTML)
    assert "2 without the consent recorded" in html
    assert "missing: separate consent (Art. 29)" in html
    assert "missing: guardian consent (Art. 31)" in html


def test_html_escapes_hostile_names(tmp_path: Path) -> None:
    with audit.run("apply", purpose="p") as record:
        record.add_column(EVIL, ["phone_number"], "pseudonymize", output_columns=[EVIL])
        record.add_column("<img src=x>", [], "drop")
    ledger = Ledger(tmp_path / "b.db")
    ledger.set_budget(EVIL, PrivacyBudget(1), purpose=EVIL)
    ledger.spend(EVIL, PrivacyBudget("0.1"), purpose=EVIL, kind="counts")
    report = screen(pd.DataFrame({EVIL: ["13812345678", "13912345678"]}))
    for text in (
        _run_report(ReportFormat.HTML),
        render_budget(ledger.statuses(), ReportFormat.HTML, source="b.db"),
        render_screening(report, ReportFormat.HTML),
    ):
        assert "<script>" not in text and "<img src=x>" not in text
        assert "&lt;script&gt;" in text


def test_markdown_escapes_and_keeps_tables(tmp_path: Path, demo_run: Ledger) -> None:
    with audit.run("apply", purpose="p") as record:
        record.add_column(EVIL, ["phone_number"], "keep", output_columns=["a|b c"])
    text = _run_report(ReportFormat.MD)
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "a\\|b c" in text
    _md_tables_ok(text)
    _md_tables_ok(render_budget(demo_run.statuses(), ReportFormat.MD, source="b.db"))
    assert text.startswith("# Run report")


def test_md_filter() -> None:
    assert md("a|b") == "a\\|b"
    assert md("<b>*x*</b>") == "&lt;b&gt;\\*x\\*&lt;/b&gt;"
    assert md("line\nbreak") == "line break"
    assert md("[link](http://x)") == "\\[link\\](http://x)"


def test_budget_report_numbers_and_chart(demo_run: Ledger) -> None:
    html = render_budget(demo_run.statuses(), ReportFormat.HTML, source="budget.db")
    assert html.count('<tr class="release">') == 3
    assert '<polyline class="spent"' in html and 'class="total"' in html
    assert "total ε = 2" in html
    section = html.split('<div class="summary">')[1]
    assert '<div class="n">1</div>spent ε (50.0%)' in section
    assert '<div class="n">1</div>remaining ε' in section
    markdown = render_budget(demo_run.statuses(), ReportFormat.MD, source="budget.db")
    assert "| 2 | " in markdown and "80.0%" in markdown and "| — |" in markdown
    # no release was sized for a target: the report neither names one nor flags against it
    for text in (html, markdown):
        assert "target" not in text and "⚠" not in text and "num bad" not in text


def test_budget_report_judges_against_the_target_only_where_one_was_used(
    demo_run: Ledger,
) -> None:
    demo_run.spend(
        "demo", PrivacyBudget("0.02"), purpose="wecom-marketing", kind=ReleaseKind.SIZE_ESTIMATE
    )
    demo_run.set_budget("other", PrivacyBudget(1), purpose="wecom-marketing")
    demo_run.spend(
        "other", PrivacyBudget("0.5"), purpose="wecom-marketing", kind="counts", predicted_value=0.5
    )
    html = render_budget(demo_run.statuses(), ReportFormat.HTML, source="budget.db")
    targeted, untargeted = html.split('id="budget-')[1:3]
    assert "1 below the 85.0% analytic-value target" in targeted and "num bad" in targeted
    assert "target" not in untargeted and "num bad" not in untargeted
    markdown = render_budget(demo_run.statuses(), ReportFormat.MD, source="budget.db")
    assert markdown.count("⚠") == 1 and "target 85.0% where a release was sized" in markdown


def test_budget_report_without_releases(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "b.db")
    ledger.set_budget("crm", PrivacyBudget(1))
    html = render_budget(ledger.statuses(), ReportFormat.HTML, source="b.db")
    assert "No release has spent from this budget yet." in html
    assert "<svg" in html


def test_screen_json_round_trip(tmp_path: Path) -> None:
    report = screen(pd.DataFrame({"手机号": ["13812345678", "13912345679"], "x": ["a", "b"]}))
    saved = tmp_path / "screen.json"
    saved.write_text(json.dumps(report.to_dict(), ensure_ascii=False), encoding="utf-8")
    loaded = load_screen_json(saved)
    assert loaded.to_dict() == report.to_dict()
    assert render_screening(loaded, ReportFormat.MD) == render_screening(report, ReportFormat.MD)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not JSON"),
        ('{"rows": 1}', "missing field"),
        ('{"source": "s", "rows": 1, "rows_examined": 1, "columns": [{"name": "a"}]}', "missing"),
    ],
)
def test_screen_json_errors_name_the_file(tmp_path: Path, content: str, message: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content, encoding="utf-8")
    with pytest.raises(MalformedInputError, match=message) as caught:
        load_screen_json(bad)
    assert str(bad) in str(caught.value)


def test_cli_report_commands(tmp_path: Path, demo_run: Ledger) -> None:
    runner = CliRunner()
    out = tmp_path / "run.md"
    result = runner.invoke(main, ["report", "run", "--format", "md", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith("# Run report")
    result = runner.invoke(main, ["report", "run", "--run", "999"])
    assert result.exit_code == 2 and "no run 999" in result.output
    result = runner.invoke(main, ["report", "run", "--run", "1", "--format", "md"])
    runs = [line for line in result.output.splitlines() if re.match(r"\| \d+ \| 20", line)]
    assert result.exit_code == 0 and len(runs) == 1 and runs[0].startswith("| 1 |")
    ledger = str(demo_run.path)
    result = runner.invoke(main, ["report", "budget", "--ledger", ledger, "--format", "md"])
    assert result.exit_code == 0 and "# Privacy-budget report" in result.output
    result = runner.invoke(main, ["report", "budget", "--ledger", ledger, "--dataset", "nope"])
    assert result.exit_code == 2
    result = runner.invoke(main, ["report", "budget", "--ledger", str(tmp_path / "none.db")])
    assert result.exit_code == 2


def test_cli_report_run_refuses_an_altered_trail(demo_run: Ledger) -> None:
    trail = _trail()
    lines = trail.read_bytes().splitlines(keepends=True)
    lines[0] = lines[0].replace(b'"screen"', b'"scre3n"')
    trail.write_bytes(b"".join(lines))
    result = CliRunner().invoke(main, ["report", "run"])
    assert result.exit_code == 5
