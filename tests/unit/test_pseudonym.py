"""Tokens, key files, reversible mode and rotation."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import stat
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from privseg import pseudonym
from privseg.errors import InputError, IntegrityError, KeyFileError
from privseg.pseudonym import (
    KEY_ENV,
    IdKind,
    Key,
    Tokenizer,
    load_key,
    new_key_file,
    normalize,
    purpose_key,
    read_key_file,
)
from privseg.reversible import ReversibleCipher, reidentify, rotate

VECTOR_KEY = Key(bytes.fromhex("7f3a9c0e5b2d4f6a8c1e3b5d7f9a0c2e4b6d8f1a3c5e7b9d0f2a4c6e8b1d3f5a"))
OTHER_KEY = Key(bytes(range(32)))
ids = st.text(min_size=1, max_size=40).filter(lambda s: s.strip() != "")


def reference_token(key: Key, purpose: str, normalized: str) -> str:
    """The contract written with the standard library only."""
    digest = hmac.new(purpose_key(key, purpose), normalized.encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower()[:26]


def test_test_vector() -> None:
    tokenizer = Tokenizer(VECTOR_KEY, "wecom-marketing")
    assert tokenizer.token("+86 138-1234-5678", kind=IdKind.MOBILE) == "he4lscfas47ru2rbfeus4mgjj5"


@given(st.lists(ids, min_size=1, max_size=30))
def test_vectorized_tokens_follow_the_contract(values: list[str]) -> None:
    tokenizer = Tokenizer(VECTOR_KEY, "p")
    got = tokenizer.tokenize(pd.Series(values, dtype="str"), kind=IdKind.OTHER).tolist()
    assert got == [reference_token(VECTOR_KEY, "p", v.strip()) for v in values]


@given(ids)
def test_deterministic(value: str) -> None:
    a = Tokenizer(VECTOR_KEY, "p").token(value, kind=IdKind.OTHER)
    assert a == Tokenizer(VECTOR_KEY, "p").token(value, kind=IdKind.OTHER)
    assert len(a) == 26 and set(a) <= set("abcdefghijklmnopqrstuvwxyz234567")


@given(ids, st.text(min_size=1, max_size=20), st.text(min_size=1, max_size=20))
def test_purposes_and_keys_separate(value: str, p1: str, p2: str) -> None:
    if p1 == p2:
        p2 = p1 + "x"
    assert Tokenizer(VECTOR_KEY, p1).token(value, kind=IdKind.OTHER) != Tokenizer(
        VECTOR_KEY, p2
    ).token(value, kind=IdKind.OTHER)
    assert Tokenizer(VECTOR_KEY, p1).token(value, kind=IdKind.OTHER) != Tokenizer(
        OTHER_KEY, p1
    ).token(value, kind=IdKind.OTHER)


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True), st.sampled_from(["", "+86", "0086"]))
def test_mobile_normalization_equivalences(number: str, prefix: str) -> None:
    tokenizer = Tokenizer(VECTOR_KEY, "p")
    spaced = f"  {prefix} ({number[:3]}) {number[3:7]}-{number[7:]} "
    assert normalize(spaced, kind=IdKind.MOBILE) == number
    assert tokenizer.token(spaced, kind=IdKind.MOBILE) == tokenizer.token(
        number, kind=IdKind.MOBILE
    )


_MOBILE_CHARS = st.sampled_from(list("+086 -()\t\u3000\xa0手13x"))


@given(st.lists(st.none() | st.text(_MOBILE_CHARS, max_size=9), max_size=40), st.integers(0, 5))
def test_vectorized_mobile_normalization_matches_the_rule(
    values: list[str | None], start: int
) -> None:
    """Byte-level mobile normalization = trim, drop ' -()', then one leading +86/0086."""

    def rule(value: str) -> str:
        return re.sub(r"^(?:\+86|0086)", "", re.sub(r"[ ()-]", "", value.strip()))

    array = pa.array(values, pa.large_string()).slice(min(start, len(values)))
    got = pseudonym._normalize_arrow(IdKind.MOBILE, array).to_pylist()
    assert got == [None if v is None else rule(v) for v in array.to_pylist()]


@given(st.from_regex(r"[a-z0-9._]{1,12}@[a-z0-9]{1,10}\.(com|cn)", fullmatch=True))
def test_email_and_national_id_case(email: str) -> None:
    tokenizer = Tokenizer(VECTOR_KEY, "p")
    assert tokenizer.token(f" {email.upper()}", kind=IdKind.EMAIL) == tokenizer.token(
        email, kind=IdKind.EMAIL
    )
    nid = "11010519491231002x"
    assert tokenizer.token(nid, kind=IdKind.NATIONAL_ID) == tokenizer.token(
        nid.upper(), kind=IdKind.NATIONAL_ID
    )


@pytest.mark.parametrize("kind", list(IdKind))
def test_kind_strings_and_enums_give_the_same_tokens(kind: IdKind) -> None:
    tokenizer = Tokenizer(VECTOR_KEY, "wecom-marketing")
    raw = " +86 138-1234-5678 "
    assert tokenizer.token(raw, kind=kind.value) == tokenizer.token(raw, kind=kind)
    values = pd.Series([raw, "0086 (138) 1234 5678", None], dtype="str")
    assert tokenizer.tokenize(values, kind=kind.value).equals(tokenizer.tokenize(values, kind=kind))
    assert normalize(raw, kind=kind.value) == normalize(raw, kind=kind)


def test_string_mobile_kind_normalizes_like_the_enum_and_the_vector() -> None:
    tokenizer = Tokenizer(VECTOR_KEY, "wecom-marketing")
    assert tokenizer.token("+86 138-1234-5678", kind="mobile") == "he4lscfas47ru2rbfeus4mgjj5"


def test_unknown_kinds_raise_without_echoing_ids() -> None:
    tokenizer = Tokenizer(VECTOR_KEY, "p")
    with pytest.raises(InputError, match="unknown id kind 'nonsense'; use one of: mobile"):
        tokenizer.token("13812345678", kind="nonsense")
    with pytest.raises(InputError, match="unknown id kind") as raised:
        tokenizer.token("mobile", kind="+86 138-1234-5678")  # id and kind swapped
    assert "138" not in str(raised.value)
    with pytest.raises(InputError, match="unknown id kind"):
        tokenizer.tokenize(pd.Series([], dtype="str"), kind="phone")
    with pytest.raises(InputError, match="unknown id kind"):
        normalize("x", kind="MOBILE")
    with pytest.raises(InputError, match="unknown id kind"):
        ReversibleCipher(OTHER_KEY, "p").encrypt(
            pd.Series(["x"], dtype="str"), kind="id", column="c"
        )


def test_kind_is_keyword_only() -> None:
    tokenizer = Tokenizer(VECTOR_KEY, "p")
    with pytest.raises(TypeError):
        tokenizer.token(IdKind.MOBILE, "13812345678")  # type: ignore[misc]
    with pytest.raises(TypeError):
        tokenizer.tokenize(pd.Series(["1"], dtype="str"), IdKind.OTHER)  # type: ignore[misc]
    with pytest.raises(TypeError):
        normalize(IdKind.OTHER, "1")  # type: ignore[misc]


def test_other_kinds_keep_case_and_inner_spaces() -> None:
    assert normalize(" wmAb c ", kind=IdKind.WECHAT_ID) == "wmAb c"


def test_nulls_and_empty_ids_stay_null() -> None:
    values = pd.Series(["13812345678", None, "  ", "13812345678"], dtype="str")
    out = Tokenizer(VECTOR_KEY, "p").tokenize(values, kind=IdKind.MOBILE)
    assert out.isna().tolist() == [False, True, True, False]
    assert out.iloc[0] == out.iloc[3]
    with pytest.raises(InputError):
        Tokenizer(VECTOR_KEY, "p").token(" - ", kind=IdKind.MOBILE)


def test_integral_numbers_tokenize_like_text() -> None:
    tokenizer = Tokenizer(VECTOR_KEY, "p")
    as_float = tokenizer.tokenize(pd.Series([13812345678.0, None]), kind=IdKind.MOBILE)
    assert as_float.iloc[0] == tokenizer.token("13812345678", kind=IdKind.MOBILE)


def test_dedup_is_chosen_by_repeats_among_non_empty_ids() -> None:
    distinct = [f"id{i}" for i in range(9000)]
    with_blanks = pa.array(distinct + [""] * 1000 + [None] * 1000, pa.large_string())
    assert pseudonym._mostly_distinct(with_blanks)  # blank cells are not repeats
    repeated = pa.array([f"id{i % 500}" for i in range(10000)], pa.large_string())
    assert not pseudonym._mostly_distinct(repeated)


@pytest.mark.parametrize("repeats", [1, 20])
def test_tokens_are_the_same_with_and_without_dedup(repeats: int) -> None:
    ids = [f"+86 138{i % (4000 // repeats):08d}" for i in range(4000)] + ["", None]
    values = pd.Series(ids, dtype="str")
    tokenizer = Tokenizer(VECTOR_KEY, "p", workers=1)
    one_by_one = [None if v in ("", None) else tokenizer.token(v, kind=IdKind.MOBILE) for v in ids]
    tokens = tokenizer.tokenize(values, kind=IdKind.MOBILE)
    assert [None if pd.isna(t) else t for t in tokens] == one_by_one
    assert pseudonym._mostly_distinct(pa.array(ids, pa.large_string())) == (repeats == 1)


def test_forked_split_gives_the_same_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    values = pd.Series([f"id{i}" for i in range(2001)], dtype="str")
    single = Tokenizer(VECTOR_KEY, "p", workers=1).tokenize(values, kind=IdKind.OTHER)
    monkeypatch.setattr(pseudonym, "_PARALLEL_MIN", 1000)
    split = Tokenizer(VECTOR_KEY, "p", workers=2).tokenize(values, kind=IdKind.OTHER)
    assert split.equals(single)


# ---------------------------------------------------------------- key files


def test_new_key_file_is_0600_hex_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "k.key"
    key = new_key_file(path)
    text = path.read_text()
    assert len(text) == 65 and text.endswith("\n") and text[:-1] == key.material.hex()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert key.key_id == hashlib.sha256(key.material).hexdigest()[:16]
    assert read_key_file(path) == key
    with pytest.raises(KeyFileError, match="overwrite"):
        new_key_file(path)
    assert path.read_text() == text
    assert list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_readable_key_file_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "k.key"
    new_key_file(path)
    os.chmod(path, mode)
    with pytest.raises(KeyFileError, match="chmod 600"):
        read_key_file(path)
    assert read_key_file(path, insecure_permissions=True).material


@pytest.mark.parametrize(
    "text", ["", "abc\n", "7F3A" * 16 + "\n", "7f3a" * 16 + "\n\n", "zz" * 32 + "\n"]
)
def test_malformed_key_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "k.key"
    path.write_text(text)
    os.chmod(path, 0o600)
    with pytest.raises(KeyFileError, match="expected 64 lowercase hex"):
        read_key_file(path)


def test_env_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, VECTOR_KEY.material.hex())
    assert load_key(None) == VECTOR_KEY
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(KeyFileError, match=KEY_ENV):
        load_key(None)


def test_key_repr_hides_material() -> None:
    assert VECTOR_KEY.material.hex() not in repr(VECTOR_KEY)


# ---------------------------------------------------------------- reversible mode and rotation


@given(st.lists(ids, min_size=1, max_size=10))
def test_aes_siv_round_trip(values: list[str]) -> None:
    cipher = ReversibleCipher(OTHER_KEY, "wecom-marketing")
    sealed = cipher.encrypt(pd.Series(values, dtype="str"), kind=IdKind.OTHER, column="c")
    assert cipher.decrypt(sealed, column="c").tolist() == [v.strip() for v in values]
    again = cipher.encrypt(pd.Series(values, dtype="str"), kind=IdKind.OTHER, column="c")
    assert sealed.tolist() == again.tolist()


def test_aes_siv_binds_purpose_column_and_key() -> None:
    sealed = ReversibleCipher(OTHER_KEY, "wecom-marketing").encrypt_one("13812345678", column="m")
    assert ReversibleCipher(OTHER_KEY, "wecom-marketing").decrypt_one(sealed, column="m") == (
        "13812345678"
    )
    with pytest.raises(IntegrityError, match="purpose"):
        ReversibleCipher(OTHER_KEY, "bi-dashboard").decrypt_one(sealed, column="m")
    with pytest.raises(IntegrityError, match="column"):
        ReversibleCipher(OTHER_KEY, "wecom-marketing").decrypt_one(sealed, column="other")
    with pytest.raises(IntegrityError):
        ReversibleCipher(VECTOR_KEY, "wecom-marketing").decrypt_one(sealed, column="m")
    tampered = ("b" if sealed[0] == "a" else "a") + sealed[1:]
    with pytest.raises(IntegrityError):
        ReversibleCipher(OTHER_KEY, "wecom-marketing").decrypt_one(tampered, column="m")


def test_reidentify_checks_ids_against_the_rows_tokens() -> None:
    raw = pd.Series(["13812345678", "13900001111", None], dtype="str")
    tokenizer, cipher = Tokenizer(VECTOR_KEY, "p"), ReversibleCipher(OTHER_KEY, "p")
    table = pd.DataFrame(
        {
            "m": tokenizer.tokenize(raw, kind=IdKind.MOBILE),
            "m__reversible": cipher.encrypt(raw, kind=IdKind.MOBILE, column="m"),
        }
    )
    out = reidentify(table, ["m"], cipher, tokenizer)
    assert list(out.columns) == ["m", "m__id"]
    assert out["m__id"].tolist()[:2] == ["13812345678", "13900001111"]
    swapped = table.assign(m__reversible=table["m__reversible"].iloc[[1, 0, 2]].to_numpy())
    with pytest.raises(IntegrityError, match="2 rows"):
        reidentify(swapped, ["m"], cipher, tokenizer)
    with pytest.raises(KeyFileError, match="--key"):
        reidentify(table, ["m"], cipher, None)
    assert reidentify(table[["m__reversible"]], ["m"], cipher, None)["m__id"].iloc[1] == (
        "13900001111"
    )


def test_rotation_rekeys_tokens_and_ciphertexts() -> None:
    new_master, new_rev = Key(bytes([7] * 32)), Key(bytes([9] * 32))
    raw = pd.Series(["+86 138 1234 5678", None, "13900001111"], dtype="str")
    old_tok, old_cip = Tokenizer(VECTOR_KEY, "p"), ReversibleCipher(OTHER_KEY, "p")
    table = pd.DataFrame(
        {
            "m": old_tok.tokenize(raw, kind=IdKind.MOBILE),
            "m__reversible": old_cip.encrypt(raw, kind=IdKind.MOBILE, column="m"),
        }
    )
    out = rotate(
        table,
        ["m"],
        old_tokenizer=old_tok,
        old_cipher=old_cip,
        new_tokenizer=Tokenizer(new_master, "p"),
        new_cipher=ReversibleCipher(new_rev, "p"),
    )
    assert out["m"].tolist()[0] == Tokenizer(new_master, "p").token(
        "13812345678", kind=IdKind.MOBILE
    )
    assert pd.isna(out["m"].iloc[1])
    assert (
        ReversibleCipher(new_rev, "p").decrypt(out["m__reversible"], column="m").tolist()[2]
        == "13900001111"
    )
    with pytest.raises(InputError, match="old key"):
        rotate(
            table,
            ["m"],
            old_tokenizer=Tokenizer(new_master, "p"),
            old_cipher=old_cip,
            new_tokenizer=Tokenizer(new_master, "p"),
            new_cipher=ReversibleCipher(new_rev, "p"),
        )
    with pytest.raises(InputError, match="one-way"):
        rotate(
            table[["m"]],
            ["m"],
            old_tokenizer=old_tok,
            old_cipher=old_cip,
            new_tokenizer=Tokenizer(new_master, "p"),
            new_cipher=ReversibleCipher(new_rev, "p"),
        )
