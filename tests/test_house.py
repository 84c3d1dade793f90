"""The rules of the house (docs/architecture.md) that a reader can check from the code: packages
with a direction, one module for a task's status, short files and functions, docs that stay in
the repository. Each failure names the file and line to change."""

from __future__ import annotations

import ast
import re
import tomllib
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BACKEND = ROOT / "backend"
MAX_FILE_LINES = 450
MAX_FUNCTION_LINES = 60
# Where a task's status may change: the transition table and the one function that applies it.
LIFECYCLE = "backend/tasks/lifecycle.py"
# Where a status may be written at all: tasks' lifecycle, and actions' runs' (its own table).
LIFECYCLES = {LIFECYCLE, "backend/actions/lifecycle.py"}
# The doors and the composition root: domain code receives what it needs as arguments.
DOORS = {"runtime", "api", "schema", "main", "__main__", "deps"}
DOMAIN = {
    "commands",
    "actions",
    "events",
    "ingestion",
    "status",
    "worker",
    "druid_load",
    "analytics",
    "tasks",
    "notifications",
    "pipeline",
    "contracts",
    "storage",
    "druid",
    "auth",
    "monitoring",
}


def _sources() -> Iterator[tuple[str, ast.Module, str]]:
    for path in sorted(BACKEND.rglob("*.py")):
        text = path.read_text()
        yield path.relative_to(ROOT).as_posix(), ast.parse(text), text


def _module(rel: str) -> str:
    dotted = rel.removesuffix(".py").replace("/", ".")
    return dotted.removesuffix(".__init__")


