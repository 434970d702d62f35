"""CLI commands of the audit stage."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
