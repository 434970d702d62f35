"""YAML files validated by a pydantic model, with errors that name the file, line and field."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from privseg.errors import InputError
from privseg.limits import MAX_POLICY_BYTES, parse_yaml, read_regular

__all__ = ["load_yaml_model"]

M = TypeVar("M", bound=BaseModel)


def _locate(node: yaml.Node | None, loc: tuple[int | str, ...]) -> tuple[int | None, str]:
    """1-based line of the deepest YAML node along a pydantic error location, and its path.

    Location parts that are not keys of the current mapping (union tags such as
    ``pseudonymize``) are skipped, so the path is the one written in the file.
    """
    path: list[str] = []
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == str(part):
                    node = value
                    path.append(str(part))
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            node = node.value[part]
            path.append(str(part))
    line = None if node is None else int(node.start_mark.line) + 1
    return line, ".".join(path) or "(top level)"


def _duplicate_key(node: yaml.Node | None) -> tuple[str, int] | None:
    """The first repeated mapping key (YAML silently keeps the last one), with its line."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if key.value in seen:
                return str(key.value), int(key.start_mark.line) + 1
            seen.add(key.value)
            found = _duplicate_key(value)
            if found:
                return found
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            found = _duplicate_key(item)
            if found:
                return found
    return None


def load_yaml_model(
    source: Path, model: type[M], error: type[InputError], what: str
) -> tuple[M, bytes]:
    """Read ``source`` (UTF-8 YAML mapping) and validate it; ``error`` names file, line, field.

    Only a regular file of at most ``MAX_POLICY_BYTES`` is read, and its aliases may expand
    to at most ``MAX_YAML_NODES`` nodes (``privseg.limits``)."""
    raw = read_regular(source, MAX_POLICY_BYTES, f"{what} file", error)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{what} is not UTF-8", source=source) from exc
    node, data = parse_yaml(text, source, error)
    duplicate = _duplicate_key(node)
    if duplicate:
        raise error(f"key {duplicate[0]!r} appears twice", source=source, line=duplicate[1])
    if not isinstance(data, dict):
        raise error(f"a {what} must be a YAML mapping", source=source, line=1)
    try:
        return model.model_validate(data), raw
    except ValidationError as exc:
        first = exc.errors()[0]
        line, field = _locate(node, tuple(first["loc"]))
        more = f" (and {exc.error_count() - 1} more errors)" if exc.error_count() > 1 else ""
        raise error(f"field {field}: {first['msg']}{more}", source=source, line=line) from None
