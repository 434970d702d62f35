"""Writes the held-out screening benchmark (issue 12): private-domain exports from verticals
and platforms the first benchmark (``../make_exports.py``) does not cover, with value
generators written independently of it and of the detectors.

    python tests/data/screening/holdout/make_holdout.py

Verticals: online pharmacy consultation, insurance leads (pinyin headers), an auto dealer
(English headers), hotel/travel bookings, a pet clinic (pet health is not human health),
livestream-commerce orders, community group-buying, a wedding/dating club, a WeCom customer
group export, a home-decoration lead sheet with opaque ``col_N`` headers, and a survey with
free-text answers. Values come masked as platforms export them (138****1234, 张*,
310***********1234) with noise (blanks, ``null``, ``-``, full-width digits, stray spaces).

``labels.json`` gives each column's true categories; ``null`` marks a column left unscored
because its category is debatable (a VIN, a pick-up point). A free-text column carries a
category when the generator writes it into some of its values (shares 3-10%). Deterministic.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROWS = 240
rng = random.Random(20261125)

FAMILY = "李王张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段漕钱汤尹黎易常武乔贺赖龚文欧阳"
GIVEN_CHARS = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏飞斌辉宁琳晶欣悦诗涵梓睿泽宸瑶嘉颖"
)
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
NOISE = ("", "null", "-", "NULL", "无", " ")
AREA = {
    "上海": ("310", "021"),
    "南京": ("320", "025"),
    "厦门": ("350", "0592"),
    "昆明": ("530", "0871"),
    "沈阳": ("210", "024"),
    "天津": ("120", "022"),
    "重庆": ("500", "023"),
    "合肥": ("340", "0551"),
    "南宁": ("450", "0771"),
    "哈尔滨": ("230", "0451"),
    "济南": ("370", "0531"),
    "福州": ("350", "0591"),
}
DISTRICTS = ("鼓楼区", "高新区", "经开区", "滨湖区", "南岸区", "和平区", "思明区", "历下区")
ROADS = ("金桥路", "滨江大道", "学府路", "湖滨北路", "新华西街", "望江路", "枫林路", "工业大道")
ESTATES = ("阳光花园", "万科城", "碧桂园", "金色家园", "绿地世纪城", "保利香槟", "龙湖天街")


def choice(seq):  # type: ignore[no-untyped-def]
    return seq[rng.randrange(len(seq))]


def num(n: int) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(n))


def noisy(value: str, share: float = 0.06) -> str:
    """Blanks and placeholders as exports carry them; sometimes full-width digits or spaces."""
    r = rng.random()
    if r < share:
        return choice(NOISE)
    if r < share * 1.5:
        return value.translate(FULLWIDTH)
    if r < share * 2:
        return f" {value} "
    return value


def person() -> str:
    given = "".join(choice(GIVEN_CHARS) for _ in range(rng.choice((1, 2, 2))))
    return choice(FAMILY) + given


def masked_person() -> str:
    full = person()
    return full[0] + "*" * (len(full) - 1) if rng.random() < 0.5 else full[0] + "*" + full[-1]


def cell() -> str:
    return choice(("139", "186", "158", "177", "133", "199", "150", "182", "166", "191")) + num(8)


def masked_cell() -> str:
    c = cell()
    return c[:3] + "****" + c[-4:]


def check_digit(body: str) -> str:
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    return "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


def citizen_id(first: int = 1950, last: int = 2003) -> str:
    prefix = choice(list(AREA.values()))[0] + f"{rng.randrange(1, 30):03d}"
    born = date(first, 1, 1) + timedelta(days=rng.randrange((last - first) * 365))
    body = prefix + born.strftime("%Y%m%d") + num(3)
    return body + check_digit(body)


def masked_citizen_id() -> str:
    cid = citizen_id()
    return cid[:3] + "*" * 11 + cid[-4:] if rng.random() < 0.5 else cid[:6] + "********" + cid[-4:]


def luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def bank_card() -> str:
    body = choice(("622848", "621700", "622202", "623058", "621483")) + num(12)
    return body + luhn_digit(body)


def city_addr() -> str:
    city = choice(list(AREA))
    return (
        f"{city}市{choice(DISTRICTS)}{choice(ROADS)}{rng.randrange(1, 999)}号"
        f"{choice(ESTATES)}{rng.randrange(1, 30)}栋{rng.randrange(1, 33)}0{rng.randrange(1, 6)}"
    )


def tel() -> str:
    code = choice(list(AREA.values()))[1]
    return choice((f"{code}-{num(8)}", f"({code}){num(8)}", f"{code} {num(4)} {num(4)}"))


def stamp(days: int = 300) -> str:
    t = datetime(2026, 10, 1) - timedelta(minutes=rng.randrange(days * 1440))
    return t.strftime(choice(("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M")))


def day(days: int = 300) -> str:
    return (date(2026, 10, 1) - timedelta(days=rng.randrange(days))).isoformat()


def text(plain: list[str], mix: dict[str, tuple[float, list[str]]]) -> Callable[[], str]:
    """Free text: mostly ``plain``; each category's phrases in its share of the values."""

    def make() -> str:
        r = rng.random()
        for share, phrases in mix.values():
            if r < share:
                return (
                    choice(plain) + "，" + choice(phrases)
                    if rng.random() < 0.5
                    else choice(phrases)
                )
            r -= share
        return choice(plain) if rng.random() > 0.08 else choice(NOISE)

    return make


