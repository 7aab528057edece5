"""Exports of playlists as files.

- :func:`request_export` (``POST /api/v1/exports``): a job ``export.playlist`` for the user's chosen
  playlists (or all) and a format; at most MAX_ACTIVE_EXPORTS of a user's are queued or running at once.
- :func:`run_export`, the job: lists the user's library (the playlist service's internal read) and
  checks every requested playlist is there; renders each playlist page by page (500 entries a read) with
  pm_formats' writer in a worker thread into a temporary file — one file, or a zip of one file per
  playlist — so memory stays bounded whatever the size; uploads it to ``exports/{user}/{job}/{name}``,
  records it and emits ``export.completed`` in one transaction, and ends with a presigned download link.
  A retried job renders again and replaces the object: nothing partial is ever recorded.
- :func:`stored_export`: the user's stored export, with a fresh download link while it is kept.
"""

from __future__ import annotations

import tempfile
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, cast

from minio.error import MinioException
from urllib3.exceptions import HTTPError

from pm_contracts.exports import ExportCompleted, ExportFailed
from pm_export.domain.backups import BACKUP_JOB
from pm_export.domain.exports import (
    ARCHIVE,
    EXPORT_JOB,
    MAX_ACTIVE_EXPORTS,
    ExportRequest,
    archive_name,
    file_track,
    missing,
    playlist_info,
    writer_of,
)
from pm_export.domain.objects import FileNames, export_object
from pm_export.resources import LIBRARY
from pm_export.settings import export_settings
from pm_export.storage.exports import StoredExport, find_export, save_export
from pm_export.usecases.rendering import WRITTEN, LibraryPages, PlaylistChanged, size_and_digest
from pm_formats import FileTrack
from pm_platform.db import lock_until_commit
from pm_platform.errors import Conflict, NotFound, Problem, TooManyRequests
from pm_platform.internal import LibraryPlaylistGone, LibraryReader, PeerUnavailable
from pm_platform.jobs import Job, JobContext, JobFailed, JobNotFound
from pm_platform.s3 import OBJECT_STORE
from pm_platform.service import Runtime


async def request_export(rt: Runtime, user_id: uuid.UUID, request: ExportRequest) -> Job:
    async with rt.transaction() as conn:
        await lock_until_commit(conn, f"exports:{user_id}")  # two requests at once count each other
        if await rt.jobs.count_active(conn, user_id, EXPORT_JOB) >= MAX_ACTIVE_EXPORTS:
            raise TooManyRequests(
                f"{MAX_ACTIVE_EXPORTS} of your exports are already waiting or running: wait for one to end",
                code="too-many-exports",
                headers={"Retry-After": "30"},
            )
        return await rt.jobs.create(conn, EXPORT_JOB, user_id, request.model_dump(mode="json"))


@dataclass(frozen=True, slots=True)
class _Rendered:
    path: Path
    file_name: str
    media_type: str
    playlists: int
    entries: int
    size_bytes: int
    sha256: str


async def run_export(ctx: JobContext) -> dict[str, Any]:
    rt = ctx.runtime
    job = ctx.job
    assert job.user_id is not None, "an export belongs to a user"
    request = ExportRequest.model_validate(ctx.params)
    try:
        try:
            chosen = await _chosen_playlists(rt[LIBRARY], job.user_id, request)
            with tempfile.TemporaryDirectory(prefix="pm-export-") as scratch:
                rendered = await _render(ctx, job.user_id, request, chosen, Path(scratch))
                await ctx.progress(WRITTEN, "storing the file", force=True)
                object_name = export_object(job.user_id, job.id, rendered.file_name)
                await rt[OBJECT_STORE].put_file(object_name, rendered.path, rendered.media_type)
        except LibraryPlaylistGone:
            raise JobFailed(
                "playlist-not-found", "a playlist was deleted from your library during the export"
            ) from None
        except PlaylistChanged:
            raise JobFailed(
                "playlist-changed", "a playlist was edited during the export: export again", retryable=True
            ) from None
        except PeerUnavailable as error:
            raise JobFailed("library-unavailable", str(error), retryable=True) from None
        except (MinioException, HTTPError, OSError) as error:
            raise JobFailed(
                "storage-unavailable",
                f"the file could not be stored ({type(error).__name__})",
                retryable=True,
            ) from None
    except JobFailed as failure:
        if not failure.error.retryable:
            await _failed(rt, job, request, failure)
        raise
    settings = export_settings(rt.settings)
    now = datetime.now(UTC)
    stored = StoredExport(
        job_id=job.id,
        user_id=job.user_id,
        format=request.format,
        object_name=object_name,
        file_name=rendered.file_name,
        media_type=rendered.media_type,
        size_bytes=rendered.size_bytes,
        sha256=rendered.sha256,
        playlists=rendered.playlists,
        entries=rendered.entries,
        created_at=now,
        expires_at=now + timedelta(days=settings.export_retention_days),
    )
    async with rt.transaction() as conn:
        await save_export(conn, stored)
        completed = ExportCompleted(
            job_id=job.id,
            user_id=job.user_id,
            format=request.format,
            playlists=stored.playlists,
            entries=stored.entries,
            object_name=object_name,
            size_bytes=stored.size_bytes,
            sha256=stored.sha256,
            expires_at=stored.expires_at,
            completed_at=now,
        )
        await rt.emit(conn, "export.completed", str(job.id), completed)
    ctx.last_message = f"{stored.entries} entries of {stored.playlists} playlist(s) exported"
    return export_view(rt, stored)


