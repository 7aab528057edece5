"""The library's records as storage reads and writes them (pure values): a playlist with its details
and origin, an entry with its track as the API shows it, a version of the history, and a track as it is
written."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pm_playlist.domain.enrichment import Enrichment

# The details a change may set (the column names).
DETAILS = ("name", "description", "public", "collaborative", "cover_url")


@dataclass(frozen=True, slots=True)
class Playlist:
    id: uuid.UUID
    user_id: uuid.UUID
    collection: str
    name: str
    description: str | None
    public: bool | None
    collaborative: bool | None
    cover_url: str | None
    origin_provider: str | None
    origin_playlist_id: str | None
    origin_owner_id: str | None
    origin_owner_name: str | None
    change_marker: str | None
    imported_at: datetime | None
    read_only: bool
    gone_from_provider: bool
    version: int
    track_revision: int
    entry_count: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Playlist:
        return cls(**{name: row[name] for name in cls.__slots__})

    @property
    def etag(self) -> str:
        """The version, and the revision of its tracks' metadata (which changes the page, not the list)."""
        return f'"{self.version}.{self.track_revision}"'

    def details(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in DETAILS}


def new_playlist(user_id: uuid.UUID, name: str, at: datetime, entry_count: int, **details: Any) -> Playlist:
    """Version 1 of a playlist: created here unless ``details`` give its origin (and any other field)."""
    fields: dict[str, Any] = {
        "id": uuid.uuid4(),
        "user_id": user_id,
        "collection": "playlist",
        "name": name,
        "description": None,
        "public": None,
        "collaborative": None,
        "cover_url": None,
        "origin_provider": None,
        "origin_playlist_id": None,
        "origin_owner_id": None,
        "origin_owner_name": None,
        "change_marker": None,
        "imported_at": None,
        "read_only": False,
        "gone_from_provider": False,
        "version": 1,
        "track_revision": 0,
        "entry_count": entry_count,
        "created_at": at,
        "updated_at": at,
    }
    unknown = set(details) - set(fields)
    if unknown:
        raise TypeError(f"a playlist has no {sorted(unknown)}")
    return Playlist(**{**fields, **details})


@dataclass(frozen=True, slots=True)
class EntryView:
    """An entry as the API shows it: the entry and its track, with the catalog's enrichment of the
    track (None: it has none)."""

    position: int
    id: uuid.UUID
    added_at: datetime
    added_by: str | None
    track_id: uuid.UUID
    title: str
    artists: list[str]
    album: str | None
    duration_ms: int | None
    isrc: str | None
    explicit: bool | None
    release_date: date | None
    provider_ids: dict[str, str]
    media_type: str
    is_local: bool
    available: bool | None
    enrichment: Enrichment | None = None


@dataclass(frozen=True, slots=True)
class Version:
    version: int
    kind: str
    author: str | None
    created_at: datetime
    added: int
    removed: int
    moved: int
    entry_count: int
    details: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class TrackRecord:
    """A track as it is written: its identity and everything a provider told about it."""

    identity: str
    title: str
    artists: tuple[str, ...]
    album: str | None = None
    duration_ms: int | None = None
    isrc: str | None = None
    explicit: bool | None = None
    release_date: date | None = None
    provider_ids: tuple[tuple[str, str], ...] = ()
    media_type: str = "track"
    is_local: bool = False
    available: bool | None = None
