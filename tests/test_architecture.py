"""The layers hold: imports flow one way, names are unique, modules and functions stay small.

    flows -> tasks -> runtime -> dcf (no Prefect) ; dcf.stream/build/execlog/... -> dcf.store

Imports are read from the source with ``ast`` (lazy imports inside functions count too), so a rule cannot
be dodged by importing late. Each rule is checked on the real tree and shown failing on a fixture tree.
"""

from __future__ import annotations

import ast
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("dcf", "runtime", "tasks", "flows", "blocks", "scripts")

#: package prefix -> top-level imports it must never make
FORBIDDEN = {
    "dcf": ("prefect", "prefect_dbt", "prefect_snowflake", "flows", "tasks", "runtime", "blocks", "scripts"),
    "runtime": ("flows", "tasks"),
    "tasks": ("flows",),
    "blocks": ("flows", "tasks", "runtime"),
}
MAX_MODULE_LINES, MAX_FUNCTION_LINES, MAX_PARAMETERS = 400, 60, 8


@dataclass(frozen=True)
class Module:
    name: str  # dotted
    path: Path
    tree: ast.Module

    def imports(self) -> set[str]:
        """Dotted names this module imports (``from a.b import c`` gives ``a.b`` and ``a.b.c``).

        Imports under ``if TYPE_CHECKING:`` are left out: they never run.
        """
        typing_only = {id(inner) for node in ast.walk(self.tree)
                       if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING"
                       for inner in ast.walk(node)}
        found: set[str] = set()
        for node in ast.walk(self.tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
                found |= {f"{node.module}.{alias.name}" for alias in node.names}
        return found


def modules(root: Path) -> list[Module]:
    found = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found.append(Module(name, path, ast.parse(path.read_text(encoding="utf-8"))))
    return found


def forbidden_imports(root: Path) -> list[str]:
    problems = []
    for module in modules(root):
        rules = next((banned for prefix, banned in FORBIDDEN.items()
                      if module.name == prefix or module.name.startswith(prefix + ".")), ())
        for name in sorted(module.imports()):
            if name.split(".")[0] in rules:
                problems.append(f"{module.path.relative_to(root)} imports {name}")
    return problems


def import_cycles(root: Path) -> list[str]:
    """Cycles between the project's own modules (a module importing its own package's __init__ excluded)."""
    mods = modules(root)
    known = {m.name for m in mods}
    graph = {m.name: {n for n in m.imports() if n in known and n != m.name and not m.name.startswith(n + ".")}
             for m in mods}
    cycles, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join([*stack[stack.index(nxt):], nxt]))
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    return cycles


def _is_flow(node: ast.FunctionDef) -> bool:
    """A Prefect flow's signature is its deployment's parameter form: each parameter is a UI field."""
    return any(isinstance(d, ast.Call) and getattr(d.func, "id", None) == "flow" for d in node.decorator_list)


