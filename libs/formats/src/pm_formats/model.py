"""What a playlist file holds, whatever its format: a stream of items, so a 100,000-entry file is read and
written in bounded memory.

A reader yields, in file order: :class:`PlaylistStart` (a playlist begins; a file may hold several),
:class:`PlaylistInfo` (its name and description, wherever the format puts them: some put the title after
the tracks), :class:`Entry` (one track, in order) and :class:`Skipped` (an entry it could not take, with its
line where that helps). A writer takes a :class:`PlaylistInfo` and the tracks as any iterable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

MediaType = Literal["track", "episode", "local", "unknown"]


@dataclass(frozen=True, slots=True)
class FileTrack:
    """One entry's track: what the file says of it (nothing is looked up)."""

    title: str
    artists: tuple[str, ...] = ()
    album: str | None = None
    duration_ms: int | None = None
    # Upper-case, without hyphens (a well-formed one: ^[A-Z]{2}[A-Z0-9]{3}\\d{7}$).
    isrc: str | None = None
    explicit: bool | None = None
    # Provider ids by provider ("spotify", "deezer", "tidal", "youtube"), as the library keeps them.
    provider_ids: dict[str, str] = field(default_factory=dict)
    # A file path or URL (M3U's entry line, XSPF's location).
    location: str | None = None
    # The MusicBrainz recording id (a UUID).
    mbid: str | None = None
    added_at: datetime | None = None
    media_type: MediaType = "track"


@dataclass(frozen=True, slots=True)
class PlaylistStart:
    """A playlist begins (every entry until the next start is its)."""

    line: int | None = None


@dataclass(frozen=True, slots=True)
class PlaylistInfo:
    name: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    track: FileTrack
    line: int | None = None


@dataclass(frozen=True, slots=True)
class Skipped:
    """An entry the reader could not take; the rest goes on."""

    reason: str
    line: int | None = None


Item = PlaylistStart | PlaylistInfo | Entry | Skipped
