"""The code's shape, as README's architecture section states it: one room for each thing.

* No import cycle between rooms (a room is a package under gridmap/, or a top-level module).
* The core modules import nothing of the product beyond the core; the web plumbing no feature.
* No module is over 450 lines.
* User-facing words live in the catalogues (gridmap.messages, gridmap.labels): a Chinese string
  elsewhere in the code is an OpenAPI or page summary, a docstring, an import's column-name
  alias, stored data (tags), or demo data.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path


PACKAGE = Path(__file__).resolve().parents[2] / "gridmap"
CORE = {"config", "clock", "db", "errors", "messages", "labels", "escape"}
MAX_LINES = 450
CJK = re.compile(r"[\u4e00-\u9fff]")
# Where Chinese text is data, not wording: the demo district's names and addresses.
DATA_ROOMS = {"demo"}
CATALOGUES = {"messages.py", "labels.py"}
# Keyword arguments whose text is documentation (OpenAPI, page declarations).
DOC_KEYWORDS = {"summary", "description"}
# Constants whose Chinese text is stored data (a household's tags are Chinese words), or an
# import's column-name aliases.
DATA_SUFFIXES = ("ALIASES", "TAGS")


def modules() -> dict[str, Path]:
    """Dotted module name → file, for every module of the package."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def room(module: str) -> str:
    """``gridmap.hazards.service`` → ``hazards``; ``gridmap.web`` → ``web``; the root → ``gridmap``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def imported(module: str, path: Path) -> set[str]:
    """The product's modules ``module`` imports (at any depth of the file, lazily or not)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{a.name}" for a in node.names)
    return {n for n in names if n == "gridmap" or n.startswith("gridmap.")}


def room_graph() -> dict[str, dict[str, set[str]]]:
    """room → room it imports → the files that do."""
    known = modules()
    graph: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for module, path in known.items():
        for target in imported(module, path):
            while target not in known:  # ``from gridmap.x import name``: the module is gridmap.x
                target = target.rpartition(".")[0]
            if room(target) != room(module):
                graph[room(module)][room(target)].add(str(path.relative_to(PACKAGE.parent)))
    return graph


def cycles(graph: dict[str, dict[str, set[str]]]) -> list[list[str]]:
    """The strongly connected components of more than one room (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, {}):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in list(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_between_rooms():
    graph = room_graph()
    graph.pop("gridmap", None)  # the package root assembles the app: it imports every room
    problems = []
    for component in cycles(graph):
        edges = [f"  {a} → {b}: {', '.join(sorted(graph[a][b]))}" for a in component for b in component
                 if b in graph.get(a, {})]
        problems.append(" ↔ ".join(component) + "\n" + "\n".join(edges))
    assert not problems, "import cycles:\n" + "\n".join(problems)


def test_nothing_imports_the_package_root():
    """The root assembles the app; a room importing it (``from gridmap import X``) closes a cycle."""
    offenders = sorted(f"{path.relative_to(PACKAGE.parent)}" for module, path in modules().items()
                       if module != "gridmap" and "gridmap" in imported(module, path)
                       and not _imports_only_submodules(module, path))
    assert not offenders, offenders


def _imports_only_submodules(module: str, path: Path) -> bool:
    known = modules()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "gridmap" and not node.level:
            if any(f"gridmap.{a.name}" not in known for a in node.names):
                return False
    return True


def test_core_imports_only_core():
    graph = room_graph()
    leaks = {f"{core} → {other}": sorted(files) for core in CORE for other, files in graph.get(core, {}).items()
             if other not in CORE}
    assert not leaks, leaks


def test_no_module_is_over_450_lines():
    sizes = {str(p.relative_to(PACKAGE.parent)): len(p.read_text(encoding="utf-8").splitlines())
             for p in modules().values()}
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


def _documentation(tree: ast.AST) -> set[int]:
    """ids of the string constants that document: docstrings and DOC_KEYWORDS arguments."""
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
        if isinstance(node, ast.keyword) and node.arg in DOC_KEYWORDS:
            ids.update(id(n) for n in ast.walk(node.value) if isinstance(n, ast.Constant))
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id.endswith(DATA_SUFFIXES) for t in targets):
                ids.update(id(n) for n in ast.walk(node.value) if isinstance(n, ast.Constant))
    return ids


def chinese_outside_catalogues() -> dict[str, list[int]]:
    """file → the lines of Chinese string literals that are neither documentation nor data."""
    found: dict[str, list[int]] = {}
    for module, path in modules().items():
        if path.name in CATALOGUES and path.parent == PACKAGE or room(module) in DATA_ROOMS:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = _documentation(tree)
        lines = sorted({n.lineno for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
                        and CJK.search(n.value) and id(n) not in docs})
        if lines:
            found[str(path.relative_to(PACKAGE.parent))] = lines
    return found


def test_user_facing_words_live_in_the_catalogues():
    assert chinese_outside_catalogues() == {}


SETTING_NAME = re.compile(r"^(GRIDMAP_[A-Z0-9_]+|DATABASE_URL|SECRET_KEY)$")
# Modules that hand the process environment to a library or a child process (GDAL's options, a
# backup's pg_dump, Chromium's PATH and locale); none of them reads a setting of ours.
PROCESS_PLUMBING = {"gridmap/geo/lockdown.py", "gridmap/backup.py", "gridmap/printing/chromium.py"}


def test_every_setting_is_read_by_config_settings():
    """One home for settings: only gridmap/config.py names an environment variable of ours,
    and only process plumbing touches os.environ at all."""
    named, touched = [], []
    for module, path in modules().items():
        where = str(path.relative_to(PACKAGE.parent))
        if where == "gridmap/config.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and SETTING_NAME.match(node.value):
                named.append(f"{where}:{node.lineno} {node.value}")
            if (isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv")
                    and isinstance(node.value, ast.Name) and node.value.id == "os" and where not in PROCESS_PLUMBING):
                touched.append(f"{where}:{node.lineno}")
    assert (named, touched) == ([], [])


PLUMBING = {"apidoc", "pages", "web", "navigation", "schemas", "coordinates"}
# What the web plumbing may use besides the core and itself: pure geometry, auth's identity
# (roles, the Scope, the current user) and the check that a map page reaches nothing outside.
PLUMBING_USES = {"geo", "auth", "maps.assets"}


def test_web_plumbing_imports_no_feature():
    known = modules()
    leaks = []
    for module, path in known.items():
        if room(module) not in PLUMBING:
            continue
        for target in imported(module, path):
            while target not in known:
                target = target.rpartition(".")[0]
            inner = target.split(".", 1)[1] if "." in target else target
            if (room(target) not in CORE | PLUMBING and room(target) not in PLUMBING_USES
                    and inner not in PLUMBING_USES):
                leaks.append(f"{path.relative_to(PACKAGE.parent)} → {target}")
    assert leaks == []
