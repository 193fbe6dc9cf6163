"""The package's layers, read from its imports: every import points down the flow
(cli -> service | batch -> app -> publish -> erp -> aas -> core), and no two modules import each other,
directly or round a circle. Imports inside functions and under TYPE_CHECKING count: they are the
same dependency, only later."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support import REPO

PACKAGE = REPO / "aas_quantum"
# lowest first; a folder (or top-level module) not named is core
LAYERS = ("core", "aas", "erp", "publish", "app", "service|batch", "cli")
ROOT_MODULES = {"cli": "cli", "display": "cli"}  # the command line and its tables


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # from .x import y: relative to the module's package
                    stem = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*stem, base] if base else stem)
                candidates = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            elif isinstance(node, ast.Import):
                candidates = [alias.name for alias in node.names]
            else:
                continue
            graph[name] |= {c for c in candidates if c in modules and c != name}
    return graph


def _layer(module: str) -> tuple[int, str]:
    """(floor, the folder or root module it belongs to)."""
    first = module.split(".")[1] if "." in module else "core"
    is_folder = (PACKAGE / first).is_dir()
    group = first if is_folder else ROOT_MODULES.get(first, "core")
    for floor, names in enumerate(LAYERS):
        if group in names.split("|"):
            return floor, group
    return 0, "core"


def test_every_import_points_down_the_layers() -> None:
    upward = []
    for module, targets in sorted(_imports().items()):
        floor, group = _layer(module)
        for target in sorted(targets):
            target_floor, target_group = _layer(target)
            if target_floor > floor or (target_floor == floor and target_group != group):
                upward.append(f"{module} -> {target}")
    assert upward == []


def test_no_two_modules_import_each_other_even_round_a_circle() -> None:
    graph = _imports()
    circles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                circles.append([*path[path.index(target):], target])
            elif target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert circles == []


def test_the_layer_check_reads_the_imports() -> None:
    """The checks above would pass on a parser that found nothing: this one shows it finds the imports."""
    graph = _imports()
    assert "aas_quantum.app.execute" in graph["aas_quantum.service.worker"]
    assert "aas_quantum.problem" in graph["aas_quantum.aas.mapping.saved"]
    floors = [_layer(m)[0] for m in ("aas_quantum.service.api", "aas_quantum.app.execute", "aas_quantum.problem")]
    assert floors == sorted(floors, reverse=True) and len(set(floors)) == 3
