"""Writes the realistic-exports screening benchmark (issue 12): seven private-domain exports
from different verticals plus a catalogue of benign look-alikes, with their own value
generators (not the demo generator's), and copies with opaque headers, in GB18030 and XLSX.

    python tests/data/screening/make_exports.py

Labels (``exports_labels.json``) give each column's true categories; a free-text column
carries a sensitive category when the generator writes it into some of its values (the
shares are set below, 1.5-8%, as in real remarks). Deterministic.
"""

from __future__ import annotations

import csv
import json
import random
import string
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
from stdnum import luhn
from stdnum.cn import ric

HERE = Path(__file__).resolve().parent
OUT = HERE / "exports"
ROWS = 300
rng = random.Random(12_2026)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "子涵梓萱一诺欣怡浩然宇轩俊杰思远雨桐佳怡志强建国秀英桂兰海燕晓东丽华春梅文博天佑嘉豪婉婷晨曦若汐明哲"
KIN = ("姐", "哥", "总", "老师", "女士", "先生", "阿姨", "叔")
CITIES = (
    "北京",
    "上海",
    "广州",
    "深圳",
    "成都",
    "杭州",
    "武汉",
    "西安",
    "长沙",
    "青岛",
    "郑州",
    "佛山",
)
PROVINCE_OF = {"北京": "北京市", "上海": "上海市", "广州": "广东省", "深圳": "广东省", "成都": "四川省",
               "杭州": "浙江省", "武汉": "湖北省", "西安": "陕西省", "长沙": "湖南省", "青岛": "山东省",
               "郑州": "河南省", "佛山": "广东省"}  # fmt: skip
PROVINCE_CODE = ("11", "31", "44", "51", "33", "42", "61", "43", "37", "41", "62", "65", "45")
STREETS = ("人民路", "解放大道", "建设路", "中山路", "和平街", "文化路", "长江路", "科技园南路")
AS_OF = date(2026, 6, 30)


def pick(seq):  # type: ignore[no-untyped-def]
    return seq[rng.randrange(len(seq))]


