"""One table per pattern entity: valid and invalid values, checksums, boundaries, CJK neighbours.

Every row runs through both paths: the presidio recognizer (samples) and the vectorized
whole-column scan (``--full``); they must agree.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privseg.screening import detectors, shapes, terms
from privseg.screening.detectors import Values, scan_patterns
from privseg.screening.engine import analyze_sample, build_analyzer
from privseg.screening.patterns import LANGUAGE, SPECS, is_resident_id

AS_OF = date(2026, 6, 30)
SPEC = {s.entity: s for s in SPECS}

# (entity, text, expected to match)
TABLE: list[tuple[str, str, bool]] = [
    # resident ID: MOD 11-2 check, real birth date, region code; X check digit
    ("CN_RESIDENT_ID", "110105199003071239", True),
    ("CN_RESIDENT_ID", "11010519491001004X", True),
    ("CN_RESIDENT_ID", "11010519491001004x", True),
    ("CN_RESIDENT_ID", "身份证号110105199003071239，已核验", True),
    ("CN_RESIDENT_ID", "110105199003071238", False),  # check digit
    ("CN_RESIDENT_ID", "110105199013071234", False),  # month 13
    ("CN_RESIDENT_ID", "110105199002301235", False),  # 30 February
    ("CN_RESIDENT_ID", "1101051990030712391", False),  # 19 digits
    ("CN_RESIDENT_ID", "2110105199003071239", False),  # longer digit run
    ("CN_RESIDENT_ID", "202606301234567890", False),  # order number
    ("CN_RESIDENT_ID", "622908199001011234", False),  # check digit (7 is right)
    # county codes missing from stdnum's table (abolished, or assigned later): still valid
    ("CN_RESIDENT_ID", "622908199001011237", True),
    ("CN_RESIDENT_ID", "51010619880315002X", True),
    ("CN_RESIDENT_ID", "990101199001011230", False),  # no province 99
    ("CN_RESIDENT_ID", "110105209912311234", False),  # born in the future
    # 15-digit IDs (before 1999): province, real 19YYMMDD date, no check digit
    ("CN_RESIDENT_ID_15", "110105490101001", True),
    ("CN_RESIDENT_ID_15", "证件号:310104851231008", True),
    ("CN_RESIDENT_ID_15", "110105490230001", False),  # 30 February
    ("CN_RESIDENT_ID_15", "990105490101001", False),  # no province 99
    ("CN_RESIDENT_ID_15", "1101054901010012", False),  # 16 digits
    # masked resident IDs keep their category
    ("CN_RESIDENT_ID_MASKED", "110101********123X", True),
    ("CN_RESIDENT_ID_MASKED", "3101**********0089", True),
    ("CN_RESIDENT_ID_MASKED", "身份证:4403************24", True),
    ("CN_RESIDENT_ID_MASKED", "990101********1234", False),  # no province 99
    ("CN_RESIDENT_ID_MASKED", "110101********12", False),  # 16 characters
    ("CN_RESIDENT_ID_MASKED", "110101199003071239", False),  # not masked
    # masked bank cards
    ("CN_BANK_CARD_MASKED", "622202******1234", True),
    ("CN_BANK_CARD_MASKED", "尾号6217*********0122", True),
    ("CN_BANK_CARD_MASKED", "6222****1234", False),  # 12 characters
    ("CN_BANK_CARD_MASKED", "1222021234561234", False),  # no stars
    # bank cards: Luhn, 16-19 digits, UnionPay 62, separators
    ("CN_BANK_CARD", "6222021234567894", True),
    ("CN_BANK_CARD", "621483012345678902", True),
    ("CN_BANK_CARD", "6217001234567890122", True),
    ("CN_BANK_CARD", "6222 0212 3456 7894", True),
    ("CN_BANK_CARD", "4111111111111111", True),
    ("CN_BANK_CARD", "卡号6222021234567894请核对", True),
    ("CN_BANK_CARD", "6222021234567895", False),  # Luhn
    ("CN_BANK_CARD", "525555555555449", False),  # 15 digits
    ("CN_BANK_CARD", "62170012345678901221", False),  # 20 digits
    ("CN_BANK_CARD", "1234567812345670", False),  # starts with 1
    # mobile numbers: with or without +86, spaces or dashes
    ("CN_MOBILE", "13812345678", True),
    ("CN_MOBILE", "+86 138 1234 5678", True),
    ("CN_MOBILE", "+8613812345678", True),
    ("CN_MOBILE", "0086-138-1234-5678", True),
    ("CN_MOBILE", "138-1234-5678", True),
    ("CN_MOBILE", "手机13812345678", True),
    ("CN_MOBILE", "电话：19912345678。", True),
    ("CN_MOBILE", "12812345678", False),  # no 12x mobile prefix
    ("CN_MOBILE", "1381234567", False),  # 10 digits
    ("CN_MOBILE", "138123456789", False),  # 12 digits
    ("CN_MOBILE", "202613812345678", False),  # inside a longer number
    ("CN_MOBILE", "1719705600000", False),  # millisecond timestamp
    # masked mobiles
    ("CN_MOBILE_MASKED", "133****2434", True),
    ("CN_MOBILE_MASKED", "李雪 133****2434", True),
    ("CN_MOBILE_MASKED", "138********", True),
    ("CN_MOBILE_MASKED", "*******2434", True),
    ("CN_MOBILE_MASKED", "123****2434", False),  # no 12x prefix
    ("CN_MOBILE_MASKED", "133***2434", False),  # 10 characters
    ("CN_MOBILE_MASKED", "5133****24341", False),  # inside a longer code
    # landlines: area code, valid subscriber number (phonenumbers)
    ("CN_LANDLINE", "(028)65722498", True),
    ("CN_LANDLINE", "010-71485966", True),
    ("CN_LANDLINE", "座机0755-86688888", True),
    ("CN_LANDLINE", "021 6234 5678", True),
    ("CN_LANDLINE", "0571-8888888", False),  # Hangzhou numbers have 8 digits
    ("CN_LANDLINE", "(0755)2345678", False),  # so do Shenzhen's
    ("CN_LANDLINE", "2026-06301234", False),  # not an area code
    # emails
    ("EMAIL_ADDRESS", "zhang.wei@example.com", True),
    ("EMAIL_ADDRESS", "邮箱zhang95@163.com谢谢", True),
    ("EMAIL_ADDRESS", "a+b@mail.qq.com", True),
    ("EMAIL_ADDRESS", "zhang@localhost", False),
    ("EMAIL_ADDRESS", "@163.com", False),
    ("EMAIL_ADDRESS", "z***@qq.com", True),  # masked, still an email
    # IPv4 / IPv6
    ("IP_ADDRESS", "192.168.1.20", True),
    ("IP_ADDRESS", "登录IP:36.112.5.7", True),
    ("IP_ADDRESS", "2408:8207:1e:2f::1", True),
    ("IP_ADDRESS", "fe80::1ff:fe23:4567:890a", True),
    ("IP_ADDRESS", "256.1.1.1", False),
    ("IP_ADDRESS", "1.2.3", False),
    ("IP_ADDRESS", "2026-06-30 12:30:45", False),  # a clock is not IPv6
    ("IP_ADDRESS", "aa:bb:cc:dd:ee:ff", False),  # a MAC is not IPv6
    ("IP_ADDRESS", "0.0.0.0", False),
    # WeChat wxid and custom WeChat IDs written after 微信/vx
    ("WECHAT_WXID", "wxid_ab12cd34ef56", True),
    ("WECHAT_WXID", "加我wxid_zz9988776655aa", True),
    ("WECHAT_WXID", "wxid_ab12", False),  # too short
    ("WECHAT_WXID", "mywxid_ab12cd34ef56", False),
    ("WECHAT_HANDLE", "微信号：zhang_wei88", True),
    ("WECHAT_HANDLE", "加vx lily-2024 详聊", True),
    ("WECHAT_HANDLE", "微信 abc", False),  # too short
    ("WECHAT_HANDLE", "微信支付", False),
    ("WECHAT_HANDLE", "wxid_ab12cd34ef56", False),  # a wxid, its own entity
    # WeChat openid / unionid: 28 characters starting with o
    ("WECHAT_OPENID", "oXG4ayOC3JS_k6tI7O6BaIAajzXX", True),
    ("WECHAT_OPENID", "o8HYoiuPyBdEK-lImMDeXGvgZW12", True),
    ("WECHAT_OPENID", "OXG4ayOC3JS_k6tI7O6BaIAajzXX", False),  # upper-case O
    ("WECHAT_OPENID", "oXG4ayOC3JS_k6tI7O6BaIAajzX", False),  # 27
    ("WECHAT_OPENID", "oXG4ayOC3JS_k6tI7O6BaIAajzXXY", False),  # 29
    # WeCom external_userid: wm / wo
    ("WECOM_EXTERNAL_USERID", "wmiTAhpYhtscii2unlLSc5F4IPU30cb4", True),
    ("WECOM_EXTERNAL_USERID", "woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA", True),
    ("WECOM_EXTERNAL_USERID", "wxiTAhpYhtscii2unlLSc5F4IPU30cb4", False),
    ("WECOM_EXTERNAL_USERID", "wmiTAhpYht", False),
    # passports
    ("CN_PASSPORT", "E12345678", True),
    ("CN_PASSPORT", "G87654321", True),
    ("CN_PASSPORT", "EA1234567", True),
    ("CN_PASSPORT", "护照E12345678", True),
    ("CN_PASSPORT", "E1234567", False),
    ("CN_PASSPORT", "X12345678", False),
    ("CN_PASSPORT", "E123456789", False),
    # license plates: province + letter + 5 (or new-energy 6)
    ("CN_LICENSE_PLATE", "京A12345", True),
    ("CN_LICENSE_PLATE", "粤B·D12345", True),
    ("CN_LICENSE_PLATE", "沪AD12345", True),
    ("CN_LICENSE_PLATE", "车牌浙A8B9C0已登记", True),
    ("CN_LICENSE_PLATE", "京A1234", False),
    ("CN_LICENSE_PLATE", "京I12345", False),  # I is never used
    ("CN_LICENSE_PLATE", "A12345", False),
    # coordinates
    ("GEO_COORDINATES", "31.230416,121.473701", True),
    ("GEO_COORDINATES", "121.4737, 31.2304", True),
    ("GEO_COORDINATES", "位置39.9042,116.4074附近", True),
    ("GEO_COORDINATES", "12.50,30.00", False),  # amounts have 2 decimals
    ("GEO_COORDINATES", "95.1234,200.5678", False),  # out of range
    ("GEO_COORDINATES", "[0.1234, -0.2345, 0.3456]", False),  # a vector, not a pair
    # IMEI: 15 digits with Luhn
    ("DEVICE_IMEI", "860123456789014", True),
    ("DEVICE_IMEI", "860123456789015", False),
    ("DEVICE_IMEI", "8601234567890145", False),
    ("DEVICE_IMEI", "356938035643809", True),
    # MAC
    ("MAC_ADDRESS", "00:1A:2B:3C:4D:5E", True),
    ("MAC_ADDRESS", "00-1a-2b-3c-4d-5e", True),
    ("MAC_ADDRESS", "00:1A:2B:3C:4D", False),
]


def _presidio(entity: str, text: str) -> bool:
    results = build_analyzer().analyze(text=text, language=LANGUAGE, entities=[entity])
    return any(r.entity_type == entity for r in results)


def _vectorized(entity: str, text: str) -> bool:
    vals = Values(pd.Series([text], dtype="str"), np.array([1]))
    spec = SPEC[entity]
    return any(
        f.matched == 1 and f.rule.startswith(entity)
        for f in scan_patterns(vals, "", as_of=AS_OF)
        if f.category is spec.category
    )


@pytest.mark.parametrize(("entity", "text", "expected"), TABLE)
def test_recognizer_table(entity: str, text: str, expected: bool) -> None:
    assert _presidio(entity, text) is expected
    assert _vectorized(entity, text) is expected


def test_every_spec_has_valid_and_invalid_rows() -> None:
    for spec in SPECS:
        outcomes = {expected for entity, _, expected in TABLE if entity == spec.entity}
        assert outcomes == {True, False}, spec.entity


def test_validated_match_scores_maximum_and_header_context_boosts() -> None:
    analyzer = build_analyzer()
    (rid,) = analyzer.analyze(
        text="110105199003071239", language=LANGUAGE, entities=["CN_RESIDENT_ID"]
    )
    assert rid.score == 1.0
    (plain,) = analyzer.analyze(text="E12345678", language=LANGUAGE, entities=["CN_PASSPORT"])
    (boosted,) = analyzer.analyze(
        text="E12345678", language=LANGUAGE, entities=["CN_PASSPORT"], context=["护照号"]
    )
    assert boosted.score > plain.score


def test_resident_id_wins_over_card_for_the_same_digits() -> None:
    value = "440305198506150038"  # a valid ID that also passes Luhn
    assert is_resident_id(value)
    assert _presidio("CN_BANK_CARD", value)  # alone, the card recognizer would take it
    vals = Values(pd.Series([value], dtype="str"), np.array([1]))
    matched = {f.category.value: f.matched for f in scan_patterns(vals, "", as_of=AS_OF)}
    assert matched["national_id"] == 1
    assert matched.get("financial_account", 0) == 0
    (finding,) = [f for f in analyze_sample(vals, "", as_of=AS_OF) if f.matched]
    assert finding.category.value == "national_id"


_ALPHABET = (
    "0123456789１２３٣xX+-. :,@年月日岁省市路号ab\n　" + "o_wmE京A孕周医院在机场《》师清真孩子岁"
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet=_ALPHABET, max_size=40), min_size=1, max_size=30, unique=True))
def test_contains_and_fullmatch_equal_python_re(texts: list[str]) -> None:
    """Both engines (Python's ``re`` on samples, the RE2 prefilter and pandas on more values)
    give what Python's ``re`` gives: the prefilter never drops a match (Unicode digits too)."""
    values = pd.Series(texts, dtype="str")
    patterns = [s.compiled for s in SPECS] + [
        detectors._AGE_SUFFIX, detectors._ADDRESS, shapes._LAT_KEY, shapes._TIMESTAMP,
        shapes._IMAGE_URL, detectors._DATE, detectors._NAME, detectors._PLACES,
        shapes._GEOHASH, shapes._UUID, detectors._AGE_NUMBER, detectors._NAME_LABEL,
        detectors._MASKED_NAME, detectors._MONTH_DAY, terms.NOT_MENTIONS, terms.CHILD_AGE,
        *terms.TERMS.values(),
    ]  # fmt: skip
    for small in (detectors._PYTHON_RE_MAX, 0):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(detectors, "_PYTHON_RE_MAX", small)
            for pattern in patterns:
                searched = [pattern.search(t) is not None for t in texts]
                whole = [pattern.fullmatch(t) is not None for t in texts]
                assert detectors.contains(values, pattern).tolist() == searched, pattern.pattern
                assert detectors.fullmatch(values, pattern).tolist() == whole, pattern.pattern
