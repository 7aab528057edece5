"""How the library lists a user's playlists (pure): filters, sort orders and opaque cursors.

Pages are keysets, never offsets: a cursor holds the last playlist's sort value and id, so a page costs
one index range whatever its depth, and a playlist added meanwhile neither repeats nor skips another.
A cursor is only read back by the same sort order; anything that is not one we wrote is refused.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from pm_contracts.providers import is_provider

Origin = Literal["own", "followed", "created"]
Collection = Literal["playlist", "liked"]
SORTS = ("name", "-name", "created", "-created", "updated", "-updated")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_NAME_FILTER = 200
MAX_CURSOR = 1024


class QueryRefused(ValueError):
    """A query parameter that names nothing we can do (the caller's 422); ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class ListQuery:
    provider: str | None = None
    origin: Origin | None = None
    collection: Collection | None = None
    name: str | None = None
    sort: str = "name"
    limit: int = DEFAULT_LIMIT
    after: tuple[str, uuid.UUID] | None = None  # the last (sort value, id) of the previous page

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")

    @property
    def key(self) -> str:
        return self.sort.lstrip("-")


def parse_limit(raw: str | None, default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT) -> int:
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 6) or not 1 <= int(raw) <= maximum:
        raise QueryRefused("limit", f"limit must be a whole number from 1 to {maximum}")
    return int(raw)


def _text(value: str | None, field: str, maximum: int) -> str | None:
    """A text parameter as PostgreSQL can take it: no NUL, no lone surrogate, bounded."""
    if value is None:
        return None
    if len(value) > maximum or "\x00" in value or not _encodable(value):
        raise QueryRefused(field, f"{field} must be text of at most {maximum} characters")
    return value


def _encodable(value: str) -> bool:
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def parse_list_query(params: dict[str, str]) -> ListQuery:
    provider = params.get("provider")
    if provider is not None and not is_provider(provider):
        raise QueryRefused("provider", "provider must be one of spotify, deezer, tidal, youtube")
    origin = params.get("origin")
    if origin is not None and origin not in ("own", "followed", "created"):
        raise QueryRefused("origin", "origin must be own, followed or created")
    collection = params.get("collection")
    if collection is not None and collection not in ("playlist", "liked"):
        raise QueryRefused("collection", "collection must be playlist or liked")
    name = _text(params.get("name"), "name", MAX_NAME_FILTER)
    sort = params.get("sort", "name")
    if sort not in SORTS:
        raise QueryRefused("sort", f"sort must be one of {', '.join(SORTS)}")
    cursor = params.get("cursor")
    return ListQuery(
        provider=provider,
        origin=origin,  # type: ignore[arg-type]  # checked just above
        collection=collection,  # type: ignore[arg-type]
        name=name or None,
        sort=sort,
        limit=parse_limit(params.get("limit")),
        after=decode_cursor(cursor, sort) if cursor is not None else None,
    )


def encode_cursor(sort: str, value: str, playlist_id: uuid.UUID) -> str:
    raw = json.dumps([sort, value, str(playlist_id)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[str, uuid.UUID]:
    refused = QueryRefused("cursor", "cursor is not one this list gave (or the sort order changed)")
    if not cursor or len(cursor) > MAX_CURSOR:
        raise refused
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        written_sort, value, playlist_id = json.loads(raw)
        if written_sort != sort or not isinstance(value, str) or _text(value, "cursor", MAX_CURSOR) is None:
            raise refused
        if sort.lstrip("-") != "name":
            moment = datetime.fromisoformat(value)
            # A time the database can compare: with its zone, and within its range once in UTC.
            if moment.tzinfo is None or value != moment.astimezone(UTC).isoformat():
                raise refused
        return value, uuid.UUID(playlist_id)
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError, AttributeError, OverflowError):
        raise refused from None