def digits(n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def name() -> str:
    return pick(SURNAMES) + "".join(pick(GIVEN) for _ in range(rng.choice((1, 2, 2))))


def mobile() -> str:
    return pick(("13", "15", "17", "18", "19")) + str(rng.randint(0, 9)) + digits(8)


def masked_mobile() -> str:
    m = mobile()
    return m[:3] + "****" + m[-4:]


def landline() -> str:
    area, n = pick((("010", 8), ("021", 8), ("028", 8), ("0755", 8), ("027", 8), ("0571", 8)))
    number = str(rng.randint(2, 8)) + digits(n - 1)
    return pick((f"{area}-{number}", f"({area}){number}", f"{area} {number[:4]} {number[4:]}"))


def resident_id(lo: int = 1955, hi: int = 2004) -> str:
    # random county codes: many are missing from any table (abolished or newer)
    region = pick(PROVINCE_CODE) + f"{rng.randint(1, 30):02d}{rng.randint(1, 40):02d}"
    born = date(rng.randint(lo, hi), 1, 1) + timedelta(days=rng.randint(0, 364))
    body = f"{region}{born:%Y%m%d}{digits(3)}"
    return body + ric.calc_check_digit(body + "0")


def resident_id_15() -> str:
    region = pick(PROVINCE_CODE) + f"{rng.randint(1, 30):02d}{rng.randint(1, 40):02d}"
    born = date(rng.randint(1940, 1980), 1, 1) + timedelta(days=rng.randint(0, 364))
    return f"{region}{born:%y%m%d}{digits(3)}"


def address() -> str:
    city = pick(CITIES)
    return (
        f"{PROVINCE_OF[city]}{city}市{pick(('朝阳', '南山', '武侯', '西湖', '江汉', '雁塔'))}区"
        f"{pick(STREETS)}{rng.randint(1, 999)}号{rng.randint(1, 30)}栋{rng.randint(101, 2908)}室"
    )


def handle() -> str:
    head = rng.choice(string.ascii_lowercase)
    tail = "".join(rng.choice(string.ascii_lowercase + string.digits + "_-") for _ in range(8))
    return head + tail


def imei() -> str:
    body = pick(("35", "86", "01")) + digits(12)
    return body + luhn.calc_check_digit(body)


def uuid_upper() -> str:
    h = "".join(rng.choice("0123456789ABCDEF") for _ in range(32))
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def mac() -> str:
    return ":".join(f"{rng.randint(0, 255):02X}" for _ in range(6))


def when(days: int = 400) -> str:
    t = date(2026, 6, 1) - timedelta(days=rng.randint(0, days))
    return (
        f"{t:%Y-%m-%d} {rng.randint(8, 22):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
    )


def birthday(lo: int, hi: int) -> date:
    return date(rng.randint(lo, hi), 1, 1) + timedelta(days=rng.randint(0, 364))


def prose(base: list[str], inserts: dict[str, tuple[float, list[str]]]) -> Callable[[], str]:
    """Remarks: ordinary text, with each category's sentences in a share of the values."""

    def make() -> str:
        parts = [pick(base)]
        for share, sentences in inserts.values():
            if rng.random() < share:
                parts.append(pick(sentences))
        rng.shuffle(parts)
        return "，".join(parts)

    return make


PLAIN_REMARKS = [
    "老客户，回购多次", "对价格敏感", "喜欢新品", "周末到店", "介绍了朋友来", "要发票",
    "偏好顺丰", "关注会员日", "团购群里的", "上次投诉过物流慢", "喜欢佛跳墙礼盒", "住佛山南海",
    "佛系客户，不催", "在看《穆斯林的葬礼》", "职业是病历管理师", "营养师推荐来的", "吃素",
    "下礼拜来取货", "问过血压计的价格", "孕妇枕缺货时登记过", "要开增值税发票", "",
]  # fmt: skip
HEALTH = ["孕15周+2天", "孕28周，想买托腹带", "预产期是10月", "已生产，顺产", "刚做完剖腹产",
          "对海鲜过敏", "有糖尿病，要无糖的", "高血压在吃药", "上周住院了", "在华西医院复查",
          "体温37.8℃还在咳", "宝宝黄疸值偏高", "湿疹反复", "做过心脏支架手术", "甲状腺结节"]  # fmt: skip
FINANCE = ["征信有逾期", "芝麻信用分620", "花呗额度不够", "贷款被拒了", "房贷压力大",
           "信用卡逾期两个月", "借呗还款困难", "网贷欠了不少", "月收入1万左右"]  # fmt: skip
MINOR = ["孩子5岁", "宝宝8个月", "女儿上小学三年级", "儿子初二", "孩子在实验小学",
         "宝宝在机关幼儿园中班", "孩子7岁要学游泳"]  # fmt: skip
RELIGION = ["只吃清真", "回族，不吃猪肉", "信佛，初一十五吃斋", "每周日去教会", "斋月期间别推送",
            "基督徒，周日不约"]  # fmt: skip
WHERE = ["今天在浦东机场", "这周入住希尔顿酒店", "明天坐G102次回上海", "下周出差去成都",
         "人在首都机场T3", "住在如家酒店"]  # fmt: skip
OTHER = ["离异，独自带娃", "二婚", "有前科"]
IDENT = ["退伍军人", "持残疾证", "低保户"]


def table(
    columns: dict[str, tuple[Callable[[], object], list[str]]],
) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    frame = pd.DataFrame({c: [make() for _ in range(ROWS)] for c, (make, _) in columns.items()})
    return frame, {c: labels for c, (_, labels) in columns.items()}


def wecom() -> tuple[pd.DataFrame, dict[str, list[str]]]:
    def remark_name() -> str:
        n = name()
        return pick((n, f"{n[0]}{pick(KIN)}({pick(CITIES)})", f"{n} {masked_mobile()}",
                     f"{n}-{pick(('装修', '宝妈', '团长', '老客'))}", f"{n[0]}{pick(KIN)}"))  # fmt: skip

    staff = [name() for _ in range(6)]
    return table({
        "客户名称": (lambda: pick((name(), handle(), "A" + name())), ["person_name"]),
        "备注名": (remark_name, ["person_name", "phone_number"]),
        "外部联系人ID": (lambda: "wm" + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(30)), ["wechat_id"]),
        "添加人": (lambda: pick(staff), ["person_name"]),
        "添加时间": (when, []),
        "性别": (lambda: pick(("男", "女", "未知")), ["gender"]),
        "手机号": (lambda: pick((mobile(), masked_mobile())), ["phone_number"]),
        "微信号": (lambda: pick((handle(), "wxid_" + digits(4) + handle())), ["wechat_id"]),
        "来源": (lambda: pick(("扫描二维码", "搜索手机号", "名片分享", "群聊", "微信联系人")), []),
        "企业标签": (lambda: pick(("高意向", "已成交", "待跟进", "宝妈群", "VIP")), []),
        "地区": (lambda: f"{PROVINCE_OF[c := pick(CITIES)]} {c}", ["address"]),
        "描述": (prose(PLAIN_REMARKS, {"h": (0.05, HEALTH), "f": (0.04, FINANCE), "r": (0.03, RELIGION)}),
                 ["medical_health", "financial_account", "religious_belief"]),
    })  # fmt: skip


