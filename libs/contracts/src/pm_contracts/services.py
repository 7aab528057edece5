"""proto/services.yaml, the one list of services: every tool and module that needs the services reads it
here (the native stack, the deployment files, the gateway's upstreams, the tests), none keeps a copy.

``services`` are deployed; ``dev_services`` (the provider emulator) run only in development and tests.
The file travels inside this package's wheel (images have no proto/); a checkout reads it from proto/.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
# In a checkout (editable install): libs/contracts/src/pm_contracts/ → the repository's proto/.
_CHECKOUT_FILE = Path(__file__).resolve().parents[4] / "proto" / "services.yaml"


class ServicesFileError(ValueError):
    """proto/services.yaml is missing or malformed; the message says where."""


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
        """``provider-sync`` → ``PROVIDER_SYNC_URL`` (the gateway's setting for this upstream)."""
        return self.name.upper().replace("-", "_") + "_URL"

    @property
    def role(self) -> str:
        if self.schema is None:
            raise ValueError(f"{self.name} has no database schema")
        return f"pm_{self.schema}"


def _spec(entry: Any, dev: bool, where: str) -> ServiceSpec:
    if not isinstance(entry, dict):
        raise ServicesFileError(f"{where}: expected a mapping, got {entry!r}")
    try:
        name, package, port = entry["name"], entry["package"], entry["port"]
    except KeyError as missing:
        raise ServicesFileError(f"{where}: missing key {missing}") from None
    if not isinstance(name, str) or not _NAME.match(name):
        raise ServicesFileError(f"{where}: bad name {name!r}")
    if not isinstance(package, str) or not _IDENT.match(package):
        raise ServicesFileError(f"{name}: bad package {package!r}")
    if not isinstance(port, int) or not 1 <= port <= 65535:
        raise ServicesFileError(f"{name}: bad port {port!r}")
    schema = entry.get("schema")
    if not dev and (not isinstance(schema, str) or not _IDENT.match(schema)):
        # Identifiers are interpolated into DDL (roles, schemas), hence the strict pattern.
        raise ServicesFileError(f"{name}: a service needs a schema matching [a-z_][a-z0-9_]*")
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
        raise ServicesFileError(f"not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ServicesFileError("expected a mapping with `services` and `dev_services`")
    specs: list[ServiceSpec] = []
    for key, dev in (("services", False), ("dev_services", True)):
        entries = data.get(key)
        if entries is None:
            continue
        if not isinstance(entries, list):
            raise ServicesFileError(f"`{key}` must be a list")
        specs += [_spec(entry, dev, f"{key}[{index}]") for index, entry in enumerate(entries)]
    names = [spec.name for spec in specs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ServicesFileError(f"duplicate service names: {', '.join(duplicates)}")
    return specs


def load_services(path: Path | None = None) -> list[ServiceSpec]:
    """The entries of ``path``, by default the services.yaml this package carries (or the checkout's)."""
    try:
        if path is not None:
            text = path.read_text()
        else:
            packaged = resources.files("pm_contracts") / "services.yaml"
            text = packaged.read_text() if packaged.is_file() else _CHECKOUT_FILE.read_text()
    except OSError as exc:
        raise ServicesFileError(f"cannot read {path or _CHECKOUT_FILE}: {exc.strerror}") from None
    return parse_services(text)


@functools.cache
def deployed_services() -> tuple[ServiceSpec, ...]:
    """The deployed services (not the dev helpers), in the file's order."""
    return tuple(spec for spec in load_services() if not spec.dev)


def service_names() -> tuple[str, ...]:
    return tuple(spec.name for spec in deployed_services())
