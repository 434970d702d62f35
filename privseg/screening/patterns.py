"""Value patterns with validators: the single definition of each pattern entity.

Each :class:`PatternSpec` holds a regular expression, the validator that confirms a candidate
(checksum, date, range) and context words that the column header may supply. The presidio
recognizers (:mod:`privseg.screening.recognizers`) analyse samples with them;
:mod:`privseg.screening.detectors` runs the same specs over whole columns.

Patterns use lookarounds instead of ``\\b``: between a Chinese character and a digit there is
no word boundary, so ``手机13812345678`` must still match.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cached_property, lru_cache

import phonenumbers
from stdnum import luhn
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from privseg.taxonomy import Category

__all__ = [
    "FLAGS",
    "LANGUAGE",
    "PROVINCE_CODES",
    "SPECS",
    "PatternSpec",
    "is_bank_card",
    "is_coordinate_pair",
    "is_imei",
    "is_ip",
    "is_landline",
    "is_masked_card",
    "is_masked_resident_id",
    "is_resident_id",
    "resident_id_birth_date",
]

LANGUAGE = "zh"
# No IGNORECASE: openid starts with a lower-case "o", passports with upper-case letters.
FLAGS = re.DOTALL | re.MULTILINE


#: Province-level prefixes of resident ID region codes (GB/T 2260), Taiwan, Hong Kong, Macao.
PROVINCE_CODES = frozenset(
    ("11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
     "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
     "65", "71", "81", "82", "83", "91")
)  # fmt: skip


@lru_cache(maxsize=1 << 18)
def resident_id_birth_date(value: str) -> date | None:
    """Birth date embedded in a valid resident ID number (18 or 15 digits), else None.

    18 characters: ISO 7064 MOD 11-2 check character, a real birth date and a province
    prefix; 15 digits (issued before 1999, no check digit): province prefix and a real
    ``19YYMMDD`` date. The county table is not consulted: codes are abolished and added
    every year, and numbers stay valid for life, so a table rejects real numbers.
    """
    number = ric.compact(value)
    if not number[:-1].isdigit() or number[:2] not in PROVINCE_CODES:
        return None
    if len(number) == 15 and number[-1].isdigit():
        text = f"19{number[6:12]}"
    elif len(number) == 18:
        try:
            if number[-1] != ric.calc_check_digit(number):
                return None
        except ValidationError:
            return None
        text = number[6:14]
    else:
        return None
    try:
        birth = date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None
    return birth if birth.year >= 1900 and birth <= date.today() else None


def is_resident_id(value: str) -> bool:
    """PRC resident ID: province prefix, real birth date, MOD 11-2 check (18 characters)."""
    return resident_id_birth_date(value) is not None


def is_masked_resident_id(value: str) -> bool:
    """An 18-character resident ID with some digits starred out: ``110101********123X``."""
    stars = value.count("*")
    return len(value) == 18 and 4 <= stars <= 14 and value[:2] in PROVINCE_CODES


def is_masked_card(value: str) -> bool:
    """A 16-19 digit card number with its middle starred out: ``622202******1234``."""
    if len(value) == 18 and is_masked_resident_id(value):
        return False  # the resident ID's shape wins: its mask keeps the same characters
    return 16 <= len(value) <= 19 and value.count("*") >= 4


def is_landline(value: str) -> bool:
    """A valid Chinese fixed-line number (area code and subscriber number), by phonenumbers."""
    try:
        number = phonenumbers.parse(value, "CN")
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in (
        phonenumbers.PhoneNumberType.FIXED_LINE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )


def is_bank_card(value: str) -> bool:
    """16-19 digit card number (separators ignored) with a valid Luhn check digit."""
    digits = re.sub(r"[ -]", "", value)
    return 16 <= len(digits) <= 19 and digits.isdigit() and luhn.is_valid(digits)


def is_imei(value: str) -> bool:
    """15-digit IMEI with a valid Luhn check digit (not all one digit)."""
    return len(value) == 15 and len(set(value)) > 2 and luhn.is_valid(value)


def is_ip(value: str) -> bool:
    """A valid IPv4 or IPv6 address (not an unspecified all-zero address)."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    return not address.is_unspecified


def is_coordinate_pair(value: str) -> bool:
    """``lat,lon`` or ``lon,lat`` within range, not the null island."""
    try:
        a, b = (float(x) for x in value.split(","))
    except ValueError:
        return False
    if abs(a) < 1e-3 and abs(b) < 1e-3:
        return False
    return (abs(a) <= 90 and abs(b) <= 180) or (abs(a) <= 180 and abs(b) <= 90)


