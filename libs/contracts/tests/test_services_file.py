"""proto/services.yaml, the one list of services, parsed and checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from pm_contracts.services import ServicesFileError, load_services, parse_services

REPO = Path(__file__).resolve().parents[3]


def test_the_real_services_file() -> None:
    specs = load_services(REPO / "proto" / "services.yaml")
    services = [spec for spec in specs if not spec.dev]
    assert [s.name for s in services] == [
        "gateway",
        "auth",
        "playlist",
        "provider-sync",
        "export",
        "enrichment",
    ]
    assert [s.port for s in services] == [3101, 3102, 3103, 3104, 3105, 3106]
    assert all(s.package == "pm_" + s.name.replace("-", "_") for s in services)
    assert [s.name for s in specs if s.public] == ["gateway"]
    sync = next(s for s in specs if s.name == "provider-sync")
    assert (sync.schema, sync.role, sync.url_variable) == (
        "provider_sync",
        "pm_provider_sync",
        "PROVIDER_SYNC_URL",
    )
    (emulator,) = [spec for spec in specs if spec.dev]
    assert (emulator.name, emulator.port, emulator.schema) == ("provider-emulator", 3199, None)
    assert emulator.url_variable == "PROVIDER_EMULATOR_URL"


def test_dev_services_are_optional() -> None:
    specs = parse_services("services:\n  - {name: a, package: pm_a, port: 1, schema: a}\n")
    assert [(s.name, s.dev) for s in specs] == [("a", False)]


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("services:\n  - {name: a, package: pm_a, schema: a}\n", "missing key"),
        ("services:\n  - {name: a, package: pm_a, port: x, schema: a}\n", "bad port"),
        ("services:\n  - {name: a, package: pm_a, port: 1}\n", "needs a schema"),
        ("services:\n  - {name: a, package: pm_a, port: 1, schema: 'a; drop'}\n", "needs a schema"),
        ("services:\n  - {name: A_b, package: pm_a, port: 1, schema: a}\n", "bad name"),
        (
            "services:\n  - {name: a, package: pm_a, port: 1, schema: a}\n"
            "dev_services:\n  - {name: a, package: pm_b, port: 2}\n",
            "duplicate",
        ),
        ("services: {}\n", "must be a list"),
        ("[1, 2]\n", "expected a mapping"),
        ("services: [\n", "not valid YAML"),
    ],
)
def test_invalid_files_are_rejected(text: str, complaint: str) -> None:
    with pytest.raises(ServicesFileError, match=complaint):
        parse_services(text)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ServicesFileError, match="cannot read"):
        load_services(tmp_path / "nope.yaml")
