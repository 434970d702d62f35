"""Raw-value shapes: privseg's own key ids and hashes never read as card or mobile numbers."""

from __future__ import annotations

import hashlib

import pytest

from privseg import audit
from privseg.errors import PrivsegError
from privseg.rawvalues import raw_shape


@pytest.mark.parametrize(
    ("text", "shape"),
    [
        ("6222021234567890123", "card or account number"),
        ("1234567890123456", "card or account number"),  # 16 digits: a card, even though hex
        ("customers-1234567890123456", "card or account number"),
        ("13812345678", "mobile number"),
        ("x13812345678y", "mobile number"),
        ("a" * 15 + "13812345678", "mobile number"),  # 26 characters: not a key id
        ("a138123456789bcd", None),  # a key id holding a mobile-like run
        ("customers-0123456789012a45", None),  # a key id holding 12 digits in a row
        ("f" + "0" * 63, None),  # a SHA-256
        ("purpose-42", None),
    ],
)
def test_raw_shape_spares_only_own_hex_ids(text: str, shape: str | None) -> None:
    assert raw_shape(text) == shape


def test_every_key_id_is_a_valid_audit_key_id() -> None:
    """Key ids are sha256[:16]: whatever their digits, the recorder accepts them (it refused
    about 1-2% of random keys when it searched them for card numbers)."""
    for i in range(3000):
        key_id = hashlib.sha256(str(i).encode()).hexdigest()[:16]
        recorder = audit.RunRecorder("apply", "tester", None)
        recorder.set_key_id(key_id)
        assert recorder.key_id == key_id
        assert raw_shape(f"customers-{key_id}") is None or key_id.isdigit()


@pytest.mark.parametrize("bad", ["k1", "13812345678", "ABCDEF0123456789", "0123456789abcdef0"])
def test_audit_key_id_must_be_sixteen_lowercase_hex(bad: str) -> None:
    with pytest.raises(PrivsegError, match="key id"):
        audit.RunRecorder("apply", "tester", None).set_key_id(bad)