def build(
    cols: dict[str, tuple[Callable[[], str], list[str] | None]],
) -> tuple[pd.DataFrame, dict[str, list[str] | None]]:
    frame = pd.DataFrame({k: [gen() for _ in range(ROWS)] for k, (gen, _) in cols.items()})
    return frame, {k: labels for k, (_, labels) in cols.items()}


# --- verticals ----------------------------------------------------------------------------

DRUGS = (
    "阿莫西林胶囊",
    "布洛芬缓释胶囊",
    "二甲双胍片",
    "氯雷他定片",
    "奥美拉唑肠溶胶囊",
    "硝苯地平控释片",
    "蒙脱石散",
    "左甲状腺素钠片",
    "孟鲁司特钠咀嚼片",
)
COMPLAINTS = (
    "反复咳嗽一周，夜间加重",
    "血糖控制不好，空腹9.2",
    "皮肤起红疹瘙痒",
    "腹泻两天伴低烧",
    "血压160/100，头晕",
    "失眠多梦，焦虑",
    "胃反酸烧心",
    "甲减复查，TSH偏高",
    "过敏性鼻炎发作",
)
DIAG = (
    "上呼吸道感染",
    "2型糖尿病",
    "湿疹",
    "急性肠胃炎",
    "原发性高血压",
    "焦虑状态",
    "慢性胃炎",
    "甲状腺功能减退",
    "过敏性鼻炎",
)


def pharmacy() -> tuple[pd.DataFrame, dict[str, list[str] | None]]:
    return build(
        {
            "问诊单号": (lambda: "WZ" + day().replace("-", "") + num(6), []),
            "患者姓名": (
                lambda: noisy(masked_person() if rng.random() < 0.4 else person()),
                ["person_name"],
            ),
            "患者性别": (lambda: noisy(choice(("男", "女"))), ["gender"]),
            "患者年龄": (lambda: noisy(f"{rng.randrange(18, 86)}岁"), ["age"]),
            "联系电话": (
                lambda: noisy(masked_cell() if rng.random() < 0.5 else cell()),
                ["phone_number"],
            ),
            "主诉": (lambda: noisy(choice(COMPLAINTS)), ["medical_health"]),
            "初步诊断": (lambda: noisy(choice(DIAG)), ["medical_health"]),
            "处方药品": (
                lambda: noisy("、".join(rng.sample(DRUGS, rng.randrange(1, 3)))),
                ["medical_health"],
            ),
            "接诊医生": (
                lambda: choice(("王", "陈", "刘", "赵")) + choice(GIVEN_CHARS) + "医生",
                ["person_name"],
            ),
            "问诊时间": (lambda: stamp(), []),
            "药店门店": (
                lambda: choice(
                    (
                        "益丰大药房(学府路店)",
                        "老百姓大药房(万达店)",
                        "大参林(滨江店)",
                        "一心堂(金桥路店)",
                    )
                ),
                [],
            ),
            "订单金额": (lambda: f"{rng.randrange(800, 40000) / 100:.2f}", []),
        }
    )


