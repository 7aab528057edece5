"""Backups of a user's whole library, and their restore (the file: domain/backups.py).

- :func:`request_backup` (``POST /api/v1/backups``): a job ``backup.create``.
- :func:`run_backup`: the library's playlists (liked collections too) with every entry, page by page
  (rendering.LibraryPages), and the provider links as references (auth's internal read; never a token),
  written as ``backup.jsonl`` in a zip in a worker thread; stored at ``backups/{user}/{job}/…`` for
  BACKUP_RETENTION_DAYS, recorded, and ``backup.completed`` emitted in one transaction. The job's result
  is the stored file with a presigned download link, as an export's is.
- :func:`run_restore` (``POST /api/v1/backups/restore``, the file as an import's is sent): reads the
  backup line by line, checks it whole (its end line and counts), spools each playlist's entries, then
  sends every playlist as ``library.playlist_restored`` events in parts, in one transaction. A backup that
  is cut short or broken restores nothing.
"""

from __future__ import annotations

import asyncio
import io
import tempfile
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, BinaryIO

from minio.error import MinioException
from urllib3.exceptions import HTTPError

from pm_contracts.exports import BackupCompleted
from pm_contracts.library import (
    MAX_HISTORY_STEPS,
    MAX_PLAYLIST_ENTRIES,
    PlaylistRestored,
    RestoredChange,
    RestoredEntry,
    RestoredPlaylist,
    RestoredStep,
    RestoredVersion,
)
from pm_export.domain.backups import (
    BACKUP_JOB,
    MAX_LINE_BYTES,
    MAX_PLAYLISTS,
    MEDIA_TYPE,
    MEMBER,
    RESTORE_JOB,
    BackupError,
    BackupRequest,
    End,
    Header,
    KeptVersions,
    change_lines,
    end_line,
    entry_line,
    file_name,
    header_line,
    oldest_kept,
    parse_line,
    playlist_line,
    version_line,
)
from pm_export.domain.exports import MAX_ACTIVE_EXPORTS
from pm_export.domain.imports import MAX_UNPACKED_BYTES
from pm_export.domain.objects import backup_object
from pm_export.resources import LIBRARY, PEERS
from pm_export.settings import export_settings
from pm_export.storage.exports import StoredExport, save_export
from pm_export.usecases.exports import export_view
from pm_export.usecases.imports import ArchiveTooLarge, Bounded, fetch_upload
from pm_export.usecases.rendering import (
    MAX_PART_BYTES,
    WRITTEN,
    LibraryPages,
    PlaylistChanged,
    Spooled,
    size_and_digest,
    spooled_parts,
)
from pm_platform.db import lock_until_commit
from pm_platform.errors import TooManyRequests
from pm_platform.internal import LibraryPlaylistGone, PeerUnavailable
from pm_platform.jobs import Job, JobContext, JobFailed
from pm_platform.s3 import OBJECT_STORE
from pm_platform.service import Runtime


async def request_backup(rt: Runtime, user_id: uuid.UUID, request: BackupRequest) -> Job:
    async with rt.transaction() as conn:
        await lock_until_commit(conn, f"backups:{user_id}")
        if await rt.jobs.count_active(conn, user_id, BACKUP_JOB) >= MAX_ACTIVE_EXPORTS:
            raise TooManyRequests(
                f"{MAX_ACTIVE_EXPORTS} of your backups are already waiting or running: wait for one to end",
                code="too-many-backups",
                headers={"Retry-After": "30"},
            )
        return await rt.jobs.create(conn, BACKUP_JOB, user_id, request.model_dump(mode="json"))


async def start_restore(rt: Runtime, user_id: uuid.UUID, upload_id: uuid.UUID) -> Job:
    async with rt.transaction() as conn:
        return await rt.jobs.create(conn, RESTORE_JOB, user_id, {"upload_id": str(upload_id)})


