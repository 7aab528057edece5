"""What every adapter is built from, and small parsing helpers (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
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


def parse_release_date(value: Any, precision: Any = None) -> date | None:
    """A release date as the providers write it: ``YYYY-MM-DD``, ``YYYY-MM`` (the 1st) or ``YYYY``
    (January 1st); Spotify's ``release_date_precision`` (``year``/``month``/``day``) cuts it to what
    is known. None when absent or not a date (Deezer's ``0000-00-00``)."""
    if not isinstance(value, str):
        return None
    parts = value.strip()[:10].split("-")
    keep = {"year": 1, "month": 2}.get(precision if isinstance(precision, str) else "", 3)
    try:
        year, month, day = [*(int(p) for p in parts[:keep]), 1, 1][:3]
        return date(year, month, day)
    except (ValueError, IndexError):
        return None


def largest_image(images: Iterable[Any]) -> str | None:
    """The URL of the largest of ``{url | href, width, height}`` images (TIDAL's sizes under
    ``meta``); among equals, or when no sizes are given, the first listed (Spotify lists the largest
    first)."""
    best: tuple[int, str] | None = None
    for image in images:
        if not isinstance(image, dict):
            continue
        url = image.get("url") or image.get("href")
        if not isinstance(url, str) or not url:
            continue
        meta = image.get("meta")
        sizes: dict[str, Any] = meta if isinstance(meta, dict) else image
        width, height = sizes.get("width"), sizes.get("height")
        area = width * height if isinstance(width, int) and isinstance(height, int) else 0
        if best is None or area > best[0]:
            best = (area, url)
    return best[1] if best is not None else None


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
