"""Which columns are quasi-identifiers when nobody named them: from a screening report.

Quasi-identifiers are the indirect identifiers an attacker can know from elsewhere: gender,
age, birth date, address (a province or city too), licence plates, coarse location, and the
dates of events such as registration (a column whose header names a date or time).
"""

from __future__ import annotations

import re

from privseg.screening import ScreenReport
from privseg.taxonomy import Category

__all__ = ["QUASI_CATEGORIES", "screened_quasi"]

#: Screening categories that make a column a quasi-identifier.
QUASI_CATEGORIES = frozenset(
    {
        Category.GENDER,
        Category.AGE,
        Category.BIRTH_DATE,
        Category.ADDRESS,
        Category.LICENSE_PLATE,
        Category.WHEREABOUTS,
        Category.MINOR,
    }
)
#: Direct identifiers are not quasi-identifiers: they are pseudonymized or dropped.
_DIRECT = frozenset(
    {
        Category.NATIONAL_ID,
        Category.PHONE_NUMBER,
        Category.EMAIL,
        Category.WECHAT_ID,
        Category.PASSPORT,
        Category.PERSON_NAME,
        Category.DEVICE_ID,
        Category.IP_ADDRESS,
        Category.FINANCIAL_ACCOUNT,
        Category.BIOMETRIC,
    }
)
_EVENT_DATE = re.compile(r"时间|日期|date|time|(^|_)(at|day)$", re.IGNORECASE)


def screened_quasi(report: ScreenReport) -> list[str]:
    """Quasi-identifiers of a screened table, in table order."""
    chosen = []
    for verdict in report.columns:
        categories = {Category(c) for c in verdict.categories}
        if categories & _DIRECT:
            continue
        if categories & QUASI_CATEGORIES or _EVENT_DATE.search(verdict.name):
            chosen.append(verdict.name)
    return chosen