def insurance() -> tuple[pd.DataFrame, dict[str, list[str] | None]]:
    health_notes = [
        "有高血压病史，服药控制",
        "去年做过甲状腺结节手术",
        "乳腺增生",
        "乙肝小三阳携带",
        "有心脏早搏",
        "曾患抑郁症",
    ]
    return build(
        {
            "xingming": (lambda: noisy(person()), ["person_name"]),
            "shouji": (lambda: noisy(cell()), ["phone_number"]),
            "shenfenzheng": (
                lambda: noisy(citizen_id() if rng.random() < 0.6 else masked_citizen_id()),
                ["national_id"],
            ),
            "chusheng_riqi": (lambda: noisy(citizen_id()[6:14]), ["birth_date"]),
            "nianshouru": (
                lambda: noisy(choice(("10万以下", "10-20万", "20-50万", "50万以上"))),
                None,
            ),
            "yinhangka": (lambda: noisy(bank_card()), ["financial_account"]),
            "jiankang_gaozhi": (
                text(["无", "均无", "否", "以上均无"], {"h": (0.25, health_notes)}),
                ["medical_health"],
            ),
            "xianzhong": (
                lambda: choice(("百万医疗险", "重疾险", "定期寿险", "意外险", "年金险")),
                [],
            ),
            "baofei": (lambda: str(rng.randrange(200, 12000)), []),
            "laiyuan_qudao": (
                lambda: choice(("公众号", "朋友圈广告", "老客户转介绍", "直播间")),
                [],
            ),
            "chuangjian_shijian": (lambda: stamp(), []),
            "zhiye": (lambda: choice(("教师", "护士", "司机", "程序员", "个体户", "销售")), []),
        }
    )


def vin() -> str:
    alphabet = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
    return choice(("LSV", "LFV", "LGB", "LHG", "LVS")) + "".join(
        choice(alphabet) for _ in range(14)
    )


def plate() -> str:
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    tail = "".join(choice(letters + "0123456789") for _ in range(5))
    if rng.random() < 0.2:
        tail = choice("DF") + num(5)
    return choice("沪苏浙京津渝皖闽辽黑鲁桂") + choice("ABCDEF") + tail


def auto_dealer() -> tuple[pd.DataFrame, dict[str, list[str] | None]]:
    return build(
        {
            "Customer Name": (lambda: noisy(person()), ["person_name"]),
            "Mobile": (
                lambda: noisy(masked_cell() if rng.random() < 0.3 else cell()),
                ["phone_number"],
            ),
            "Plate No.": (lambda: noisy(plate()), ["license_plate"]),
            "VIN": (lambda: noisy(vin()), None),
            "Driving License No.": (lambda: noisy(citizen_id()), ["national_id"]),
            "Model": (
                lambda: choice(("Model Y", "汉EV", "卡罗拉", "CR-V", "宝马X3", "理想L7")),
                [],
            ),
            "Mileage (km)": (lambda: str(rng.randrange(500, 180000)), []),
            "Service Advisor": (lambda: person(), ["person_name"]),
            "Loan Status": (
                lambda: choice(("全款", "分期-已审批", "分期-征信未通过", "分期-首付30%")),
                ["financial_account"],
            ),
            "Test Drive Time": (lambda: stamp(), []),
            "Dealer": (
                lambda: choice(("上汽大众4S店(浦东)", "一汽丰田城西店", "比亚迪王朝网滨湖店")),
                [],
            ),
            "Invoice Amount": (lambda: f"{rng.randrange(80000, 450000)}.00", []),
        }
    )


def passport() -> str:
    """Ordinary passports: E or G + 8 digits, or E + a letter + 7 digits."""
    if rng.random() < 0.5:
        return choice(("E", "G")) + num(8)
    return "E" + choice("ABCDEFGH") + num(7)


