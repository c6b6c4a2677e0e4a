"""The layering in CONTRIBUTING.md, read from the imports of every project file (ast, nothing is imported).

charge_logic imports nothing of ours; clients only charge_logic; service not cli, dashboard or backtest; nothing
in the product imports tests; and no two project modules import each other, directly or round a longer loop.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("charge_logic", "clients", "service", "cli", "dashboard", "backtest")
TOP_MODULES = ("scheduler", "app")
SKIP_DIRS = {".venv", ".git", "state", "build", "node_modules", "__pycache__"}

# What each package may import of ours (its own modules always).
ALLOWED = {
    "charge_logic": set(),
    "clients": {"charge_logic"},
    "service": {"charge_logic", "clients"},
    "cli": {"charge_logic", "clients", "service", "backtest"},
    "dashboard": {"charge_logic", "clients", "service"},
    "backtest": {"charge_logic", "clients", "service", "cli"},
}

# Cycles known and owned elsewhere: each an expected failure until its fix lands, then deleted from here.
KNOWN_CYCLES: set[frozenset[str]] = set()  # none left: a new one is a defect


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _project_files() -> dict[str, Path]:
    files = {}
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if SKIP_DIRS & set(rel.parts):
            continue
        files[_module_name(path)] = path
    return files


FILES = _project_files()
OURS = {name.split(".")[0] for name in FILES}


def _resolve(module: str, node: ast.ImportFrom) -> str:
    """The absolute name an ImportFrom refers to (relative imports counted from `module`'s package)."""
    if not node.level:
        return node.module or ""
    is_package = FILES[module].name == "__init__.py"
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(module: str) -> set[str]:
    """Every project module `module` imports, at any depth in the file (a function's lazy import counts too)."""
    tree = ast.parse(FILES[module].read_text(encoding="utf-8"), str(FILES[module]))
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            # `from pkg import mod` imports the module pkg.mod when there is one, else a name in pkg
            names = [f"{target}.{a.name}" if f"{target}.{a.name}" in FILES else target for a in node.names]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == \
                "import_module" and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            names = [node.args[0].value]  # importlib.import_module("cli.auth")
        for name in names:
            if name.split(".")[0] not in OURS:
                continue
            while name and name not in FILES:  # `import a.b.c` where c is a name: the module a.b
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


GRAPH = {module: imports_of(module) for module in FILES}


def _layer(module: str) -> str:
    return module.split(".")[0]


def test_the_walk_sees_the_project():
    assert {"charge_logic.planner", "clients.tesla_fleet", "service.coordinator", "cli.auth", "scheduler",
            "dashboard.app", "backtest.cli", "tests.test_layers"} <= set(FILES)
    assert "charge_logic.models" in GRAPH["clients.tesla_common"]
    assert "service.settings" in GRAPH["cli.tesla_sign_in"]


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_point_down(package):
    wrong = sorted(f"{module} imports {target}" for module, targets in GRAPH.items() if _layer(module) == package
                   for target in targets
                   if _layer(target) != package and _layer(target) not in ALLOWED[package])
    assert not wrong, f"{package} may import only {sorted(ALLOWED[package]) or 'nothing of ours'}:\n" + \
        "\n".join(wrong)


def test_the_product_never_imports_tests_or_scripts():
    product = [m for m in GRAPH if _layer(m) in PACKAGES or m in TOP_MODULES]
    wrong = sorted(f"{m} imports {t}" for m in product for t in GRAPH[m] if _layer(t) in ("tests", "scripts", "bench"))
    assert not wrong, "\n".join(wrong)


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(GRAPH[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    cycles = [c for c in _cycles() if frozenset(c) not in KNOWN_CYCLES]
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)
