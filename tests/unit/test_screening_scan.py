"""Column-level screening: every category from headers and from values alone, decoys clean.

Each case is screened twice, by presidio on a sample and by the vectorized full scan.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from privseg.screening import screen
from privseg.taxonomy import Category

AS_OF = date(2026, 6, 30)
N = 60


def cycle(*values: str, n: int = N) -> list[str | None]:
    return [values[i % len(values)] for i in range(n)]


IDS = ("110105199003071239", "11010519491001004X", "310104198512310089")
MINOR_IDS = ("440305201506150024", "330106201207010013")
NAMES = ("张伟", "王芳", "李娜", "刘强", "陈静", "杨磊", "黄丽", "赵军", "吴敏", "周杰", "徐洋",
         "孙艳", "马超", "朱红", "胡斌", "郭峰", "何平", "高翔", "林涛", "罗娟")  # fmt: skip
VECTOR = json.dumps([round((i % 7) / 10 - 0.3, 4) for i in range(128)])

# (header, values, expected categories)
CASES: list[tuple[str, list[str | None], set[str]]] = [
    # direct identifiers from values alone
    ("col_01", cycle(*IDS), {"national_id"}),
    ("col_02", cycle(*IDS, *MINOR_IDS), {"national_id", "minor"}),
    (
        "col_03",
        cycle("6222021234567894", "621483012345678902", "4111111111111111"),
        {"financial_account"},
    ),
    ("col_04", cycle("13812345678", "+86 139 1234 5678", "186-1234-5678"), {"phone_number"}),
    ("col_05", cycle("a@163.com", "b.c@qq.com", "zhang@example.cn"), {"email"}),
    ("col_06", cycle("36.112.5.7", "2408:8207:1e:2f::1", "10.0.0.8"), {"ip_address"}),
    (
        "col_07",
        cycle("oXG4ayOC3JS_k6tI7O6BaIAajzXX", "o8HYoiuPyBdEK-lImMDeXGvgZW12"),
        {"wechat_id"},
    ),
    (
        "col_08",
        cycle("wmiTAhpYhtscii2unlLSc5F4IPU30cb4", "woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA"),
        {"wechat_id"},
    ),
    ("col_09", cycle("E12345678", "G87654321", "EA1234567"), {"passport"}),
    ("col_10", cycle("京A12345", "粤B·D12345", "沪AD12345"), {"license_plate"}),
    ("col_11", cycle("860123456789014", "00:1A:2B:3C:4D:5E"), {"device_id"}),
    ("col_12", cycle(*NAMES), {"person_name"}),
    # sensitive categories from values alone
    (
        "col_13",
        cycle("客户有高血压，少盐", "喜欢看基督山伯爵", "住在佛山", "要发票", "老客户"),
        {"medical_health"},
    ),
    (
        "col_14",
        cycle("信基督教", "基督山伯爵好看", "佛山人", "报道教育新闻", "买了佛山特产"),
        {"religious_belief"},
    ),
    ("col_15", cycle("退役军人", "无", "低保户", "无"), {"specific_identity"}),
    ("col_27", cycle("离异，带娃", "无", "有前科", "无", "已婚"), {"other_sensitive"}),
    ("col_28", cycle("张伟", "李娜", "王芳", "刘强"), {"person_name"}),  # a staff column
    ("col_29", cycle("华东", "华南", "华北", "华中"), set()),  # regions, not staff
    ("col_31", cycle("周一", "周三", "周五", "周日"), set()),  # weekdays, not staff
    ("col_32", cycle("金牌", "银牌", "铜牌"), set()),
    ("col_30", cycle("黄姐(北京)", "李雪 133****2434", *NAMES), {"person_name", "phone_number"}),
    (
        "col_16",
        cycle("data:image/jpeg;base64,/9j/4AAQSkZJRgABAQ==", "iVBORw0KGgoAAAANSUhEUg=="),
        {"biometric"},
    ),
    ("col_17", cycle(VECTOR), {"biometric"}),
    ("col_18", cycle("31.230416,121.473701", "39.904200,116.407400"), {"whereabouts"}),
    (
        "col_19",
        cycle("2026-06-01 08:00:00 31.2304,121.4737;2026-06-01 09:00:00 31.2404,121.4837"),
        {"whereabouts"},
    ),
    ("col_20", cycle("wtw3sjq", "wtw3sm0", "wtw37qh", "wtmkq2p", "wtw3u8f"), {"whereabouts"}),
    ("col_21", cycle("1985-03-02", "1960-11-30", "2001-07-15", "1972-01-09"), {"birth_date"}),
    ("col_22", cycle("1985-03-02", "2016-11-30", "2001-07-15"), {"birth_date", "minor"}),
    ("col_23", cycle("35岁", "8岁", "62岁"), {"age", "minor"}),
    ("col_24", cycle("男", "女", "女"), {"gender"}),
    (
        "col_25",
        cycle("浙江省杭州市西湖区文三路100号", "广东省深圳市南山区科技园路8号3栋201室"),
        {"address"},
    ),
    ("col_26", cycle("浙江省", "广东省", "北京市"), {"address"}),
    # header evidence: Chinese, English, pinyin; mostly empty columns still count
    ("宗教信仰", [None] * (N - 2) + ["佛教", "无"], {"religious_belief"}),
    ("zongjiao", [None] * N, {"religious_belief"}),
    ("健康状况", cycle("良好", "一般"), {"medical_health"}),
    ("政治面貌", cycle("群众", "中共党员"), {"specific_identity"}),
    ("登录密码", cycle("a1b2c3d4", "Passw0rd!"), {"other_sensitive"}),
    # issue 12's false hits: these headers name one category, not two
    ("MAC地址", cycle("00:1A:2B:3C:4D:5E", "A4-5E-60-C8-11-02"), {"device_id"}),
    ("ID card no", cycle(*IDS), {"national_id"}),
    ("收货人省份", cycle("浙江省", "广东省"), {"address"}),
    # header-only shapes
    ("生日", cycle("09-01", "12-25", "0308"), {"birth_date"}),
    ("微信号", cycle("zhang_wei88", "lily-2024", "abc123456"), {"wechat_id"}),
    ("广告ID", cycle("6D92078A-8246-4BA4-AE5B-76104861E7DC"), {"device_id"}),
    (
        "人脸照片",
        cycle("https://img.example.cn/f/1.jpg", "https://img.example.cn/f/2.jpg"),
        {"biometric"},
    ),
    ("最近位置", cycle("31.230416,121.473701", "39.904200,116.407400"), {"whereabouts"}),
    ("最近位置", cycle("上海", "北京"), {"address"}),  # a city alone is not whereabouts
    ("银行卡号", [None] * N, {"financial_account"}),
    ("age", cycle("35", "8", "62"), {"age", "minor"}),
    ("nl", cycle("35", "42", "62"), {"age"}),
    ("xb", cycle("1", "2"), {"gender"}),
    ("csrq", cycle("19850302", "19600101"), {"birth_date"}),
    ("监护人", cycle(*NAMES), {"minor", "person_name"}),
    ("device_id", cycle("6F9619FF-8B86-D011-B42D-00C04FC964FF"), {"device_id"}),
    ("外部联系人ID", cycle("wmiTAhpYhtscii2unlLSc5F4IPU30cb4"), {"wechat_id"}),
    ("sfzh", cycle(*IDS), {"national_id"}),
    ("sjh", cycle("13812345678"), {"phone_number"}),
    ("passport_no", cycle("E12345678"), {"passport"}),
    ("cph", cycle("京A12345"), {"license_plate"}),
    ("E-mail", cycle("a@163.com"), {"email"}),
    ("lastLoginIP", cycle("36.112.5.7"), {"ip_address"}),
    ("城市", cycle("杭州", "上海"), {"address"}),
    # decoys stay clean
    ("col_30", cycle("202606301234567890", "202606301234567891"), set()),  # 18-digit order ids
    ("col_31", cycle("6222021234567895", "1234567812345678", "5123456789012345"), set()),
    ("金额", cycle("12.50", "1999.00", "0.99"), set()),
    ("购买次数", cycle("1", "5", "12"), set()),
    ("col_32", cycle("3", "15", "7"), set()),
    ("下单时间", cycle("2026-06-01 12:30:45", "2026-05-02 08:00:00"), set()),
    ("注册日期", cycle("2025-06-01", "2026-01-02"), set()),
    ("商品名称", cycle("王老吉凉茶", "电子血压计", "基督山伯爵（精装）", "佛山无影脚DVD"), set()),
    ("渠道来源", cycle("渠道活码", "公众号", "小程序", "线下活动", "口碑推荐"), set()),
    ("手机型号", cycle("iPhone 15", "Mate 60"), set()),
    ("product_name", cycle("蓝牙耳机", "保温杯"), set()),
    ("col_33", cycle("SKU-10023", "SKU-20031"), set()),
    ("col_34", cycle("3.10.2", "1.0.12"), set()),
    ("col_35", cycle("6f9619ff-8b86-d011-b42d-00c04fc964ff"), set()),  # uuid without header
    ("col_36", cycle("https://img.example.cn/p/1.png"), set()),  # image url, not a face column
    ("col_37", cycle("13812345678901234"), set()),
    ("col_38", cycle("12.50,30.00"), set()),
    # people by their role, names with a title (issue 12 holdout)
    ("团长", cycle("李娜", "王强", "陈宝妈", "赵敏(团长)"), {"person_name"}),
    ("接诊医生", cycle("王伟医生", "陈医生", "刘芳医生"), {"person_name"}),
    (
        "col_39",
        cycle("王伟医生", "陈静老师", "刘经理", "赵敏宝妈", "孙杰主任", "周宇"),
        {"person_name"},
    ),
    ("col_40", cycle("白色女士款", "金牌顾问套餐", "黄金会员"), set()),
    ("医生建议", cycle("多喝水", "按时复诊"), {"medical_health"}),
    ("vet_fee", cycle("120", "80"), set()),
    # a generic document number holds passports next to resident IDs
    (
        "证件号码",
        cycle("11010519491231002X", "E12345678", "EA1234567", "110105194912310021"),
        {"national_id", "passport"},
    ),
    ("证件号码", cycle("11010519491231002X", "110105194912310021"), {"national_id"}),
    ("chusheng_riqi", cycle("19850312", "19920704"), {"birth_date"}),
    ("chusheng_didian", cycle("南京", "厦门"), {"address"}),
]


@pytest.mark.parametrize("full", [False, True], ids=["sample", "full"])
@pytest.mark.parametrize(("header", "values", "expected"), CASES, ids=[c[0] for c in CASES])
def test_column_categories(
    header: str, values: list[str | None], expected: set[str], full: bool
) -> None:
    table = pd.DataFrame({header: pd.Series(values, dtype="str")})
    (verdict,) = screen(table, as_of=AS_OF, full=full, sample=40).columns
    assert {c.value for c in verdict.categories} == expected
    assert verdict.sensitive == any(Category(c) in _SENSITIVE for c in expected)


_SENSITIVE = {
    Category.BIOMETRIC,
    Category.RELIGIOUS_BELIEF,
    Category.SPECIFIC_IDENTITY,
    Category.MEDICAL_HEALTH,
    Category.FINANCIAL_ACCOUNT,
    Category.WHEREABOUTS,
    Category.MINOR,
    Category.OTHER_SENSITIVE,
}


def test_every_category_is_covered() -> None:
    covered = set().union(*(e for _, _, e in CASES))
    assert covered == {c.value for c in Category}


def test_native_types_from_parquet_and_excel() -> None:
    table = pd.DataFrame(
        {
            "col_a": [13812345678.0, 13912345678.0, None],  # Excel turns numbers into floats
            "col_b": [b"\xff\xd8\xff\xe0JFIF", b"\x89PNG\r\n\x1a\nxx", None],  # image bytes
            "col_c": pd.to_datetime(["1985-03-02", "2016-11-30", "1960-01-01"]),
        }
    )
    report = screen(table, as_of=AS_OF)
    assert [set(c.categories) for c in report.columns] == [
        {Category.PHONE_NUMBER},
        {Category.BIOMETRIC},
        {Category.BIRTH_DATE, Category.MINOR},
    ]


def test_report_counts_rows_and_marks_sampled_columns() -> None:
    table = pd.DataFrame({"mobile": ["13812345678"] * 500, "note": [None] * 499 + ["x"]})
    sampled = screen(table, sample=100)
    assert sampled.rows == 500
    assert sampled.column("mobile").sampled and not sampled.column("note").sampled
    assert sampled.column("mobile").examined == 100
    assert sampled.rows_examined == 101
    full = screen(table, full=True)
    assert full.rows_examined == 500 and not full.column("mobile").sampled


def test_confidence_grows_when_header_and_values_agree() -> None:
    ids = cycle(*IDS)
    both = screen(pd.DataFrame({"身份证号": ids})).columns[0].confidence
    values = screen(pd.DataFrame({"col_01": ids})).columns[0].confidence
    header = screen(pd.DataFrame({"身份证号": [None] * N})).columns[0].confidence
    assert both >= values > header > 0


def test_minor_uses_the_as_of_date() -> None:
    table = pd.DataFrame({"出生日期": ["2012-07-01", "1980-01-01"]})
    assert Category.MINOR in screen(table, as_of=date(2026, 6, 30)).columns[0].categories
    assert Category.MINOR not in screen(table, as_of=date(2026, 7, 1)).columns[0].categories


def test_invalid_sample_size() -> None:
    with pytest.raises(ValueError, match="sample"):
        screen(pd.DataFrame({"a": ["x"]}), sample=0)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_file_too_large_for_memory_is_sampled_in_two_passes_with_the_same_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    """Forcing the streamed path (small chunks, sparse columns) changes nothing in the report."""
    from privseg import io
    from privseg.demo.generator import generate
    from privseg.screening import scan

    df = generate(3_000, seed=5).customers
    path = tmp_path / f"c{suffix}"
    io.write_table(df, path)
    whole = screen(path, sample=400, as_of=AS_OF)
    calls: list[int] = []
    real_iter = io.iter_table
    monkeypatch.setattr(scan, "fits_in_memory", lambda p: False)
    monkeypatch.setattr(
        io, "iter_table", lambda p, **kw: calls.append(1) or real_iter(p, chunk_rows=700, **kw)
    )
    streamed = screen(path, sample=400, as_of=AS_OF)
    assert len(calls) == 2  # two passes, never the whole table
    assert streamed.to_dict() == whole.to_dict()
    assert streamed.rows_examined == whole.rows_examined < len(df)


def test_fits_in_memory_compares_the_file_with_available_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from privseg.screening import scan

    path = tmp_path / "t.csv"
    path.write_bytes(b"a\n" + b"1\n" * 1000)
    monkeypatch.setattr(scan, "_available_memory", lambda: 12_000)
    assert scan.fits_in_memory(path) and scan.fits_in_memory("-")
    monkeypatch.setattr(scan, "_available_memory", lambda: 4_000)
    assert not scan.fits_in_memory(path)
    monkeypatch.undo()
    assert scan._available_memory() > 0


# (detector, value, matches): the issue-12 shapes of names and birthdays, value by value
SHAPES: list[tuple[str, str, bool]] = [
    ("name", "张伟", True),
    ("name", "欧阳娜娜", True),
    ("name", "黄姐(北京)", True),  # a remark name: surname + kinship, then a note
    ("name", "李雪 133****2434", True),
    ("name", "王总-装修", True),
    ("name", "张*", True),  # masked names keep their category
    ("name", "李**", True),
    ("name", "北京", False),
    ("name", "广东省 深圳", False),
    ("name", "佛跳墙礼盒装", False),
    ("name", "Lily", False),
    ("name", "白色/M码", False),  # a product option
    ("name", "金卡-年费", False),
    ("month_day", "09-01", True),
    ("month_day", "9月1日", True),
    ("month_day", "1225", True),
    ("month_day", "13-01", False),
    ("month_day", "09-32", False),
    ("month_day", "2026-09-01", False),  # a full date is the other detector's
]


@pytest.mark.parametrize(("detector", "value", "matches"), SHAPES)
def test_shape_table(detector: str, value: str, matches: bool) -> None:
    from privseg.screening import detectors

    vals = detectors.Values(pd.Series([value], dtype="str"), np.array([1]))
    if detector == "name":
        found = detectors.names(vals)
    else:
        dates = detectors.birth_dates(vals, AS_OF)
        found = next((f for f in dates if f.rule == "month and day"), None)
    assert (found is not None and found.matched == 1) is matches
