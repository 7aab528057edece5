"""Library backups (pure): the file's lines, written from the library's public answers and read back.

A backup is a zip holding ``backup.jsonl``, JSON Lines (schema: proto/files/library-backup.v1.json):

1. ``{"backup": {"format": "playlist-manager-backup", "version": 1, "created_at", "providers": [...]}}``
   — the provider links as references (provider, account, status), never a token;
2. per playlist ``{"playlist": {...}}`` — its details as the library shows them, with its own id and
   version — followed by ``{"entry": {...}}`` for each entry in order: its id, when and by whom it was
   added, and its track (the library's track id beside everything it knows of it);
3. then the versions the user chose to keep, newest first: ``{"version": {...}}`` as the library's
   history lists it (the first is the playlist as backed up), each followed by ``{"change": {...}}``
   lines, its differences from the version before it as the library's diff shows them (added, removed,
   moved, each with its entry); the oldest kept version has none. A restore rebuilds every kept version
   from the entries backwards;
4. ``{"end": {"playlists": n, "entries": m, "versions": v, "changes": c}}``: a backup without it, or
   whose counts differ, was cut short and is refused whole.

One line per record keeps writing and reading streaming: a 100,000-entry library is never in memory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pm_contracts.library import (
    RestoredChange,
    RestoredEntry,
    RestoredPlaylist,
    RestoredVersion,
)
from pm_platform.api import RequestBody

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
# Versions of each playlist a backup keeps at most when asked for a number of them.
MAX_KEPT_VERSIONS = 10_000

# Which versions of each playlist a backup keeps: the current one only, every one, or the newest N.
KeptVersions = Literal["latest", "all"] | Annotated[int, Field(ge=1, le=MAX_KEPT_VERSIONS)]


class BackupRequest(RequestBody):
    """``POST /api/v1/backups`` (the body is optional): which versions of each playlist to keep."""

    versions: KeptVersions = "latest"


def oldest_kept(current: int, kept: KeptVersions) -> int:
    """The oldest version of a playlist at version ``current`` a backup keeps."""
    if kept == "all":
        return 1
    if kept == "latest":
        return current
    return max(1, current - kept + 1)


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
    versions: int = 0
    changes: int = 0


Record = Header | RestoredPlaylist | RestoredEntry | RestoredVersion | RestoredChange | End


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
    playlist = RestoredPlaylist(
        playlist_id=view["id"],
        collection=view["collection"],
        name=view["name"],
        description=view.get("description"),
        public=view.get("public"),
        collaborative=view.get("collaborative"),
        cover_url=view.get("cover_url"),
        origin=view.get("origin"),
        read_only=view.get("read_only", False),
        gone_from_provider=view.get("gone_from_provider", False),
        created_at=view["created_at"],
        version=view.get("version"),
        updated_at=view.get("updated_at"),
    )
    return _line("playlist", playlist.model_dump(mode="json", exclude_none=True))


def _entry(view: dict[str, Any]) -> RestoredEntry:
    track = view["track"]
    return RestoredEntry.model_validate(
        {
            "entry_id": view["id"],
            "added_at": view["added_at"],
            "added_by": view.get("added_by"),
            "track": {"track_id": track["id"], **{k: v for k, v in track.items() if k != "id"}},
        }
    )


def entry_line(view: dict[str, Any]) -> str:
    """An entry's public answer as its backup line."""
    return _line("entry", _entry(view).model_dump(mode="json", exclude_none=True))


def version_line(view: dict[str, Any]) -> str:
    """A version as the library's history lists it, as its backup line."""
    version = RestoredVersion.model_validate(view)
    return _line("version", version.model_dump(mode="json", exclude_none=True))


def change_lines(diff: dict[str, Any]) -> list[str]:
    """The library's diff from one version to the next as backup lines: removed, moved, added."""
    changes = [
        RestoredChange(change="removed", position=v["position"], entry=_entry(v)) for v in diff["removed"]
    ]
    changes += [
        RestoredChange(
            change="moved", position=v["position"], from_position=v["from_position"], entry=_entry(v)
        )
        for v in diff["moved"]
    ]
    changes += [
        RestoredChange(change="added", position=v["position"], entry=_entry(v)) for v in diff["added"]
    ]
    return [_line("change", c.model_dump(mode="json", exclude_none=True)) for c in changes]


def end_line(playlists: int, entries: int, versions: int, changes: int) -> str:
    return _line(
        "end", {"playlists": playlists, "entries": entries, "versions": versions, "changes": changes}
    )


def parse_line(raw: bytes, line: int) -> Record:
    """One line of a backup as its record; :class:`BackupError` naming the line otherwise."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise BackupError("not a JSON line", line) from None
    if not isinstance(data, dict) or len(data) != 1:
        raise BackupError("a line holds one record: backup, playlist, entry, version, change or end", line)
    [(kind, value)] = data.items()
    try:
        if kind == "backup":
            return Header.model_validate(value)
        if kind == "playlist":
            return RestoredPlaylist.model_validate(value)
        if kind == "entry":
            return RestoredEntry.model_validate(value)
        if kind == "version":
            return RestoredVersion.model_validate(value)
        if kind == "change":
            return RestoredChange.model_validate(value)
        if kind == "end":
            counts = _EndCounts.model_validate(value)
            return End(counts.playlists, counts.entries, counts.versions, counts.changes)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BackupError(f"{kind}: {where}: {first['msg']}", line) from None
    raise BackupError(f"an unknown record {kind!r}", line)


class _EndCounts(BaseModel):
    model_config = ConfigDict(strict=True)

    playlists: int = Field(ge=0)
    entries: int = Field(ge=0)
    # Absent from a backup that kept no history (the counts then must be 0).
    versions: int = Field(default=0, ge=0)
    changes: int = Field(default=0, ge=0)


class _Line(BaseModel):
    """One line of a backup (for its published JSON Schema): exactly one of the six records."""

    model_config = ConfigDict(extra="forbid")

    backup: Header | None = None
    playlist: RestoredPlaylist | None = None
    entry: RestoredEntry | None = None
    version: RestoredVersion | None = None
    change: RestoredChange | None = None
    end: _EndCounts | None = None


def line_schema() -> dict[str, Any]:
    """The JSON Schema of one line of ``backup.jsonl`` (proto/files/library-backup.v1.json)."""
    schema = _Line.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://playlist-manager.dev/proto/files/library-backup.v1.json"
    schema["title"] = "Playlist Manager library backup, version 1: one line of backup.jsonl"
    schema["description"] = (
        "A library backup is a zip holding backup.jsonl: JSON Lines, each an object of exactly one of "
        "backup (the first line), playlist (its entries follow it, then its kept versions, newest first), "
        "entry, version (its changes from the version before it follow it), change, end (the last line, "
        "with the counts). Written and read by the export service (docs/files.md)."
    )
    schema["minProperties"] = 1
    schema["maxProperties"] = 1
    return schema
