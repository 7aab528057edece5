"""Imports of playlist files into the library.

- :func:`upload_slot` (``POST /api/v1/imports/uploads``): a presigned PUT for a big file, straight to
  the store (``uploads/{user}/{upload}``; the bucket deletes it after a day).
- :func:`store_upload` (``POST /api/v1/imports/files``, multipart): the file through the gateway, into
  the store the same way.
- :func:`start_import`: the job ``import.file`` for an upload of the user's.
- :func:`run_import`, the job: fetches the file, reads it with pm_formats in a worker thread (each
  playlist file of a zip in turn, the zip's unpacked bytes counted as they are read), spools each
  playlist's entries to a temporary file, then sends every playlist to the library as
  ``library.file_playlist_imported`` events in parts, all in one transaction: a file that fails half
  way sends nothing. The job's result lists the playlists (their library ids), and what was skipped
  and why, with line numbers. The upload is deleted once read.
"""

from __future__ import annotations

import asyncio
import io
import tempfile
import uuid
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import IO, Any, BinaryIO

from minio.error import MinioException
from urllib3.exceptions import HTTPError

from pm_contracts.library import MAX_DESCRIPTION, MAX_NAME, FileEntry, FilePlaylistImported
from pm_export.domain.imports import (
    IMPORT_JOB,
    MAX_FILE_BYTES,
    MAX_MEMBERS,
    MAX_PLAYLISTS,
    MAX_UNPACKED_BYTES,
    ReadPlaylist,
    ReadReport,
    file_entry,
    member_name,
    playlist_id_of,
)
from pm_export.domain.objects import upload_object
from pm_export.usecases.rendering import Spooled, spooled_parts
from pm_formats import Entry, FormatError, PlaylistInfo, PlaylistStart, Skipped
from pm_formats.detect import detect, read_as
from pm_platform.jobs import Job, JobContext, JobFailed
from pm_platform.s3 import OBJECT_STORE
from pm_platform.service import Runtime

UPLOAD_URL_TTL = timedelta(minutes=15)


async def upload_slot(rt: Runtime, user_id: uuid.UUID) -> dict[str, Any]:
    upload_id = uuid.uuid4()
    url = rt[OBJECT_STORE].upload_url(upload_object(user_id, upload_id), UPLOAD_URL_TTL)
    return {
        "upload_id": str(upload_id),
        "upload_url": url,
        "method": "PUT",
        "max_bytes": MAX_FILE_BYTES,
        "expires_at": (datetime.now(UTC) + UPLOAD_URL_TTL).isoformat(),
    }


async def store_upload(rt: Runtime, user_id: uuid.UUID, path: Path) -> uuid.UUID:
    """A file received through the gateway, into the store as an upload of the user's."""
    upload_id = uuid.uuid4()
    await rt[OBJECT_STORE].put_file(upload_object(user_id, upload_id), path, "application/octet-stream")
    return upload_id


async def start_import(rt: Runtime, user_id: uuid.UUID, upload_id: uuid.UUID, file_name: str | None) -> Job:
    async with rt.transaction() as conn:
        params = {"upload_id": str(upload_id), "file_name": file_name}
        return await rt.jobs.create(conn, IMPORT_JOB, user_id, params)


async def fetch_upload(rt: Runtime, user_id: uuid.UUID, upload_id: uuid.UUID, path: Path) -> str:
    """The user's upload, into the file at ``path``; its object's name (to delete once read). A job
    failure when there is none, or it is larger than MAX_FILE_BYTES (then it is deleted)."""
    store = rt[OBJECT_STORE]
    name = upload_object(user_id, upload_id)
    size = await store.size(name)
    if size is None:
        raise JobFailed("upload-not-found", "nothing was uploaded there (or the upload expired)")
    if size > MAX_FILE_BYTES:
        await store.delete_prefix(name)
        raise JobFailed("file-too-large", f"the file is larger than {MAX_FILE_BYTES >> 20} MB")
    await store.download(name, path)
    return name


async def run_import(ctx: JobContext) -> dict[str, Any]:
    rt = ctx.runtime
    job = ctx.job
    assert job.user_id is not None, "an import belongs to a user"
    file_name: str | None = ctx.params.get("file_name")
    try:
        with tempfile.TemporaryDirectory(prefix="pm-import-") as scratch:
            path = Path(scratch) / "upload"
            name = await fetch_upload(rt, job.user_id, uuid.UUID(ctx.params["upload_id"]), path)
            await ctx.progress(0.1, "reading the file", force=True)
            report = await asyncio.to_thread(read_upload, path, file_name, Path(scratch))
            if not report.playlists:
                raise JobFailed("no-playlists", "the file holds no playlist")
            await ctx.progress(0.8, "adding the playlists to your library", force=True)
            await _send(rt, job, report, Path(scratch))
        await rt[OBJECT_STORE].delete_prefix(name)
    except (MinioException, HTTPError) as error:
        raise JobFailed(
            "storage-unavailable", f"the file could not be read ({type(error).__name__})", retryable=True
        ) from None
    ctx.last_message = f"{len(report.playlists)} playlist(s) read, {report.skipped} entries skipped"
    return report.result(job.id)


