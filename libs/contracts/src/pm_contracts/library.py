"""Topic ``pm.library-imports``: what provider-sync read from a provider for a user's library, and what
the export service read from a playlist file a user uploaded. Owner: provider-sync; producers:
provider-sync and export; consumer: playlist. Key: the user id, so one user's events arrive in order (a
playlist's parts in order, then the import's end).

A playlist too large for one event (MAX_EVENT_BYTES) is sent in parts of at most
:data:`MAX_ENTRIES_PER_PART` entries; the playlist service applies it once the last part arrives. Every
event is applied idempotently: a redelivered or replayed one changes nothing.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pm_contracts.providers import ProviderField

# 2,000 entries of at most a few hundred bytes each stay well under the event size limit (900 kB).
MAX_ENTRIES_PER_PART = 2_000
# A playlist's size at most, in the library and so in an import: beyond every provider's own limit
# (Spotify's 10,000) with room for a liked-songs collection that has grown large.
MAX_PLAYLIST_ENTRIES = 100_000
# Text fields are cut to these lengths by the producer (providers allow less; a hostile or broken
# answer must not make an event unsendable).
MAX_NAME = 500
MAX_DESCRIPTION = 5_000
MAX_ARTISTS = 50
MAX_ID = 200
# Parts one playlist's event sequence has at most: parts are cut by bytes as well as entries (a part's
# event stays under the outbox's limit), so a playlist of large entries takes more than its entries
# alone would say; a backup's or a file's unpacking limit bounds them well below this.
MAX_PARTS = 1_000
# A version number at most: far beyond any playlist's history, well inside PostgreSQL's integer.
MAX_VERSION = 1_000_000_000
# The steps of one playlist's history a restore carries at most (its kept versions and their changes):
# a 10,000-entry playlist replaced whole five times over, or thousands of small edits.
MAX_HISTORY_STEPS = 100_000
# Playlists one import lists per provider at most (ids of 40 characters keep the end event under 500 kB).
MAX_PLAYLISTS = 10_000

# The kinds of library collection: a playlist, or the provider's liked songs (Spotify Liked Songs,
# Deezer Loved Tracks, TIDAL collection, YouTube LL), shown like a playlist.
CollectionKind = Literal["playlist", "liked"]
MediaKind = Literal["track", "episode", "video", "unknown"]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore")  # a tolerant reader: see pm_contracts.compat


class ImportedTrack(_Payload):
    """One recording as the provider describes it; fields the provider does not give are None."""

    provider_track_id: str | None = Field(default=None, max_length=MAX_ID)  # None: local file, unknown
    title: str = Field(max_length=MAX_NAME)
    artists: list[str] = Field(default_factory=list, max_length=MAX_ARTISTS)
    album: str | None = Field(default=None, max_length=MAX_NAME)
    duration_ms: int | None = Field(default=None, ge=0)
    isrc: str | None = Field(default=None, max_length=32)
    explicit: bool | None = None
    release_date: date | None = None
    media_type: MediaKind = "track"
    is_local: bool = False
    available: bool | None = None


class ImportedEntry(_Payload):
    track: ImportedTrack
    added_at: datetime | None = None
    added_by: str | None = Field(default=None, max_length=MAX_ID)


class ImportedPlaylist(_Payload):
    """A provider playlist's details as read; ``change_marker`` is the provider's version of it (Spotify
    ``snapshot_id``, Deezer ``checksum``, TIDAL ``lastModifiedAt``, YouTube ``etag``)."""

    provider_playlist_id: str = Field(min_length=1, max_length=MAX_ID)
    collection: CollectionKind = "playlist"
    name: str = Field(max_length=MAX_NAME)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    public: bool | None = None
    collaborative: bool | None = None
    cover_url: str | None = Field(default=None, max_length=2_000)
    owner_id: str | None = Field(default=None, max_length=MAX_ID)
    owner_name: str | None = Field(default=None, max_length=MAX_NAME)
    # The user follows it but does not own it (nor collaborates): the library refuses edits to it.
    read_only: bool = False
    change_marker: str | None = Field(default=None, max_length=MAX_ID)


class PlaylistImported(_Payload):
    """One part of a playlist read from a provider. ``entries`` None: only the details changed (the
    provider's change marker did not), and the entries stay as they are."""

    user_id: uuid.UUID
    job_id: uuid.UUID
    provider: ProviderField
    playlist: ImportedPlaylist
    part: int = Field(ge=1)
    parts: int = Field(ge=1, le=100)
    entries: list[ImportedEntry] | None = Field(default=None, max_length=MAX_ENTRIES_PER_PART)
    read_at: datetime


class FileTrack(_Payload):
    """One recording as a file describes it: any provider ids it names (our lossless JSON keeps every id
    the library knew, an Exportify CSV a Spotify URI, an M3U a link), or none (known by its metadata)."""

    title: str = Field(max_length=MAX_NAME)
    artists: list[str] = Field(default_factory=list, max_length=MAX_ARTISTS)
    album: str | None = Field(default=None, max_length=MAX_NAME)
    duration_ms: int | None = Field(default=None, ge=0)
    isrc: str | None = Field(default=None, max_length=32)
    explicit: bool | None = None
    provider_ids: dict[ProviderField, Annotated[str, Field(min_length=1, max_length=MAX_ID)]] = Field(
        default_factory=dict
    )
    media_type: MediaKind = "track"
    is_local: bool = False


class FileEntry(_Payload):
    track: FileTrack
    added_at: datetime | None = None


class FilePlaylistImported(_Payload):
    """One part of a playlist read from a file the user uploaded (the export service's file import).
    The importer names the library playlist to create (``playlist_id``), so a redelivered or replayed
    part creates it once; nothing is created until every part has arrived, so a file that failed half
    way saves nothing."""

    user_id: uuid.UUID
    job_id: uuid.UUID
    playlist_id: uuid.UUID
    name: str = Field(min_length=1, max_length=MAX_NAME)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    part: int = Field(ge=1, le=MAX_PARTS)
    parts: int = Field(ge=1, le=MAX_PARTS)
    entries: list[FileEntry] = Field(max_length=MAX_ENTRIES_PER_PART)
    read_at: datetime


class RestoredTrack(FileTrack):
    """A track as a backup holds it: the library's own id of it beside its description, so a restore
    into the account it came from finds the same track (a track the library no longer has is made again
    under that id when it is free, else under a new one)."""

    track_id: uuid.UUID | None = None
    release_date: date | None = None
    available: bool | None = None


class RestoredEntry(_Payload):
    entry_id: uuid.UUID
    track: RestoredTrack
    added_at: datetime
    added_by: str | None = Field(default=None, max_length=MAX_ID)


class RestoredOrigin(_Payload):
    provider: ProviderField
    playlist_id: str = Field(min_length=1, max_length=MAX_ID)
    owner_id: str | None = Field(default=None, max_length=MAX_ID)
    owner_name: str | None = Field(default=None, max_length=MAX_NAME)


class RestoredPlaylist(_Payload):
    """A playlist's details as a backup holds them (the library's public answer)."""

    playlist_id: uuid.UUID
    collection: CollectionKind = "playlist"
    name: str = Field(min_length=1, max_length=MAX_NAME)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    public: bool | None = None
    collaborative: bool | None = None
    cover_url: str | None = Field(default=None, max_length=2_000)
    origin: RestoredOrigin | None = None
    read_only: bool = False
    gone_from_provider: bool = False
    created_at: datetime
    # The version the backup was taken at and when the playlist last changed: given back when the
    # backup kept that version's history.
    version: int | None = Field(default=None, ge=1, le=MAX_VERSION)
    updated_at: datetime | None = None


class RestoredVersion(_Payload):
    """One version of a playlist a backup kept, as the library's history shows it."""

    version: int = Field(ge=1, le=MAX_VERSION)
    kind: str = Field(min_length=1, max_length=50)
    author: str | None = Field(default=None, max_length=MAX_ID)
    created_at: datetime
    added: int = Field(default=0, ge=0, le=MAX_PLAYLIST_ENTRIES)
    removed: int = Field(default=0, ge=0, le=MAX_PLAYLIST_ENTRIES)
    moved: int = Field(default=0, ge=0, le=MAX_PLAYLIST_ENTRIES)
    entry_count: int = Field(ge=0, le=MAX_PLAYLIST_ENTRIES)
    # The details this version set (name, description, flags…; None for a change of entries only): flat,
    # a few fields of the playlist's own lengths.
    details: (
        Annotated[
            dict[
                Annotated[str, Field(max_length=50)],
                Annotated[str, Field(max_length=MAX_DESCRIPTION)] | bool | int | float | None,
            ],
            Field(max_length=20),
        ]
        | None
    ) = None


class RestoredChange(_Payload):
    """One difference between a kept version and the version before it, as the library's diff shows
    it: an entry ``added`` (``position`` in this version), ``removed`` (``position`` in the version
    before) or ``moved`` (from ``from_position`` in the version before to ``position`` in this one)."""

    change: Literal["added", "removed", "moved"]
    position: int = Field(ge=0, lt=MAX_PLAYLIST_ENTRIES)
    from_position: int | None = Field(default=None, ge=0, lt=MAX_PLAYLIST_ENTRIES)
    entry: RestoredEntry

    @model_validator(mode="after")
    def _moves_say_from_where(self) -> RestoredChange:
        if (self.change == "moved") != (self.from_position is not None):
            raise ValueError("from_position is given for a moved entry, and only for one")
        return self


class RestoredStep(_Payload):
    """One step of a playlist's kept history, in a backup's order: its newest version first (the
    playlist as the backup holds it), each kept version followed by its changes from the version before
    it; the oldest kept version has none."""

    version: RestoredVersion | None = None
    change: RestoredChange | None = None

    @model_validator(mode="after")
    def _one_of(self) -> RestoredStep:
        if (self.version is None) == (self.change is None):
            raise ValueError("a step is a version or a change")
        return self


class PlaylistRestored(_Payload):
    """One part of a playlist restored from a library backup (the export service's restore). The
    library creates it, under its own id when that is free (else under one derived from the job and
    that id), once every part has arrived; a playlist already in the user's library (that id, or that
    origin) is left as it is. A redelivered or replayed part changes nothing."""

    user_id: uuid.UUID
    job_id: uuid.UUID
    playlist: RestoredPlaylist
    part: int = Field(ge=1, le=MAX_PARTS)
    parts: int = Field(ge=1, le=MAX_PARTS)
    entries: list[RestoredEntry] = Field(max_length=MAX_ENTRIES_PER_PART)
    # The kept history (RestoredStep), after every entry: the parts carry the entries first, then the
    # steps, at most MAX_ENTRIES_PER_PART items a part. Empty: the backup kept no history, and the
    # playlist begins a new one at version 1.
    history: list[RestoredStep] = Field(default_factory=list, max_length=MAX_ENTRIES_PER_PART)
    restored_at: datetime

    @model_validator(mode="after")
    def _part_size(self) -> PlaylistRestored:
        if len(self.entries) + len(self.history) > MAX_ENTRIES_PER_PART:
            raise ValueError(f"a part carries at most {MAX_ENTRIES_PER_PART} entries and steps")
        return self


class LibraryImportFinished(_Payload):
    """The import of one provider ended having listed every playlist of the user there: those of the
    library that came from the provider and are not in ``provider_playlist_ids`` are gone from it."""

    user_id: uuid.UUID
    job_id: uuid.UUID
    provider: ProviderField
    provider_playlist_ids: list[str] = Field(max_length=MAX_PLAYLISTS)
    finished_at: datetime
