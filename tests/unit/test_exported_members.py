"""The public API stays honest: everything in __all__ exists, is public and sorted."""

from __future__ import annotations

import privseg


def test_all_is_sorted_and_unique() -> None:
    assert list(privseg.__all__) == sorted(set(privseg.__all__))


def test_all_members_exist() -> None:
    for name in privseg.__all__:
        assert hasattr(privseg, name), name


def test_public_members_are_exported() -> None:
    public = {
        name
        for name, value in vars(privseg).items()
        if not name.startswith("_") and getattr(value, "__module__", "").startswith("privseg")
    }
    assert public <= set(privseg.__all__)
