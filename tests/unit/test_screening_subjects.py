"""Whose data a column holds: animals' health and ages are not personal information."""

from __future__ import annotations

import pandas as pd
import pytest

from privseg.screening import screen
from privseg.screening.subjects import about_animal, animal_column, veterinary_table

# (header, names an animal and no person)
HEADERS = [
    ("宠物年龄", True),
    ("爱宠名字", True),
    ("pet_age", True),
    ("犬种", True),
    ("宠物主人电话", False),
    ("owner_pet_name", False),
    ("年龄", False),
    ("category", False),  # a token, not the substring "cat"
    ("诊断", False),
]


@pytest.mark.parametrize(("header", "animal"), HEADERS)
def test_about_animal(header: str, animal: bool) -> None:
    assert about_animal(header) is animal


# (headers of a table, veterinary)
TABLES = [
    (["主人姓名", "宠物名", "诊断", "主治兽医"], True),
    (["owner", "pet_name", "diagnosis", "vet"], True),
    (["主人", "宠物名", "宠物年龄", "体温"], True),
    (["患者姓名", "诊断", "是否养宠物", "宠物品种"], False),  # a human clinic asking about pets
    (["姓名", "宠物名", "体温"], False),  # one animal header is not enough
    (["姓名", "诊断", "体温"], False),
]


@pytest.mark.parametrize(("headers", "vet"), TABLES)
def test_veterinary_table(headers: list[str], vet: bool) -> None:
    assert veterinary_table(headers) is vet


def test_animal_column_keeps_the_owners_columns() -> None:
    assert animal_column("诊断", veterinary=True)
    assert not animal_column("诊断", veterinary=False)
    assert not animal_column("主人电话", veterinary=True)
    assert not animal_column("客户备注", veterinary=True)


def _table(headers: dict[str, list[str]], full: bool) -> dict[str, set[str]]:
    n = max(len(v) for v in headers.values())
    frame = pd.DataFrame({h: (v * n)[:n] * 10 for h, v in headers.items()})
    report = screen(frame, sample=200, full=full)
    return {c.name: {k.value for k in c.categories} for c in report.columns}


@pytest.mark.parametrize("full", [False, True])
def test_pet_health_is_not_human_health_but_the_owner_stays_personal(full: bool) -> None:
    pets = {
        "主人姓名": ["李娜", "王强", "陈静", "赵敏", "孙杰"],
        "主人电话": ["13912345678", "18612345678", "15812345678", "17712345678", "13312345678"],
        "宠物名": ["豆豆", "旺财", "咪咪", "橘子", "可乐"],
        "宠物年龄": ["3岁", "5岁", "1岁", "8岁", "2岁"],
        "诊断": ["猫瘟", "肾衰竭", "皮肤真菌感染", "骨折术后复查", "耳螨"],
        "体温": ["38.5℃", "39.1℃", "38.2℃", "38.8℃", "39.0℃"],
        "主治兽医": ["刘医生", "张医生", "刘医生", "张医生", "刘医生"],
    }
    got = _table(pets, full)
    assert got["主人姓名"] == {"person_name"}
    assert got["主人电话"] == {"phone_number"}
    for column in ("宠物名", "宠物年龄", "诊断", "体温"):
        assert got[column] == set(), column
    assert "person_name" in got["主治兽医"]
    # the same columns in a human clinic's table are health and a minor's age
    human = {k.replace("主人", "患者").replace("宠物", "患者"): v for k, v in pets.items()}
    human.pop("主治兽医")
    got = _table(human, full)
    assert "medical_health" in got["诊断"] and "medical_health" in got["体温"]
    assert {"age", "minor"} <= got["患者年龄"]
