"""CLI commands of the apply stage."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
