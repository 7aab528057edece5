"""Duplicates in a playlist, and which rule found each (pure).

Two entries are duplicates when they hold the same library track (``same-track``: the same provider id,
or the same local file), when their tracks have the same ISRC (one recording, whatever the
provider), or the same normalised title and artists with durations within 2 s (one recording known
without an ISRC, or under two ISRCs: providers re-release). The first entry of each group is kept;
every later one is a duplicate of it, with the rule that matched, so the user sees why. Durations are
compared with the nearest known one of the same name, so which entry a near-duplicate joins can depend
on the playlist's order (200 s, 201.9 s, 203.8 s: the third is within 2 s of the second only).
"""

from __future__ import annotations

import uuid
from bisect import bisect_left, insort
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pm_playlist.domain.entries import Entry
from pm_playlist.domain.tracks import Track, artists_key, normalise_isrc, normalise_text

DURATION_TOLERANCE_MS = 2_000

Rule = Literal["same-track", "isrc", "title-artists-duration"]


@dataclass(frozen=True, slots=True)
class Duplicate:
    entry_id: uuid.UUID  # the entry to remove
    kept_entry_id: uuid.UUID  # the earlier entry it duplicates
    rule: Rule


def find_duplicates(entries: Sequence[tuple[Entry, Track]]) -> list[Duplicate]:
    """Every entry that duplicates an earlier one, in playlist order. A duplicate's own ISRC and duration
    count for its group too: A and B by name, B and C by ISRC make C a duplicate of A. Each name keeps
    its durations sorted, so a long playlist of one title stays O(n log n)."""
    by_track: dict[uuid.UUID, uuid.UUID] = {}
    by_isrc: dict[str, uuid.UUID] = {}
    # (title, artists) → the known durations of that name, sorted, each with the kept entry of its group.
    by_name: dict[tuple[str, tuple[str, ...]], list[tuple[int, uuid.UUID]]] = {}
    found: list[Duplicate] = []
    for entry, track in entries:
        isrc = normalise_isrc(track.isrc)
        name = (normalise_text(track.title), artists_key(track.artists))
        named = bool(name[0] and name[1])
        kept: uuid.UUID | None = None
        rule: Rule | None = None
        if entry.track_id in by_track:
            kept, rule = by_track[entry.track_id], "same-track"
        elif isrc is not None and isrc in by_isrc:
            kept, rule = by_isrc[isrc], "isrc"
        elif named and track.duration_ms is not None:
            kept = _within_tolerance(by_name.get(name, []), track.duration_ms)
            rule = "title-artists-duration" if kept is not None else None
        if kept is not None and rule is not None:
            found.append(Duplicate(entry.id, kept, rule))
        group = kept if kept is not None else entry.id
        by_track.setdefault(entry.track_id, group)
        if isrc is not None:
            by_isrc.setdefault(isrc, group)
        if named and track.duration_ms is not None:
            insort(by_name.setdefault(name, []), (track.duration_ms, group))
    return found


def _within_tolerance(durations: list[tuple[int, uuid.UUID]], duration_ms: int) -> uuid.UUID | None:
    """The group of the known duration nearest ``duration_ms`` if within the tolerance (the shorter one
    on a tie)."""
    i = bisect_left(durations, (duration_ms,))
    candidates = [durations[j] for j in (i - 1, i) if 0 <= j < len(durations)]
    near = [
        (abs(d - duration_ms), d, group)
        for d, group in candidates
        if abs(d - duration_ms) <= DURATION_TOLERANCE_MS
    ]
    return min(near, key=lambda n: (n[0], n[1]))[2] if near else None
