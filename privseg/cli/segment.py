"""CLI commands of the segment stage."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
