"""Documented input ceilings: each refusal is an InputError (exit 2) naming what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from privseg.errors import LimitError, MalformedInputError, PolicyError, SourceNotFoundError
from privseg.limits import (
    MAX_COLUMNS,
    check_column_count,
    check_column_name,
    parse_yaml,
    read_regular,
)


@pytest.mark.parametrize(
    ("name", "why"),
    [("a\x00b", "control"), ("a\nb", "control"), ("x" * 201, "longer"),
     ("13812345678", "mobile"), ("a@b.com", "email"), ("wm" + "a" * 30, "WeChat")],
)  # fmt: skip
def test_column_names_that_cannot_be_headers(name: str, why: str) -> None:
    with pytest.raises(MalformedInputError, match=why) as caught:
        check_column_name(name, 3, "t.csv", 1)
    assert name not in str(caught.value) and "column 3" in str(caught.value)
    check_column_name("手机号", 1, "t.csv", 1)


def test_column_count() -> None:
    check_column_count(MAX_COLUMNS, "t.csv")
    with pytest.raises(LimitError):
        check_column_count(MAX_COLUMNS + 1, "t.csv")


def test_yaml_aliases_expand_within_the_limit_only(tmp_path: Path) -> None:
    node, data = parse_yaml("a: &a [1, 2]\nb: *a\n", "p.yaml")
    assert data == {"a": [1, 2], "b": [1, 2]} and isinstance(node, yaml.MappingNode)
    laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n" for p, c in zip("abcde", "bcdef", strict=True)
    )
    with pytest.raises(LimitError, match="aliases"):
        parse_yaml(laughs, "p.yaml")
    with pytest.raises(LimitError, match="itself"):
        parse_yaml("a: &a [*a]\n", "p.yaml")
    with pytest.raises(PolicyError, match="YAML"):
        parse_yaml("\x00", "p.yaml")


def test_only_bounded_regular_files_are_read(tmp_path: Path) -> None:
    small = tmp_path / "p.yaml"
    small.write_text("a: 1\n")
    assert read_regular(small, 100, "policy file") == b"a: 1\n"
    with pytest.raises(LimitError, match="larger"):
        read_regular(small, 3, "policy file")
    with pytest.raises(SourceNotFoundError, match="regular"):
        read_regular(Path("/dev/zero"), 100, "policy file")
    with pytest.raises(PolicyError, match="not found"):
        read_regular(tmp_path / "missing", 100, "policy file", PolicyError)