def _imported(rel: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level == 0:
        base = node.module or ""
    else:
        package = _module(rel).split(".")
        if not rel.endswith("__init__.py"):
            package = package[:-1]
        package = package[: len(package) - node.level + 1]
        base = ".".join([*package, *([node.module] if node.module else [])])
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def _part(module: str) -> str | None:
    """The top-level part of backend a module belongs to (a package or a module)."""
    parts = module.split(".")
    if parts[0] != "backend" or len(parts) < 2:
        return None
    name = parts[1]
    is_part = (BACKEND / name).is_dir() or (BACKEND / f"{name}.py").is_file()
    return name if is_part else None


def _imports_between_parts() -> dict[tuple[str, str], list[str]]:
    """(importing part, imported part) -> where: every import, TYPE_CHECKING ones included."""
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for rel, tree, _ in _sources():
        here = _part(_module(rel))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for target in {_part(m) for m in _imported(rel, node)} - {None, here}:
                assert here is not None and target is not None
                found[(here, target)].append(f"{rel}:{node.lineno}")
    return found


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one part (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, set()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_between_the_parts_of_backend() -> None:
    imports = _imports_between_parts()
    edges: dict[str, set[str]] = defaultdict(set)
    for a, b in imports:
        edges[a].add(b)
    cycles = _cycles(edges)
    shown = [
        f"{' <-> '.join(cycle)}: "
        + "; ".join(
            f"{a} -> {b} at {imports[(a, b)][0]}"
            for a in cycle
            for b in sorted(edges[a])
            if b in cycle
        )
        for cycle in cycles
    ]
    assert not cycles, "import cycles between parts of backend/:\n" + "\n".join(shown)


def _module_imports() -> dict[str, set[str]]:
    """Module -> the backend modules it imports (`from package import submodule` is an import of
    the submodule)."""
    modules = {_module(rel) for rel, _, _ in _sources()}
    edges: dict[str, set[str]] = defaultdict(set)
    for rel, tree, _ in _sources():
        here = _module(rel)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            base, *names = _imported(rel, node)
            submodules = {name for name in names if name in modules}
            targets = submodules or {base} if isinstance(node, ast.ImportFrom) else {base}
            if isinstance(node, ast.ImportFrom) and len(submodules) < len(names):
                targets = targets | {base}
            edges[here] |= {target for target in targets if target in modules} - {here}
    return edges


def test_no_import_cycle_between_modules() -> None:
    cycles = _cycles(_module_imports())
    assert not cycles, f"modules that import each other (directly or around a loop): {cycles}"


def test_domain_code_never_imports_the_doors_or_the_composition_root() -> None:
    wrong = [
        f"{where}: {a} imports {b}"
        for (a, b), places in _imports_between_parts().items()
        if a in DOMAIN and b in DOORS
        for where in places
    ]
    assert not wrong, "domain modules reaching doors or runtime:\n" + "\n".join(wrong)


_ROWS = ("IngestionTask", "TaskEvent")
_MODELS = "backend.tasks.models"
_SET_STATUS = re.compile(r"\bset\s+status\b", re.IGNORECASE)  # raw SQL's UPDATE ... SET status


def _task_models(tree: ast.Module) -> set[str]:
    """The names this module calls the task models' rows by: imported from the models (its own
    types may share a name), or reached through the models' module (`models.IngestionTask`)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == _MODELS:
            names |= {alias.asname or alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module == "backend.tasks":
            modules = [alias.asname or alias.name for alias in node.names if alias.name == "models"]
            names |= {f"{module}.{row}" for module in modules for row in _ROWS}
        elif isinstance(node, ast.Import):
            modules = [alias.asname or alias.name for alias in node.names if alias.name == _MODELS]
            names |= {f"{module}.{row}" for module in modules for row in _ROWS}
    return names


def _names_status(node: ast.expr) -> bool:
    """A dict literal with a "status" key: .values({"status": ...}) or .values(**{...})."""
    return isinstance(node, ast.Dict) and any(
        isinstance(key, ast.Constant) and key.value == "status" for key in node.keys
    )


def _call_changes_status(node: ast.Call, models: set[str]) -> bool:
    called = ast.unparse(node.func)
    if called == "setattr":  # setattr(task, "status", ...)
        name = node.args[1] if len(node.args) > 1 else None
        return isinstance(name, ast.Constant) and name.value == "status"
    rows = {name for name in models if name.rsplit(".", 1)[-1] in _ROWS}
    if not (called.endswith(".values") or called in rows):
        return False
    keywords = any(
        k.arg == "status" or (k.arg is None and _names_status(k.value)) for k in node.keywords
    )
    return keywords or any(_names_status(arg) for arg in node.args)


def _changes_status(node: ast.AST, models: set[str]) -> bool:
    """An assignment to a task's status, a status written by an UPDATE's values() or by raw SQL
    (SET status), or a task or event row created with a status."""
    if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            if isinstance(target, ast.Attribute) and target.attr == "status":
                owner = ast.unparse(target.value)
                value = ast.unparse(node.value) if node.value is not None else ""
                if "task" in owner.lower() or "TaskStatus" in value:
                    return True
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(_SET_STATUS.search(node.value))
    return isinstance(node, ast.Call) and _call_changes_status(node, models)


def _caught(snippet: str) -> bool:
    tree = ast.parse(snippet)
    models = _task_models(tree)
    return any(_changes_status(node, models) for node in ast.walk(tree))


def test_the_status_check_catches_each_way_of_writing_a_status() -> None:
    imports = "from backend.tasks.models import IngestionTask, TaskEvent, TaskStatus\n"
    writes = [
        "task.status = TaskStatus.FAILED.value",
        "row.status = TaskStatus.FAILED",
        'setattr(task, "status", "failed")',
        'update(IngestionTask).values(status="failed")',
        'update(IngestionTask).values({"status": "failed"})',
        'update(IngestionTask).values(**{"status": "failed"})',
        'IngestionTask(id="t", status="queued")',
        'TaskEvent(task_id="t", status="queued")',
        'from backend.tasks import models\nmodels.IngestionTask(status="queued")',
        'import backend.tasks.models as m\nm.TaskEvent(status="queued")',
        "session.execute(text(\"UPDATE ingestion_tasks SET status = 'failed'\"))",
        'session.execute(text("update ingestion_tasks set  status=:s"))',
    ]
    missed = [write for write in writes if not _caught(imports + write)]
    assert not missed, f"status writes the check does not see: {missed}"
    health = "from backend.monitoring.health import Status\ncheck.status = Status.DEGRADED\n"
    assert not _caught(health), "a health check's status is not a task's"


def test_exactly_one_module_changes_a_tasks_status() -> None:
    changing: dict[str, list[int]] = defaultdict(list)
    for rel, tree, _ in _sources():
        models = _task_models(tree)
        for node in ast.walk(tree):
            if _changes_status(node, models):
                changing[rel].append(node.lineno)
    elsewhere = {rel: lines for rel, lines in changing.items() if rel not in LIFECYCLES}
    assert not elsewhere, f"a status changes outside {sorted(LIFECYCLES)}: {elsewhere}"
    assert LIFECYCLE in changing, f"{LIFECYCLE} should be the module that changes statuses"


def test_no_long_files_or_functions_in_backend() -> None:
    long_files = []
    long_functions = []
    for rel, tree, text in _sources():
        if (lines := len(text.splitlines())) > MAX_FILE_LINES:
            long_files.append(f"{rel}: {lines} lines")
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long_functions.append(f"{rel}:{node.lineno} {node.name}: {length} lines")
    assert not long_files, f"files over {MAX_FILE_LINES} lines: {long_files}"
    assert not long_functions, f"functions over {MAX_FUNCTION_LINES} lines: {long_functions}"


def test_the_layering_is_written_as_import_linter_contracts_run_by_make_lint() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    kinds = {contract["type"] for contract in config["contracts"]}
    assert len(config["contracts"]) >= 3 and {"layers", "forbidden"} <= kinds
    lint = (ROOT / "Makefile").read_text().split("\nlint:", 1)[1].split("\n\n", 1)[0]
    assert "lint-imports" in lint


_LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_docs_stay_in_the_repository() -> None:
    """The README and docs/ link only to files in the repository or to public sites, never to a
    path outside it (a reader of a clone has nothing there)."""
    assert (ROOT / "docs" / "architecture.md").is_file()
    readme = (ROOT / "README.md").read_text()
    assert "docs/architecture.md" in readme
    outside = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in _LINK.findall(doc.read_text()):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            path = (doc.parent / target.split("#", 1)[0]).resolve()
            if not path.is_relative_to(ROOT) or not path.exists():
                outside.append(f"{doc.name}: {target}")
    assert not outside, f"links to nothing in the repository: {outside}"
    assert "../shared" not in readme
