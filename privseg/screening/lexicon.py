"""Header lexicon: what a column's name says about its content, in Chinese, English and pinyin.

Chinese terms match as substrings of the header (身份证号码 contains 身份证号). English words
and pinyin abbreviations match whole tokens of the header split at ``_``, ``-``, spaces, digits
and camelCase (``lastLoginIP`` -> last, login, ip), so ``age`` does not fire inside ``stage``.
A header that also names a measure or another subject (``手机型号``, ``channel_name``,
``会员卡号``, ``order_count``) gives no evidence. A term of weight 0 lends no strength but
admits the category's values as if the header named it (a generic 证件号码 holds passports).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from privseg.taxonomy import Category

__all__ = ["HeaderHit", "header_hits", "header_tokens"]

C = Category


@dataclass(frozen=True)
class _Terms:
    zh: tuple[str, ...] = ()
    tokens: tuple[str, ...] = ()
    phrases: tuple[tuple[str, ...], ...] = ()  # consecutive tokens, e.g. ("id", "card")
    weight: float = 0.7
    block: tuple[str, ...] = ()  # zh substrings or tokens that cancel this group


@dataclass(frozen=True)
class HeaderHit:
    """A lexicon term found in a header, with the weight it lends to its category."""

    category: Category
    term: str
    weight: float


# fmt: off
_LEXICON: dict[Category, tuple[_Terms, ...]] = {
    C.BIOMETRIC: (
        _Terms(
            zh=("人脸", "面部", "面容", "指纹", "声纹", "虹膜", "掌纹", "步态", "人像特征"),
            tokens=("face", "facial", "fingerprint", "voiceprint", "iris", "biometric",
                "biometrics", "rlzp", "rltz", "renlian"),
        ),
    ),
    C.RELIGIOUS_BELIEF: (
        _Terms(
            zh=("宗教", "信仰", "信教"),
            tokens=("religion", "religious", "faith", "zongjiao", "zjxy", "xinyang"),
        ),
    ),
    C.SPECIFIC_IDENTITY: (
        _Terms(
            zh=("政治面貌", "党员", "特殊身份", "特定身份", "身份类别", "军人", "退役", "残疾", "低保", "特困", "优抚", "烈属",
                "军属"),
            tokens=("veteran", "disability", "disabled", "zzmm", "tsf", "tdsf"),
            phrases=(("political", "status"), ("party", "member"), ("special", "identity")),
        ),
    ),
    C.MEDICAL_HEALTH: (
        _Terms(
            zh=("健康", "病史", "疾病", "诊断", "病历", "体检", "过敏", "医疗", "病症", "用药", "孕期", "病情", "孕周",
                "预产期", "生育", "分娩", "医院", "就诊", "就医", "门诊", "科室", "体温", "血压", "心率", "血糖", "药物",
                "症状", "伤病", "体重", "身高", "体脂", "肺活量", "喂养", "孕", "产后", "哺乳", "诊所", "已生产", "是否生产"),
            tokens=("health", "medical", "disease", "diagnosis", "allergy", "allergies",
                "illness", "medication", "pregnancy", "hospital", "clinic", "symptom",
                "symptoms", "bmi", "weight", "height", "jkzk", "bingshi", "jibing"),
        ),
    ),
    C.FINANCIAL_ACCOUNT: (
        _Terms(
            zh=("银行卡", "银行账号", "银行账户", "卡号", "信用卡", "借记卡", "支付宝账号", "收款账号", "开户行", "征信", "信用分",
                "芝麻分", "信用额度", "授信", "贷款", "负债", "逾期", "花呗", "借呗", "存款", "资产", "收入"),
            tokens=("iban", "yhk", "yhkh", "yhzh", "alipay", "loan", "debt", "income", "salary"),
            phrases=(
                ("bank",),
                ("card", "no"),
                ("card", "number"),
                ("credit", "card"),
                ("account", "no"),
                ("account", "number"),
            ),
            block=("会员", "积分", "礼品", "身份", "member", "vip", "gift", "loyalty", "points", "id",
                "idcard"),
        ),
    ),
    C.WHEREABOUTS: (
        _Terms(
            zh=("位置", "定位", "经纬度", "坐标", "轨迹", "行程", "经度", "纬度", "足迹", "行踪", "打卡地点", "签到地点", "到访地点", "入住", "住宿", "离店",
                "航班", "车次", "出行"),
            tokens=("location", "lat", "lng", "lon", "latitude", "longitude", "geo", "geohash",
                "gps", "trajectory", "coordinates", "coords", "jwd", "dingwei", "guiji"),
        ),
    ),
    C.MINOR: (
        _Terms(
            zh=("未成年", "儿童", "监护人", "孩子", "宝宝", "婴儿", "幼儿", "学生", "儿子", "女儿", "年级", "班级", "就读", "学校", "幼儿园", "小学",
                "小朋友", "家长", "学员", "月龄"),
            tokens=("minor", "guardian", "child", "children", "kid", "kids", "baby", "student",
                "pupil", "grade", "school"),
            block=("关系", "毕业", "relation", "relationship"),
        ),
    ),
    C.OTHER_SENSITIVE: (
        _Terms(
            zh=("性取向", "婚史", "犯罪", "违法记录", "前科", "聊天记录", "聊天内容", "通话记录", "通信记录", "短信内容", "通讯录",
                "好友列表", "群组列表", "浏览记录", "浏览历史", "搜索记录", "密码", "口令", "密保"),
            tokens=("password", "passwd", "pwd", "orientation", "criminal", "contacts",
                "friends", "browsing"),
            phrases=(("chat", "log"), ("chat", "history"), ("call", "log"), ("search", "history")),
        ),
    ),
    C.PERSON_NAME: (
        _Terms(
            zh=("姓名", "名字", "联系人", "收货人", "收件人", "客户名", "真实名", "昵称", "持卡人", "备注名", "跟进人",
                "负责人", "添加人", "员工", "导购", "顾问", "客户经理", "教练", "班主任", "操作人", "创建人", "经办人",
                "接待人", "店长", "处理人", "审核人", "录入人", "受理人", "对接人", "推荐人", "介绍人", "邀请人", "归属人",
                "提货人", "英文名", "专属客服", "客服人员", "签收人", "下单人", "买家", "会员名"),
            tokens=("name", "fullname", "username", "nickname", "xingming", "xm", "contact",
                "realname", "surname"),
            block=("外部联系人", "电话", "手机", "地址", "邮箱", "id", "userid", "phone", "mobile", "email",
                "address", "tel", "编号", "工号", "账号", "省份", "城市", "地区", "区县", "街道", "邮编", "等级",
                "留言", "备注", "数"),
        ),
        # people by their role in a private-domain export: a column of whom, not of what
        _Terms(
            zh=("团长", "群主", "群成员", "入住人", "住客", "车主", "业主", "房东", "租客", "投保人", "被保人",
                "被保险人", "受益人", "乘机人", "乘车人", "旅客", "寄件人", "患者", "病人", "家长", "监护人",
                "学员", "医生", "兽医", "护士", "红娘", "业务员", "销售员", "置业顾问", "设计师", "店员", "主播",
                "坐席", "跟单员"),
            tokens=("owner", "guest", "patient", "doctor", "physician", "nurse", "advisor",
                "salesperson", "policyholder", "beneficiary", "passenger"),
            block=("电话", "手机", "地址", "邮箱", "id", "phone", "mobile", "email", "tel", "address",
                "编号", "号", "数", "等级", "类型", "时间", "日期", "建议", "意见", "评价", "年龄", "性别", "生日",
                "类别", "状态", "人数", "费", "金额", "count", "type", "status", "date", "time", "age", "level",
                "group", "fee", "amount", "price", "number", "no"),
            weight=0.6,
        ),
        _Terms(zh=("备注名", "客户备注名")),
    ),
    C.NATIONAL_ID: (
        _Terms(
            zh=("身份证", "证件号"),
            block=("姓名", "名字", "name", "照片", "有效期", "地址"),
            tokens=("idcard", "sfzh", "sfz", "sfzhm", "zjhm"),
            phrases=(
                ("id", "card"),
                ("id", "number"),
                ("id", "no"),
                ("national", "id"),
                ("resident", "id"),
            ),
        ),
    ),
    C.PHONE_NUMBER: (
        _Terms(
            zh=("手机号", "手机号码", "电话", "联系方式", "移动号码", "座机", "固话"),
            tokens=("mobile", "phone", "tel", "telephone", "cellphone", "sjh", "sjhm",
                "shouji", "lxdh", "dianhua"),
        ),
        _Terms(zh=("手机",), weight=0.5),
    ),
    C.EMAIL: (
        _Terms(
            zh=("邮箱", "电子邮件", "邮件地址"),
            tokens=("email", "mail", "youxiang", "dzyx"),
        ),
    ),
    C.ADDRESS: (
        _Terms(
            zh=("地址", "住址", "居住地", "户籍", "籍贯", "门牌"),
            tokens=("address", "addr", "street", "dz", "xxdz", "shdz", "dizhi", "zhuzhi"),
            block=("ip", "mac", "email", "mail", "url", "web", "邮件", "邮箱", "网址", "链接"),
        ),
        _Terms(
            zh=("省份", "城市", "区县", "所在地", "所在省", "所在市", "地区", "省市"),
            tokens=("province", "city", "district", "county", "region"),
            weight=0.5,
        ),
    ),
    C.WECHAT_ID: (
        _Terms(
            zh=("外部联系人", "微信号", "微信", "企微", "企业微信"),
            tokens=("openid", "unionid", "wxid", "wechat", "weixin", "wx", "wxh"),
            phrases=(
                ("external", "userid"),
                ("external", "user", "id"),
                ("open", "id"),
                ("union", "id"),
            ),
            block=("昵称", "头像", "nickname", "avatar"),
        ),
    ),
    C.IP_ADDRESS: (
        _Terms(
            zh=("ip地址",),
            tokens=("ip", "ipv4", "ipv6", "ipdz"),
        ),
    ),
    C.DEVICE_ID: (
        _Terms(
            zh=("设备号", "设备id", "设备标识", "设备编号", "设备", "串号", "广告标识", "广告id", "mac地址"),
            tokens=("imei", "idfa", "idfv", "oaid", "udid", "mac", "sbh", "sbid", "adid",
                "gaid", "androidid", "imsi"),
            phrases=(("device", "id"), ("android", "id"), ("device", "no"), ("ad", "id")),
        ),
    ),
    C.BIRTH_DATE: (
        _Terms(
            zh=("出生日期", "出生年月", "出生时间", "生日"),
            tokens=("birthday", "birthdate", "dob", "birth", "csrq", "shengri", "chushengriqi",
                "csny"),
            phrases=(("chusheng", "riqi"), ("chusheng", "nianyue"), ("date", "of", "birth")),
        ),
    ),
    C.PASSPORT: (
        _Terms(
            zh=("护照",),
            tokens=("passport", "hzh", "hzhm", "huzhao"),
        ),
        # a generic ID-document number (证件号码 next to 证件类型) holds passports too
        _Terms(zh=("证件号",), tokens=("zjhm",), phrases=(("document", "no"),
            ("document", "number")), weight=0.0),
    ),
    C.LICENSE_PLATE: (
        _Terms(
            zh=("车牌",),
            tokens=("plate", "cph", "chepai"),
            phrases=(("car", "no"), ("license", "plate"), ("vehicle", "no")),
        ),
    ),
    C.GENDER: (
        _Terms(
            zh=("性别",),
            tokens=("gender", "sex", "xb", "xingbie"),
        ),
    ),
    C.AGE: (
        _Terms(
            zh=("年龄", "岁数", "年纪"),
            tokens=("age", "nl", "nianling"),
        ),
    ),
}
# fmt: on

# Headers naming a measure of, or a different subject than, a person give no evidence.
_BLOCK_ZH = (
    "型号",
    "品牌",
    "次数",
    "数量",
    "个数",
    "金额",
    "总额",
    "商品",
    "产品",
    "渠道",
    "门店",
    "店铺",
    "公司",
    "活动",
    "文件",
    "优惠",
    "率",
    "占比",
    "sku",
)
_BLOCK_TOKENS = frozenset(
    {
        "count",
        "cnt",
        "qty",
        "amount",
        "amt",
        "total",
        "rate",
        "ratio",
        "model",
        "brand",
        "product",
        "sku",
        "item",
        "goods",
        "channel",
        "shop",
        "store",
        "company",
        "campaign",
        "file",
        "coupon",
        "page",
        "template",
        "version",
        "tag",
        "tags",
        "event",
    }
)

_SPLIT = re.compile(r"[^0-9a-z]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_ALPHA = re.compile(r"[A-Za-z]+")


def header_tokens(header: str) -> tuple[str, ...]:
    """Lower-case ASCII tokens of a header: ``lastLoginIP_v2`` -> (last, login, ip, v)."""
    words = _ALPHA.findall(_CAMEL.sub(" ", header))
    return tuple(t for w in words for t in _SPLIT.split(w.lower()) if t)


def _is_cjk(term: str) -> bool:
    return any(ord(ch) > 0x2E80 for ch in term)


def _has_phrase(tokens: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(tokens[i : i + n] == phrase for i in range(len(tokens) - n + 1))


def header_hits(header: str) -> tuple[HeaderHit, ...]:
    """Categories the header names, strongest term per category, lexicon order."""
    lowered = header.strip().lower()
    tokens = header_tokens(header)
    if any(b in lowered for b in _BLOCK_ZH) or _BLOCK_TOKENS.intersection(tokens):
        return ()
    hits: list[HeaderHit] = []
    for category, groups in _LEXICON.items():
        best: HeaderHit | None = None
        for terms in groups:
            if any(b in lowered if _is_cjk(b) else b in tokens for b in terms.block):
                continue
            term = next((z for z in terms.zh if z in lowered), None)
            if term is None:
                term = next((t for t in terms.tokens if t in tokens), None)
            if term is None:
                term = next((" ".join(p) for p in terms.phrases if _has_phrase(tokens, p)), None)
            if term is not None and (best is None or terms.weight > best.weight):
                best = HeaderHit(category, term, terms.weight)
        if best is not None:
            hits.append(best)
    return tuple(hits)