PRODUCTS = ["《穆斯林的葬礼》平装", "佛跳墙礼盒装", "欧姆龙电子血压计", "抗过敏牙膏120g", "孕妇枕U型",
            "小学生书包护脊款", "《基督山伯爵》全译本", "有机纯牛奶", "婴儿纸尿裤L码", "清风抽纸",
            "儿童保温杯", "无糖燕麦片", "花王洗衣液", "佛山扎染围巾"]  # fmt: skip


def youzan() -> tuple[pd.DataFrame, dict[str, list[str]]]:
    return table({
        "订单号": (lambda: "E2026" + digits(17), []),
        "下单时间": (when, []),
        "买家昵称": (lambda: pick((name(), handle(), f"{pick(CITIES)}小{pick(GIVEN)}")), ["person_name"]),
        "收货人": (name, ["person_name"]),
        "收货人手机": (mobile, ["phone_number"]),
        "收货地址": (address, ["address"]),
        "商品名称": (lambda: pick(PRODUCTS), []),
        "买家留言": (prose(["尽快发货", "不要放快递柜", "送人的，别放价格单", "", "谢谢"],
                          {"h": (0.05, HEALTH), "m": (0.05, MINOR), "w": (0.04, WHERE)}),
                     ["medical_health", "minor", "whereabouts"]),
        "实付金额": (lambda: f"{rng.randint(9, 2000)}.{rng.randint(0, 99):02d}", []),
        "支付方式": (lambda: pick(("微信支付", "支付宝", "信用卡", "花呗", "储值卡")), []),
        "身份证号": (lambda: pick((resident_id(), resident_id())), ["national_id"]),
    })  # fmt: skip


def taobao() -> tuple[pd.DataFrame, dict[str, list[str]]]:
    return table({
        "订单编号": (lambda: "3" + digits(18), []),
        "买家支付宝账号": (lambda: pick((masked_mobile(), f"{handle()[:1]}***@{pick(('163.com', 'qq.com'))}")), ["financial_account"]),
        "收货人姓名": (name, ["person_name"]),
        "联系手机": (masked_mobile, ["phone_number"]),
        "收货地址": (address, ["address"]),
        "宝贝标题": (lambda: pick(PRODUCTS), []),
        "订单备注": (prose(["加急", "发顺丰", "", "送货上门"], {"o": (0.03, OTHER), "f": (0.04, FINANCE)}),
                     ["other_sensitive", "financial_account"]),
        "物流单号": (lambda: "SF" + digits(13), []),
        "订单付款时间": (when, []),
        "宝贝总数量": (lambda: str(rng.randint(1, 5)), []),
    })  # fmt: skip


