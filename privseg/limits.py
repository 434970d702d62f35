"""Documented ceilings on what privseg reads; each refusal is one line and exit 2.

==========================  =========================================================
``MAX_COLUMNS``             columns of a table (screening costs time per column)
``MAX_COLUMN_NAME``         characters of a column name (the audit trail's field limit)
``MAX_CELL_BYTES``          UTF-8 bytes of one CSV/TSV/JSONL cell (checked exactly)
``MAX_RECORD_BYTES``        bytes of one JSONL line; CSV/TSV records longer than this may be
                            refused where pyarrow's 1 MiB blocks cannot hold them
``MAX_XLSX_EXPANDED``       bytes of an XLSX workbook once decompressed
``MAX_POLICY_BYTES``        bytes of a policy or segment-scheme YAML file
``MAX_YAML_NODES``          YAML nodes once aliases are expanded (no "billion laughs")
==========================  =========================================================

Inputs, policies and keys must be regular files (not devices, FIFOs or folders); outputs
never replace anything but a regular file.
"""

from __future__ import annotations

import os
import stat
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Final

import yaml

from privseg.errors import (
    InputError,
    LimitError,
    MalformedInputError,
    PolicyError,
    SourceNotFoundError,
)
from privseg.rawvalues import raw_shape

__all__ = [
    "MAX_CELL_BYTES",
    "MAX_COLUMNS",
    "MAX_COLUMN_NAME",
    "MAX_POLICY_BYTES",
    "MAX_RECORD_BYTES",
    "MAX_XLSX_EXPANDED",
    "MAX_YAML_NODES",
    "check_column_count",
    "check_column_name",
    "check_xlsx",
    "check_yaml_nodes",
    "parse_yaml",
    "read_regular",
    "require_regular",
]

MAX_COLUMNS: Final = 1024
MAX_COLUMN_NAME: Final = 200
MAX_CELL_BYTES: Final = 1 << 20
MAX_RECORD_BYTES: Final = 1 << 20
MAX_XLSX_EXPANDED: Final = 256 << 20
MAX_POLICY_BYTES: Final = 1 << 20
MAX_YAML_NODES: Final = 100_000
_IN_PROGRESS: Final = -1


def _mib(n: int) -> str:
    return f"{n / (1 << 20):g} MiB"


def require_regular(
    path: Path, what: str = "file", error: type[InputError] = SourceNotFoundError
) -> os.stat_result:
    """``path``'s stat (links followed); ``error`` unless it is a regular file."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise error(f"no such {what}: not found", source=path) from None
    if not stat.S_ISREG(info.st_mode):
        raise error(f"the {what} is not a regular file", source=path)
    return info


def read_regular(
    path: Path, limit: int, what: str, error: type[InputError] = SourceNotFoundError
) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (read with a bound, so a file
    that lies about its size, such as ``/proc`` files, cannot grow past it)."""
    require_regular(path, what, error)
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise LimitError(f"the {what} is larger than the {_mib(limit)} limit", source=path)
    return data


def check_column_count(count: int, source: str | None) -> None:
    """LimitError past ``MAX_COLUMNS``."""
    if count > MAX_COLUMNS:
        raise LimitError(f"{count} columns, more than the limit of {MAX_COLUMNS}", source=source)


def check_column_name(name: str, position: int, source: str | None, line: int | None) -> None:
    """Refuse a name the trail and reports cannot hold: too long, control characters, or the
    shape of a raw personal value (a data row read as the header?). The name is never quoted."""
    problem = None
    if len(name) > MAX_COLUMN_NAME:
        problem = f"is longer than {MAX_COLUMN_NAME} characters"
    elif any(ord(c) < 32 or ord(c) == 127 for c in name):
        problem = "holds a control character (NUL, newline, ...)"
    elif (shape := raw_shape(name)) is not None:
        problem = f"looks like a {shape} (is the first row data, not a header?)"
    if problem is not None:
        raise MalformedInputError(f"column {position}'s name {problem}", source=source, line=line)


def check_xlsx(handle: IO[bytes] | Path, source: str) -> None:
    """LimitError if the workbook decompresses past ``MAX_XLSX_EXPANDED`` (a zip bomb)."""
    try:
        with zipfile.ZipFile(handle) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise MalformedInputError("not a valid XLSX workbook", source=source) from None
    if expanded > MAX_XLSX_EXPANDED:
        raise LimitError(
            f"the workbook expands to {_mib(expanded)}, past the {_mib(MAX_XLSX_EXPANDED)} "
            "limit; convert it to CSV or Parquet",
            source=source,
        )


def check_yaml_nodes(node: yaml.Node | None, source: Path) -> None:
    """LimitError when the document has more than ``MAX_YAML_NODES`` nodes with its aliases
    expanded (an alias counts its whole subtree every time it is used)."""
    sizes: dict[int, int] = {}

    def size(current: yaml.Node) -> int:
        known = sizes.get(id(current))
        if known == _IN_PROGRESS:
            raise LimitError(
                "a YAML alias refers to itself", source=source, line=current.start_mark.line + 1
            )
        if known is not None:
            return known
        sizes[id(current)] = _IN_PROGRESS
        total = 1
        children: Sequence[yaml.Node] = ()
        if isinstance(current, yaml.SequenceNode):
            children = current.value
        elif isinstance(current, yaml.MappingNode):
            children = [n for pair in current.value for n in pair]
        for child in children:
            total += size(child)
            if total > MAX_YAML_NODES:
                raise LimitError(
                    f"more than {MAX_YAML_NODES} YAML nodes once aliases are expanded",
                    source=source,
                    line=int(current.start_mark.line) + 1,
                )
        sizes[id(current)] = total
        return total

    if node is not None:
        size(node)


def parse_yaml(
    text: str, source: Path | str, error: type[InputError] = PolicyError
) -> tuple[yaml.Node | None, object]:
    """Safe-load YAML text after checking its expanded size: (node tree, data).

    Every YAML problem is an ``error`` with the line where known; too many nodes once
    aliases are expanded is a LimitError.
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        check_yaml_nodes(node, Path(source))
        return node, yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = None if mark is None else mark.line + 1
        problem = getattr(exc, "problem", None) or "bad characters or structure"
        raise error(f"not valid YAML: {problem}", source=source, line=line) from None
    except RecursionError:
        raise LimitError("YAML nested too deeply", source=source) from None
