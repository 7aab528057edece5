"""Library insights (issue 20; docs/library.md, "Insights"), pure: duplicates across a user's playlists
(one recording under several library tracks: other services' ids, other titles), a playlist's tracks
not available on a chosen service, and statistics of the library. What is one recording, and what a
service holds of it, is the canonical catalog's answer (enrichment); nothing here searches a provider."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

# The artists a statistics answer lists at most (the most frequent first).
TOP_ARTISTS = 50


@dataclass(frozen=True)
class LibraryTrack:
    """One track of the user's library and where it is: the playlists holding it, with how many entries
    each. ``provider_ids`` as the library keeps them (provider → id)."""

    id: uuid.UUID
    title: str
    artists: tuple[str, ...]
    duration_ms: int | None
    isrc: str | None
    release_date: date | None
    provider_ids: Mapping[str, str]
    playlists: Mapping[uuid.UUID, int] = field(default_factory=dict)

    def lookup_key(self, target: str | None = None) -> tuple[str, str] | None:
        """The provider id to ask the catalog about (the first by provider name, the target's own last:
        a track of the target answers itself), or None for a track known by no provider (a local file,
        a file's description)."""
        ids = sorted(self.provider_ids.items(), key=lambda item: (item[0] == target, item[0]))
        return ids[0] if ids else None


@dataclass(frozen=True)
class DuplicateGroup:
    """Library tracks that are one recording."""

    recording_id: uuid.UUID
    tracks: tuple[LibraryTrack, ...]


def duplicates(
    tracks: Iterable[LibraryTrack], recording_of: Mapping[uuid.UUID, uuid.UUID]
) -> list[DuplicateGroup]:
    """The groups of two or more library tracks on one canonical recording (``recording_of``: library
    track id → recording, for the tracks the catalog knows). Groups in order of their first track's
    title (folded) and id; tracks by title, then id: an answer that pages the same every time."""
    by_recording: dict[uuid.UUID, list[LibraryTrack]] = defaultdict(list)
    for track in tracks:
        recording = recording_of.get(track.id)
        if recording is not None:
            by_recording[recording].append(track)
    groups = [
        DuplicateGroup(recording, tuple(sorted(members, key=_title_order)))
        for recording, members in by_recording.items()
        if len(members) > 1
    ]
    groups.sort(key=lambda g: _title_order(g.tracks[0]))
    return groups


def _title_order(track: LibraryTrack) -> tuple[str, str, str]:
    return (track.title.casefold(), ", ".join(track.artists).casefold(), str(track.id))


Availability = Literal["on-service", "matched", "isrc", "absent", "unknown"]
# What each answer means: the track is the service's own; the catalog knows the recording's track there;
# the catalog knows a track there with its ISRC (a hint a transfer checks); a recent search found it
# nowhere there; nobody knows (never matched, never searched: a transfer would search).
AVAILABLE: frozenset[Availability] = frozenset({"on-service", "matched", "isrc"})


def availability(track: LibraryTrack, target: str, via: str | None, absent: bool) -> Availability:
    """Whether a track is on ``target`` by the catalog's answer for it (``via``: "id", "isrc" or None;
    ``absent``: a recent search found it nowhere there)."""
    if target in track.provider_ids:
        return "on-service"
    if via == "id":
        return "matched"
    if via == "isrc":
        return "isrc"
    return "absent" if absent else "unknown"


@dataclass(frozen=True)
class Statistics:
    tracks: int
    total_duration_ms: int
    with_duration: int
    with_isrc: int
    per_artist: list[tuple[str, int]]
    per_decade: dict[str, int]
    artists: int

    @property
    def isrc_share(self) -> float:
        return round(self.with_isrc / self.tracks, 4) if self.tracks else 0.0


def statistics(tracks: Sequence[LibraryTrack]) -> Statistics:
    """Counts over distinct library tracks: per artist (every credited artist counts the track once; the
    spelling seen first, compared case-insensitively), per decade of release ("1990s"; "unknown" without
    a date), the total duration of those with one, and how many have an ISRC."""
    spelled: dict[str, str] = {}
    per_artist: Counter[str] = Counter()
    per_decade: Counter[str] = Counter()
    for track in tracks:
        for name in dict.fromkeys(a.strip() for a in track.artists if a.strip()):
            folded = name.casefold()
            spelled.setdefault(folded, name)
            per_artist[folded] += 1
        per_decade[f"{track.release_date.year // 10 * 10}s" if track.release_date else "unknown"] += 1
    ranked = sorted(per_artist.items(), key=lambda item: (-item[1], item[0]))
    return Statistics(
        tracks=len(tracks),
        total_duration_ms=sum(t.duration_ms or 0 for t in tracks),
        with_duration=sum(t.duration_ms is not None for t in tracks),
        with_isrc=sum(bool(t.isrc) for t in tracks),
        per_artist=[(spelled[folded], count) for folded, count in ranked[:TOP_ARTISTS]],
        per_decade=dict(sorted(per_decade.items())),
        artists=len(per_artist),
    )
