"""Demo data: deterministic, schema per language, valid identifiers, every seed segment present."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import phonenumbers
import pytest
from stdnum import luhn, numdb
from stdnum.cn import ric

from privseg.demo import places
from privseg.demo.generator import DEMO_AS_OF, ZH_HEADERS, DemoData, Lang, generate, write_demo_data
from privseg.io import read_table

N = 5_000
AS_OF = pd.Timestamp(DEMO_AS_OF)


@pytest.fixture(scope="module")
def zh() -> DemoData:
    return generate(N, seed=7)


@pytest.fixture(scope="module")
def en() -> DemoData:
    return generate(N, seed=7, lang=Lang.EN)


@pytest.fixture(scope="module")
def customers(en: DemoData) -> pd.DataFrame:
    return en.customers


def test_same_seed_same_data_other_seed_other_data() -> None:
    a, b, c = generate(300, seed=1), generate(300, seed=1), generate(300, seed=2)
    for name, table in a.tables().items():
        pd.testing.assert_frame_equal(table, b.tables()[name])
    assert not a.customers["外部联系人ID"].isin(c.customers["外部联系人ID"]).any()
    assert not a.orders["订单号"].equals(c.orders["订单号"])


def test_headers_in_chinese_by_default_and_english_on_request(zh: DemoData, en: DemoData) -> None:
    assert list(zh.customers.columns[:4]) == ["外部联系人ID", "unionid", "openid", "姓名"]
    assert list(zh.orders.columns) == [
        "订单号",
        "外部联系人ID",
        "下单时间",
        "金额",
        "商品SKU",
        "是否促销",
    ]
    assert list(zh.interactions.columns) == [
        "外部联系人ID",
        "互动类型",
        "互动时间",
        "紧急词数",
        "重要词数",
    ]
    for z, e in zip(zh.tables().values(), en.tables().values(), strict=True):
        assert [ZH_HEADERS[c] for c in e.columns] == list(z.columns)
        assert len(z) == len(e)
        assert all(str(t) == "str" for t in z.dtypes)
    assert len(zh.customers.columns) == 26
    # the same seed gives the same people; only categorical values are translated
    assert zh.customers["身份证号"].equals(en.customers["id_number"].rename("身份证号"))
    assert set(zh.customers["性别"]) == {"男", "女"}
    assert set(en.customers["gender"]) == {"male", "female"}
    assert set(zh.customers["渠道来源"]) == {"渠道活码", "公众号", "小程序", "线下活动", "口碑推荐"}
    assert set(en.customers["channel"]) == {
        "qr_code",
        "official_account",
        "mini_program",
        "offline_event",
        "referral",
    }
    assert set(zh.interactions["互动类型"]) == {"消息", "点击", "分享", "浏览商品页", "群聊发言"}
    assert set(en.interactions["interaction_type"]) == {
        "message",
        "click",
        "share",
        "page_view",
        "group_chat",
    }
    assert set(zh.customers["关注方式"]) == {"双向", "单向"}
    assert set(en.orders["promotion"]) == {"yes", "no"}
    assert set(zh.customers["宗教信仰"].dropna()) <= {
        "佛教",
        "基督教",
        "伊斯兰教",
        "道教",
        "天主教",
    }


def test_wechat_identifiers(customers: pd.DataFrame) -> None:
    ids = customers["external_userid"]
    assert ids.str.fullmatch(r"w[mo][A-Za-z0-9]{30}").all()
    assert ids.is_unique
    assert 0.1 < ids.str.startswith("wo").mean() < 0.3
    for column in ("unionid", "openid"):
        values = customers[column].dropna()
        assert values.str.fullmatch(r"o[A-Za-z0-9_-]{27}").all()
        assert 0.5 < len(values) / len(customers) < 1


def test_resident_ids_valid_and_consistent(customers: pd.DataFrame) -> None:
    rows = customers.dropna(subset=["id_number"])
    assert len(rows) > 0.6 * len(customers)
    places = numdb.get("cn/loc")
    for number, birth, gender, province, city in rows[
        ["id_number", "birth_date", "gender", "province", "city"]
    ].itertuples(index=False):
        assert ric.is_valid(number), number
        assert ric.get_birth_date(number).isoformat() == birth
        assert gender == ("male" if int(number[16]) % 2 else "female")
        assert ric.get_birth_place(number)["province"] == province
        # the prefecture part of the region code names the city (municipalities: 市辖区)
        info = {k: v for _, props in places.info(number[:4] + "00") for k, v in props.items()}
        names = re.sub(r"\[[^]]*\]", "", info["county"]).split(",")
        assert city in names or (province == city and names == ["市辖区"]), (number, city)
    # the check character X occurs about 1 time in 11
    assert 0.05 < rows["id_number"].str.endswith("X").mean() < 0.14


def test_region_codes_valid_in_every_birth_year() -> None:
    for city in places.CITIES:
        for year in range(1940, 2026):
            codes = {
                d.code
                if year >= d.valid_from
                else (city.mid_code if year >= 1983 else city.old_code)
                for d in city.districts
            }
            for code in codes:
                body = f"{code}{year}0101123"
                number = body + ric.calc_check_digit(body + "0")
                assert ric.is_valid(number), (city.name, year, code)
                assert ric.get_birth_place(number)["province"] == city.province


def test_minors_present(customers: pd.DataFrame) -> None:
    birth = pd.to_datetime(customers["birth_date"])
    fourteen = pd.Timestamp(DEMO_AS_OF.replace(year=DEMO_AS_OF.year - 14))
    minors = birth > fourteen
    assert 0.01 < minors.mean() < 0.08
    assert customers.loc[minors, "id_number"].notna().any()
    assert (birth.dropna() < AS_OF).all()


def test_mobiles_valid_with_varied_formats(customers: pd.DataFrame) -> None:
    mobiles = customers["mobile"].dropna()
    for raw in mobiles.sample(500, random_state=0):
        parsed = phonenumbers.parse(raw, "CN")
        assert phonenumbers.is_valid_number(parsed), raw
    digits = mobiles.str.replace(r"^\+?86|[ \-+]", "", regex=True)
    assert digits.str.fullmatch(r"1[3-9]\d{9}").all()
    assert mobiles.str.fullmatch(r"1\d{10}").mean() > 0.5
    for marker in ("+86", " ", "-"):
        assert mobiles.str.contains(marker, regex=False).any(), marker


def test_bank_cards_luhn_valid_unionpay(customers: pd.DataFrame) -> None:
    cards = customers["bank_card"].dropna()
    assert 0.1 < len(cards) / len(customers) < 0.3
    assert cards.map(luhn.is_valid).all()
    assert cards.str.fullmatch(r"62\d{14,17}").all()
    assert set(cards.str.len()) == {16, 17, 18, 19}


def test_order_ids_fail_the_resident_id_check(zh: DemoData) -> None:
    ids = zh.orders["订单号"]
    assert ids.str.fullmatch(r"[1-9]\d{17}").all()
    assert ids.is_unique
    assert not ids.map(ric.is_valid).any()
    assert all(ric.calc_check_digit(i) != i[-1] for i in ids.head(2000))


def test_faces_locations_ips_and_remarks(customers: pd.DataFrame) -> None:
    photo = customers["face_photo"]
    embedding = customers["face_embedding"]
    assert photo.dropna().str.fullmatch(r"https://\S+\.jpg").all()
    assert embedding.notna().sum() > 0
    assert photo[embedding.notna()].notna().all()
    for text in embedding.dropna().head(50):
        vector = np.array(json.loads(text))
        assert vector.shape == (128,)
        assert abs(np.linalg.norm(vector) - 1) < 1e-3
    location = customers["last_location"].dropna()
    lat_lon = location.str.split(",", expand=True).astype(float)
    assert lat_lon[0].between(18, 54).all() and lat_lon[1].between(73, 136).all()
    ips = customers["last_login_ip"].dropna()
    assert ips.str.fullmatch(r"(\d{1,3}\.){3}\d{1,3}|240e(:[0-9a-f]{4}){7}").all()
    religion = customers["religion"]
    assert 0.02 < religion.notna().mean() < 0.12
    remarks = customers["remark"].dropna()
    assert remarks.str.contains("糖尿病|高血压|怀孕").any()
    assert remarks.str.contains("信佛|基督徒|穆斯林").any()
    assert remarks.str.contains("糖果|佛山").any()  # decoys


def test_event_tables_reference_customers_within_their_lifetime(zh: DemoData) -> None:
    customers = zh.customers.set_index("外部联系人ID")
    registered = pd.to_datetime(customers["注册时间"])
    for table, column in ((zh.orders, "下单时间"), (zh.interactions, "互动时间")):
        assert table["外部联系人ID"].isin(customers.index).all()
        when = pd.to_datetime(table[column], format="%Y-%m-%d %H:%M:%S")
        assert (when >= registered.loc[table["外部联系人ID"]].to_numpy()).all()
        assert (when < AS_OF).all()
    amount = zh.orders["金额"]
    assert amount.str.fullmatch(r"\d+\.\d{2}").all()
    values = amount.astype(float)
    assert values.min() >= 1 and values.max() / values.median() > 50  # heavy tail


def _spend(orders: pd.DataFrame, ids: pd.Index, days_back: int, until: int = 0) -> pd.Series:
    when = pd.to_datetime(orders["ordered_at"])
    window = (when >= AS_OF - timedelta(days=days_back)) & (when < AS_OF - timedelta(days=until))
    spent = orders.loc[window].groupby("external_userid")["amount"].sum()
    return spent.reindex(ids, fill_value=0.0)


def test_every_seed_segment_occurs(en: DemoData) -> None:
    """The DESIGN.md seed rules, computed here directly with pandas."""
    customers = en.customers.set_index("external_userid")
    ids = customers.index
    orders = en.orders.assign(amount=en.orders["amount"].astype(float))
    last_order = pd.to_datetime(orders["ordered_at"]).groupby(orders["external_userid"]).max()
    last_order = last_order.reindex(ids)
    bought = last_order.notna()
    registered = pd.to_datetime(customers["registered_at"])
    month = [_spend(orders, ids, 30 * (k + 1), 30 * k) for k in range(3)]

    lifecycle = {
        "introduction": (AS_OF - registered < timedelta(days=7)) & ~bought,
        "growth": (month[1] > 0) & (month[0] > 1.2 * month[1]),
        "mature": pd.concat(month, axis=1).pipe(
            lambda m: (m.min(axis=1) > 0) & (m.max(axis=1) <= 1.2 * m.min(axis=1))
        ),
        "decline": bought & (last_order < AS_OF - timedelta(days=182)),
    }
    year, quarter = _spend(orders, ids, 365), _spend(orders, ids, 90)
    lifetime = orders.groupby("external_userid")["amount"].sum().reindex(ids, fill_value=0.0)
    platinum = year > 100_000
    gold = ~platinum & (quarter > 10_000)
    tier = {
        "platinum": platinum,
        "gold": gold,
        "silver": ~platinum & ~gold & (year / 12 > 500),
        "bronze": bought & (lifetime < 500),
    }
    when = pd.to_datetime(en.interactions["occurred_at"])
    who = en.interactions["external_userid"]
    last_4_weeks = who[when >= AS_OF - timedelta(days=28)].value_counts().reindex(ids, fill_value=0)
    last_month = who[when >= AS_OF - timedelta(days=30)].value_counts().reindex(ids, fill_value=0)
    activity = {"high": last_4_weeks / 4 > 3, "silent": last_month < 1}

    minimum = {"platinum": 0.008, "introduction": 0.02}
    shares = {name: float(m.mean()) for name, m in {**lifecycle, **tier, **activity}.items()}
    for name, share in shares.items():
        assert minimum.get(name, 0.03) < share < 0.6, shares


def test_written_files_read_back_identically(tmp_path: Path) -> None:
    paths = write_demo_data(tmp_path / "data", 200, seed=5)
    assert {p.name for p in paths.values()} == {"customers.csv", "orders.csv", "interactions.csv"}
    expected = generate(200, seed=5)
    for name, table in expected.tables().items():
        pd.testing.assert_frame_equal(read_table(paths[name]), table, check_dtype=False)
    header = paths["customers"].read_bytes().split(b"\n", 1)[0].decode("utf-8")
    assert header.replace('"', "").startswith("外部联系人ID,unionid,openid,姓名,")


def test_as_of_moves_the_histories() -> None:
    data = generate(200, seed=1, as_of=date(2025, 1, 1))
    last = datetime.fromisoformat(data.orders["下单时间"].max())
    assert last < datetime(2025, 1, 1)
    assert last > datetime(2024, 11, 1)


def test_rejects_empty_population() -> None:
    with pytest.raises(ValueError):
        generate(0)