def hotel() -> tuple[pd.DataFrame, dict[str, list[str] | None]]:
    flights = ("MU5137", "CA1858", "CZ3539", "HU7605", "3U8881", "ZH9502")
    hotels = (
        "全季酒店(南京新街口店)",
        "亚朵酒店(厦门中山路店)",
        "希尔顿欢朋(昆明南屏街)",
        "汉庭酒店(沈阳北站)",
        "如家精选(天津站)",
    )
    return build(
        {
            "入住人": (
                lambda: noisy(person() if rng.random() < 0.7 else masked_person()),
                ["person_name"],
            ),
            "证件类型": (lambda: choice(("身份证", "护照", "港澳通行证")), []),
            "证件号码": (
                lambda: noisy(citizen_id() if rng.random() < 0.7 else passport()),
                ["national_id", "passport"],
            ),
            "护照号": (lambda: noisy(passport()), ["passport"]),
            "手机号码": (lambda: noisy(masked_cell()), ["phone_number"]),
            "入住酒店": (lambda: choice(hotels), ["whereabouts"]),
            "入住日期": (lambda: day(), None),
            "房型": (lambda: choice(("高级大床房", "商务双床房", "行政套房", "亲子房")), []),
            "航班信息": (
                lambda: noisy(
                    f"{choice(flights)} {day()} {choice(('上海虹桥', '南京禄口'))}-"
                    f"{choice(('昆明长水', '厦门高崎', '沈阳桃仙'))}"
                ),
                ["whereabouts"],
            ),
            "订单号": (lambda: num(18), []),
            "房费": (lambda: f"{rng.randrange(199, 1599)}", []),
            "会员等级": (lambda: choice(("普卡", "银卡", "金卡", "铂金卡")), []),
        }
    )


def pet_clinic() -> tuple[pd.DataFrame, dict[str, list[str] | None]]:
    pet_dx = (
        "猫瘟",
        "犬细小病毒",
        "耳螨",
        "皮肤真菌感染",
        "肾衰竭",
        "骨折术后复查",
        "绝育术",
        "口炎",
    )
    return build(
        {
            "主人姓名": (lambda: noisy(person()), ["person_name"]),
            "主人电话": (lambda: noisy(cell()), ["phone_number"]),
            "宠物名": (
                lambda: choice(("豆豆", "旺财", "咪咪", "橘子", "可乐", "团团", "Lucky", "布丁")),
                [],
            ),
            "品种": (
                lambda: choice(("英短蓝猫", "金毛", "柯基", "布偶猫", "泰迪", "中华田园猫")),
                [],
            ),
            "宠物年龄": (lambda: f"{rng.randrange(1, 15)}岁", []),
            "诊断": (lambda: choice(pet_dx), []),
            "用药": (lambda: choice(("大宠爱", "拜宠清", "速诺", "猫三联疫苗", "犬八联疫苗")), []),
            "体温": (lambda: f"{rng.randrange(375, 400) / 10}℃", []),
            "体重(kg)": (lambda: f"{rng.randrange(20, 400) / 10}", []),
            "就诊时间": (lambda: stamp(), []),
            "主治兽医": (lambda: person(), ["person_name"]),
            "费用": (lambda: f"{rng.randrange(50, 3000)}", []),
        }
    )


GOODS = (
    "医用外科口罩50只装",
    "佛手柑精油10ml",
    "银行同款点钞机",
    "孕婴洗衣液2L",
    "儿童保温杯",
    "蛋白粉（健身增肌）",
    "护肝片60粒",
    "降噪耳机",
)


def livestream() -> tuple[pd.DataFrame, dict[str, list[str] | None]]:
    notes = text(
        ["尽快发货", "要送礼，别放发票", "颜色要黑色", "", "放快递柜", "周末送"],
        {
            "medical_health": (0.05, ["孕妇能吃吗", "我有糖尿病能喝吗", "术后恢复期可以用吗"]),
            "minor": (0.04, ["给3岁宝宝用的", "孩子上幼儿园小班用", "儿子读初一"]),
        },
    )
    return build(
        {
            "主订单编号": (lambda: "69" + num(17), []),
            "子订单编号": (lambda: "69" + num(17), []),
            "选购商品": (lambda: choice(GOODS), []),
            "商品ID": (lambda: "3" + num(18), []),
            "商品规格": (lambda: choice(("默认", "大号", "2瓶装", "黑色;XL")), []),
            "订单应付金额": (lambda: f"{rng.randrange(990, 39900) / 100:.2f}", []),
            "收件人": (lambda: masked_person(), ["person_name"]),
            "收件人手机号": (lambda: masked_cell(), ["phone_number"]),
            "省": (lambda: choice(("江苏省", "福建省", "云南省", "辽宁省", "安徽省")), ["address"]),
            "详细地址": (lambda: noisy(city_addr()), ["address"]),
            "买家留言": (notes, ["medical_health", "minor"]),
            "达人昵称": (lambda: choice(("小杨哥", "东方甄选", "交个朋友")), None),
            "订单提交时间": (lambda: stamp(), []),
            "支付方式": (lambda: choice(("抖音支付", "微信", "支付宝", "月付")), []),
        }
    )


