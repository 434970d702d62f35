"""CLI commands of the release stage."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
