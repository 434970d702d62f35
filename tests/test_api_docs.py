"""The Python API reference: pdoc builds it from the docstrings, every public name of
``privseg.__all__`` appears with its signature and an example, and the examples run."""

from __future__ import annotations

import doctest
import inspect
import io
import runpy
from collections.abc import Callable
from enum import Enum
from pathlib import Path

import pandas as pd
import pytest

import privseg

ROOT = Path(__file__).resolve().parents[1]
NAMES = [name for name in privseg.__all__ if name != "__version__"]


def _build() -> Callable[[Path], Path]:
    build: Callable[[Path], Path] = runpy.run_path(str(ROOT / "docs" / "build_api.py"))["build"]
    return build


@pytest.mark.slow
def test_the_reference_builds_and_shows_every_public_name_with_its_signature(
    tmp_path: Path,
) -> None:
    page = _build()(tmp_path).read_text(encoding="utf-8")
    for name in privseg.__all__:
        section = page.split(f'<section id="{name}">')[1].split("</section>")[0]
        assert f'<span class="name">{name}</span>' in section, name
        value = getattr(privseg, name)
        if isinstance(value, type) and issubclass(value, Enum | BaseException):
            assert '<span class="base">' in section, name  # built from a value or a message
        elif callable(value):
            assert '<span class="signature' in section, name
        if name != "__version__":
            assert "&gt;&gt;&gt;" in section or "pycon" in section, f"{name}: no example shown"


def test_every_public_name_has_a_docstring_with_an_example() -> None:
    missing = [n for n in NAMES if ">>>" not in (inspect.getdoc(getattr(privseg, n)) or "")]
    assert missing == []


@pytest.mark.parametrize("name", NAMES)
def test_the_examples_run(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    for variable in ("PRIVSEG_TRAIL", "PRIVSEG_LEDGER", "PRIVSEG_MASTER_KEY"):
        monkeypatch.delenv(variable, raising=False)
    finder = doctest.DocTestFinder(exclude_empty=True)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    runner = doctest.DocTestRunner(optionflags=flags)
    out = io.StringIO()
    tests = finder.find(
        getattr(privseg, name), name, module=False, globs={"privseg": privseg, "pd": pd}
    )
    assert tests, f"{name} has no example"
    for test in tests:
        runner.run(test, out=out.write)
    assert runner.failures == 0, out.getvalue()