def group_buying() -> tuple[pd.DataFrame, dict[str, list[str] | None]]:
    return build(
        {
            "团长": (lambda: person() + choice(("", "(团长)", "宝妈")), ["person_name"]),
            "团长电话": (lambda: noisy(cell()), ["phone_number"]),
            "自提点": (
                lambda: choice(ESTATES) + choice(("南门快递站", "3号楼物业", "便利店")),
                None,
            ),
            "下单人昵称": (lambda: choice(("开心果", "A-小林", "阳光", "🌸花花")) + num(2), None),
            "下单人手机": (lambda: noisy(masked_cell()), ["phone_number"]),
            "商品编码": (lambda: "11" + num(9), []),
            "商品": (
                lambda: choice(("东北大米10斤", "散养土鸡蛋30枚", "佛山九江双蒸", "阳光玫瑰葡萄")),
                [],
            ),
            "数量": (lambda: str(rng.randrange(1, 6)), []),
            "实付": (lambda: f"{rng.randrange(500, 20000) / 100:.2f}", []),
            "优惠券码": (lambda: "CP" + num(10), []),
            "下单时间": (lambda: stamp(), []),
            "核销状态": (lambda: choice(("已核销", "待自提", "已退款")), []),
        }
    )


def dating() -> tuple[pd.DataFrame, dict[str, list[str] | None]]:
    return build(
        {
            "会员姓名": (lambda: noisy(person()), ["person_name"]),
            "性别": (lambda: choice(("男", "女")), ["gender"]),
            "出生年月": (
                lambda: f"{rng.randrange(1975, 2001)}-{rng.randrange(1, 13):02d}",
                ["birth_date"],
            ),
            "婚姻状况": (
                lambda: choice(("未婚", "离异无孩", "离异带孩", "丧偶")),
                ["other_sensitive"],
            ),
            "月收入": (lambda: choice(("5千以下", "5千-1万", "1-2万", "2万以上")), None),
            "身份证号": (lambda: noisy(masked_citizen_id()), ["national_id"]),
            "微信": (
                lambda: choice(("wxid_", "")) + choice(("love", "sunny", "mm", "lin")) + num(6),
                ["wechat_id"],
            ),
            "择偶要求": (
                lambda: choice(("本地人，有房", "身高175以上", "不抽烟", "有稳定工作")),
                [],
            ),
            "红娘": (lambda: person() + "老师", ["person_name"]),
            "注册日期": (lambda: day(), []),
            "套餐": (lambda: choice(("VIP年卡", "钻石会员", "体验卡")), []),
        }
    )


def wecom_group() -> tuple[pd.DataFrame, dict[str, list[str] | None]]:
    return build(
        {
            "群名称": (
                lambda: choice(("宝妈福利1群", "会员专享群", "新品体验官", "瑜伽打卡群")),
                [],
            ),
            "群成员": (lambda: person(), ["person_name"]),
            "群昵称": (
                lambda: (
                    choice(("", "A", ""))
                    + person()[0]
                    + choice(("姐", "哥", "总"))
                    + f"({choice(list(AREA))})"
                ),
                ["person_name"],
            ),
            "成员类型": (lambda: choice(("外部联系人", "企业成员")), []),
            "外部联系人UserID": (
                lambda: (
                    "wm"
                    + "".join(
                        choice("abcdefghijkmnpqrstuvwxyzABCDEFGH0123456789") for _ in range(26)
                    )
                ),
                ["wechat_id"],
            ),
            "入群方式": (lambda: choice(("扫描群二维码", "成员邀请", "通过链接")), []),
            "入群时间": (lambda: stamp(), []),
            "群主": (lambda: person(), ["person_name"]),
            "所在地区": (lambda: choice(list(AREA)) + "市" + choice(DISTRICTS), ["address"]),
        }
    )


