"""Transfers and the shared match cache.

Topic ``pm.transfers`` (owner provider-sync, key: the job id): a transfer's life — requested, completed,
failed. Its progress is the job's (``job.updated`` on pm.jobs).

Topic ``pm.track-matches`` (owner provider-sync, consumer enrichment, key: the job id): what a transfer
learnt about a source track on a target, which the canonical catalog (the shared match cache) records so
the next transfer of that track to that service looks for nothing: a confident automatic match
(``track.matched``), or a track nobody's search found there (``track.not_found``, remembered for a
while: a provider's catalog grows). Neither names a user: a user's own choices (picked candidates) stay
in provider-sync, theirs alone.

The catalog's internal lookup (``POST /internal/catalog/lookup`` on enrichment, the service credential)
takes :class:`CatalogLookup` and answers :class:`CatalogLookupResult`: one batched call per page of
source tracks, never one per track.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pm_contracts.providers import ProviderField

MAX_ID = 200
MAX_TEXT = 500
# Source tracks one lookup carries at most (a page of a transfer's matching).
MAX_LOOKUP = 500

# How a transfer matched a track: the user's own mapping, the shared catalog, an ISRC lookup on the
# target, or a search scored by the matcher.
MatchMethod = Literal["mapping", "catalog", "isrc", "search"]
ExplicitPreference = Literal["source", "explicit", "clean"]
TargetMode = Literal["create", "append", "replace"]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore")  # a tolerant reader: see pm_contracts.compat


class TrackRef(_Payload):
    """One track on one provider."""

    provider: ProviderField
    provider_track_id: str = Field(min_length=1, max_length=MAX_ID)


class TrackMatched(_Payload):
    """A transfer matched a source track to a target track automatically and confidently."""

    job_id: uuid.UUID
    source: TrackRef
    source_isrc: str | None = Field(default=None, max_length=32)
    target: TrackRef
    target_isrc: str | None = Field(default=None, max_length=32)
    # What the source track is (the catalog keeps a description of each recording).
    title: str = Field(max_length=MAX_TEXT)
    artists: list[str] = Field(default_factory=list, max_length=50)
    duration_ms: int | None = Field(default=None, ge=0)
    method: Literal["isrc", "search"]
    confidence: float = Field(ge=0, le=1)
    matched_at: datetime


class TrackNotFound(_Payload):
    """A transfer looked for a source track on a target properly and found nothing there: the target's
    ISRC lookup (when the track has an ISRC and the target has one) accepted nothing, and no candidate of
    the search scored even the matcher's review threshold (nothing a user could pick). Only for the
    source's own version, never for a refused or failed call, an unavailable track or a local file or
    episode: a miss every user may share."""

    job_id: uuid.UUID
    source: TrackRef
    source_isrc: str | None = Field(default=None, max_length=32)
    target: ProviderField
    # What the source track is (the catalog keeps it to explain the miss).
    title: str = Field(max_length=MAX_TEXT)
    artists: list[str] = Field(default_factory=list, max_length=50)
    duration_ms: int | None = Field(default=None, ge=0)
    searched_at: datetime


class TransferRequested(_Payload):
    job_id: uuid.UUID
    user_id: uuid.UUID
    target: ProviderField
    playlists: int = Field(ge=0)
    dry_run: bool
    requested_at: datetime


class TransferCompleted(_Payload):
    job_id: uuid.UUID
    user_id: uuid.UUID
    target: ProviderField
    dry_run: bool
    tracks: int = Field(ge=0)
    matched: int = Field(ge=0)
    not_matched: int = Field(ge=0)
    written: int = Field(ge=0)
    completed_at: datetime


class TransferFailed(_Payload):
    job_id: uuid.UUID
    user_id: uuid.UUID
    target: ProviderField
    code: str = Field(max_length=100)
    message: str = Field(max_length=1000)
    failed_at: datetime


# ---- the catalog's internal lookup -----------------------------------------------------------------------


class LookupKey(_Payload):
    """A source track as the transfer knows it: its provider id, its ISRC, or both."""

    provider: ProviderField | None = None
    provider_track_id: str | None = Field(default=None, max_length=MAX_ID)
    isrc: str | None = Field(default=None, max_length=32)


class CatalogLookup(_Payload):
    target: ProviderField
    tracks: list[LookupKey] = Field(max_length=MAX_LOOKUP)


class CatalogHit(_Payload):
    """The target's track for one source track. ``via`` says what found it: the source's provider id
    (the same recording, certain) or only its ISRC (a hint: the caller checks it like an ISRC hit)."""

    recording_id: uuid.UUID
    provider_track_id: str = Field(max_length=MAX_ID)
    via: Literal["id", "isrc"]


class CatalogLookupResult(_Payload):
    # One per requested track, in order; None where the catalog knows no target track.
    hits: list[CatalogHit | None]
    # One per requested track, in order, beside ``hits``: where the catalog knows no target track but
    # remembers that a transfer's search found none for the track's own provider id recently (within the
    # catalog's CATALOG_MISS_TTL_DAYS), when it searched last; else None. Empty from a catalog that
    # answers no misses (read as all None).
    absent: list[datetime | None] = Field(default_factory=list)
