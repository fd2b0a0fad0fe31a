"""Rules of the code's layout (docs/ARCHITECTURE.md), checked by reading the source.

- Request-side modules never commit: only routes (a request's unit of work: a module that
  declares views), job-side modules (which own their transactions), the CLI and the grant
  store (its own session) may.
- No import cycles between modules of webapp/ (imports inside functions count too: a
  lazy import is still a dependency, only hidden).
"""

from __future__ import annotations

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent / "webapp"

#: Job-side modules, named for their job, own their transactions; so do the CLI and the
#: grant store (a session of its own). Modules that declare views commit the request's;
#: readonly.py ends a request that only read with a commit (nothing written: #24).
COMMITTING = {"sending.py", "sync.py", "tasks.py", "emails.py", "sweep.py", "cli.py",
              "grants.py", "readonly.py"}


def _modules() -> dict[str, pathlib.Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: pathlib.Path, known: set[str]) -> set[str]:
    """The webapp modules `name` imports (a package's __init__ is not counted: importing
    `webapp.meetings.models` runs it, but a cycle through a blueprint's __init__ is the
    routes registering themselves, not a dependency of domain code)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base]) if base else ".".join(parent)
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        for target in targets:
            if target in known:
                found.add(target)
    found.discard(name)
    return {m for m in found if not known_is_package_init(m, known)}


def known_is_package_init(module: str, known: set[str]) -> bool:
    return any(k.startswith(module + ".") for k in known)


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    names = {n.removesuffix(".__init__") for n in modules}
    graph = {}
    for name, path in modules.items():
        if path.name == "__init__.py":
            continue
        graph[name] = _imports(name, path, names)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
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

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles_between_webapp_modules():
    assert cycles(import_graph()) == []


def test_the_cycle_check_sees_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _declares_views(tree: ast.AST) -> bool:
    """A decorator @bp.route/get/post(...) or @api_view(...) anywhere in the module."""
    for node in ast.walk(tree):
        for deco in getattr(node, "decorator_list", ()):
            func = deco.func if isinstance(deco, ast.Call) else deco
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and \
                    func.value.id == "bp":
                return True
            if isinstance(func, ast.Name) and func.id == "api_view":
                return True
    return False


def _commits(path: pathlib.Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "commit"]


def test_request_side_modules_never_commit():
    offenders = {str(path.relative_to(ROOT.parent)): lines
                 for path in ROOT.rglob("*.py") if path.name not in COMMITTING
                 and not _declares_views(ast.parse(path.read_text(encoding="utf-8")))
                 for lines in [_commits(path)] if lines}
    assert offenders == {}


def test_the_commit_check_sees_a_commit(tmp_path):
    module = tmp_path / "operations.py"
    module.write_text("def save():\n    db.session.commit()\n")
    assert _commits(module) == [2]
    assert not _declares_views(ast.parse(module.read_text()))
    assert _declares_views(ast.parse("@bp.post('/x')\ndef view():\n    pass\n"))