async def run_backup(ctx: JobContext) -> dict[str, Any]:
    rt = ctx.runtime
    job = ctx.job
    assert job.user_id is not None, "a backup belongs to a user"
    created_at = datetime.now(UTC)
    name = file_name(created_at)
    try:
        playlists = await rt[LIBRARY].playlists(job.user_id)
        links = await rt[PEERS].user_links(job.user_id)
        with tempfile.TemporaryDirectory(prefix="pm-backup-") as scratch:
            path = Path(scratch) / "backup.zip"
            pages = LibraryPages(ctx, job.user_id, playlists)
            kept = BackupRequest.model_validate(ctx.params).versions
            counts = _HistoryCounts()

            def write() -> tuple[int, str]:
                with (
                    zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive,
                    archive.open(MEMBER, "w", force_zip64=True) as raw,
                    io.TextIOWrapper(raw, encoding="utf-8", newline="\n") as out,
                ):
                    out.write(header_line(created_at, links))
                    for playlist in playlists:
                        details, entries = pages.read(playlist)
                        out.write(playlist_line(details))
                        for entry in entries:
                            out.write(entry_line(entry))
                        for line in _history_lines(pages, details, kept, counts):
                            out.write(line)
                    out.write(end_line(len(playlists), pages.written, counts.versions, counts.changes))
                return size_and_digest(path)

            size, digest = await pages.run(write)
            await ctx.progress(WRITTEN, "storing the backup", force=True)
            object_name = backup_object(job.user_id, job.id, name)
            await rt[OBJECT_STORE].put_file(object_name, path, MEDIA_TYPE)
    except LibraryPlaylistGone:
        raise JobFailed(
            "playlist-gone", "a playlist was deleted during the backup: back up again", retryable=True
        ) from None
    except PlaylistChanged:
        raise JobFailed(
            "playlist-changed", "a playlist was edited during the backup: back up again", retryable=True
        ) from None
    except PeerUnavailable as error:
        raise JobFailed("library-unavailable", str(error), retryable=True) from None
    except (MinioException, HTTPError, OSError) as error:
        raise JobFailed(
            "storage-unavailable", f"the backup could not be stored ({type(error).__name__})", retryable=True
        ) from None
    settings = export_settings(rt.settings)
    stored = StoredExport(
        job_id=job.id,
        user_id=job.user_id,
        format="backup",
        object_name=object_name,
        file_name=name,
        media_type=MEDIA_TYPE,
        size_bytes=size,
        sha256=digest,
        playlists=len(playlists),
        entries=pages.written,
        created_at=created_at,
        expires_at=created_at + timedelta(days=settings.backup_retention_days),
    )
    async with rt.transaction() as conn:
        await save_export(conn, stored)
        completed = BackupCompleted(
            job_id=job.id,
            user_id=job.user_id,
            playlists=stored.playlists,
            entries=stored.entries,
            object_name=object_name,
            size_bytes=size,
            sha256=digest,
            expires_at=stored.expires_at,
            completed_at=datetime.now(UTC),
        )
        await rt.emit(conn, "backup.completed", str(job.id), completed)
    ctx.last_message = f"{stored.entries} entries of {stored.playlists} playlist(s) backed up, with {counts.versions} version(s)"
    return {**export_view(rt, stored), "versions": counts.versions, "versions_left_out": counts.left_out}


@dataclass
class _HistoryCounts:
    versions: int = 0
    changes: int = 0
    # Versions asked for but left out: a playlist's kept history would exceed MAX_HISTORY_STEPS.
    left_out: int = 0


def _history_lines(
    pages: LibraryPages, details: dict[str, Any], kept: KeptVersions, counts: _HistoryCounts
) -> Iterator[str]:
    """The playlist's kept versions, newest first, each followed by its changes from the version before
    it when that one is kept too (the oldest kept has none); in the writing thread. Older versions stop
    where the library's history does (a playlist restored with part of its history), or where keeping
    one more would take its steps past MAX_HISTORY_STEPS (each charged what it really writes)."""
    playlist_id = uuid.UUID(details["id"])
    newest = int(details["version"])
    oldest = oldest_kept(newest, kept)
    listed = pages.versions(playlist_id, newest, oldest)
    current = next(listed, None)
    if current is None:
        return
    yield version_line(current)
    counts.versions += 1
    steps = 1
    while (before := next(listed, None)) is not None and before["version"] == current["version"] - 1:
        lines = change_lines(pages.diff(playlist_id, before["version"], current["version"]))
        if steps + len(lines) + 1 > MAX_HISTORY_STEPS:
            counts.left_out += before["version"] - oldest + 1
            return
        yield from lines
        yield version_line(before)
        counts.versions += 1
        counts.changes += len(lines)
        steps += len(lines) + 1
        current = before