async def _chosen_playlists(
    library: LibraryReader, user_id: uuid.UUID, request: ExportRequest
) -> list[dict[str, Any]]:
    """The playlists to render, in the request's order ("all": the library's, oldest first)."""
    listed = await library.playlists(user_id)
    if request.playlists == "all":
        if not listed:
            raise JobFailed("nothing-to-export", "your library has no playlists")
        return listed
    requested = [str(p) for p in dict.fromkeys(request.playlists)]
    gone = missing(requested, listed)
    if gone:
        raise JobFailed(
            "playlist-not-found",
            f"{len(gone)} of the {len(requested)} playlists are not in your library",
        )
    by_id = {p["id"]: p for p in listed}
    return [by_id[p] for p in requested]


async def _render(
    ctx: JobContext, user_id: uuid.UUID, request: ExportRequest, chosen: list[dict[str, Any]], scratch: Path
) -> _Rendered:
    """Write the file in a worker thread, one page of entries at a time (rendering.LibraryPages)."""
    pages = LibraryPages(ctx, user_id, chosen)
    writer = writer_of(request.format)
    single = len(chosen) == 1
    file_name = (
        FileNames().name(chosen[0]["name"], writer.extension)
        if single
        else archive_name(request.format, len(chosen))
    )
    path = scratch / "export"

    def tracks(playlist: dict[str, Any]) -> Iterator[FileTrack]:
        return (file_track(entry) for entry in pages.entries(playlist))

    def write() -> tuple[int, str]:
        if single:
            with path.open("wb") as out:
                writer.write(playlist_info(chosen[0]), tracks(chosen[0]), out)
        else:
            names = FileNames()
            with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
                for playlist in chosen:
                    member = archive.open(
                        names.name(playlist["name"], writer.extension), "w", force_zip64=True
                    )
                    with member:
                        writer.write(playlist_info(playlist), tracks(playlist), cast(BinaryIO, member))
        return size_and_digest(path)

    size, digest = await pages.run(write)
    return _Rendered(
        path=path,
        file_name=file_name,
        media_type=writer.media_type if single else ARCHIVE.media_type,
        playlists=len(chosen),
        entries=pages.written,
        size_bytes=size,
        sha256=digest,
    )


async def _failed(rt: Runtime, job: Job, request: ExportRequest, failure: JobFailed) -> None:
    assert job.user_id is not None
    async with rt.transaction() as conn:
        failed = ExportFailed(
            job_id=job.id,
            user_id=job.user_id,
            format=request.format,
            code=failure.error.code,
            message=failure.error.message[:1000],
            failed_at=datetime.now(UTC),
        )
        await rt.emit(conn, "export.failed", str(job.id), failed)


# ---- the stored file ------------------------------------------------------------------------------------


def export_view(rt: Runtime, stored: StoredExport) -> dict[str, Any]:
    """The export as the API shows it, with a download link valid for DOWNLOAD_URL_TTL_S (or until the
    file expires, if sooner)."""
    settings = export_settings(rt.settings)
    now = datetime.now(UTC)
    valid = min(timedelta(seconds=settings.download_url_ttl_s), stored.expires_at - now)
    return {
        "job_id": str(stored.job_id),
        "format": stored.format,
        "file_name": stored.file_name,
        "media_type": stored.media_type,
        "size_bytes": stored.size_bytes,
        "sha256": stored.sha256,
        "playlists": stored.playlists,
        "entries": stored.entries,
        "created_at": stored.created_at.isoformat(),
        "expires_at": stored.expires_at.isoformat(),
        "download_url": rt[OBJECT_STORE].download_url(stored.object_name, valid, stored.file_name),
        "download_url_expires_at": (now + valid).isoformat(),
    }


async def stored_export(
    rt: Runtime, user_id: uuid.UUID, job_id: uuid.UUID, kind: str = EXPORT_JOB
) -> dict[str, Any]:
    """The user's stored file of job ``job_id`` (an export, or a backup: ``kind``) with a fresh download
    link: 404 for another user's, an unknown job or one of another kind, 409 while it runs (or when it
    failed), 410 once its file expired."""
    what = "backup" if kind == BACKUP_JOB else "export"
    async with rt.transaction() as conn:
        stored = await find_export(conn, user_id, job_id)
        if stored is not None and (stored.format == "backup") != (kind == BACKUP_JOB):
            raise NotFound(f"no such {what}")
        if stored is None:
            try:
                job = await rt.jobs.get(conn, job_id)
            except JobNotFound:
                job = None
            if job is None or job.user_id != user_id or job.kind != kind:
                raise NotFound(f"no such {what}")
            raise Conflict(f"the {what} is {job.state}: its file is not there", code=f"{what}-not-ready")
    if stored.expires_at <= datetime.now(UTC):
        raise Problem(
            f"the {what}'s file has expired: make a new one", status=410, code=f"{what}-expired", title="Gone"
        )
    return export_view(rt, stored)
