"""proto/services.yaml as the native stack reads it: pm_contracts.services, with the stack's errors."""

from __future__ import annotations

from pathlib import Path

from pm_contracts.services import ServicesFileError, ServiceSpec
from pm_contracts.services import load_services as _load_services
from pm_devstack.errors import DevstackError

__all__ = ["ServiceSpec", "load_services"]


def load_services(path: Path) -> list[ServiceSpec]:
    """Every entry of the file at ``path`` (services, then dev services); DevstackError when malformed."""
    try:
        return _load_services(path)
    except ServicesFileError as exc:
        raise DevstackError("services.yaml", str(exc)) from None
