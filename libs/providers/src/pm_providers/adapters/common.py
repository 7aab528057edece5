"""What every adapter is built from, and small parsing helpers (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pm_providers.http import ProviderHttp
from pm_providers.ratelimit import DailyQuota
from pm_providers.settings import ProviderSettings


@dataclass(frozen=True, slots=True)
class AdapterContext:
    """The pipeline for one user and provider, the settings, and (YouTube) the daily quota."""

    http: ProviderHttp
    settings: ProviderSettings
    quota: DailyQuota | None = None


def parse_time(value: Any) -> datetime | None:
    """ISO-8601 (``Z`` allowed), unix seconds, or Deezer's ``YYYY-MM-DD HH:MM:SS`` (UTC)."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str):
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def as_str(value: Any) -> str | None:
    if value is None:
        return None
    return str(value)


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def quoted(value: str) -> str:
    """A field-filter value in double quotes (inner quotes dropped: no provider escapes them)."""
    return '"' + value.replace('"', " ").strip() + '"'


def fielded_query(query: str | None, *fields: tuple[str, str | None]) -> str:
    """Free text plus ``field:"value"`` filters (Spotify's and Deezer's search syntax), in order."""
    parts = [query.strip()] if query and query.strip() else []
    parts.extend(f"{name}:{quoted(value)}" for name, value in fields if value)
    return " ".join(parts)