# ---- restore --------------------------------------------------------------------------------------------


@dataclass
class _Read:
    header: Header | None = None
    playlists: list[RestoredPlaylist] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    # Per playlist: the steps of its kept history (versions and their changes), and its versions.
    steps: list[int] = field(default_factory=list)
    versions: list[int] = field(default_factory=list)


class _Spool:
    """Where one playlist's entries and kept history are spooled while the backup is read, and the
    checks its history must pass: versions consecutive and newest first, the newest the playlist as
    backed up, every change after a version."""

    def __init__(self, scratch: Path, index: int, playlist: RestoredPlaylist) -> None:
        self.playlist = playlist
        self.entries = (scratch / f"restore-{index}.jsonl").open("w", encoding="utf-8")
        self.history = (scratch / f"restore-{index}.history.jsonl").open("w", encoding="utf-8")
        self.entry_count = self.steps = self.versions = 0
        self.last_version: int | None = None

    def entry(self, entry: RestoredEntry, line: int) -> None:
        if self.last_version is not None:
            raise BackupError("an entry after the playlist's versions", line)
        if self.entry_count >= MAX_PLAYLIST_ENTRIES:
            raise BackupError("a playlist of more entries than the library holds", line)
        self.entries.write(entry.model_dump_json() + "\n")
        self.entry_count += 1

    def version(self, version: RestoredVersion, line: int) -> None:
        if self.last_version is None:
            if self.playlist.version is not None and version.version != self.playlist.version:
                raise BackupError("a playlist's first version is the one it was backed up at", line)
            if version.entry_count != self.entry_count:
                raise BackupError("a playlist's newest version holds its entries", line)
        elif version.version != self.last_version - 1:
            raise BackupError("a playlist's versions follow each other, newest first", line)
        self.last_version = version.version
        self.versions += 1
        self._step(RestoredStep(version=version), line)

    def change(self, change: RestoredChange, line: int) -> None:
        if self.last_version is None:
            raise BackupError("a change before its version", line)
        self._step(RestoredStep(change=change), line)

    def _step(self, step: RestoredStep, line: int) -> None:
        if self.steps >= MAX_HISTORY_STEPS:
            raise BackupError(f"a playlist's history of more than {MAX_HISTORY_STEPS} steps", line)
        # As the event will carry it (nulls too): the parts are cut by these lines' sizes.
        self.history.write(step.model_dump_json() + "\n")
        self.steps += 1

    def close(self) -> None:
        self.entries.close()
        self.history.close()


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """The backup's lines, numbered: ``backup.jsonl`` of the zip (its unpacking bounded), or the file
    itself when it is the JSON Lines."""
    if zipfile.is_zipfile(path):
        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError) as error:
            raise BackupError(f"a broken zip archive ({error})") from None
        with archive:
            if MEMBER not in archive.namelist():
                raise BackupError(f"the archive holds no {MEMBER}: not a library backup")
            with archive.open(MEMBER) as raw:
                yield from _numbered(io.BufferedReader(Bounded(raw, [MAX_UNPACKED_BYTES])))
        return
    with path.open("rb") as source:
        yield from _numbered(source)


def _numbered(source: IO[bytes] | BinaryIO) -> Iterator[tuple[int, bytes]]:
    number = 0
    while True:
        line = source.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_LINE_BYTES:
            raise BackupError(f"a line longer than {MAX_LINE_BYTES >> 20} MB", number)
        if line.strip():
            yield number, line


