"""Duplicates in a playlist, and which rule found each (pure).

Two entries are duplicates when their tracks have the same ISRC (one recording, whatever the
provider), or the same normalised title and artists with durations within 2 s (one recording known
without an ISRC, or under two ISRCs: providers re-release). The first entry of each group is kept;
every later one is a duplicate of it, with the rule that matched, so the user sees why.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pm_playlist.domain.entries import Entry
from pm_playlist.domain.tracks import Track, artists_key, normalise_isrc, normalise_text

DURATION_TOLERANCE_MS = 2_000

Rule = Literal["isrc", "title_artists_duration"]


@dataclass(frozen=True, slots=True)
class Duplicate:
    entry_id: uuid.UUID  # the entry to remove
    kept_entry_id: uuid.UUID  # the earlier entry it duplicates
    rule: Rule


def find_duplicates(entries: Sequence[tuple[Entry, Track]]) -> list[Duplicate]:
    """Every entry that duplicates an earlier one, in playlist order."""
    by_isrc: dict[str, uuid.UUID] = {}
    # (title, artists) → the kept entries of that name, with their durations (None: unknown).
    by_name: dict[tuple[str, tuple[str, ...]], list[tuple[uuid.UUID, int | None]]] = {}
    found: list[Duplicate] = []
    for entry, track in entries:
        isrc = normalise_isrc(track.isrc)
        if isrc is not None and isrc in by_isrc:
            found.append(Duplicate(entry.id, by_isrc[isrc], "isrc"))
            continue
        name = (normalise_text(track.title), artists_key(track.artists))
        match = _same_recording(by_name.get(name, []), track.duration_ms) if name[0] and name[1] else None
        if match is not None:
            found.append(Duplicate(entry.id, match, "title_artists_duration"))
            continue
        if isrc is not None:
            by_isrc[isrc] = entry.id
        if name[0] and name[1]:
            by_name.setdefault(name, []).append((entry.id, track.duration_ms))
    return found


def _same_recording(kept: list[tuple[uuid.UUID, int | None]], duration_ms: int | None) -> uuid.UUID | None:
    """The first kept entry of the same name whose duration is within the tolerance (both known)."""
    if duration_ms is None:
        return None
    for entry_id, kept_duration in kept:
        if kept_duration is not None and abs(kept_duration - duration_ms) <= DURATION_TOLERANCE_MS:
            return entry_id
    return None