class ArchiveTooLarge(Exception):
    """A zip unpacks to more than it may (a zip bomb)."""


class Bounded(io.RawIOBase):
    """A zip member's stream that counts what it unpacks against the archive's allowance (a list of one
    number, shared by the archive's members): past it, :class:`ArchiveTooLarge`."""

    def __init__(self, raw: IO[bytes], allowance: list[int]) -> None:
        self._raw, self._allowance = raw, allowance

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        self._allowance[0] -= len(data)
        if self._allowance[0] < 0:
            raise ArchiveTooLarge("the archive unpacks to more than its allowance")
        buffer[: len(data)] = data
        return len(data)


def _sources(
    path: Path, file_name: str | None, report: ReadReport, unpacked_limit: int
) -> Iterator[tuple[str, BinaryIO, bool]]:
    """The files to read: the upload itself, or each playlist file of a zip (``in_archive`` True: a
    member that is no playlist file is skipped, not fatal)."""
    if not zipfile.is_zipfile(path):
        with path.open("rb") as source:
            yield file_name or "upload", source, False
        return
    allowance = [unpacked_limit]
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise FormatError(f"a broken zip archive ({error})") from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) > MAX_MEMBERS:
            raise FormatError(f"the archive holds more than {MAX_MEMBERS} files")
        for member in members:
            base = member_name(member.filename)
            if base is None:
                continue
            try:
                with archive.open(member) as raw:
                    yield base, io.BufferedReader(Bounded(raw, allowance)), True
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError) as error:
                # Encrypted, an unknown compression, a broken member: that member is skipped.
                report.skip(base, f"the archive's file cannot be unpacked ({type(error).__name__})")


def read_upload(
    path: Path, file_name: str | None, scratch: Path, unpacked_limit: int = MAX_UNPACKED_BYTES
) -> ReadReport:
    """Read every playlist of the upload, spooling each one's entries (JSON lines) to ``scratch``."""
    report = ReadReport()
    try:
        for source_name, stream, in_archive in _sources(path, file_name, report, unpacked_limit):
            try:
                _read_one(source_name, stream, scratch, report)
            except FormatError as error:
                if not in_archive:
                    raise
                report.skip(source_name, f"not a playlist file: {error.message}", error.line)
    except FormatError as error:
        raise JobFailed("malformed-file", str(error)) from None
    except ArchiveTooLarge:
        raise JobFailed(
            "archive-too-large", f"the archive unpacks to more than {unpacked_limit >> 20} MB"
        ) from None
    return report


def _read_one(source_name: str, stream: BinaryIO, scratch: Path, report: ReadReport) -> None:
    file_format, replayed = detect(stream, source_name)
    report.format = file_format if report.format in (None, file_format) else "mixed"
    stem = PurePosixPath(source_name.replace("\\", "/")).stem or "Imported playlist"
    current: ReadPlaylist | None = None
    spool: IO[str] | None = None
    try:
        for item in read_as(file_format, replayed, source_name):
            if isinstance(item, PlaylistStart) or (current is None and not isinstance(item, Skipped)):
                if spool is not None:
                    spool.close()
                if len(report.playlists) >= MAX_PLAYLISTS:
                    raise FormatError(f"more than {MAX_PLAYLISTS} playlists in one import")
                current = ReadPlaylist(index=len(report.playlists), source=source_name, name=stem)
                report.playlists.append(current)
                spool = (scratch / f"playlist-{current.index}.jsonl").open("w", encoding="utf-8")
            if isinstance(item, PlaylistInfo) and current is not None:
                current.name = item.name.strip()[:MAX_NAME] or stem
                current.description = item.description[:MAX_DESCRIPTION] if item.description else None
            elif isinstance(item, Entry) and current is not None and spool is not None:
                spool.write(file_entry(item.track).model_dump_json() + "\n")
                current.entries += 1
            elif isinstance(item, Skipped):
                report.skip(source_name, item.reason, item.line)
    finally:
        if spool is not None:
            spool.close()


async def _send(rt: Runtime, job: Job, report: ReadReport, scratch: Path) -> None:
    """Every playlist as its parts, in one transaction (the outbox publishes them after commit)."""
    assert job.user_id is not None
    read_at = datetime.now(UTC)
    async with rt.transaction() as conn:
        for playlist in report.playlists:
            spool = scratch / f"playlist-{playlist.index}.jsonl"
            for part, parts, [entries] in spooled_parts([Spooled(spool, FileEntry)]):
                event = FilePlaylistImported(
                    user_id=job.user_id,
                    job_id=job.id,
                    playlist_id=playlist_id_of(job.id, playlist.index),
                    name=playlist.name or "Imported playlist",
                    description=playlist.description,
                    part=part,
                    parts=parts,
                    entries=entries,
                    read_at=read_at,
                )
                await rt.emit(conn, "library.file_playlist_imported", str(job.user_id), event)
