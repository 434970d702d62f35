"""Policies: validation errors with lines, the shipped schema, planning, refusals, enforcing."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from privseg._resources import policies_dir
from privseg.errors import InputError, PolicyError, PolicyRefusal
from privseg.policy import Action, PolicyKeys, enforce, load_policy, plan, shipped_policies
from privseg.policy_model import schema_text
from privseg.pseudonym import IdKind, Key, Tokenizer
from privseg.reversible import ReversibleCipher
from privseg.screening import ColumnVerdict, ScreenReport
from privseg.segments import load_schemes
from privseg.taxonomy import Category, is_sensitive

SENSITIVE = [c for c in Category if is_sensitive(c)]
KEY = Key(bytes(range(32)))
REV = Key(bytes(range(1, 33)))

HEADER = """\
purpose: test-purpose
description: tests
lawful_basis: consent
controller: ACME
retention_days: 30
unit: uid
fields:
  uid: {action: pseudonymize, kind: wechat_id}
"""


def write(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(header + body, encoding="utf-8")
    return path


def report(**columns: tuple[Category, ...]) -> ScreenReport:
    verdicts = tuple(
        ColumnVerdict(
            name=name,
            categories=cats,
            sensitive=any(is_sensitive(c) for c in cats),
            confidence=0.9,
            evidence=(),
            sampled=False,
        )
        for name, cats in columns.items()
    )
    return ScreenReport(source="t", rows=3, rows_examined=3, columns=verdicts)


@pytest.mark.parametrize("name", ["wecom-marketing", "customer-service-quality", "bi-dashboard"])
def test_shipped_policies_load(name: str) -> None:
    policy = load_policy(policies_dir() / f"{name}.yaml")
    assert policy.purpose == name and policy.unit in policy.fields
    assert len(policy.sha256) == 64


def test_shipped_policies_load_by_name_and_names_are_listed() -> None:
    assert shipped_policies() == (
        "bi-dashboard",
        "customer-service-quality",
        "wecom-marketing",
        "wecom-marketing-en",
    )
    for name in shipped_policies():
        assert load_policy(name) == load_policy(policies_dir() / f"{name}.yaml")
    with pytest.raises(PolicyError, match="no such policy file"):
        load_policy("no-such-policy")


def test_a_local_file_wins_over_a_shipped_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "wecom-marketing").write_text(HEADER, encoding="utf-8")
    assert load_policy("wecom-marketing").purpose == "test-purpose"


def test_english_policy_is_the_marketing_policy_with_english_headers() -> None:
    zh, en = load_policy("wecom-marketing"), load_policy("wecom-marketing-en")
    header = {zh_name: en_name for zh_name, en_name in zip(zh.fields, en.fields, strict=True)}
    assert en.purpose == zh.purpose and header[zh.unit] == en.unit == "external_userid"
    for zh_name, rule in zh.fields.items():
        assert en.fields[header[zh_name]].transform == rule.transform, zh_name
        assert en.fields[header[zh_name]].action == rule.action, zh_name
        assert en.fields[header[zh_name]].ladder == rule.ladder, zh_name
    assert zh.risk is not None and en.risk is not None
    assert en.risk.quasi_identifiers == tuple(header[q] for q in zh.risk.quasi_identifiers)
    assert (en.risk.k, en.risk.max_suppression) == (zh.risk.k, zh.risk.max_suppression)
    assert zh.release is not None and en.release is not None
    assert en.release.budget == zh.release.budget
    assert en.release.keys["lifecycle"] == zh.release.keys["lifecycle"]
    assert en.release.bounds["amount"] == zh.release.bounds["金额"]


def test_a_table_without_the_unit_column_is_refused_with_the_mismatch(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, "  city: {action: keep}\n  tier: {action: keep}\n"))
    with pytest.raises(InputError) as raised:
        plan(policy, report(customer=(Category.WECHAT_ID,), city=(), note=()))
    message = str(raised.value)
    assert "unit column 'uid' (one customer) is missing" in message
    assert "2 undeclared columns ('customer', 'note')" in message
    assert "declares 2 columns the table lacks ('uid', 'tier')" in message
    assert "wecom-marketing-en" in message


def test_plan_lists_declared_columns_the_table_lacks(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, "  city: {action: keep}\n  tier: {action: keep}\n"))
    the_plan = plan(policy, report(uid=(Category.WECHAT_ID,), city=()))
    assert the_plan.missing_declared == ("tier",)


def test_marketing_release_section() -> None:
    release = load_policy(policies_dir() / "wecom-marketing.yaml").release
    assert release is not None
    assert release.keys["lifecycle"] == ("introduction", "growth", "mature", "decline", "other")
    assert release.keys["value_tier"][:4] == ("platinum", "gold", "silver", "bronze")
    # every label the shipped segment schemes can assign is a declared release key
    for kind, labels in load_schemes().labels().items():
        assert set(release.keys[kind.value]) == set(labels), kind
    assert release.bounds["monetary"] == (0, 50000)
    assert release.budget.epsilon == 5.0 and release.max_orders_per_customer == 50


def test_schema_json_is_up_to_date() -> None:
    shipped = (policies_dir() / "schema.json").read_text(encoding="utf-8")
    assert shipped == schema_text(), "regenerate: python -c 'from privseg.policy_model import ...'"


@pytest.mark.parametrize(
    ("body", "line", "field"),
    [
        ("  age: {action: generalize, type: age, width: -1}\n", 9, "fields.age.width"),
        ("  m: {action: pseudonymize, kind: phone}\n", 9, "fields.m.kind"),
        ("  m: {action: keep, colour: red}\n", 9, "fields.m.colour"),
        ("  m: {action: frobnicate}\n", 9, "fields.m"),
        ("  m:\n    action: clip\n    bounds: [5, 1]\n", 10, "fields.m"),
        ("  m:\n    action: bucketize\n    edges: [0, 10, 5]\n", 10, "fields.m"),
        ("  b:\n    action: generalize\n    type: birth_date\n    to: age_band\n", 10, "fields.b"),
        ("release:\n  budget: {epsilon: -1}\n", 10, "release.budget.epsilon"),
    ],
)
def test_schema_errors_name_file_line_and_field(
    tmp_path: Path, body: str, line: int, field: str
) -> None:
    path = write(tmp_path, body)
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert info.value.line == line, str(info.value)
    assert info.value.source == str(path)
    assert f"field {field}:" in str(info.value)


def test_top_level_and_yaml_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "colour: red\n")
    with pytest.raises(PolicyError, match="field colour") as info:
        load_policy(path)
    assert info.value.line == 9
    with pytest.raises(PolicyError, match="appears twice") as info:
        load_policy(write(tmp_path, "  uid: {action: drop}\n"))
    assert info.value.line == 9
    with pytest.raises(PolicyError, match="not valid YAML") as info:
        load_policy(write(tmp_path, "  x: [unclosed\n"))
    with pytest.raises(PolicyError, match="unit"):
        load_policy(write(tmp_path, "", HEADER.replace("unit: uid", "unit: other")))
    with pytest.raises(PolicyError, match="not found"):
        load_policy(tmp_path / "missing.yaml")


def test_deny_by_default_and_plan(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, "  city: {action: keep}\n"))
    the_plan = plan(policy, report(uid=(Category.WECHAT_ID,), city=(), secret=(Category.EMAIL,)))
    assert the_plan.dropped_undeclared == ("secret",)
    actions = {c.column: c.action for c in the_plan.columns}
    assert actions == {"uid": Action.PSEUDONYMIZE, "city": Action.KEEP, "secret": Action.DROP}


CONSENT_VARIANTS = {
    "none": "",
    "consent only": "separate_consent: true, ",
    "necessity only": "necessity: needed, ",
    "consent, blank necessity": "separate_consent: true, necessity: '  ', ",
    "consent and necessity": "separate_consent: true, necessity: needed, ",
    "all three": "separate_consent: true, necessity: needed, guardian_consent: true, ",
}
ACTIONS = {
    "keep": "action: keep",
    "mask": "action: mask, kind: other",
    "bucketize": "action: bucketize, edges: [0]",
    "clip": "action: clip, bounds: [0, 1]",
    "pseudonymize": "action: pseudonymize, kind: other",
    "generalize": "action: generalize, type: timestamp, to: day",
    "drop": "action: drop",
}


def expected_ok(category: Category, action: str, variant: str) -> bool:
    if action == "drop":
        return True
    if action not in {"pseudonymize", "generalize"}:
        return False
    ok = variant in {"consent and necessity", "all three"}
    return ok and (category is not Category.MINOR or variant == "all three")


@pytest.mark.parametrize("category", SENSITIVE)
@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize("variant", list(CONSENT_VARIANTS))
def test_refusal_matrix(tmp_path: Path, category: Category, action: str, variant: str) -> None:
    body = f"  col: {{{CONSENT_VARIANTS[variant]}{ACTIONS[action]}}}\n"
    policy = load_policy(write(tmp_path, body))
    screened = report(uid=(Category.WECHAT_ID,), col=(category,))
    if expected_ok(category, action, variant):
        assert plan(policy, screened).columns[1].action.value == action
        return
    with pytest.raises(PolicyRefusal) as info:
        plan(policy, screened)
    message = str(info.value)
    assert "'col'" in message and category.value in message and "PIPL Art." in message
    if action in {"keep", "mask", "bucketize", "clip"}:
        assert "harmless" in message
    elif category is Category.MINOR and variant == "consent and necessity":
        assert "Art. 31" in message
    else:
        assert "Art. 29" in message


def test_non_sensitive_columns_need_no_consent(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, "  phone: {action: keep}\n"))
    assert plan(policy, report(uid=(), phone=(Category.PHONE_NUMBER,))).columns[1].declared


def test_enforce(tmp_path: Path) -> None:
    body = (
        "  m: {action: pseudonymize, kind: mobile, reversible: true}\n"
        "  age: {action: generalize, type: age, width: 10}\n"
        "  amount: {action: clip, bounds: [0, 100]}\n"
    )
    policy = load_policy(write(tmp_path, body))
    df = pd.DataFrame(
        {
            "uid": ["wm1", "wm2", None],
            "m": ["+86 13812345678", "13900001111", None],
            "age": ["31", None, "7"],
            "amount": ["5", "500", "-3"],
            "extra": ["a", "b", "c"],
        },
        dtype="str",
    )
    the_plan = plan(policy, report(**{c: () for c in df.columns}))
    with pytest.raises(InputError, match="reversible key"):
        enforce(the_plan, df, PolicyKeys(KEY))
    out = enforce(the_plan, df, PolicyKeys(KEY, REV))
    assert list(out.columns) == ["uid", "m", "m__reversible", "age", "amount"]
    tokenizer = Tokenizer(KEY, "test-purpose")
    assert out["m"].iloc[0] == tokenizer.token("13812345678", kind=IdKind.MOBILE)
    assert out["uid"].iloc[1] == tokenizer.token("wm2", kind=IdKind.WECHAT_ID)
    assert ReversibleCipher(REV, "test-purpose").decrypt(out["m__reversible"], column="m").iloc[
        0
    ] == ("13812345678")
    assert out["age"].tolist()[0] == "30-39" and out["amount"].tolist() == [5, 100, 0]
    with pytest.raises(InputError, match="differ"):
        enforce(the_plan, df, PolicyKeys(KEY, KEY))


def test_risk_section_and_ladders(tmp_path: Path) -> None:
    policy = load_policy(
        write(
            tmp_path,
            "  age: {action: generalize, type: age, width: 10, ladder: "
            "[{action: generalize, type: age, width: 20}, {action: drop}]}\n"
            "  city: {action: keep}\n  tier: {action: keep}\n"
            "risk: {quasi_identifiers: [age, city], sensitive: [tier], k: 5, l: 2, "
            "max_suppression: 0.05}\n",
        )
    )
    assert policy.risk is not None and policy.risk.k == 5 and policy.risk.l == 2
    assert policy.risk.quasi_identifiers == ("age", "city") and policy.risk.sensitive == ("tier",)
    assert [type(t).__name__ for t in policy.fields["age"].ladder] == ["AgeBand", "Withhold"]
    shipped = load_policy(policies_dir() / "wecom-marketing.yaml")
    assert shipped.risk is not None and shipped.risk.k >= 5
    bad = {
        "  uid2: {action: drop, ladder: [{action: drop}]}\n": "cannot have a ladder",
        "  city: {action: keep}\nrisk: {quasi_identifiers: [city, uid], k: 5}\n": "not drop or "
        "pseudonymize",
        "  city: {action: keep}\nrisk: {quasi_identifiers: [city], k: 5, l: 2}\n": "l needs",
        "  city: {action: keep}\nrisk: {quasi_identifiers: [town], k: 5}\n": "town",
        "  city: {action: keep, ladder: [{action: mask, kind: name}]}\n": "ladder",
    }
    for body, message in bad.items():
        with pytest.raises(PolicyError, match=message):
            load_policy(write(tmp_path, body))
