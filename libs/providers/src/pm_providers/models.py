"""Values every adapter returns and takes: one shape for all four providers.

Fields a provider does not give are ``None`` (never guessed): Deezer listings carry no ISRC, YouTube
has no ISRC, album or explicit flag, Spotify says nothing about availability without a market.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

# The one definition of the providers' names, re-exported for the adapters' callers.
from pm_contracts.providers import ProviderName as ProviderName


class LookupService(StrEnum):
    """A catalogue service looked up without a user's account (no tokens, no per-user buckets)."""

    MUSICBRAINZ = "musicbrainz"


# Whom the request pipeline talks to: a streaming provider, or a lookup service.
Upstream = ProviderName | LookupService


class MediaType(StrEnum):
    TRACK = "track"
    EPISODE = "episode"
    VIDEO = "video"
    # An entry whose item the provider no longer returns (Spotify ``item: null``); kept so that
    # positions of the entries after it stay right.
    UNKNOWN = "unknown"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ProviderUser(_Model):
    provider: ProviderName
    id: str
    display_name: str | None = None
    # Spotify's stable ``account_id`` (2026-05), the id to link accounts by when present.
    account_id: str | None = None
    country: str | None = None
    email: str | None = None


class ProviderPlaylist(_Model):
    provider: ProviderName
    id: str
    name: str
    description: str | None = None
    owner_id: str | None = None
    owner_name: str | None = None
    # Whether the current user owns it (followed playlists are listed too where the provider does).
    is_owner: bool | None = None
    public: bool | None = None
    collaborative: bool | None = None
    track_count: int | None = None
    # The provider's change marker: Spotify ``snapshot_id`` (also the version positions refer to),
    # Deezer ``checksum``, TIDAL ``lastModifiedAt``, YouTube ``etag`` (blind to moves that keep the
    # first video first: see the YouTube adapter).
    snapshot_id: str | None = None
    # Deezer's "Loved Tracks" playlist (the liked list seen as a playlist).
    is_liked_collection: bool = False
    url: str | None = None
    # The cover image the provider shows (the largest it lists).
    image_url: str | None = None


class ProviderTrack(_Model):
    provider: ProviderName
    id: str | None = Field(description="the provider's track id; None for local files and unknown items")
    uri: str | None = None
    title: str
    artists: tuple[str, ...] = ()
    album: str | None = None
    duration_ms: int | None = None
    isrc: str | None = None
    explicit: bool | None = None
    available: bool | None = None
    is_local: bool = False
    media_type: MediaType = MediaType.TRACK
    # Where the entry sits in the playlist it was read from (0-based), and the provider's id of
    # that entry where removals/moves need it (TIDAL ``itemId``, YouTube playlistItem id).
    position: int | None = None
    item_id: str | None = None
    added_at: datetime | None = None
    # The release date of the track's album where the provider gives it (a year alone: January 1st).
    release_date: date | None = None


class ProviderLimits(_Model):
    """What one provider allows per request; batching and paging are planned from these."""

    playlists_page: int
    tracks_page: int
    liked_page: int
    max_add_batch: int
    max_remove_batch: int
    # Items one reorder call can move (Spotify moves any contiguous range: its value is the
    # playlist maximum).
    max_move_batch: int
    max_playlist_size: int | None
    search_page: int
    # Longest playlist name the provider keeps; longer names are cut to it (None: no known limit).
    max_name_length: int | None = None
    # Whether a playlist may hold the same track twice (Deezer refuses it).
    allows_duplicates: bool = True
    # ISRCs one lookup call takes (TIDAL's ``filter[isrc]`` takes 20; the others one per call).
    isrc_lookup_batch: int = 1


class WriteResult(_Model):
    """What a write did: entries written, ids the provider skipped (unknown tracks), new version."""

    written: int = 0
    removed: int = 0
    moved: int = 0
    skipped: tuple[str, ...] = ()
    snapshot_id: str | None = None
