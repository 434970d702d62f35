"""Writes the hand-written tricky screening benchmark: ``tricky.csv`` (UTF-8) and
``tricky_gb18030.csv`` (GB18030). Labels are in ``labels.json``. Deterministic:

    python tests/data/screening/make_tricky.py
"""

from __future__ import annotations

import base64
import csv
import json
import random
import uuid
from pathlib import Path

from stdnum import luhn
from stdnum.cn import ric

HERE = Path(__file__).resolve().parent
ROWS = 200
rng = random.Random(20260630)
REGIONS = ("110105", "310104", "440305", "330106", "510107", "420106", "320102", "370202")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍"
CITIES = ("杭州市", "上海市", "北京市", "深圳市", "成都市", "武汉市", "南京市", "西安市")
PROVINCES = ("浙江省", "广东省", "江苏省", "四川省", "湖北省", "山东省", "河南省", "北京市")


def digits(n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def resident_id(minor: bool = False) -> str:
    while True:
        year = rng.randint(2014, 2020) if minor else rng.randint(1950, 2004)
        body = f"{rng.choice(REGIONS)}{year}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        value = body + digits(3)
        value += ric.calc_check_digit(value + "0")
        if ric.is_valid(value):  # the region code must exist in the birth year
            return value


def not_resident_id() -> str:
    while True:
        v = "2026" + digits(14)
        if not ric.is_valid(v):
            return v


def card() -> str:
    body = rng.choice(("62", "62", "4", "5")) + digits(rng.choice((15, 16)) - 1)
    if len(body) < 15:
        body += digits(15 - len(body))
    return body + luhn.calc_check_digit(body)


def not_card() -> str:
    while True:
        v = rng.choice("3456") + digits(15)
        if not luhn.is_valid(v):
            return v


def any16() -> str:
    return rng.choice("3456") + digits(15)


def mobile(style: int) -> str:
    n = rng.choice(("138", "139", "186", "157", "199", "177")) + digits(8)
    return (n, f"+86 {n[:3]} {n[3:7]} {n[7:]}", f"{n[:3]}-{n[3:7]}-{n[7:]}", f"+86{n}")[style % 4]


def ip() -> str:
    if rng.random() < 0.3:
        return (
            f"2408:8207:{rng.randint(0, 65535):x}:{rng.randint(0, 65535):x}::{rng.randint(1, 999)}"
        )
    return ".".join(str(rng.randint(1, 254)) for _ in range(4))


def token(first: str, n: int) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
    return first + "".join(rng.choice(alphabet) for _ in range(n))


def plate() -> str:
    p = rng.choice("京沪粤浙苏川鄂")
    tail = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(4)) + digits(1)
    return p + rng.choice("ABCDEF") + (tail if rng.random() < 0.7 else "D" + tail)


def name() -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def date_of_birth(minor_share: float = 0.1) -> str:
    y = rng.randint(2013, 2020) if rng.random() < minor_share else rng.randint(1950, 2004)
    return f"{y}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def coords() -> str:
    return f"{rng.uniform(22, 40):.6f},{rng.uniform(100, 122):.6f}"


def trajectory() -> str:
    points = [
        f"2026-06-{rng.randint(1, 28):02d} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00 "
        f"{rng.uniform(30, 31):.5f},{rng.uniform(120, 121):.5f}"
        for _ in range(rng.randint(2, 4))
    ]
    return ";".join(points)


def geohash() -> str:
    return "wtw" + "".join(rng.choice("0123456789bcdefghjkmnpqrstuvwxyz") for _ in range(4))


def data_uri() -> str:
    raw = b"\xff\xd8\xff\xe0" + bytes(rng.randint(0, 255) for _ in range(30))
    return "data:image/jpeg;base64," + base64.b64encode(raw).decode()


def vector(n: int) -> str:
    return "[" + ", ".join(f"{rng.gauss(0, 0.1):.5f}" for _ in range(n)) + "]"


def sometimes(value: str, share: float, other: str = "") -> str:
    return value if rng.random() < share else other


