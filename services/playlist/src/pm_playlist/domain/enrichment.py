"""What the catalog learnt about a recording, as the library keeps and shows it (pure).

An enrichment event (``pm.enrichment``'s ``track.enriched``) carries a recording's whole enrichment:
the fields the catalog knows, each with its source, and the provider tracks that are the recording.
The newest one per recording is the truth; one not newer than what is kept (a replay, a reordered
older one) changes nothing. A provider track is the recording of the newest event that named it.
Nothing here overwrites a provider's own field of a track: the enrichment is shown beside them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pm_contracts.enrichment import TrackEnriched

# The fields an enrichment may know, in the order the API shows them.
FIELDS = ("isrc", "duration_ms", "release_date", "album")

# A provider track: (provider, provider track id).
TrackKey = tuple[str, str]


class UnstorableEnrichment(ValueError):
    """An event the library can never store (a NUL character: PostgreSQL text and jsonb cannot hold
    one). Its handler dead-letters it."""


@dataclass(frozen=True, slots=True)
class Enrichment:
    """What the library shows of a recording's enrichment beside a track's own fields."""

    recording_id: uuid.UUID
    musicbrainz_id: uuid.UUID | None
    # Only the known fields, each {"value": …, "source": …} as JSON (a date as ISO 8601 text).
    fields: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RecordingEnrichment:
    """A recording's enrichment as one event tells it (or as it is kept)."""

    enrichment: Enrichment
    enriched_at: datetime

    @property
    def recording_id(self) -> uuid.UUID:
        return self.enrichment.recording_id


def _check_text(what: str, value: str) -> None:
    if "\x00" in value:
        raise UnstorableEnrichment(f"{what} holds a NUL character")


def from_event(event: TrackEnriched) -> tuple[RecordingEnrichment, list[TrackKey]]:
    """The event's enrichment and the provider tracks it names (each once, in one order: every writer
    touches their rows in the same order). Raises UnstorableEnrichment for what cannot be stored."""
    tracks = sorted({(t.provider.value, t.provider_track_id) for t in event.tracks})
    for provider, track_id in tracks:
        _check_text(f"the {provider} track id", track_id)
    fields: dict[str, dict[str, Any]] = {}
    for name in FIELDS:
        known = getattr(event, name)
        if known is None:
            continue
        value = known.model_dump(mode="json")["value"]
        if isinstance(value, str):
            _check_text(f"the {name}", value)
        fields[name] = {"value": value, "source": known.source}
    enrichment = Enrichment(event.recording_id, event.musicbrainz_id, fields)
    return RecordingEnrichment(enrichment, event.enriched_at), tracks


def is_stale(kept: RecordingEnrichment | None, incoming: RecordingEnrichment) -> bool:
    """Whether ``incoming`` changes nothing: the recording's kept enrichment is as new or newer (the
    same event replayed, or an older one arriving after a newer)."""
    return kept is not None and incoming.enriched_at <= kept.enriched_at


def shown_changed(kept: RecordingEnrichment | None, incoming: RecordingEnrichment) -> bool:
    """Whether what a track of the recording shows differs (a newer event that only confirms the same
    fields changes no page)."""
    return kept is None or kept.enrichment != incoming.enrichment


def tracks_to_refresh(
    named_before: Iterable[TrackKey],
    dropped: Iterable[TrackKey],
    claimed: Iterable[TrackKey],
    changed: bool,
) -> set[TrackKey]:
    """The provider tracks whose libraries' pages change: those that lost the recording (``dropped``),
    those that became it (``claimed`` and not ``named_before``), and, when what is shown ``changed``,
    every track that is the recording now."""
    before, gone, now = set(named_before), set(dropped), set(claimed)
    refresh = gone | (now - before)
    if changed:
        refresh |= (before - gone) | now
    return refresh


def enrichment_view(enrichment: Enrichment | None) -> dict[str, Any] | None:
    """The API's ``enrichment`` of a track: the recording, its MusicBrainz id, and the known fields
    with their sources (only those); None when the track has none."""
    if enrichment is None:
        return None
    return {
        "recording_id": str(enrichment.recording_id),
        "musicbrainz_id": str(enrichment.musicbrainz_id) if enrichment.musicbrainz_id else None,
        "fields": {
            name: {"value": enrichment.fields[name]["value"], "source": enrichment.fields[name]["source"]}
            for name in FIELDS
            if name in enrichment.fields
        },
    }