def crm() -> tuple[pd.DataFrame, dict[str, list[str]]]:
    guides = [name() for _ in range(8)]
    return table({
        "会员卡号": (lambda: "VIP" + digits(9), []),
        "姓名": (name, ["person_name"]),
        "生日": (lambda: f"{birthday(1960, 2000):%m-%d}", ["birth_date"]),
        "手机": (mobile, ["phone_number"]),
        "座机": (landline, ["phone_number"]),
        "证件号码": (lambda: pick((resident_id(), resident_id(), resident_id_15())), ["national_id"]),
        "会员等级": (lambda: pick(("普通", "银卡", "金卡", "钻石")), []),
        "累计消费": (lambda: str(rng.randint(0, 90000)), []),
        "专属导购": (lambda: pick(guides), ["person_name"]),
        "邮箱": (lambda: f"{handle()}@{pick(('163.com', 'qq.com', 'gmail.com', 'sina.com'))}", ["email"]),
        "备注": (prose(PLAIN_REMARKS, {"f": (0.05, FINANCE), "r": (0.03, RELIGION), "i": (0.03, IDENT)}),
                 ["financial_account", "religious_belief", "specific_identity"]),
        "设备标识": (lambda: pick((uuid_upper(), imei())), ["device_id"]),
        "注册IP": (lambda: f"{rng.randint(36, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}", ["ip_address"]),
    })  # fmt: skip


def maternity() -> tuple[pd.DataFrame, dict[str, list[str]]]:
    handlers = [name() for _ in range(5)]

    def baby_birthday() -> str:
        return f"{birthday(2023, 2026) if rng.random() < 0.9 else birthday(2024, 2025):%Y-%m-%d}"

    return table({
        "工单号": (lambda: "GD" + digits(10), []),
        "客户姓名": (name, ["person_name"]),
        "联系电话": (lambda: pick((mobile(), landline())), ["phone_number"]),
        "孕周": (lambda: pick((f"孕{rng.randint(6, 40)}周+{rng.randint(0, 6)}天", f"孕{rng.randint(6, 40)}周", "已生产")), ["medical_health"]),
        "预产期": (lambda: f"{date(2026, 7, 1) + timedelta(days=rng.randint(0, 270)):%Y-%m-%d}", ["medical_health"]),
        "宝宝姓名": (name, ["person_name", "minor"]),
        "宝宝生日": (baby_birthday, ["birth_date", "minor"]),
        "就诊医院": (lambda: f"{pick(CITIES)}市{pick(('妇幼保健院', '第一人民医院', '中医院', '妇产医院'))}", ["medical_health"]),
        "工单内容": (prose(["咨询奶粉段数", "退换货", "会员积分问题", "催发货"], {"h": (0.08, HEALTH), "m": (0.06, MINOR)}),
                     ["medical_health", "minor"]),
        "处理人": (lambda: pick(handlers), ["person_name"]),
        "状态": (lambda: pick(("已完成", "处理中", "待回访")), []),
    })  # fmt: skip


def education() -> tuple[pd.DataFrame, dict[str, list[str]]]:
    return table({
        "学员姓名": (name, ["person_name", "minor"]),
        "性别": (lambda: pick(("男", "女")), ["gender"]),
        "出生日期": (lambda: f"{birthday(2013, 2021):%Y/%m/%d}", ["birth_date", "minor"]),
        "年级": (lambda: pick(("幼儿园中班", "幼儿园大班", "小学一年级", "小学四年级", "初一", "初二", "三年级")), ["minor"]),
        "就读学校": (lambda: f"{pick(CITIES)}{pick(('实验小学', '机关幼儿园', '第一小学', '外国语学校附小', '育才小学'))}", ["minor"]),
        "家长姓名": (name, ["person_name"]),
        "家长手机": (mobile, ["phone_number"]),
        "家长微信": (handle, ["wechat_id"]),
        "报名课程": (lambda: pick(("乐高机器人L2", "少儿编程Scratch", "英语自然拼读", "围棋启蒙", "美术创意")), []),
        "过敏史": (lambda: pick(("无", "花生过敏", "青霉素过敏", "无", "尘螨过敏", "无")), ["medical_health"]),
        "接送地址": (address, ["address"]),
        "备注": (prose(["试听后报名", "老带新", "需要发票", ""], {"m": (0.06, MINOR), "h": (0.04, HEALTH)}),
                 ["minor", "medical_health"]),
    })  # fmt: skip


