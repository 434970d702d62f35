"""Category ids for screening, policies and reports.

The ids are a contract: policies, reports and downstream tools rely on them, so they never
change. Sensitive categories are PIPL Art. 28 sensitive personal information, in the eight
classes of GB/T 45574-2025 Annex A (``other_sensitive`` holds its "other" class and the
matching items of GB/T 35273-2020 Table B.2); the others are ordinary personal information
(PIPL Art. 4). README's screening section maps every item of both catalogues to an id. Each carries its Chinese and English label and
the PIPL article that governs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Category", "CategoryInfo", "info", "is_sensitive"]


class Category(StrEnum):
    """A kind of personal information; the value is the stable id.

    >>> privseg.Category("religious_belief") is privseg.Category.RELIGIOUS_BELIEF
    True
    >>> from privseg.taxonomy import info
    >>> info(privseg.Category.RELIGIOUS_BELIEF).article, info("religious_belief").sensitive
    ('PIPL Art. 28', True)
    """

    # PIPL Art. 28 sensitive personal information
    BIOMETRIC = "biometric"
    RELIGIOUS_BELIEF = "religious_belief"
    SPECIFIC_IDENTITY = "specific_identity"
    MEDICAL_HEALTH = "medical_health"
    FINANCIAL_ACCOUNT = "financial_account"
    WHEREABOUTS = "whereabouts"
    MINOR = "minor"
    OTHER_SENSITIVE = "other_sensitive"
    # ordinary personal information
    PERSON_NAME = "person_name"
    NATIONAL_ID = "national_id"
    PHONE_NUMBER = "phone_number"
    EMAIL = "email"
    ADDRESS = "address"
    WECHAT_ID = "wechat_id"
    IP_ADDRESS = "ip_address"
    DEVICE_ID = "device_id"
    BIRTH_DATE = "birth_date"
    PASSPORT = "passport"
    LICENSE_PLATE = "license_plate"
    GENDER = "gender"
    AGE = "age"


@dataclass(frozen=True)
class CategoryInfo:
    """Labels and legal basis of one category."""

    category: Category
    label_zh: str
    label_en: str
    article: str
    sensitive: bool
    direct_identifier: bool


_ART28 = "PIPL Art. 28"
_ART4 = "PIPL Art. 4"

_INFO: dict[Category, CategoryInfo] = {
    c.category: c
    for c in (
        CategoryInfo(Category.BIOMETRIC, "生物识别", "biometric", _ART28, True, True),
        CategoryInfo(
            Category.RELIGIOUS_BELIEF, "宗教信仰", "religious belief", _ART28, True, False
        ),
        CategoryInfo(
            Category.SPECIFIC_IDENTITY, "特定身份", "specific identity", _ART28, True, False
        ),
        CategoryInfo(Category.MEDICAL_HEALTH, "医疗健康", "medical health", _ART28, True, False),
        CategoryInfo(
            Category.FINANCIAL_ACCOUNT, "金融账户", "financial account", _ART28, True, True
        ),
        CategoryInfo(Category.WHEREABOUTS, "行踪轨迹", "whereabouts", _ART28, True, False),
        CategoryInfo(
            Category.MINOR,
            "不满十四周岁未成年人信息",
            "minor under 14",
            "PIPL Art. 28, 31",
            True,
            False,
        ),
        CategoryInfo(
            Category.OTHER_SENSITIVE,
            "其他敏感个人信息",
            "other sensitive (sexual orientation, criminal record, communications, contacts, "
            "browsing history, credentials)",
            _ART28,
            True,
            False,
        ),
        CategoryInfo(Category.PERSON_NAME, "姓名", "person name", _ART4, False, True),
        CategoryInfo(Category.NATIONAL_ID, "身份证号", "resident ID number", _ART4, False, True),
        CategoryInfo(Category.PHONE_NUMBER, "手机号码", "phone number", _ART4, False, True),
        CategoryInfo(Category.EMAIL, "电子邮箱", "email address", _ART4, False, True),
        CategoryInfo(Category.ADDRESS, "地址", "address", _ART4, False, False),
        CategoryInfo(Category.WECHAT_ID, "微信标识", "WeChat identifier", _ART4, False, True),
        CategoryInfo(Category.IP_ADDRESS, "IP地址", "IP address", _ART4, False, True),
        CategoryInfo(Category.DEVICE_ID, "设备标识", "device identifier", _ART4, False, True),
        CategoryInfo(Category.BIRTH_DATE, "出生日期", "birth date", _ART4, False, False),
        CategoryInfo(Category.PASSPORT, "护照号", "passport number", _ART4, False, True),
        CategoryInfo(Category.LICENSE_PLATE, "车牌号", "license plate", _ART4, False, True),
        CategoryInfo(Category.GENDER, "性别", "gender", _ART4, False, False),
        CategoryInfo(Category.AGE, "年龄", "age", _ART4, False, False),
    )
}


def info(category: Category | str) -> CategoryInfo:
    """Return labels and article for a category or its id."""
    return _INFO[Category(category)]


def is_sensitive(category: Category | str) -> bool:
    """True for PIPL Art. 28 sensitive categories."""
    return _INFO[Category(category)].sensitive
