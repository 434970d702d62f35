"""Whose data a column holds: an animal's health, age and birthday are not personal information.

A pet clinic's or pet shop's export describes the owner (name, phone, address: personal
information) and the animal (diagnosis, drugs, temperature, weight, age: not about a person,
so neither health information nor a minor's age under PIPL). A column is about an animal when
its header names one (宠物年龄, pet_age), or when the table is a veterinary one and the header
names no person: a header names a vet (兽医, 宠物医院, veterinary) or two headers name
animals, and no header names a human patient (患者, 就诊人, patient), which keeps a human
clinic's table screened as such even when it asks about pets.
"""

from __future__ import annotations

from collections.abc import Iterable

from privseg.screening.lexicon import header_tokens
from privseg.taxonomy import Category

__all__ = ["ANIMAL_FACTS", "about_animal", "animal_column", "veterinary_table"]

#: Categories that say nothing about a person when they describe an animal.
ANIMAL_FACTS = frozenset(
    (Category.MEDICAL_HEALTH, Category.AGE, Category.BIRTH_DATE, Category.MINOR)
)

_ANIMAL_ZH = ("宠物", "爱宠", "萌宠", "兽医", "动物", "犬", "猫咪", "狗狗", "宠主")
_ANIMAL_TOKENS = frozenset(
    ("pet", "pets", "vet", "veterinary", "animal", "canine", "feline", "dog", "cat", "puppy",
     "kitten", "chongwu")
)  # fmt: skip
_VET_ZH = ("兽医", "宠物医院", "宠物诊所", "动物医院", "动物诊所")
_VET_TOKENS = frozenset(("vet", "veterinary", "veterinarian"))
_PATIENT_ZH = ("患者", "病人", "就诊人", "就诊者", "孕妇", "产妇", "宝宝", "孩子", "学员", "本人")
_PATIENT_TOKENS = frozenset(("patient", "patients", "huanzhe"))
#: A header naming a person role: the owner's own columns keep every category.
_PERSON_ZH = ("主人", "宠主", "客户", "会员", "顾客", "家长", "联系人")
_PERSON_TOKENS = frozenset(("owner", "customer", "member", "client", "guardian"))


def _names(header: str, zh: Iterable[str], tokens: frozenset[str]) -> bool:
    lowered = header.lower()
    return any(z in lowered for z in zh) or bool(tokens.intersection(header_tokens(header)))


def about_animal(header: str) -> bool:
    """Whether the header names an animal and no person (宠物年龄: yes; 宠物主人电话: no)."""
    return _names(header, _ANIMAL_ZH, _ANIMAL_TOKENS) and not _names(
        header, _PERSON_ZH, _PERSON_TOKENS
    )


def veterinary_table(headers: Iterable[str]) -> bool:
    """Whether the headers describe a veterinary table (see the module docstring)."""
    names = list(headers)
    if any(_names(h, _PATIENT_ZH, _PATIENT_TOKENS) for h in names):
        return False
    vet = any(_names(h, _VET_ZH, _VET_TOKENS) for h in names)
    return vet or sum(about_animal(h) for h in names) >= 2


def animal_column(header: str, *, veterinary: bool) -> bool:
    """Whether a column describes an animal: its header says so, or it sits in a veterinary
    table and its header names no person."""
    if about_animal(header):
        return True
    return veterinary and not _names(header, _PERSON_ZH, _PERSON_TOKENS)
