"""Imports of playlist files into the library (pure): what a file read gives, as the library's events.

A file (or each playlist file in a zip: a Spotify data export, several M3Us) is read with pm_formats,
which detects the format from the content. Each playlist it holds becomes one new library playlist,
named by the file (or the file's name), its id derived from the job (:func:`playlist_id_of`), so an event
sent twice creates it once. Entries the reader could not take are reported with their line, never fatal;
a file that is no playlist file, or is broken beyond use, fails the import and nothing is saved.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from pm_contracts.library import MAX_ARTISTS, MAX_ID, MAX_NAME, FileEntry, FileTrack
from pm_contracts.providers import is_provider
from pm_formats import FileTrack as ReadTrack

IMPORT_JOB = "import.file"
# A file sent through the gateway (multipart) at most; a bigger one goes by a presigned upload.
MAX_UPLOAD_BYTES = 16 << 20
# A file uploaded to the store at most (a 100,000-entry lossless JSON is about 40 MB).
MAX_FILE_BYTES = 128 << 20
# What a zip may unpack to at most, counted as it is read (a zip bomb's headers lie), and its members.
MAX_UNPACKED_BYTES = 512 << 20
MAX_MEMBERS = 1_000
# Playlists one import creates at most (a Spotify data export of a big library holds a few hundred).
MAX_PLAYLISTS = 1_000
# Skipped entries the job's result lists (every one is counted).
MAX_LISTED_SKIPS = 500
# Members of a zip worth reading: playlist files and the JSON / XML / CSV the services export.
READABLE = (".m3u", ".m3u8", ".xspf", ".jspf", ".json", ".csv", ".xml", ".txt")


def playlist_id_of(job_id: uuid.UUID, index: int) -> uuid.UUID:
    """The library playlist an import's ``index``-th playlist becomes: the same for every retry."""
    return uuid.uuid5(job_id, f"playlist-{index}")


def file_entry(track: ReadTrack) -> FileEntry:
    """A read track as the library's event carries it: ids of providers we know only, text cut to the
    library's lengths (a hostile file must not make an event unsendable)."""
    return FileEntry(
        track=FileTrack(
            title=track.title[:MAX_NAME],
            artists=[a[:MAX_NAME] for a in track.artists[:MAX_ARTISTS]],
            album=track.album[:MAX_NAME] if track.album else None,
            duration_ms=track.duration_ms if track.duration_ms is None or track.duration_ms >= 0 else None,
            isrc=track.isrc,
            explicit=track.explicit,
            provider_ids={
                k: v for k, v in track.provider_ids.items() if is_provider(k) and 0 < len(v) <= MAX_ID
            },
            media_type="episode"
            if track.media_type == "episode"
            else "unknown"
            if track.media_type == "unknown"
            else "track",
            is_local=track.media_type == "local",
        ),
        added_at=track.added_at,
    )


def member_name(name: str) -> str | None:
    """A zip member's base name when it is worth reading, else None (folders, hidden files, macOS
    resource forks, other kinds of file). Only the base name is ever used: nothing is unpacked to disk,
    so a path like ``../../etc/passwd`` is just a name."""
    path = PurePosixPath(name.replace("\\", "/"))
    base = path.name
    if not base or base.startswith(".") or "__MACOSX" in path.parts:
        return None
    return base if base.lower().endswith(READABLE) else None


@dataclass
class ReadPlaylist:
    """One playlist a file holds, as read: its entries are spooled apart (usecases/imports.py)."""

    index: int
    source: str  # the file (or zip member) it came from
    name: str
    description: str | None = None
    entries: int = 0


@dataclass
class ReadReport:
    """What an import read and skipped, for the job's result."""

    format: str | None = None
    playlists: list[ReadPlaylist] = field(default_factory=list)
    skipped: int = 0
    listed: list[dict[str, Any]] = field(default_factory=list)

    def skip(self, source: str, reason: str, line: int | None = None) -> None:
        self.skipped += 1
        if len(self.listed) < MAX_LISTED_SKIPS:
            self.listed.append({"file": source, "line": line, "reason": reason})

    def result(self, job_id: uuid.UUID) -> dict[str, Any]:
        return {
            "format": self.format,
            "playlists": [
                {
                    "id": str(playlist_id_of(job_id, p.index)),
                    "name": p.name,
                    "entries": p.entries,
                    "file": p.source,
                }
                for p in self.playlists
            ],
            "entries": sum(p.entries for p in self.playlists),
            "skipped": self.skipped,
            "skipped_entries": self.listed,
        }
