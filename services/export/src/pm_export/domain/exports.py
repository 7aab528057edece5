"""Exports of playlists as files (pure): the request, the formats, the library's entries as file tracks.

One playlist is one file in the chosen format; several are one zip holding a file each (names made
distinct, domain/objects.py). The library's public answers (the playlist service's internal read) are
what is rendered: the export service never reads another service's schema.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from pm_contracts.exports import ExportFormat
from pm_formats import FileTrack, MediaType, PlaylistInfo
from pm_formats.detect import WRITERS, WritableFormat, Writer
from pm_platform.api import LenientId, RequestBody

EXPORT_JOB = "export.playlist"
# Playlists one request names at most ("all" has no limit: it is the library, however big).
MAX_PLAYLISTS = 1_000
# Exports of one user queued or running at once: more is a 429 (each renders and stores a file).
MAX_ACTIVE_EXPORTS = 3
ARCHIVE = Writer(".zip", "application/zip")

# The public name of each format → pm_formats' writer.
_WRITER_OF: dict[ExportFormat, WritableFormat] = {
    "m3u8": "m3u",
    "xspf": "xspf",
    "jspf": "jspf",
    "csv": "exportify",
    "json": "lossless",
}


class ExportRequest(RequestBody):
    """``POST /api/v1/exports``: the playlists (ids of the user's library, or "all") and the format."""

    playlists: Annotated[list[LenientId], Field(min_length=1, max_length=MAX_PLAYLISTS)] | Literal["all"]
    format: ExportFormat


def writer_of(export_format: ExportFormat) -> Writer:
    return WRITERS[_WRITER_OF[export_format]]


def playlist_info(playlist: dict[str, Any]) -> PlaylistInfo:
    """A library playlist's details (its public answer) as a file's."""
    return PlaylistInfo(name=playlist["name"], description=playlist.get("description"))


def file_track(entry: dict[str, Any]) -> FileTrack:
    """One library entry (its public answer) as a file's track: everything the formats can carry."""
    track = entry["track"]
    added = entry.get("added_at")
    return FileTrack(
        title=track["title"],
        artists=tuple(track.get("artists") or ()),
        album=track.get("album"),
        duration_ms=track.get("duration_ms"),
        isrc=track.get("isrc"),
        explicit=track.get("explicit"),
        provider_ids=dict(track.get("provider_ids") or {}),
        added_at=datetime.fromisoformat(added) if added else None,
        media_type=media_type_of(track),
    )


def media_type_of(track: dict[str, Any]) -> MediaType:
    """The library's kind of item as a file's: a local file, an episode, else a track (a file has no
    "video": YouTube's are tracks there)."""
    if track.get("is_local"):
        return "local"
    kind = track.get("media_type")
    return "episode" if kind == "episode" else "unknown" if kind == "unknown" else "track"


def archive_name(export_format: ExportFormat, playlists: int) -> str:
    """The name of the file that holds several playlists."""
    return f"playlists-{export_format}-{playlists}.zip"


def missing(requested: list[str], listed: list[dict[str, Any]]) -> list[str]:
    """The requested playlist ids that the user's library does not list, in the request's order."""
    known = {p["id"] for p in listed}
    return [p for p in requested if p not in known]
