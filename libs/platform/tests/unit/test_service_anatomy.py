"""Every service has the same shape (README, "Anatomy of a service"), so the tree tells the architecture."""

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[4]
SERVICES = yaml.safe_load((REPO / "proto" / "services.yaml").read_text())["services"]
SHAPE = ["__main__.py", "app.py", "settings.py", "http", "domain", "storage", "events", "migrations"]


@pytest.mark.parametrize("service", SERVICES, ids=[s["name"] for s in SERVICES])
def test_service_has_the_shape(service):
    root = REPO / "services" / service["name"]
    package = root / "src" / service["package"]
    for part in SHAPE:
        assert (package / part).exists(), f"{service['name']} lacks {part}"
    assert (root / "pyproject.toml").is_file()
    assert (root / "Dockerfile").is_file()
    assert (root / "tests" / "unit").is_dir() or (root / "tests" / "integration").is_dir()


@pytest.mark.parametrize("service", SERVICES, ids=[s["name"] for s in SERVICES])
def test_services_never_import_each_other(service):
    others = [s["package"] for s in SERVICES if s["name"] != service["name"]]
    for path in (REPO / "services" / service["name"] / "src").rglob("*.py"):
        text = path.read_text()
        for other in others:
            assert f"import {other}" not in text and f"from {other}" not in text, (path, other)