def home_decor() -> tuple[pd.DataFrame, dict[str, list[str] | None]]:
    frame, labels = build(
        {
            "col_1": (lambda: person(), ["person_name"]),
            "col_2": (lambda: noisy(cell() if rng.random() < 0.8 else tel()), ["phone_number"]),
            "col_3": (lambda: noisy(city_addr()), ["address"]),
            "col_4": (lambda: f"{rng.randrange(45, 260)}㎡", []),
            "col_5": (lambda: choice(("现代简约", "新中式", "北欧", "轻奢")), []),
            "col_6": (lambda: f"{rng.randrange(5, 80)}万", []),
            "col_7": (lambda: stamp(), []),
            "col_8": (lambda: "ZX" + num(12), []),
            "col_9": (lambda: noisy(masked_citizen_id()), ["national_id"]),
        }
    )
    return frame, labels


def survey() -> tuple[pd.DataFrame, dict[str, list[str] | None]]:
    answer = text(
        ["产品挺好的", "物流有点慢", "希望多搞活动", "客服态度不错", "价格偏贵", "包装可以改进"],
        {
            "medical_health": (
                0.06,
                ["我有高血脂，想要低脂款", "哮喘，对香味敏感", "在做化疗，胃口不好"],
            ),
            "minor": (0.05, ["孩子7岁了很喜欢", "我家娃上二年级", "女儿今年上幼儿园大班"]),
            "financial_account": (
                0.04,
                ["最近网贷逾期，先不买了", "信用卡被降额了", "征信花了借不到钱"],
            ),
            "religious_belief": (
                0.04,
                ["我是基督徒，周日不方便", "我们穆斯林只能吃清真的", "皈依三宝后只吃素"],
            ),
            "other_sensitive": (0.03, ["我是同性恋，希望包容", "刚离婚，心情不好"]),
        },
    )
    return build(
        {
            "答卷编号": (lambda: num(9), []),
            "提交时间": (lambda: stamp(), []),
            "IP": (
                lambda: (
                    f"{rng.randrange(36, 223)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
                ),
                ["ip_address"],
            ),
            "Q1 您的年龄段": (lambda: choice(("18-25", "26-35", "36-45", "46以上")), ["age"]),
            "Q2 满意度": (lambda: str(rng.randrange(1, 6)), []),
            "Q3 最常购买的品类": (lambda: choice(("零食", "日化", "生鲜", "母婴")), []),
            "Q4 其他意见": (
                answer,
                [
                    "medical_health",
                    "minor",
                    "financial_account",
                    "religious_belief",
                    "other_sensitive",
                ],
            ),
            "来源渠道": (lambda: choice(("微信", "企业微信", "短信")), []),
        }
    )


MAKERS = {
    "pharmacy_consult": pharmacy,
    "insurance_leads": insurance,
    "auto_dealer": auto_dealer,
    "hotel_stays": hotel,
    "pet_clinic": pet_clinic,
    "livestream_orders": livestream,
    "group_buying": group_buying,
    "dating_club": dating,
    "wecom_group": wecom_group,
    "home_decor_leads": home_decor,
    "survey_answers": survey,
}
OPAQUE = ("pharmacy_consult", "livestream_orders", "hotel_stays")


def main() -> None:
    labels: dict[str, dict[str, list[str] | None]] = {}
    for stem, make in MAKERS.items():
        frame, lab = make()
        frame.to_csv(HERE / f"{stem}.csv", index=False, encoding="utf-8")
        labels[f"{stem}.csv"] = lab
        if stem in OPAQUE:
            names = {c: f"col_{i + 1}" for i, c in enumerate(frame.columns)}
            frame.rename(columns=names).to_csv(HERE / f"{stem}_opaque.csv", index=False)
            labels[f"{stem}_opaque.csv"] = {names[c]: v for c, v in lab.items()}
    text_out = json.dumps(labels, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    (HERE / "labels.json").write_text(text_out, encoding="utf-8")


if __name__ == "__main__":
    main()
