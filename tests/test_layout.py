"""The package's import layout, read from the source with `ast` (nothing is imported).

Imports run one way: `callhistory.cli` assembles the feature CLIs, which share helpers
through `callhistory.cli_support` and never import `callhistory.cli` back; and no two
modules import each other, directly or round a longer loop, when they are loaded.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import callhistory

PACKAGE = Path(callhistory.__file__).parent
ROOT = "callhistory"
# Top-level modules cli_support may import: everything else is a feature.
CLI_SUPPORT_MAY_IMPORT = {"callhistory.config", "callhistory.db"}
# The PBX formats are pure parsers, bytes to records: what they may load, transitively.
FORMATS = "callhistory.ingest.formats"
FORMATS_MAY_IMPORT = {
    "callhistory.calls",
    "callhistory.calls.rules",
    "callhistory.carriers",
    "callhistory.ingest",
    "callhistory.ingest.records",
    "callhistory.phones",
    "callhistory.text",
}
STORAGE_AND_WEB = ("sqlalchemy", "fastapi", "starlette", "asyncpg", "aiosqlite", "redis")

# Cycles that existed before the layout test, each to be removed (then deleted from
# here). Each is named by its modules in sorted order. Empty is the goal.
KNOWN_CYCLES: set[tuple[str, ...]] = set()


@cache
def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = [ROOT, *path.relative_to(PACKAGE).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _is_package(name: str) -> bool:
    return modules()[name].name == "__init__.py"


def _target(name: str) -> str | None:
    """The package module `name` loads: itself, or its nearest enclosing module."""
    while name and name not in modules():
        name = name.rpartition(".")[0]
    return name or None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _statements(body: list[ast.stmt], load_time: bool) -> Iterator[ast.stmt]:
    """The statements of `body`, nested ones included; with `load_time`, only those run
    when the module loads: not in functions, not under `if TYPE_CHECKING:`."""
    for node in body:
        yield node
        if load_time and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if load_time and isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _statements(node.orelse, load_time)
            continue
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                yield from _statements([child], load_time)
            elif isinstance(child, ast.excepthandler | ast.match_case):
                yield from _statements(child.body, load_time)


def _imported(module: str, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    """The package modules one import statement of `module` loads."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            here = module if _is_package(module) else module.rpartition(".")[0]
            anchor = here.rsplit(".", node.level - 1)[0] if node.level > 1 else here
            base = f"{anchor}.{base}" if base else anchor
        # `from a import b` loads the module a.b when there is one, else just a.
        names = [f"{base}.{alias.name}" for alias in node.names]
    for name in names:
        if name == ROOT or name.startswith(f"{ROOT}."):
            target = _target(name)
            if target is not None and target != module:
                yield target


@cache
def imports(module: str, load_time: bool) -> frozenset[str]:
    tree = ast.parse(modules()[module].read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in _statements(tree.body, load_time):
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.update(_imported(module, node))
    return frozenset(found)


def _cycles() -> list[tuple[str, ...]]:
    """The load-time import graph's strongly connected components of more than one
    module (Tarjan), each as its sorted module names."""
    graph = {name: imports(name, load_time=True) for name in modules()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[tuple[str, ...]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(tuple(sorted(component)))

    for name in graph:
        if name not in index:
            visit(name)
    return found


def _loop(component: tuple[str, ...]) -> str:
    """One import loop through the component, as `a -> b -> a`, for the message."""
    members = set(component)
    path = [component[0]]
    while True:
        nxt = min(m for m in imports(path[-1], load_time=True) if m in members)
        if nxt in path:
            return " -> ".join([*path[path.index(nxt) :], nxt])
        path.append(nxt)


def test_no_feature_module_imports_the_root_cli() -> None:
    # Every import counts, even one inside a function: that is how the loops hid.
    offenders = sorted(
        name
        for name in modules()
        if name not in {"callhistory.cli"} and "callhistory.cli" in imports(name, load_time=False)
    )
    assert not offenders, f"import callhistory.cli_support instead, in: {offenders}"


def test_cli_support_imports_no_feature() -> None:
    used = imports("callhistory.cli_support", load_time=False)
    assert used <= CLI_SUPPORT_MAY_IMPORT, sorted(used - CLI_SUPPORT_MAY_IMPORT)


def test_imports_do_not_import_replay() -> None:
    # rejections/replay.py uses backfill's replayers; the exception both raise is in rejections.
    assert "callhistory.ingest.rejections.replay" not in imports(
        "callhistory.ingest.backfill.imports", False
    )


def _loaded_by(module: str) -> set[str]:
    """Every package module that loading `module` loads, itself included."""
    seen, todo = set(), [module]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(imports(name, load_time=True))
    return seen


def _third_party(module: str) -> set[str]:
    tree = ast.parse(modules()[module].read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in _statements(tree.body, load_time=True):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


def test_formats_are_pure_parsers() -> None:
    parsers = [name for name in modules() if name.startswith(FORMATS)]
    assert len(parsers) >= 4, parsers
    for parser in parsers:
        loaded = _loaded_by(parser)
        outside = {m for m in loaded if not m.startswith(FORMATS)} - FORMATS_MAY_IMPORT
        assert not outside, f"{parser} loads {sorted(outside)}"
        storage = {lib for m in loaded for lib in _third_party(m)} & set(STORAGE_AND_WEB)
        assert not storage, f"{parser} loads {sorted(storage)}"


def test_no_new_import_cycle() -> None:
    cycles = _cycles()
    new = [_loop(c) for c in cycles if c not in KNOWN_CYCLES]
    assert not new, "import cycles: " + "; ".join(new)
    gone = KNOWN_CYCLES - set(cycles)
    assert not gone, f"fixed, so take them out of KNOWN_CYCLES: {sorted(gone)}"


def test_the_graph_sees_imports() -> None:
    # A broken reader would find no cycle anywhere: make sure it finds the known edges.
    assert "callhistory.ingest.cli" in imports("callhistory.cli", load_time=True)
    assert "callhistory.db" in imports("callhistory.cli_support", load_time=True)
    assert "callhistory.demo.names" in imports("callhistory.demo.calls", load_time=True)
