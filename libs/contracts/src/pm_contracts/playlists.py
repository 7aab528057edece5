"""Topic ``pm.playlists``: the life of the playlists of users' libraries. Owner: playlist. Key: the
playlist id, so one playlist's events arrive in order.

Events carry what changed and the version it made, not the entries: a consumer that needs them asks
the playlist service.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pm_contracts.library import MAX_DESCRIPTION, MAX_ID, MAX_NAME, CollectionKind
from pm_contracts.providers import ProviderField

# What made a version: an edit in the library, a provider import, a restore of an older version.
ChangeKind = Literal[
    "created",
    "details",
    "insert",
    "remove",
    "move",
    "reorder",
    "replace",
    "batch",
    "import",
    "restore",
    "sync",
]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore")  # a tolerant reader: see pm_contracts.compat


class PlaylistOrigin(_Payload):
    """Where a library playlist came from; None on a playlist created in the library."""

    provider: ProviderField
    provider_playlist_id: str = Field(min_length=1, max_length=MAX_ID)


class PlaylistCreated(_Payload):
    playlist_id: uuid.UUID
    user_id: uuid.UUID
    name: str = Field(max_length=MAX_NAME)
    collection: CollectionKind = "playlist"
    origin: PlaylistOrigin | None = None
    version: int = Field(ge=1)
    entries: int = Field(ge=0)
    created_at: datetime


class PlaylistUpdated(_Payload):
    """The details changed (name, description, flags, cover, or the provider's view of them)."""

    playlist_id: uuid.UUID
    user_id: uuid.UUID
    name: str = Field(max_length=MAX_NAME)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    public: bool | None = None
    collaborative: bool | None = None
    gone_from_provider: bool = False
    version: int = Field(ge=1)
    updated_at: datetime


class PlaylistDeleted(_Payload):
    playlist_id: uuid.UUID
    user_id: uuid.UUID
    origin: PlaylistOrigin | None = None
    deleted_at: datetime


class PlaylistEntriesChanged(_Payload):
    """The entries changed, making ``version``: how many entries were added, removed and moved."""

    playlist_id: uuid.UUID
    user_id: uuid.UUID
    version: int = Field(ge=2)
    change: ChangeKind
    added: int = Field(ge=0)
    removed: int = Field(ge=0)
    moved: int = Field(ge=0)
    entries: int = Field(ge=0)
    changed_at: datetime