def size_problems(root: Path) -> list[str]:
    problems = []
    for module in modules(root):
        where = module.path.relative_to(root)
        lines = len(module.path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_MODULE_LINES:
            problems.append(f"{where}: {lines} lines")
        for node in ast.walk(module.tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            length = node.end_lineno - node.lineno + 1
            args = node.args
            count = len(args.posonlyargs) + len(args.args) + len(args.kwonlyargs) + bool(args.vararg) + \
                bool(args.kwarg) - (1 if args.args and args.args[0].arg in ("self", "cls") else 0)
            if length > MAX_FUNCTION_LINES:
                problems.append(f"{where}:{node.lineno} {node.name}: {length} lines")
            if count > MAX_PARAMETERS and not _is_flow(node):
                problems.append(f"{where}:{node.lineno} {node.name}: {count} parameters")
    return problems


_ENGINES = {"duckdb", "snowflake"}


def _names_an_engine(node: ast.expr) -> bool:
    """``Dialect.DUCKDB`` / ``Dialect.SNOWFLAKE``, or the string ``"duckdb"`` / ``"snowflake"``."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "Dialect":
        return node.attr.lower() in _ENGINES
    return isinstance(node, ast.Constant) and node.value in _ENGINES


#: Where engine-specific rendering is allowed: the store, the blocks, and GE's metric providers, which GE calls
#: with SQLAlchemy's dialect to build per-engine SQLAlchemy expressions (the GE adapter is that rendering).
_RENDERERS = ("dcf.store", "blocks", "dcf.profiling.gx")


def dialect_branches(root: Path) -> list[str]:
    """Comparisons with an engine's name outside the renderers: which engine it is, is the store's decision."""
    problems = []
    for module in modules(root):
        if module.name.startswith(_RENDERERS):
            continue
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Compare) and any(_names_an_engine(o) for o in (node.left, *node.comparators)):
                problems.append(f"{module.path.relative_to(root)}:{node.lineno} compares with an engine's name")
    return problems


def duplicate_names(root: Path) -> list[str]:
    mods = modules(root)
    files = Counter(m.path.stem for m in mods if m.path.stem != "__init__")
    classes = Counter(node.name for m in mods for node in m.tree.body if isinstance(node, ast.ClassDef))
    return [f"module name {name} x{n}" for name, n in files.items() if n > 1] + \
        [f"class name {name} x{n}" for name, n in classes.items() if n > 1]


# -- the real tree ------------------------------------------------------------------------------------------------
def test_imports_flow_one_way() -> None:
    assert forbidden_imports(PROJECT_ROOT) == []


def test_no_import_cycles() -> None:
    assert import_cycles(PROJECT_ROOT) == []


def test_modules_and_functions_stay_small() -> None:
    assert size_problems(PROJECT_ROOT) == []


def test_only_the_store_and_the_blocks_branch_on_the_engine() -> None:
    assert dialect_branches(PROJECT_ROOT) == []


def test_no_two_modules_or_classes_share_a_name() -> None:
    assert duplicate_names(PROJECT_ROOT) == []


def test_every_package_says_what_it_owns() -> None:
    missing = [str(path.relative_to(PROJECT_ROOT)) for package in PACKAGES
               for path in (PROJECT_ROOT / package).rglob("__init__.py")
               if not ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))]
    assert missing == []


# -- the checks themselves fail on a tree that breaks the rules ---------------------------------------------------
@pytest.fixture
def bad_tree(tmp_path: Path) -> Path:
    files = {
        "dcf/__init__.py": "",
        "dcf/store/__init__.py": "",
        "dcf/store/a.py": "def f():\n    from prefect import flow  # lazy, still counted\n",
        "dcf/store/b.py": "from dcf.store import c\n",
        "dcf/store/c.py": "import dcf.store.b\n",
        "runtime/__init__.py": "",
        "runtime/run.py": "from flows.x import y\n",
        "tasks/__init__.py": "",
        "tasks/run.py": "def g(a, b, c, d, e, f, g, h, i):\n" + "    x = 1\n" * 61,
        "flows/__init__.py": "",
        "flows/x.py": "class A: ...\n\n\ndef h(w):\n    return w.kind == 'duckdb'\n",
        "blocks/__init__.py": "",
        "blocks/y.py": "class A: ...\n",
        "scripts/__init__.py": "",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def test_the_checks_catch_a_tree_that_breaks_the_rules(bad_tree: Path) -> None:
    assert forbidden_imports(bad_tree) == ["dcf/store/a.py imports prefect", "dcf/store/a.py imports prefect.flow",
                                           "runtime/run.py imports flows.x", "runtime/run.py imports flows.x.y"]
    assert import_cycles(bad_tree) == ["dcf.store.b -> dcf.store.c -> dcf.store.b"]
    assert size_problems(bad_tree) == ["tasks/run.py:1 g: 62 lines", "tasks/run.py:1 g: 9 parameters"]
    assert sorted(duplicate_names(bad_tree)) == ["class name A x2", "module name run x2"]
    assert dialect_branches(bad_tree) == ["flows/x.py:5 compares with an engine's name"]


def test_importing_the_flows_package_reads_no_prefect_settings() -> None:
    """``make run`` sets Prefect settings (the ephemeral server's start timeout, PREFECT_HOME) before Prefect is
    imported: the package every flow module is part of must not import Prefect itself."""
    import subprocess
    import sys

    probe = "import sys, flows, runtime.quiet, runtime.local_api; print('prefect' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stdout + out.stderr
