"""Every service has the same shape (README, "Anatomy of a service"), so the tree tells the architecture.

No service is an exception: the same folders, the same allowed top-level modules, the same rules for
what may import what, SQL only in storage/, and tests that use public names only.
"""

import ast
import re
from pathlib import Path

import pytest

from pm_contracts.services import deployed_services

REPO = Path(__file__).resolve().parents[4]
SERVICES = deployed_services()
IDS = [s.name for s in SERVICES]

# What every service has.
REQUIRED = {"__init__.py", "__main__.py", "app.py", "settings.py", "http", "usecases", "domain", "storage",
            "events", "migrations"}  # fmt: skip
# What a service may add at its top level, each for one reason (README, "Anatomy of a service").
OPTIONAL = {
    "resources.py",  # its own live resources, behind typed ResourceKeys
    "commands.py",  # its own CLI commands (python -m pm_<name> <command>)
    "errors.py",  # its problems: domain errors that carry their HTTP status
    "clients",  # calls to other services over HTTP (the gateway's upstreams and JWKS)
}
# SQL keywords that start a statement in a string literal.
_SQL = re.compile(r"^\s*(SELECT|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|WITH\s+\w+\s+AS)\b", re.I)


def _package(service) -> Path:
    return REPO / "services" / service.name / "src" / service.package


def _python_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*.py") if "__pycache__" not in p.parts]


@pytest.mark.parametrize("service", SERVICES, ids=IDS)
def test_service_has_the_shape(service):
    package = _package(service)
    present = {p.name for p in package.iterdir() if p.name != "__pycache__"}
    assert present >= REQUIRED, f"{service.name} lacks {sorted(REQUIRED - present)}"
    unexpected = present - REQUIRED - OPTIONAL
    assert not unexpected, f"{service.name} has top-level {sorted(unexpected)}: not in the README's anatomy"
    root = REPO / "services" / service.name
    assert (root / "pyproject.toml").is_file()
    assert (root / "Dockerfile").is_file()
    assert (root / "tests" / "unit").is_dir() and (root / "tests" / "integration").is_dir()


@pytest.mark.parametrize("service", SERVICES, ids=IDS)
def test_services_never_import_each_other(service):
    others = [s.package for s in SERVICES if s.name != service.name]
    for path in (REPO / "services" / service.name / "src").rglob("*.py"):
        text = path.read_text()
        for other in others:
            assert f"import {other}" not in text and f"from {other}" not in text, (path, other)


def _module_name(path: Path) -> str:
    """``services/x/src/pm_x/http/edge.py`` → ``pm_x.http.edge``."""
    parts = path.with_suffix("").parts
    return ".".join(p for p in parts[parts.index("src") + 1 :] if p != "__init__")


def _imports(path: Path) -> list[str]:
    """Every module (and module.name) the file imports, relative imports resolved."""
    package = _module_name(path).rsplit(".", 1)[0]
    modules = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}".rstrip(".")
            modules.append(base)
            modules += [f"{base}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            modules += [alias.name for alias in node.names]
    return modules


def _strings(tree: ast.AST) -> list[tuple[int, str]]:
    """String literals, and the literal start of each f-string."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append((node.lineno, node.value))
        elif isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
            found.append((node.lineno, str(node.values[0].value)))
    return found


@pytest.mark.parametrize("service", SERVICES, ids=IDS)
def test_http_modules_do_not_share_helpers(service):
    """A handler module imports use cases, domain and the platform, never another http/ module; only
    routes.py (the wiring) imports the handler modules."""
    http = _package(service) / "http"
    prefix = f"{service.package}.http."
    for path in _python_files(http):
        if path.name in ("routes.py", "__init__.py"):
            continue
        borrowed = sorted({m for m in _imports(path) if m.startswith(prefix)})
        assert not borrowed, f"{path.relative_to(REPO)} imports {borrowed}"


@pytest.mark.parametrize("service", SERVICES, ids=IDS)
def test_sql_lives_in_storage(service):
    package = _package(service)
    for path in _python_files(package):
        if "storage" in path.relative_to(package).parts:
            continue
        for line, text in _strings(ast.parse(path.read_text())):
            if _SQL.match(text):
                raise AssertionError(f"SQL outside storage/: {path.relative_to(REPO)}:{line}")


@pytest.mark.parametrize("service", SERVICES, ids=IDS)
def test_edges_call_use_cases_not_storage(service):
    """http/ and events/ translate; the use cases (and domain/) do the work, storage/ keeps the SQL."""
    package = _package(service)
    for edge in ("http", "events"):
        for path in _python_files(package / edge):
            storage = sorted({m for m in _imports(path) if m.startswith(f"{service.package}.storage")})
            assert not storage, f"{path.relative_to(REPO)} reaches storage directly: {storage}"


def _test_files() -> list[Path]:
    roots = [REPO / "services" / s.name / "tests" for s in SERVICES]
    roots += [p for p in (REPO / "libs").glob("*/tests")]
    return [p for root in roots for p in _python_files(root)]


@pytest.mark.parametrize("path", _test_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_tests_use_public_names_only(path):
    """A test that calls a _private function pins the implementation, not the behaviour."""
    tree = ast.parse(path.read_text())
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pm_"):
            private = [a.name for a in node.names if a.name.startswith("_")]
            assert not private, f"{path.relative_to(REPO)}:{node.lineno} imports {private}"
            modules.update(a.asname or a.name for a in node.names)
        elif isinstance(node, ast.Import):
            modules.update((a.asname or a.name).split(".")[0] for a in node.names if a.name.startswith("pm_"))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            raise AssertionError(
                f"{path.relative_to(REPO)}:{node.lineno} uses {node.value.id}.{node.attr}; test a public name"
            )


def test_the_checks_see_relative_imports_and_f_string_sql(tmp_path):
    """The rules cannot be dodged by spelling: a relative import is resolved, an f-string is read."""
    edge = tmp_path / "services" / "x" / "src" / "pm_x" / "http" / "edge.py"
    edge.parent.mkdir(parents=True)
    edge.write_text('from . import proxy\nfrom ..storage import links\nq = f"SELECT * FROM {table}"\n')
    assert {"pm_x.http.proxy", "pm_x.storage.links"} <= set(_imports(edge))
    assert any(_SQL.match(text) for _, text in _strings(ast.parse(edge.read_text())))
