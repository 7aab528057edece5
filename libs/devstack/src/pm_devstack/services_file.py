"""proto/services.yaml: the one list of services (``services``) and dev-only helpers (``dev_services``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pm_devstack.errors import DevstackError

_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    package: str
    port: int
    schema: str | None = None  # None for dev services: they have no database
    public: bool = False
    dev: bool = False

    @property
    def url_variable(self) -> str:
        """``provider-sync`` → ``PROVIDER_SYNC_URL``."""
        return self.name.upper().replace("-", "_") + "_URL"

    @property
    def role(self) -> str:
        if self.schema is None:
            raise ValueError(f"{self.name} has no database schema")
        return f"pm_{self.schema}"


def _spec(entry: Any, dev: bool, where: str) -> ServiceSpec:
    if not isinstance(entry, dict):
        raise DevstackError("services.yaml", f"{where}: expected a mapping, got {entry!r}")
    try:
        name, package, port = entry["name"], entry["package"], entry["port"]
    except KeyError as missing:
        raise DevstackError("services.yaml", f"{where}: missing key {missing}") from None
    if not isinstance(name, str) or not _NAME.match(name):
        raise DevstackError("services.yaml", f"{where}: bad name {name!r}")
    if not isinstance(package, str) or not _IDENT.match(package):
        raise DevstackError("services.yaml", f"{name}: bad package {package!r}")
    if not isinstance(port, int) or not 1 <= port <= 65535:
        raise DevstackError("services.yaml", f"{name}: bad port {port!r}")
    schema = entry.get("schema")
    if not dev and (not isinstance(schema, str) or not _IDENT.match(schema)):
        # Identifiers are interpolated into DDL (roles, schemas), hence the strict pattern.
        raise DevstackError("services.yaml", f"{name}: a service needs a schema matching [a-z_][a-z0-9_]*")
    return ServiceSpec(
        name=name,
        package=package,
        port=port,
        schema=schema if not dev else None,
        public=bool(entry.get("public", False)),
        dev=dev,
    )


def parse_services(text: str) -> list[ServiceSpec]:
    """All entries, ``services`` first then ``dev_services`` (marked ``dev``); validates names and ports."""
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise DevstackError("services.yaml", f"not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise DevstackError("services.yaml", "expected a mapping with `services` and `dev_services`")
    specs: list[ServiceSpec] = []
    for key, dev in (("services", False), ("dev_services", True)):
        entries = data.get(key)
        if entries is None:
            continue
        if not isinstance(entries, list):
            raise DevstackError("services.yaml", f"`{key}` must be a list")
        specs += [_spec(entry, dev, f"{key}[{index}]") for index, entry in enumerate(entries)]
    names = [spec.name for spec in specs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise DevstackError("services.yaml", f"duplicate service names: {', '.join(duplicates)}")
    return specs


def load_services(path: Path) -> list[ServiceSpec]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise DevstackError("services.yaml", f"cannot read {path}: {exc.strerror}") from None
    return parse_services(text)