REMARKS_PLAIN = (
    "喜欢看基督山伯爵", "住在佛山，周末来店", "关注新品上市", "报道教育新闻的记者", "买了电子血压计送父母",
    "要发票", "老客户，复购率高", "价格敏感，等活动", "礼拜天不方便联系", "已加企业微信",
)  # fmt: skip
REMARKS_HEALTH = ("有高血压，少盐", "孕期，推荐孕妇装", "对花生过敏", "糖尿病，选无糖款")
REMARKS_RELIGION = ("信基督教，周日做礼拜", "佛教徒，吃素", "穆斯林，只要清真食品")
PRODUCTS = (
    "王老吉凉茶", "电子血压计", "基督山伯爵（精装）", "佛山无影脚DVD", "无糖燕麦片", "儿童保温杯",
    "孕妇枕", "蓝牙耳机", "张小泉剪刀", "李锦记酱油",
)  # fmt: skip


def remark() -> str:
    r = rng.random()
    if r < 0.08:
        return rng.choice(REMARKS_HEALTH)
    if r < 0.13:
        return rng.choice(REMARKS_RELIGION)
    return rng.choice(REMARKS_PLAIN)


def build() -> dict[str, list[str]]:
    ages = [str(rng.randint(3, 80)) for _ in range(ROWS)]
    cols: dict[str, list[str]] = {
        "身份证号码": [resident_id(i % 15 == 0) for i in range(ROWS)],
        "sfzh": [resident_id() for _ in range(ROWS)],
        "col_01": [resident_id() for _ in range(ROWS)],
        "银行卡号": [sometimes(card(), 0.4) for _ in range(ROWS)],
        "col_02": [card() for _ in range(ROWS)],
        "col_03": [not_card() for _ in range(ROWS)],
        "优惠券码": [any16() for _ in range(ROWS)],
        "订单编号": [not_resident_id() for _ in range(ROWS)],
        "col_25": [not_resident_id() for _ in range(ROWS)],
        "联系电话": [mobile(i) for i in range(ROWS)],
        "sjh": [mobile(0) for _ in range(ROWS)],
        "col_04": [mobile(i) for i in range(ROWS)],
        "col_05": [
            f"{token('u', 6).lower()}@{rng.choice(('qq.com', '163.com', 'example.cn'))}"
            for _ in range(ROWS)
        ],
        "E-mail": [sometimes(f"{token('a', 5).lower()}@126.com", 0.5) for _ in range(ROWS)],
        "col_06": [ip() for _ in range(ROWS)],
        "col_07": [token("o", 27) for _ in range(ROWS)],
        "col_08": [token(rng.choice(("wm", "wo")), 30) for _ in range(ROWS)],
        "col_09": [rng.choice("EG") + digits(8) for _ in range(ROWS)],
        "护照号": [sometimes(rng.choice("EG") + digits(8), 0.2) for _ in range(ROWS)],
        "col_10": [plate() for _ in range(ROWS)],
        "cph": [plate() for _ in range(ROWS)],
        "zongjiao": [
            sometimes(rng.choice(("佛教", "基督教", "伊斯兰教", "无")), 0.1) for _ in range(ROWS)
        ],
        "客户备注": [remark() for _ in range(ROWS)],
        "col_11": [rng.choice(REMARKS_PLAIN) for _ in range(ROWS)],
        "jkzk": [
            sometimes(rng.choice(("良好", "一般", "高血压", "糖尿病")), 0.5) for _ in range(ROWS)
        ],
        "col_12": [sometimes(data_uri(), 0.6) for _ in range(ROWS)],
        "人脸图片": [
            sometimes(
                f"https://img.example.cn/u/{uuid.UUID(int=rng.getrandbits(128)).hex}.jpg", 0.5
            )
            for _ in range(ROWS)
        ],
        "product_image": [
            f"https://img.example.cn/p/{rng.randint(1000, 9999)}.png" for _ in range(ROWS)
        ],
        "col_13": [sometimes(vector(512), 0.3) for _ in range(ROWS)],
        "col_14": [coords() for _ in range(ROWS)],
        "col_15": [trajectory() for _ in range(ROWS)],
        "geohash": [geohash() for _ in range(ROWS)],
        "col_16": [geohash() for _ in range(ROWS)],
        "所在城市": [rng.choice(CITIES) for _ in range(ROWS)],
        "col_17": [rng.choice(PROVINCES) for _ in range(ROWS)],
        "收货地址": [
            f"{rng.choice(PROVINCES)}{rng.choice(CITIES)}西湖区文三路{rng.randint(1, 500)}号"
            for _ in range(ROWS)
        ],
        "col_18": [
            f"{rng.choice(CITIES)}朝阳区建国路{rng.randint(1, 500)}号{rng.randint(1, 30)}栋"
            f"{rng.randint(101, 2999)}室"
            for _ in range(ROWS)
        ],
        "zzmm": [rng.choice(("中共党员", "群众", "共青团员", "群众")) for _ in range(ROWS)],
        "col_19": [
            rng.choice(("退役军人", "残疾人", "低保户", "无", "无", "无", "无"))
            for _ in range(ROWS)
        ],
        "nl": ages,
        "col_20": [f"{a}岁" for a in ages],
        "csrq": [date_of_birth() for _ in range(ROWS)],
        "col_21": [date_of_birth(0.0) for _ in range(ROWS)],
        "xb": [rng.choice("男女") for _ in range(ROWS)],
        "col_22": [rng.choice(("M", "F")) for _ in range(ROWS)],
        "xingming": [name() for _ in range(ROWS)],
        "col_23": [name() for _ in range(ROWS)],
        "device_id": [str(uuid.UUID(int=rng.getrandbits(128))).upper() for _ in range(ROWS)],
        "col_24": [
            (lambda b: b + luhn.calc_check_digit(b))("86" + digits(12)) for _ in range(ROWS)
        ],
        "lastLoginIP": [ip() for _ in range(ROWS)],
        "金额": [f"{rng.lognormvariate(4, 1):.2f}" for _ in range(ROWS)],
        "购买次数": [str(rng.randint(0, 40)) for _ in range(ROWS)],
        "col_30": [str(rng.randint(0, 40)) for _ in range(ROWS)],
        "下单时间": [
            f"2026-{rng.randint(1, 6):02d}-{rng.randint(1, 28):02d} "
            f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00"
            for _ in range(ROWS)
        ],
        "注册日期": [
            f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}" for _ in range(ROWS)
        ],
        "商品名称": [rng.choice(PRODUCTS) for _ in range(ROWS)],
        "渠道": [
            rng.choice(("渠道活码", "公众号", "小程序", "线下活动", "口碑推荐"))
            for _ in range(ROWS)
        ],
        "col_26": [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(ROWS)],
        "col_27": [
            f"{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}" for _ in range(ROWS)
        ],
        "col_28": [f"SKU-{rng.randint(10000, 99999)}" for _ in range(ROWS)],
        "session_token": [token(rng.choice("abcxyzABC"), 27) for _ in range(ROWS)],
        "快递单号": [f"SF{digits(12)}" for _ in range(ROWS)],
        "col_31": [f"{rng.uniform(0, 100):.1f}%" for _ in range(ROWS)],
        "col_32": [f"{rng.getrandbits(160):040x}" for _ in range(ROWS)],
        "lifecycle_stage": [
            rng.choice(("introduction", "growth", "mature", "decline")) for _ in range(ROWS)
        ],
    }
    return cols


def gb18030_table() -> dict[str, list[str]]:
    return {
        "客户姓名": [name() for _ in range(ROWS)],
        "手机号码": [mobile(i) for i in range(ROWS)],
        "证件号码": [resident_id(i % 20 == 0) for i in range(ROWS)],
        "宗教信仰": [sometimes(rng.choice(("佛教", "道教", "天主教")), 0.15) for _ in range(ROWS)],
        "备注": [remark() for _ in range(ROWS)],
        "城市": [rng.choice(CITIES) for _ in range(ROWS)],
        "商品名称": [rng.choice(PRODUCTS) for _ in range(ROWS)],
        "积分": [str(rng.randint(0, 5000)) for _ in range(ROWS)],
    }


def write(path: Path, cols: dict[str, list[str]], encoding: str) -> None:
    with path.open("w", encoding=encoding, newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        w.writerows(zip(*cols.values(), strict=True))


def main() -> None:
    write(HERE / "tricky.csv", build(), "utf-8")
    write(HERE / "tricky_gb18030.csv", gb18030_table(), "gb18030")
    print(json.dumps({"written": ["tricky.csv", "tricky_gb18030.csv"]}))


if __name__ == "__main__":
    main()
