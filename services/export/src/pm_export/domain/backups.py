"""Library backups (pure): the file's lines, written from the library's public answers and read back.

A backup is a zip holding ``backup.jsonl``, JSON Lines (schema: proto/files/library-backup.v1.json):

1. ``{"backup": {"format": "playlist-manager-backup", "version": 1, "created_at", "providers": [...]}}``
   — the provider links as references (provider, account, status), never a token;
2. per playlist ``{"playlist": {...}}`` — its details as the library shows them, with its own id —
   followed by ``{"entry": {...}}`` for each entry in order: its id, when and by whom it was added, and
   its track (the library's track id beside everything it knows of it);
3. ``{"end": {"playlists": n, "entries": m}}``: a backup without it, or whose counts differ, was cut
   short and is refused whole.

One line per record keeps writing and reading streaming: a 100,000-entry library is never in memory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pm_contracts.library import RestoredEntry, RestoredPlaylist

BACKUP_JOB = "backup.create"
RESTORE_JOB = "backup.restore"
FORMAT = "playlist-manager-backup"
VERSION = 1
MEMBER = "backup.jsonl"
MEDIA_TYPE = "application/zip"
# A line of a backup at most (a playlist's details or one entry: a few kB at most when we write it).
MAX_LINE_BYTES = 1 << 20
# Playlists one backup holds at most (a library of ten providers' worth of playlists).
MAX_PLAYLISTS = 20_000


class BackupError(ValueError):
    """A backup file that cannot be restored: a one-line message, with its line where that helps."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.message, self.line = message, line
        super().__init__(f"line {line}: {message}" if line is not None else message)


class LinkReference(BaseModel):
    model_config = ConfigDict(extra="ignore")

    provider: str = Field(max_length=50)
    account_id: str | None = Field(default=None, max_length=200)
    display_name: str | None = Field(default=None, max_length=500)
    status: str | None = Field(default=None, max_length=50)
    linked_at: datetime | None = None


class Header(BaseModel):
    model_config = ConfigDict(extra="ignore")

    format: Literal["playlist-manager-backup"]
    version: Literal[1]
    created_at: datetime
    providers: list[LinkReference] = Field(default_factory=list, max_length=50)


@dataclass(frozen=True, slots=True)
class End:
    playlists: int
    entries: int


Record = Header | RestoredPlaylist | RestoredEntry | End


def file_name(created_at: datetime) -> str:
    return f"library-backup-{created_at:%Y-%m-%d}.zip"


def _line(kind: str, value: Any) -> str:
    return json.dumps({kind: value}, ensure_ascii=False, separators=(",", ":")) + "\n"


def header_line(created_at: datetime, links: list[dict[str, Any]]) -> str:
    header = Header(
        format=FORMAT,
        version=VERSION,
        created_at=created_at,
        providers=[LinkReference.model_validate(link) for link in links],
    )
    return _line("backup", header.model_dump(mode="json"))


def playlist_line(view: dict[str, Any]) -> str:
    """A playlist's public answer as its backup line (validated as a restore will read it)."""
    origin = view.get("origin")
    playlist = RestoredPlaylist(
        playlist_id=view["id"],
        collection=view["collection"],
        name=view["name"],
        description=view.get("description"),
        public=view.get("public"),
        collaborative=view.get("collaborative"),
        cover_url=view.get("cover_url"),
        origin=origin,
        read_only=view.get("read_only", False),
        gone_from_provider=view.get("gone_from_provider", False),
        created_at=view["created_at"],
    )
    return _line("playlist", playlist.model_dump(mode="json", exclude_none=True))


def entry_line(view: dict[str, Any]) -> str:
    """An entry's public answer as its backup line."""
    track = view["track"]
    entry = RestoredEntry.model_validate(
        {
            "entry_id": view["id"],
            "added_at": view["added_at"],
            "added_by": view.get("added_by"),
            "track": {"track_id": track["id"], **{k: v for k, v in track.items() if k != "id"}},
        }
    )
    return _line("entry", entry.model_dump(mode="json", exclude_none=True))


def end_line(playlists: int, entries: int) -> str:
    return _line("end", {"playlists": playlists, "entries": entries})


def parse_line(raw: bytes, line: int) -> Record:
    """One line of a backup as its record; :class:`BackupError` naming the line otherwise."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise BackupError("not a JSON line", line) from None
    if not isinstance(data, dict) or len(data) != 1:
        raise BackupError("a line holds one record: backup, playlist, entry or end", line)
    [(kind, value)] = data.items()
    try:
        if kind == "backup":
            return Header.model_validate(value)
        if kind == "playlist":
            return RestoredPlaylist.model_validate(value)
        if kind == "entry":
            return RestoredEntry.model_validate(value)
        if kind == "end" and isinstance(value, dict):
            playlists, entries = value.get("playlists"), value.get("entries")
            if isinstance(playlists, int) and isinstance(entries, int):
                return End(playlists, entries)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BackupError(f"{kind}: {where}: {first['msg']}", line) from None
    raise BackupError(f"an unknown record {kind!r}", line)


class _EndCounts(BaseModel):
    playlists: int = Field(ge=0)
    entries: int = Field(ge=0)


class _Line(BaseModel):
    """One line of a backup (for its published JSON Schema): exactly one of the four records."""

    model_config = ConfigDict(extra="forbid")

    backup: Header | None = None
    playlist: RestoredPlaylist | None = None
    entry: RestoredEntry | None = None
    end: _EndCounts | None = None


def line_schema() -> dict[str, Any]:
    """The JSON Schema of one line of ``backup.jsonl`` (proto/files/library-backup.v1.json)."""
    schema = _Line.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://playlist-manager.dev/proto/files/library-backup.v1.json"
    schema["title"] = "Playlist Manager library backup, version 1: one line of backup.jsonl"
    schema["description"] = (
        "A library backup is a zip holding backup.jsonl: JSON Lines, each an object of exactly one of "
        "backup (the first line), playlist (its entries follow it), entry, end (the last line, with the "
        "counts). Written and read by the export service (docs/files.md)."
    )
    schema["minProperties"] = 1
    schema["maxProperties"] = 1
    return schema
