"""Header lexicon: identity-card headers are not bank cards, bank-card headers still are."""

from __future__ import annotations

import pytest

from privseg.screening.lexicon import header_hits
from privseg.taxonomy import Category


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("ID card no", {Category.NATIONAL_ID}),
        ("id_card_no", {Category.NATIONAL_ID}),
        ("身份证卡号", {Category.NATIONAL_ID}),
        ("Bank card no", {Category.FINANCIAL_ACCOUNT}),
        ("card_no", {Category.FINANCIAL_ACCOUNT}),
        ("银行卡号", {Category.FINANCIAL_ACCOUNT}),
    ],
)
def test_card_headers(header: str, expected: set[Category]) -> None:
    assert {hit.category for hit in header_hits(header)} == expected
