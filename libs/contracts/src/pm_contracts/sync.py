"""Sync: links that keep two playlists the same, and their runs.

Topic ``pm.sync`` (owner provider-sync, key: the link id): a link made, each run started, completed or
failed, and each conflict a two-way run resolved by the documented rule (docs/sync.md). A run's progress
is its job's (``job.updated`` on pm.jobs). No service acts on them yet: they are the links' audit trail.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pm_contracts.providers import ProviderField

SyncDirection = Literal["add_only", "mirror", "two_way"]
RunKind = Literal["sync", "undo"]
ConflictKind = Literal["move-move", "remove-move"]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore")  # a tolerant reader: see pm_contracts.compat


class SyncEnd(_Payload):
    """One end of a link: a playlist on a provider, or of the user's library (``library``: its id)."""

    provider: ProviderField | Literal["library"]
    playlist_id: str = Field(min_length=1, max_length=200)


class SyncLinkCreated(_Payload):
    link_id: uuid.UUID
    user_id: uuid.UUID
    a: SyncEnd
    b: SyncEnd
    direction: SyncDirection
    every_minutes: int | None = Field(default=None, ge=1)
    created_at: datetime


class SyncRunStarted(_Payload):
    run_id: uuid.UUID
    link_id: uuid.UUID
    user_id: uuid.UUID
    kind: RunKind
    started_at: datetime


class SideChanges(_Payload):
    added: int = Field(ge=0)
    removed: int = Field(ge=0)
    moved: int = Field(ge=0)


class SyncRunCompleted(_Payload):
    run_id: uuid.UUID
    link_id: uuid.UUID
    user_id: uuid.UUID
    kind: RunKind
    # False: neither side had changed since the last run (nothing was read or written).
    changed: bool
    a: SideChanges
    b: SideChanges
    conflicts: int = Field(ge=0)
    unmatched: int = Field(ge=0)
    completed_at: datetime


class SyncRunFailed(_Payload):
    run_id: uuid.UUID
    link_id: uuid.UUID
    user_id: uuid.UUID
    kind: RunKind
    code: str = Field(max_length=100)
    message: str = Field(max_length=1000)
    failed_at: datetime


class SyncConflict(_Payload):
    """Both sides changed one track in ways that cannot both hold; the rule's choice was applied."""

    run_id: uuid.UUID
    link_id: uuid.UUID
    user_id: uuid.UUID
    kind: ConflictKind
    message: str = Field(max_length=1000)
    detected_at: datetime
