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
ROOT_MODULES = {"cli": "cli", "display": "cli", "__main__": "cli"}  # the command line, its tables, python -m


def _module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
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
                # from a package, a submodule is that module; any other name is the package's __init__
                candidates = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                              for alias in node.names]
            elif isinstance(node, ast.Import):
                candidates = [alias.name for alias in node.names]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith(
                    "aas_quantum.") and ":" in node.value:  # a "module:Class" the registry imports by name
                candidates = [node.value.partition(":")[0]]
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
    assert "aas_quantum.solvers.hybrid" in graph["aas_quantum.solvers"]  # by its "module:Class" string
    floors = [_layer(m)[0] for m in ("aas_quantum.service.api", "aas_quantum.app.execute", "aas_quantum.problem")]
    assert floors == sorted(floors, reverse=True) and len(set(floors)) == 3


def _public_names(package: Path) -> set[str]:
    """The names a package's ``__init__`` lists in ``__all__``."""
    for node in ast.parse((package / "__init__.py").read_text()).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return {element.value for element in ast.walk(node.value) if isinstance(element, ast.Constant)}
    return set()


def _private_imports(package: Path = PACKAGE) -> list[str]:
    """``from aas_quantum.<package>[.<module>] import name`` in a module outside that package, where the
    module is not the package's ``__init__`` or the name is not in its ``__all__`` (a subpackage, itself
    a public surface, may be imported by name)."""
    packages = {_module_name(p.parent / "__init__.py", package): p.parent for p in package.rglob("__init__.py")}
    del packages[package.name]  # the top-level modules are the core, one module one concept
    found = []
    for path in sorted(package.rglob("*.py")):
        importer = _module_name(path, package)
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
                continue
            owner = max((p for p in packages if node.module == p or node.module.startswith(p + ".")), key=len,
                        default=None)
            if owner is None or importer == owner or importer.startswith(owner + "."):
                continue
            where = f"{path.relative_to(package.parent)}:{node.lineno}"
            if node.module != owner:
                found.append(f"{where}: from {node.module} (a module inside {owner})")
                continue
            public = _public_names(packages[owner])
            found += [f"{where}: {owner}.{alias.name} is not in its __all__" for alias in node.names
                      if alias.name not in public and f"{owner}.{alias.name}" not in packages]
    return found


def test_callers_outside_a_package_import_only_the_names_its_init_makes_public() -> None:
    assert _private_imports() == []


def test_the_public_names_check_sees_a_private_import(tmp_path: Path) -> None:
    """Guard against a check that reads nothing: in a package of two subpackages, an import from inside the
    other one and a name its __all__ leaves out are reported; the public name and a submodule are not."""
    root = tmp_path / "aas_quantum"
    for folder, init in (("", ""), ("low", '__all__ = ["public"]\nfrom aas_quantum.low.impl import public\n'),
                         ("high", "")):
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / "__init__.py").write_text(init)
    (root / "low" / "impl.py").write_text("public = private = 1\n")
    (root / "high" / "use.py").write_text("from aas_quantum.low.impl import private\n"
                                          "from aas_quantum.low import public, private\n"
                                          "from aas_quantum.low import impl\n")
    assert _private_imports(root) == [
        "aas_quantum/high/use.py:1: from aas_quantum.low.impl (a module inside aas_quantum.low)",
        "aas_quantum/high/use.py:2: aas_quantum.low.private is not in its __all__",
        "aas_quantum/high/use.py:3: aas_quantum.low.impl is not in its __all__"]
