"""The WeChat tag plan: the shipped plan, the 100-tag limit, names, combinations, assignment."""

from __future__ import annotations

import pandas as pd
import pytest

from privseg import segments
from privseg.errors import InputError, PolicyError, PrivsegWarning

K = segments.SchemeKind

_HEAD = """\
schemes:
  value_tier: {}
  lifecycle: {}
  rfm: {}
tags:
"""


def _plan(tags: str, limit: int | None = None) -> segments.TagPlan:
    return segments.plan_tags(segments.parse_schemes(_HEAD + tags), limit=limit)


def test_shipped_plan_fits_the_official_account_limit_and_counts_every_tag() -> None:
    schemes = segments.load_schemes()
    plan = segments.plan_tags(schemes)
    assert schemes.tags is not None
    skipped = sum(len(g.skip) for g in schemes.tags.groups)
    grouped = sum(len(schemes.labels()[g.scheme]) for g in schemes.tags.groups)
    assert len(plan.tags) == grouped - skipped + len(schemes.tags.combinations)
    assert len(plan.tags) <= segments.WECHAT_TAG_LIMIT
    rows = plan.rows()
    assert list(rows.columns) == ["tag_group", "tag", "rule"]
    assert rows["tag"].is_unique
    assert rows["rule"].str.len().min() > 0
    # nesting: every scheme group sits under a parent
    assert "消费行为/价值等级" in set(rows["tag_group"])
    assert rows.loc[rows["tag"] == "铂金客户", "rule"].item() == (
        "value_tier = platinum: spend over 100,000 in the last 365 days"
    )


def test_a_plan_at_the_limit_passes_and_one_over_is_refused() -> None:
    tags = (
        "  groups:\n    - {scheme: value_tier, name: 价值}\n    - {scheme: lifecycle, name: 周期}\n"
    )
    assert len(_plan(tags, limit=11).tags) == 11  # 6 tiers + 5 stages
    with pytest.raises(PolicyError, match="11 tags, more than the limit of 10"):
        _plan(tags, limit=10)


def test_125_rfm_cells_cannot_be_planned_as_tags() -> None:
    text = "schemes:\n  rfm: {label: cell}\ntags:\n  groups:\n    - {scheme: rfm, name: RFM}\n"
    with pytest.warns(PrivsegWarning, match="125 labels"):
        schemes = segments.parse_schemes(text)
    with pytest.raises(PolicyError, match="125 tags, more than the limit of 100"):
        segments.plan_tags(schemes)


def test_a_limit_above_100_is_refused_in_the_file() -> None:
    with pytest.raises(PolicyError, match="limit"):
        _plan("  limit: 101\n  groups: []\n")


def test_duplicate_tag_names_are_refused() -> None:
    # 'other' (lifecycle) and 'regular' renamed 'other' (value tier) would collide
    tags = (
        "  groups:\n    - {scheme: value_tier, name: 价值, names: {regular: other}}\n"
        "    - {scheme: lifecycle, name: 周期}\n"
    )
    with pytest.raises(PolicyError, match="'other' is planned twice"):
        _plan(tags)


@pytest.mark.parametrize(
    "tags",
    [
        "  groups:\n    - {scheme: value_tier, name: 价值, skip: [diamond]}\n",
        "  groups:\n    - {scheme: activity, name: 活跃}\n",
        "  combinations:\n    - {name: x, group: g, when: {lifecycle: [dormant]}}\n",
    ],
)
def test_labels_and_schemes_must_be_declared(tags: str) -> None:
    with pytest.raises(PolicyError, match="not"):
        _plan(tags)


def test_assign_gives_each_customer_its_tags_and_combinations() -> None:
    plan = _plan(
        "  groups:\n    - {scheme: value_tier, name: 价值, names: {gold: 金}, skip: [regular]}\n"
        "  combinations:\n"
        "    - {name: 金衰退, group: 重点, when: {value_tier: [gold, platinum], lifecycle: [decline]}}\n"
    )
    labels = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "value_tier": ["gold", "gold", "regular"],
            "lifecycle": ["decline", "growth", "decline"],
        }
    )
    out = plan.assign(labels, "id")
    assert out["tags"].tolist() == ["金;金衰退", "金", ""]
    with pytest.raises(InputError, match="lifecycle"):
        plan.assign(labels.drop(columns="lifecycle"), "id")
