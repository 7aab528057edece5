"""Sorting a playlist (pure): the new order as a ``Reorder`` edit (ids only, see domain/entries.py).

Stable: entries that compare equal keep their order, so sorting by artist after sorting by title gives
titles within each artist. Entries without the value sorted by (no release date, no artist) go last
in either direction: they are not "smallest", they are unknown.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Literal

from pm_playlist.domain.entries import Entry, Reorder
from pm_playlist.domain.tracks import Track, normalise_text

SortKey = Literal["artist", "title", "added_at", "release_date"]


def _text(value: str) -> str | None:
    # A name of punctuation only ("!!!") is still a name: sorted by itself, not as unknown.
    return normalise_text(value) or value.casefold() or None


_KEYS: dict[SortKey, Callable[[Entry, Track], str | date | datetime | None]] = {
    "artist": lambda entry, track: _text(track.artists[0]) if track.artists else None,
    "title": lambda entry, track: _text(track.title),
    "added_at": lambda entry, track: entry.added_at,
    "release_date": lambda entry, track: track.release_date,
}


def sorted_order(entries: Sequence[tuple[Entry, Track]], by: SortKey, descending: bool = False) -> Reorder:
    """The edit that puts ``entries`` (the whole playlist, in its order) in order of ``by``."""
    key = _KEYS[by]
    keyed = [(key(entry, track), entry) for entry, track in entries]
    valued = [item for item in keyed if item[0] is not None]
    unknown = [item for item in keyed if item[0] is None]
    # Python's sort is stable in both directions: equal values keep the playlist's order.
    valued.sort(key=lambda item: item[0], reverse=descending)  # type: ignore[arg-type, return-value]
    return Reorder(tuple(entry.id for _, entry in [*valued, *unknown]))