def read_backup(path: Path, scratch: Path) -> _Read:
    """The backup checked whole, each playlist's entries and kept history spooled to ``scratch`` (JSON
    lines: ``restore-{i}.jsonl``, ``restore-{i}.history.jsonl``)."""
    read = _Read()
    spool: _Spool | None = None
    end: End | None = None

    def done(spool: _Spool) -> None:
        spool.close()
        read.counts.append(spool.entry_count)
        read.steps.append(spool.steps)
        read.versions.append(spool.versions)

    versions = changes = 0
    try:
        for number, raw in _lines(path):
            record = parse_line(raw, number)
            if end is not None:
                raise BackupError("a record after the end", number)
            if read.header is None:
                if not isinstance(record, Header):
                    raise BackupError("not a library backup: it does not begin with its header", number)
                read.header = record
            elif isinstance(record, RestoredPlaylist):
                if len(read.playlists) >= MAX_PLAYLISTS:
                    raise BackupError(f"more than {MAX_PLAYLISTS} playlists", number)
                if spool is not None:
                    done(spool)
                spool = _Spool(scratch, len(read.playlists), record)
                read.playlists.append(record)
            elif isinstance(record, End):
                end = record
            elif isinstance(record, Header):
                raise BackupError("a second header", number)
            elif spool is None:
                raise BackupError("an entry, version or change before any playlist", number)
            elif isinstance(record, RestoredEntry):
                spool.entry(record, number)
            elif isinstance(record, RestoredVersion):
                spool.version(record, number)
                versions += 1
            else:
                spool.change(record, number)
                changes += 1
    except ArchiveTooLarge:
        raise BackupError(f"the archive unpacks to more than {MAX_UNPACKED_BYTES >> 20} MB") from None
    finally:
        if spool is not None and not spool.entries.closed:
            done(spool)
    if read.header is None:
        raise BackupError("an empty file: not a library backup")
    if end is None or (end.playlists, end.entries, end.versions, end.changes) != (
        len(read.playlists),
        sum(read.counts),
        versions,
        changes,
    ):
        raise BackupError(
            "the backup is cut short (its end is missing or its counts differ): nothing restored"
        )
    return read


async def run_restore(ctx: JobContext) -> dict[str, Any]:
    rt = ctx.runtime
    job = ctx.job
    assert job.user_id is not None, "a restore belongs to a user"
    try:
        with tempfile.TemporaryDirectory(prefix="pm-restore-") as scratch:
            path = Path(scratch) / "upload"
            name = await fetch_upload(rt, job.user_id, uuid.UUID(ctx.params["upload_id"]), path)
            await ctx.progress(0.1, "reading the backup", force=True)
            try:
                read = await asyncio.to_thread(read_backup, path, Path(scratch))
            except BackupError as error:
                raise JobFailed("malformed-backup", str(error)) from None
            await ctx.progress(0.8, "restoring the playlists", force=True)
            await _send(rt, job, read, Path(scratch))
        await rt[OBJECT_STORE].delete_prefix(name)
    except (MinioException, HTTPError) as error:
        raise JobFailed(
            "storage-unavailable", f"the backup could not be read ({type(error).__name__})", retryable=True
        ) from None
    assert read.header is not None
    ctx.last_message = f"{len(read.playlists)} playlist(s) restored"
    return {
        "backup_created_at": read.header.created_at.isoformat(),
        "playlists": [
            {"id": str(p.playlist_id), "name": p.name, "entries": count, "versions": versions}
            for p, count, versions in zip(read.playlists, read.counts, read.versions, strict=True)
        ],
        "entries": sum(read.counts),
        # The links the backup names: a restore cannot link a provider (that takes the user's consent).
        "providers": [link.model_dump(mode="json") for link in read.header.providers],
    }


async def _send(rt: Runtime, job: Job, read: _Read, scratch: Path) -> None:
    assert job.user_id is not None
    restored_at = datetime.now(UTC)
    async with rt.transaction() as conn:
        for index, playlist in enumerate(read.playlists):
            spooled = [
                Spooled(scratch / f"restore-{index}.jsonl", RestoredEntry),
                Spooled(scratch / f"restore-{index}.history.jsonl", RestoredStep),
            ]
            # What each part's event holds beside its items: the playlist's details (up to tens of kB).
            empty = PlaylistRestored(
                user_id=job.user_id,
                job_id=job.id,
                playlist=playlist,
                part=1,
                parts=1,
                entries=[],
                restored_at=restored_at,
            )
            room = MAX_PART_BYTES - len(empty.model_dump_json().encode())
            for part, parts, (entries, history) in spooled_parts(spooled, room):
                event = PlaylistRestored(
                    user_id=job.user_id,
                    job_id=job.id,
                    playlist=playlist,
                    part=part,
                    parts=parts,
                    entries=entries,
                    history=history,
                    restored_at=restored_at,
                )
                await rt.emit(conn, "library.playlist_restored", str(job.user_id), event)
