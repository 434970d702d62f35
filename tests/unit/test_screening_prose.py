"""Free text: one table per sensitive class of mentions and look-alikes that are not mentions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from privseg.screening.detectors import Values
from privseg.screening.prose import MIN_SHARE, scan_prose
from privseg.taxonomy import Category

C = Category

# (category, text, is a mention)
TABLE: list[tuple[Category, str, bool]] = [
    # health: pregnancy and birth, visits, vital signs, medication, allergies
    (C.MEDICAL_HEALTH, "孕15周+2天，想买防辐射服", True),
    (C.MEDICAL_HEALTH, "预产期3月12日", True),
    (C.MEDICAL_HEALTH, "已生产，顺产女宝", True),
    (C.MEDICAL_HEALTH, "上周在市妇幼保健院做产检", True),
    (C.MEDICAL_HEALTH, "华西医院复查", True),
    (C.MEDICAL_HEALTH, "体温37.2℃，有点咳嗽", True),
    (C.MEDICAL_HEALTH, "血压 140/90，在吃降压药", True),
    (C.MEDICAL_HEALTH, "对青霉素过敏", True),
    (C.MEDICAL_HEALTH, "膝盖有旧伤，避免深蹲", True),
    (C.MEDICAL_HEALTH, "allergic to nuts", True),
    (C.MEDICAL_HEALTH, "在市妇幼建档了", True),
    (C.MEDICAL_HEALTH, "下周去拔牙", True),
    (C.MEDICAL_HEALTH, "病历管理师", False),  # an occupation
    (C.MEDICAL_HEALTH, "营养师推荐套餐", False),
    (C.MEDICAL_HEALTH, "欧姆龙血压计一台", False),  # a product
    (C.MEDICAL_HEALTH, "抗过敏牙膏2支", False),
    (C.MEDICAL_HEALTH, "孕妇可用", False),  # a label on a product
    (C.MEDICAL_HEALTH, "孕妇防辐射服", False),  # a product title
    (C.MEDICAL_HEALTH, "孕期营养包", False),
    (C.MEDICAL_HEALTH, "孕妇，要无添加的", True),
    (C.MEDICAL_HEALTH, "人民医院对面的门店", False),  # a landmark
    (C.MEDICAL_HEALTH, "周末来店里试穿", False),
    (C.MEDICAL_HEALTH, "宝宝湿疹膏", False),  # a product named by its form
    (C.MEDICAL_HEALTH, "999感冒灵颗粒", False),
    (C.MEDICAL_HEALTH, "用了湿疹膏还是痒，宝宝湿疹反复", True),
    (C.MEDICAL_HEALTH, "音响发烧友", False),
    (C.MEDICAL_HEALTH, "对这个不感冒", False),
    (C.MEDICAL_HEALTH, "故障诊断", False),
    # financial: credit records and lines
    (C.FINANCIAL_ACCOUNT, "征信有逾期，贷款被拒", True),
    (C.FINANCIAL_ACCOUNT, "芝麻信用分620", True),
    (C.FINANCIAL_ACCOUNT, "花呗额度2000不够用", True),
    (C.FINANCIAL_ACCOUNT, "想办房贷", True),
    (C.FINANCIAL_ACCOUNT, "信用卡逾期两个月", True),
    (C.FINANCIAL_ACCOUNT, "支付方式：信用卡", False),  # a payment method
    (C.FINANCIAL_ACCOUNT, "满300减50", False),
    (C.FINANCIAL_ACCOUNT, "积分兑换", False),
    (C.FINANCIAL_ACCOUNT, "名下有两套房产", True),
    (C.FINANCIAL_ACCOUNT, "房产经纪人", False),
    # minors: grades, schools, a child's age
    (C.MINOR, "幼儿园中班", True),
    (C.MINOR, "小学四年级", True),
    (C.MINOR, "初二", True),
    (C.MINOR, "实验小学", True),
    (C.MINOR, "机关幼儿园", True),
    (C.MINOR, "孩子5岁，报名体验课", True),
    (C.MINOR, "宝宝8个月", True),
    (C.MINOR, "大宝7岁二宝3岁", True),
    (C.MINOR, "正月初一到店", False),  # a date
    (C.MINOR, "初一十五吃素", False),
    (C.MINOR, "孩子20岁了", False),  # an adult child
    (C.MINOR, "小学生书包", False),  # a product
    (C.MINOR, "高中数学", False),
    (C.MINOR, "小学数学同步课", False),
    # religion through practice; diet, cities, dishes and titles are not
    (C.RELIGIOUS_BELIEF, "只吃清真，回族", True),
    (C.RELIGIOUS_BELIEF, "每周日去教会", True),
    (C.RELIGIOUS_BELIEF, "信佛，初一十五吃素", True),
    (C.RELIGIOUS_BELIEF, "斋月期间不吃午饭", True),
    (C.RELIGIOUS_BELIEF, "吃素", False),
    (C.RELIGIOUS_BELIEF, "佛系", False),
    (C.RELIGIOUS_BELIEF, "佛跳墙", False),
    (C.RELIGIOUS_BELIEF, "住佛山", False),
    (C.RELIGIOUS_BELIEF, "《穆斯林的葬礼》", False),
    (C.RELIGIOUS_BELIEF, "通信主管", False),
    (C.RELIGIOUS_BELIEF, "下礼拜来取货", False),
    (C.RELIGIOUS_BELIEF, "佛珠手串", False),  # a product
    # whereabouts in prose
    (C.WHEREABOUTS, "今天在浦东机场", True),
    (C.WHEREABOUTS, "入住希尔顿酒店3晚", True),
    (C.WHEREABOUTS, "明天坐G123次回上海", True),
    (C.WHEREABOUTS, "下周出差去成都", True),
    (C.WHEREABOUTS, "住希尔顿酒店", True),
    (C.WHEREABOUTS, "机场店发货", False),
    (C.WHEREABOUTS, "酒店用品批发", False),
    (C.WHEREABOUTS, "出差必备收纳包", False),
    (C.WHEREABOUTS, "欢迎入住", False),
    # specific identity
    (C.SPECIFIC_IDENTITY, "退伍军人，享受优惠", True),
    (C.SPECIFIC_IDENTITY, "持残疾证", True),
    (C.SPECIFIC_IDENTITY, "军绿色外套", False),
    (C.SPECIFIC_IDENTITY, "建档立卡贫困户", True),
    (C.MEDICAL_HEALTH, "建档立卡贫困户", False),
    # a measure is health, a requirement or a pack size is not
    (C.MEDICAL_HEALTH, "身高168，体重55kg", True),
    (C.MEDICAL_HEALTH, "体重：72", True),
    (C.MEDICAL_HEALTH, "身高175以上", False),
    (C.MEDICAL_HEALTH, "身高 180cm 以下", False),
    (C.MEDICAL_HEALTH, "体重60斤以内", False),
    (C.MEDICAL_HEALTH, "医用外科口罩50只装", False),
    (C.MEDICAL_HEALTH, "感冒灵颗粒10袋装", False),
    (C.MEDICAL_HEALTH, "外科手术后复查", True),
    # a flight or train with its date is a trip; a bare code may be a SKU
    (C.WHEREABOUTS, "MU5137 2026-05-03 上海虹桥-昆明长水", True),
    (C.WHEREABOUTS, "G1234, 5月3日", True),
    (C.WHEREABOUTS, "CA1858 / 10-01", True),
    (C.WHEREABOUTS, "MU5137", False),
    (C.WHEREABOUTS, "SKU AB1234 x2", False),
    # other sensitive: orientation, marital history, criminal record
    (C.OTHER_SENSITIVE, "离异，带一个孩子", True),
    (C.OTHER_SENSITIVE, "有前科", True),
    (C.OTHER_SENSITIVE, "同性恋人群活动", True),
    (C.OTHER_SENSITIVE, "已婚", False),
    (C.OTHER_SENSITIVE, "忘记密码", False),
]


def _found(texts: list[str]) -> set[Category]:
    vals = Values(pd.Series(texts, dtype="str"), np.ones(len(texts), dtype=np.int64))
    return {f.category for f in scan_prose(vals) if f.matched}


@pytest.mark.parametrize(("category", "text", "mention"), TABLE)
def test_prose_table(category: Category, text: str, mention: bool) -> None:
    assert (category in _found([text])) is mention


def test_every_sensitive_class_has_mentions_and_look_alikes() -> None:
    for category in {c for c, _, _ in TABLE}:
        assert {m for c, _, m in TABLE if c is category} == {True, False}, category


def test_every_class_in_one_remarks_column_is_reported_with_shown_terms() -> None:
    remarks = ["孕20周", "征信花了", "孩子6岁", "只吃清真", "今天在浦东机场"] + ["老客户"] * 995
    vals = Values(pd.Series(remarks, dtype="str"), np.ones(len(remarks), dtype=np.int64))
    findings = {f.category: f for f in scan_prose(vals)}
    assert set(findings) == {
        C.MEDICAL_HEALTH, C.FINANCIAL_ACCOUNT, C.MINOR, C.RELIGIOUS_BELIEF, C.WHEREABOUTS,
    }  # fmt: skip
    assert all(f.matched == 1 and f.min_share == MIN_SHARE for f in findings.values())
    assert findings[C.WHEREABOUTS].examples == ("在***场",)  # longer spans are masked
    assert findings[C.MEDICAL_HEALTH].examples == ("孕20周",)


@pytest.mark.parametrize(
    "identifier",
    ["wm3gay5Kx0aPq", "wo8HIV2loanX", "oAb7Lesbian9", "wm2divorced0x", "u1cancer2"],
)
def test_english_terms_inside_identifiers_are_not_mentions(identifier: str) -> None:
    # random ids (WeCom external_userid, openid) mix letters and digits: a term flanked by
    # digits is part of the id, not a word
    assert _found([identifier]) == set()


def test_english_terms_as_words_are_mentions() -> None:
    assert _found(["gay couple, 2 kids"]) == {C.OTHER_SENSITIVE}
    assert _found(["hiv+ since 2019"]) == {C.MEDICAL_HEALTH}
