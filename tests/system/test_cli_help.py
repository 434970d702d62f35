"""The root CLI: ``--help``, ``--version``, and help text with examples for every command.

``test_every_command_help_has_examples`` fails while any command lacks an ``Examples:`` block.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import privseg
from privseg.cli import main


def privseg_executable() -> str:
    script = Path(sys.executable).with_name("privseg")
    found = str(script) if script.exists() else shutil.which("privseg")
    assert found, "the privseg console script is not installed"
    return found


def test_root_help_and_version() -> None:
    done = subprocess.run(
        [privseg_executable(), "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "Usage: privseg" in done.stdout and "Examples:" in done.stdout
    done = subprocess.run(
        [privseg_executable(), "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"privseg, version {privseg.__version__}"


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in sorted(group.commands.items()):
        yield (*path, name)
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))


ALL_COMMANDS = list(_commands(main))


def test_commands_are_registered() -> None:
    assert ("info",) in ALL_COMMANDS


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=" ".join)
def test_every_command_help_has_examples(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Examples:" in result.output, f"'privseg {' '.join(path)} --help' has no Examples:"
