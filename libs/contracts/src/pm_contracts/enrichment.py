"""Topic ``pm.enrichment`` (owner enrichment, consumer playlist, key: the recording id): what the
enrichment service learnt about a canonical recording (docs/catalog.md) — a missing ISRC, duration,
release date or album filled from another service's description of the same recording, or from
MusicBrainz — so that every library holding one of the recording's tracks can show it, with where it
came from. Names no user: the catalog is shared.

Each event carries the recording's whole enrichment as it stands (not a delta): the latest one for a
recording is the truth, so a redelivered, replayed or reordered older one is recognised by
``enriched_at`` and changes nothing.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from pm_contracts.providers import ProviderName
from pm_contracts.transfers import MAX_TEXT, TrackRef

# Provider tracks one event names at most: a recording's releases on every service (an album's, a
# single's, a compilation's) stay far below it; the rest are named by a later event.
MAX_TRACKS = 500

# Where an enriched value came from: one of the providers (another service's description of the same
# recording), or MusicBrainz.
EnrichmentSource = Annotated[
    str,
    Field(
        pattern="^(" + "|".join([*(p.value for p in ProviderName), "musicbrainz"]) + ")$",
        json_schema_extra={"enum": [*(p.value for p in ProviderName), "musicbrainz"]},
    ),
]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore")  # a tolerant reader: see pm_contracts.compat


class EnrichedText(_Payload):
    value: str = Field(min_length=1, max_length=MAX_TEXT)
    source: EnrichmentSource


class EnrichedDuration(_Payload):
    value: int = Field(ge=0, le=24 * 60 * 60 * 1000)
    source: EnrichmentSource


class EnrichedDate(_Payload):
    value: date
    source: EnrichmentSource


class TrackEnriched(_Payload):
    """The enrichment of one canonical recording, whole: each field the catalog knows with its source
    (None: nobody knows it), and the provider tracks that are this recording."""

    recording_id: uuid.UUID
    tracks: list[TrackRef] = Field(min_length=1, max_length=MAX_TRACKS)
    isrc: EnrichedText | None = None
    duration_ms: EnrichedDuration | None = None
    release_date: EnrichedDate | None = None
    album: EnrichedText | None = None
    # The MusicBrainz recording (its MBID) when MusicBrainz knew the ISRC.
    musicbrainz_id: uuid.UUID | None = None
    enriched_at: datetime