@dataclass(frozen=True)
class PatternSpec:
    """One entity: pattern, optional validator, context words, and its category.

    ``min_share`` is the share of examined values that must match when the header says
    nothing; ``in_text`` patterns are specific enough to count inside free text, where a
    few cells suffice.
    """

    entity: str
    category: Category
    regex: str
    score: float
    context: tuple[str, ...]
    validator: Callable[[str], bool] | None = None
    validator_name: str = ""
    in_text: bool = True
    min_share: float = 0.02

    @cached_property
    def compiled(self) -> re.Pattern[str]:
        """The pattern, compiled once."""
        return re.compile(self.regex, FLAGS)

    @cached_property
    def grouped(self) -> re.Pattern[str]:
        """The pattern as one capture group, for ``str.extractall``."""
        return re.compile(f"({self.regex})", FLAGS)


_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_PLATE_LETTER = "A-HJ-NP-Z"
_DEC = r"-?\d{1,3}\.\d{4,}"

SPECS: tuple[PatternSpec, ...] = (
    PatternSpec(
        "CN_RESIDENT_ID",
        Category.NATIONAL_ID,
        r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
        r"\d{3}[\dXx](?![0-9A-Za-z])",
        0.4,
        ("身份证", "证件", "sfz", "id", "idcard"),
        is_resident_id,
        "MOD 11-2 + date + province",
    ),
    PatternSpec(
        "CN_RESIDENT_ID_15",
        Category.NATIONAL_ID,
        r"(?<![0-9A-Za-z])[1-9]\d{7}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}(?![0-9A-Za-z])",
        0.3,
        ("身份证", "证件", "sfz", "id", "idcard"),
        is_resident_id,
        "date + province (15 digits)",
        min_share=0.5,
    ),
    PatternSpec(
        "CN_RESIDENT_ID_MASKED",
        Category.NATIONAL_ID,
        r"(?<![0-9A-Za-z*])[1-9][0-9]{1,5}\*[0-9*]{4,15}[0-9Xx*](?![0-9A-Za-z*])",
        0.5,
        ("身份证", "证件", "sfz", "id", "idcard"),
        is_masked_resident_id,
        "18 characters, province prefix, starred digits",
    ),
    PatternSpec(
        "CN_BANK_CARD_MASKED",
        Category.FINANCIAL_ACCOUNT,
        r"(?<![0-9A-Za-z*])[3-6]\d{3,5}\*{4,11}\d{4}(?![0-9A-Za-z*])",
        0.5,
        ("银行卡", "卡号", "账号", "账户", "card", "bank", "yhk"),
        is_masked_card,
        "16-19 characters, starred middle",
    ),
    PatternSpec(
        "CN_BANK_CARD",
        Category.FINANCIAL_ACCOUNT,
        r"(?<![0-9A-Za-z])[3-6]\d{3}(?:[ -]?\d{4}){3}(?:[ -]?\d{1,3})?(?![0-9A-Za-z])",
        0.3,
        ("银行卡", "卡号", "账号", "账户", "card", "bank", "yhk"),
        is_bank_card,
        "luhn 16-19",
    ),
    PatternSpec(
        "CN_MOBILE",
        Category.PHONE_NUMBER,
        r"(?<![0-9A-Za-z+])(?:(?:\+|00)86[ -]?)?"
        r"1(?:3\d|4[5-9]|5[0-35-9]|6[2567]|7[0-8]|8\d|9[0-35-9])[ -]?\d{4}[ -]?\d{4}"
        r"(?![0-9A-Za-z])",
        0.6,
        ("手机", "电话", "联系", "mobile", "phone", "tel", "sjh"),
    ),
    PatternSpec(
        "CN_MOBILE_MASKED",
        Category.PHONE_NUMBER,
        r"(?<![0-9A-Za-z*])(?:1[3-9]\d[*＊]{4}\d{4}|1[3-9]\d[*＊]{8}|1[*＊]{10}|[*＊]{7}\d{4})"
        r"(?![0-9A-Za-z*])",
        0.6,
        ("手机", "电话", "联系", "mobile", "phone", "tel", "sjh"),
    ),
    PatternSpec(
        "CN_LANDLINE",
        Category.PHONE_NUMBER,
        r"(?<![0-9A-Za-z+])(?:(?:\+|00)86[ -]?)?(?:\(0\d{2,3}\)|（0\d{2,3}）|0\d{2,3}[ -]?)"
        r"[2-9]\d{2,3}[ -]?\d{4}(?![0-9])",
        0.3,
        ("电话", "座机", "固话", "联系", "phone", "tel"),
        is_landline,
        "phonenumbers fixed line",
    ),
    PatternSpec(
        "EMAIL_ADDRESS",
        Category.EMAIL,
        r"(?<![A-Za-z0-9._%+*-])[A-Za-z0-9._%+*-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
        r"\.[A-Za-z]{2,}(?![A-Za-z0-9-])",
        0.7,
        ("邮箱", "邮件", "email", "mail"),
    ),
    PatternSpec(
        "IP_ADDRESS",
        Category.IP_ADDRESS,
        r"(?<![0-9.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}"
        r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?!\.?\d)"
        r"|(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Fa-f:])",
        0.4,
        ("ip", "地址", "登录"),
        is_ip,
        "ipaddress",
    ),
    PatternSpec(
        "WECHAT_WXID",
        Category.WECHAT_ID,
        r"(?<![A-Za-z0-9_])wxid_[a-z0-9]{8,24}(?![A-Za-z0-9_])",
        0.8,
        ("微信", "wechat", "wx"),
    ),
    PatternSpec(
        "WECHAT_HANDLE",
        Category.WECHAT_ID,
        r"(?<![A-Za-z0-9_])(?:微信|威信|薇信|[vV]信|[vV][xX]|[wW][xX])号?(?!id_)\s*[:：]?\s*"
        r"[A-Za-z][-_A-Za-z0-9]{5,19}"
        r"(?![-_A-Za-z0-9])",
        0.7,
        ("微信", "wechat", "wx"),
    ),
    PatternSpec(
        "WECHAT_OPENID",
        Category.WECHAT_ID,
        r"(?<![A-Za-z0-9_-])o[A-Za-z0-9_-]{27}(?![A-Za-z0-9_-])",
        0.4,
        ("openid", "unionid", "微信", "wechat", "wx"),
        in_text=False,
        min_share=0.5,
    ),
    PatternSpec(
        "WECOM_EXTERNAL_USERID",
        Category.WECHAT_ID,
        r"(?<![A-Za-z0-9_-])w[mo][A-Za-z0-9_-]{28,36}(?![A-Za-z0-9_-])",
        0.5,
        ("外部联系人", "external", "userid", "企微", "wecom"),
        in_text=False,
        min_share=0.5,
    ),
    PatternSpec(
        "CN_PASSPORT",
        Category.PASSPORT,
        r"(?<![A-Za-z0-9])(?:[EG]\d{8}|E[A-HJ-NP-Z]\d{7}|[DPS]E?\d{7})(?![A-Za-z0-9])",
        0.3,
        ("护照", "passport", "hzh"),
        in_text=False,
        min_share=0.5,
    ),
    PatternSpec(
        "CN_LICENSE_PLATE",
        Category.LICENSE_PLATE,
        rf"[{_PROVINCES}][{_PLATE_LETTER}][·•]?"
        rf"(?:[{_PLATE_LETTER}0-9]{{5,6}}|[{_PLATE_LETTER}0-9]{{4}}[挂学警港澳])(?![A-Za-z0-9])",
        0.5,
        ("车牌", "plate", "cph", "车辆"),
        in_text=False,
        min_share=0.5,
    ),
    PatternSpec(
        "GEO_COORDINATES",
        Category.WHEREABOUTS,
        rf"(?<![0-9.,-])(?<!, ){_DEC} ?, ?{_DEC}(?![0-9.])(?! ?, ?-?\d)",
        0.4,
        ("位置", "定位", "坐标", "经纬度", "location", "gps", "lat", "lng"),
        is_coordinate_pair,
        "coordinate range",
    ),
    PatternSpec(
        "DEVICE_IMEI",
        Category.DEVICE_ID,
        r"(?<![0-9A-Za-z])\d{15}(?![0-9A-Za-z])",
        0.2,
        ("imei", "设备", "device"),
        is_imei,
        "luhn imei",
        in_text=False,
        min_share=0.3,
    ),
    PatternSpec(
        "MAC_ADDRESS",
        Category.DEVICE_ID,
        r"(?<![0-9A-Fa-f:-])[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}(?![0-9A-Fa-f:-])",
        0.5,
        ("mac", "设备", "device"),
        in_text=False,
        min_share=0.5,
    ),
)
