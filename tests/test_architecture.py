"""The layout stays navigable: layers only import downwards, no import cycle, small modules.

Layers, bottom first (ARCHITECTURE.md draws them): a module may import its own layer and the
ones below. Every import counts, also those inside functions or under TYPE_CHECKING; importing
``a.b.c`` from outside ``a.b`` also runs (and so depends on) ``a.b``'s ``__init__``.
``privseg/__init__.py`` is the public facade that re-exports every layer and is left out.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "privseg"
MAX_LINES = 600

LAYERS: tuple[tuple[str, ...], ...] = (
    (
        "privseg",
        "privseg.errors",
        "privseg.taxonomy",
        "privseg._resources",
        "privseg._progress",
        "privseg._files",
        "privseg._templates",
        "privseg.rawvalues",
        "privseg.tempdirs",
        "privseg.lifecycle",
        "privseg.publish",
        "privseg.limits",
        "privseg._yaml",
    ),
    ("privseg.io", "privseg.tableinfo", "privseg.audit", "privseg.lineage"),
    ("privseg.screening",),
    ("privseg.transforms", "privseg.pseudonym", "privseg.reversible"),
    ("privseg.policy_model", "privseg.policy", "privseg.manifest"),
    ("privseg.anonymity",),
    ("privseg.segments",),
    ("privseg.dp",),
    ("privseg.engines",),
    ("privseg.report",),
    ("privseg.demo",),
    ("privseg.cli",),
)


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The privseg module ``name`` refers to (a module, or an attribute of its module)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, path: Path) -> Iterator[str]:
    """Every privseg module ``module`` imports, with the packages that import runs."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module if is_package else module.rpartition(".")[0]
                for _ in range(node.level - 1):
                    anchor = anchor.rpartition(".")[0]
                base = f"{anchor}.{base}" if base else anchor
            targets = [f"{base}.{alias.name}" for alias in node.names]
        for target in targets:
            resolved = _resolve(target)
            if resolved is None or not resolved.startswith("privseg"):
                continue
            yield resolved
            parent = resolved.rpartition(".")[0]
            while parent and not module.startswith(parent + ".") and module != parent:
                yield parent  # importing a.b.c from outside a.b runs a.b's __init__
                parent = parent.rpartition(".")[0]


GRAPH = {module: sorted(set(_imports(module, path)) - {module}) for module, path in MODULES.items()}


def _layer(module: str) -> int:
    best, depth = -1, -1
    for index, layer in enumerate(LAYERS):
        for prefix in layer:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > depth:
                best, depth = index, len(prefix)
    return best


def test_every_module_has_a_layer() -> None:
    assert [m for m in MODULES if _layer(m) < 0] == []


def test_imports_only_go_down() -> None:
    upward = [
        f"{module} (layer {_layer(module)}) imports {target} (layer {_layer(target)})"
        for module, targets in GRAPH.items()
        if module != "privseg"
        for target in targets
        if target != "privseg" and _layer(target) > _layer(module)
    ]
    assert upward == []


def test_audit_depends_on_nothing_above_io() -> None:
    above = [
        (module, target)
        for module, targets in GRAPH.items()
        if module.startswith("privseg.audit")
        for target in targets
        if not target.startswith("privseg.audit") and _layer(target) > 0
    ]
    assert above == []


def _cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    graph = {m: [t for t in ts if t != "privseg"] for m, ts in GRAPH.items() if m != "privseg"}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, []):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle() -> None:
    assert _cycles() == []


def test_the_graph_sees_the_known_edges() -> None:
    """The checks above can fail: the graph holds real edges, parents included."""
    assert "privseg.dp.ledger" in GRAPH["privseg.dp.types"]
    assert "privseg.screening" in GRAPH["privseg.policy"]
    assert "privseg.engines" in GRAPH["privseg.cli.release"]  # the package runs first


@pytest.mark.parametrize("path", list(MODULES.values()), ids=list(MODULES))
def test_no_module_exceeds_600_lines(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(PACKAGE.parent)}: {lines} lines"


def test_cli_commands_do_not_import_each_other() -> None:
    """A command module imports shared CLI code from private modules (``cli._common`` and
    the like), never another command module."""
    commands = {m for m in MODULES if m.startswith("privseg.cli.") and "._" not in m}
    offenders = sorted(
        (module, target)
        for module in commands
        for target in _imports(module, MODULES[module])
        if target in commands and target != module
    )
    assert offenders == []