def gym() -> tuple[pd.DataFrame, dict[str, list[str]]]:
    coaches = [name() for _ in range(6)]
    return table({
        "会员姓名": (name, ["person_name"]),
        "手机号": (masked_mobile, ["phone_number"]),
        "签到时间": (when, []),
        "签到门店": (lambda: pick(("万象城店", "科技园店", "滨江店", "大学城店")), []),
        "私教教练": (lambda: pick(coaches), ["person_name"]),
        "体测数据": (lambda: f"体重{rng.randint(45, 95)}kg 体脂率{rng.randint(10, 35)}% 心率{rng.randint(55, 95)}", ["medical_health"]),
        "伤病备注": (lambda: pick(("无", "膝盖有旧伤", "腰椎间盘突出", "无", "高血压，控制强度", "无")), ["medical_health"]),
        "手环MAC地址": (mac, ["device_id"]),
        "会员卡类型": (lambda: pick(("年卡", "季卡", "次卡", "私教课包")), []),
        "消费金额": (lambda: str(rng.randint(0, 8000)), []),
        "设备IMEI": (imei, ["device_id"]),
    })  # fmt: skip


JOBS = ("病历管理师", "营养师", "药剂师", "健康管理师", "心理咨询师", "会计", "教师", "程序员")


def catalogue() -> tuple[pd.DataFrame, dict[str, list[str]]]:
    return table({
        "商品名称": (lambda: pick(PRODUCTS), []),
        "图书": (lambda: pick(("《穆斯林的葬礼》", "《基督山伯爵》", "《佛教史》", "《孕产期营养》", "《小学生必读》")), []),
        "讲师职称": (lambda: pick(JOBS), []),
        "发货仓": (lambda: pick(("佛山仓", "嘉兴仓", "武汉仓", "成都仓")), []),
        "条码": (lambda: "69" + digits(11), []),
        "批次号": (lambda: "2026" + digits(11), []),
        "商品编码": (lambda: pick(("CA", "MU", "SKU")) + digits(4), []),
        "规格": (lambda: pick(("500ml", "1kg", "L码", "12片装", "孕妇可用", "儿童款")), []),
        "库存": (lambda: str(rng.randint(0, 900)), []),
        "上架日期": (lambda: f"{date(2025, 1, 1) + timedelta(days=rng.randint(0, 500)):%Y-%m-%d}", []),
        "营销文案": (lambda: pick(("下礼拜上新", "佛系好物", "初一十五大促", "吃素也能长肌肉", "酒店同款床品", "机场店同步发售")), []),
    })  # fmt: skip


KINDS: dict[str, Callable[[], tuple[pd.DataFrame, dict[str, list[str]]]]] = {
    "wecom_customers": wecom,
    "youzan_orders": youzan,
    "taobao_orders": taobao,
    "retail_crm": crm,
    "maternity_tickets": maternity,
    "education_enrolment": education,
    "gym_checkins": gym,
    "catalogue_lookalikes": catalogue,
}
GB18030 = ("wecom_customers", "maternity_tickets", "catalogue_lookalikes")
XLSX = ("retail_crm", "education_enrolment", "gym_checkins")


def main() -> None:
    OUT.mkdir(exist_ok=True)
    labels: dict[str, dict[str, list[str]]] = {}
    for kind, make in KINDS.items():
        frame, table_labels = make()
        frame.to_csv(OUT / f"{kind}.csv", index=False, quoting=csv.QUOTE_MINIMAL)
        labels[f"{kind}.csv"] = table_labels
        opaque = frame.set_axis([f"c{i:02d}" for i in range(frame.shape[1])], axis=1)
        opaque.to_csv(OUT / f"{kind}_opaque.csv", index=False)
        labels[f"{kind}_opaque.csv"] = {
            f"c{i:02d}": table_labels[c] for i, c in enumerate(frame.columns)
        }
        if kind in GB18030:
            frame.to_csv(OUT / f"{kind}_gb18030.csv", index=False, encoding="gb18030")
            labels[f"{kind}_gb18030.csv"] = table_labels
        if kind in XLSX:
            frame.to_excel(OUT / f"{kind}.xlsx", index=False)
            labels[f"{kind}.xlsx"] = table_labels
    (OUT / "labels.json").write_text(
        json.dumps(labels, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main()
