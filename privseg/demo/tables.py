"""The demo tables' columns (Chinese headers, English alternatives) and languages."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class Lang(StrEnum):
    """Language of headers and categorical values."""

    ZH = "zh"
    EN = "en"


CUSTOMER_COLUMNS = (
    ("external_userid", "外部联系人ID"),
    ("unionid", "unionid"),
    ("openid", "openid"),
    ("name", "姓名"),
    ("mobile", "手机号"),
    ("email", "邮箱"),
    ("id_number", "身份证号"),
    ("gender", "性别"),
    ("birth_date", "出生日期"),
    ("province", "省份"),
    ("city", "城市"),
    ("address", "详细地址"),
    ("registered_at", "注册时间"),
    ("channel", "渠道来源"),
    ("tags", "企业标签"),
    ("religion", "宗教信仰"),
    ("face_photo", "人脸照片"),
    ("face_embedding", "人脸特征"),
    ("bank_card", "银行卡号"),
    ("last_location", "最近位置"),
    ("last_login_ip", "最近登录IP"),
    ("remark", "备注"),
    ("friend_count", "好友数"),
    ("kol_in_network", "网络中有KOL"),
    ("follow_direction", "关注方式"),
    ("nps_score", "NPS评分"),
)


ORDER_COLUMNS = (
    ("order_id", "订单号"),
    ("external_userid", "外部联系人ID"),
    ("ordered_at", "下单时间"),
    ("amount", "金额"),
    ("sku", "商品SKU"),
    ("promotion", "是否促销"),
)


INTERACTION_COLUMNS = (
    ("external_userid", "外部联系人ID"),
    ("interaction_type", "互动类型"),
    ("occurred_at", "互动时间"),
    ("urgent_keywords", "紧急词数"),
    ("important_keywords", "重要词数"),
)


#: English column name -> Chinese header, for all three tables.
ZH_HEADERS: Mapping[str, str] = dict(CUSTOMER_COLUMNS + ORDER_COLUMNS + INTERACTION_COLUMNS)


GENDERS = {Lang.ZH: ("女", "男"), Lang.EN: ("female", "male")}


CHANNELS = {
    Lang.ZH: ("渠道活码", "公众号", "小程序", "线下活动", "口碑推荐"),
    Lang.EN: ("qr_code", "official_account", "mini_program", "offline_event", "referral"),
}


CHANNEL_SHARES = (0.30, 0.25, 0.25, 0.10, 0.10)


INTERACTION_TYPES = {
    Lang.ZH: ("消息", "点击", "分享", "浏览商品页", "群聊发言"),
    Lang.EN: ("message", "click", "share", "page_view", "group_chat"),
}


#: Mean shares of the interaction types; each customer's own mix is drawn around them.
INTERACTION_SHARES = (0.40, 0.20, 0.12, 0.18, 0.10)


YES_NO = {Lang.ZH: ("否", "是"), Lang.EN: ("no", "yes")}


FOLLOW = {Lang.ZH: ("双向", "单向"), Lang.EN: ("mutual", "one_way")}
