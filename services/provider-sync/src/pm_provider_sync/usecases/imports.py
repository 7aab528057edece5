"""The library import: every playlist and the liked songs of a user's linked providers, sent to the
playlist service as ``library.playlist_imported`` events (topic pm.library-imports, keyed by the user).

- :func:`request_import` (``POST /api/v1/library/imports``): the job for the chosen providers, or the
  user's import already queued or running (one at a time per user).
- :func:`import_library`, the job ``library.import``, for each provider in turn:

  1. lists the playlists (owned and followed) and takes the liked collection apart (Deezer lists its
     Loved Tracks as a playlist; the others' come from ``liked_tracks()``);
  2. for each, compares with what the last import sent (imported_playlists): a playlist whose change
     marker is the one sent costs no further call (only its details are compared); any other is read
     whole, and sent only when its entries or details differ from what was sent. What is sent — the
     parts of one playlist — and the row that remembers it commit in one transaction, so a job stopped
     at any point (a revoked link, a quota, a crash) loses nothing it sent and sends nothing twice;
  3. ends with one ``library.import_finished`` listing every playlist id seen (the liked collection as
     ``liked``), forgets what it remembered of playlists no longer listed, and checkpoints the provider
     as done, in one transaction.

  A provider that needs linking again, whose quota is used up or that asks to wait for long pauses the
  job (pm_platform's JobPaused: until ``provider.linked``, or until the reset) once the other providers
  are done; a resumed job skips the providers its checkpoint has. A provider still unavailable after the
  adapter's retries fails the job (retryable), after the others.
- :func:`forget_deleted` (``playlist.deleted``): a playlist deleted from the library is forgotten here,
  so the next import brings it back.

No transaction is open while a provider or auth is called.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
from loguru import logger

from pm_contracts.library import ImportedEntry, ImportedPlaylist, LibraryImportFinished, PlaylistImported
from pm_contracts.playlists import PlaylistDeleted
from pm_contracts.providers import PROVIDERS, ProviderName
from pm_platform.jobs import Job, JobContext, JobFailed, JobPaused
from pm_platform.service import Runtime
from pm_provider_sync.domain.imports import (
    IMPORT_JOB,
    MAX_LISTED,
    ProviderStats,
    ReadEntries,
    Remembered,
    Send,
    details_digest,
    import_result,
    imported_playlist,
    liked_collection,
    listed_ids,
    must_read,
    progress,
    progress_message,
    what_to_send,
)
from pm_provider_sync.domain.pauses import PROVIDER_TITLES, Pause, pause_for
from pm_provider_sync.errors import NoLinkedProvider, ProviderNeedsReconsent, ProviderNotLinked
from pm_provider_sync.resources import counting_calls
from pm_provider_sync.storage import imports as imported
from pm_provider_sync.storage import sync as sync_links
from pm_provider_sync.storage.links import link_statuses
from pm_provider_sync.usecases.provider_calls import close_pages, patiently, user_adapter
from pm_providers import ProviderAdapter, ProviderPlaylist, ProviderTrack
from pm_providers.errors import (
    Forbidden,
    NotFound,
    ProviderError,
    ProviderUnavailable,
    ReconsentRequired,
)

# ---- the request ---------------------------------------------------------------------------------------


async def request_import(
    rt: Runtime, user_id: uuid.UUID, requested: Sequence[ProviderName] | None
) -> tuple[Job, bool]:
    """The import job of ``requested`` (default: every provider the user has linked), or the user's
    import already queued or running (``created`` False): one at a time per user.

    Refused (422) for a provider that is not linked or has to be linked again, and when nothing is."""
    async with rt.transaction() as conn:
        statuses = await link_statuses(conn, user_id)
        if requested:
            chosen = list(dict.fromkeys(requested))
            for provider in chosen:
                status = statuses.get(provider.value)
                if status is None:
                    raise ProviderNotLinked(
                        f"{PROVIDER_TITLES[provider]} is not linked", provider=provider.value
                    )
                if status != "linked":
                    raise ProviderNeedsReconsent(
                        f"{PROVIDER_TITLES[provider]} has to be linked again before an import",
                        provider=provider.value,
                    )
        else:
            chosen = [p for p in PROVIDERS if statuses.get(p.value) == "linked"]
            if not chosen:
                raise NoLinkedProvider(
                    "link a provider first"
                    if not statuses
                    else "every linked provider has to be linked again before an import"
                )
        params = {"providers": [p.value for p in chosen]}
        job, created = await rt.jobs.create_unless_active(conn, IMPORT_JOB, user_id, params)
        if created:
            # A paused import (waiting for a link or a quota) is superseded by the new one, which does
            # its work again (cheaply: unchanged playlists cost no read): two must never run at once.
            for earlier in await rt.jobs.list_for_user(conn, user_id):
                if earlier.kind == IMPORT_JOB and earlier.state == "paused":
                    await rt.jobs.request_cancel(conn, earlier.id)
        return job, created


# ---- the job ---------------------------------------------------------------------------------------------


async def import_library(ctx: JobContext) -> dict[str, Any]:
    """The job ``library.import`` (params ``{"providers": [...]}``); its result: per provider the
    playlists seen, imported, unchanged and skipped, the tracks read and the provider calls made, and
    the totals. Raises JobPaused or JobFailed as the module says; resumes from its checkpoint."""
    rt = ctx.runtime
    user_id = ctx.job.user_id
    assert user_id is not None, "an import job belongs to a user"
    providers = [ProviderName(p) for p in ctx.params.get("providers", [])]
    finished: dict[str, dict[str, Any]] = dict(ctx.checkpoint.get("finished", {}))
    pause: Pause | None = None
    failure: JobFailed | None = None
    for index, provider in enumerate(providers):
        if provider.value in finished:
            continue  # done in an earlier run of this job
        try:
            await _import_provider(ctx, rt, user_id, provider, index, len(providers), finished)
        except ProviderError as error:
            decided = pause_for(provider, error, datetime.now(UTC))
            if decided is not None:
                logger.info("import {}: {} paused it ({})", ctx.job.id, provider.value, decided.code)
                pause = pause or decided
            else:
                logger.warning("import {}: {} failed: {}", ctx.job.id, provider.value, error)
                failure = failure or _failure(provider, error)
    if pause is not None:
        raise JobPaused(pause.waiting_for, pause.code, pause.message, pause.resume_at)
    if failure is not None:
        raise failure
    return import_result(finished)


def _failure(provider: ProviderName, error: ProviderError) -> JobFailed:
    title = PROVIDER_TITLES[provider]
    if isinstance(error, ProviderUnavailable):
        return JobFailed("provider-unavailable", f"{title} cannot be reached now: try again later", True)
    return JobFailed("provider-error", f"{title} refused the import: {error}"[:1000], error.retryable)


async def _import_provider(
    ctx: JobContext,
    rt: Runtime,
    user_id: uuid.UUID,
    provider: ProviderName,
    index: int,
    count: int,
    finished: dict[str, dict[str, Any]],
) -> None:
    """One provider, from its listing to its end event; adds its stats to ``finished`` (checkpointed)."""
    stats = ProviderStats()
    async with rt.pool.acquire() as conn:
        status = (await link_statuses(conn, user_id)).get(provider.value)
        previous = await imported.remembered(conn, user_id, provider.value)
        synced = await sync_links.library_linked(conn, user_id, provider.value)
    if status is None:  # unlinked since the request: nothing to read, and nothing is reported gone
        stats.not_linked = True
        await _finish_provider(rt, ctx.job.id, user_id, provider, None, stats, finished)
        return
    if status != "linked":  # auth said so already: no call that is bound to fail
        raise ReconsentRequired("the link needs re-consent", provider=provider)
    adapter = user_adapter(rt, user_id, provider)
    seen: list[str] = []
    with counting_calls() as calls:
        try:
            listing, stats.truncated = await patiently(lambda: _list_playlists(adapter))
            todo = _to_import(provider, listing, stats)
            for done, (details, read_id) in enumerate(todo):
                fraction = progress(index, count, done, len(todo))
                await ctx.progress(fraction, progress_message(provider, done, len(todo)))
                playlist = _Playlist(
                    rt, ctx.job.id, user_id, provider, adapter, details, read_id, previous, stats
                )
                playlist.synced = details.provider_playlist_id in synced
                if await patiently(playlist.run):
                    stats.playlists_seen += 1
                    seen.append(details.provider_playlist_id)
        finally:
            stats.calls = calls[provider.value]
    await _finish_provider(
        rt, ctx.job.id, user_id, provider, None if stats.truncated else seen, stats, finished
    )


def _to_import(
    provider: ProviderName, listing: list[ProviderPlaylist], stats: ProviderStats
) -> list[tuple[ImportedPlaylist, str | None]]:
    """The playlists to import with the id to read each by (None: the liked songs), the liked
    collection last; a playlist whose id cannot be sent is counted as skipped."""
    liked_as = next((p for p in listing if p.is_liked_collection), None)
    todo: list[tuple[ImportedPlaylist, str | None]] = []
    for playlist in listing:
        if playlist.is_liked_collection:
            continue  # Deezer's Loved Tracks: imported as the liked collection
        details = imported_playlist(playlist)
        if details is None:
            logger.warning("import: a {} playlist has an id that cannot be sent; skipped", provider.value)
            stats.playlists_seen += 1
            stats.skipped += 1
            continue
        todo.append((details, playlist.id))
    todo.append((liked_collection(provider, liked_as), liked_as.id if liked_as is not None else None))
    return todo


async def _list_playlists(adapter: ProviderAdapter) -> tuple[list[ProviderPlaylist], bool]:
    """The provider's playlists, each id once, in its order; True when there were more than MAX_LISTED."""
    found: dict[str, ProviderPlaylist] = {}
    listing = adapter.playlists()
    try:
        async for playlist in listing:
            if playlist.id in found:
                continue  # a page that shifted while listing repeats one
            if len(found) >= MAX_LISTED:
                return list(found.values()), True
            found[playlist.id] = playlist
    finally:
        await close_pages(listing)
    return list(found.values()), False


class _Playlist:
    """One playlist of an import (``read_id`` None: the liked songs): read if it may have changed,
    send what did, remember what was sent."""

    def __init__(
        self,
        rt: Runtime,
        job_id: uuid.UUID,
        user_id: uuid.UUID,
        provider: ProviderName,
        adapter: ProviderAdapter,
        details: ImportedPlaylist,
        read_id: str | None,
        remembered: dict[str, Remembered],
        stats: ProviderStats,
    ) -> None:
        self.rt, self.job_id, self.user_id, self.provider = rt, job_id, user_id, provider
        self.adapter, self.details, self.read_id, self.stats = adapter, details, read_id, stats
        self.previous = remembered.get(details.provider_playlist_id)
        # Joined with a library playlist by a sync link: the link keeps the two the same (an import
        # would overwrite the library's edits not synced yet), so only its details are imported.
        self.synced = False

    async def run(self) -> bool:
        """False when the playlist is gone from the provider since it was listed."""
        previous = self.previous
        digest = details_digest(self.details)
        read: ReadEntries | None = None
        # The entries' digest to compare (None: they cannot be read), and the one to remember.
        compared = kept = previous.entries_digest if previous is not None else None
        if must_read(previous, self.details.change_marker) and not (self.synced and previous is not None):
            read = ReadEntries()
            try:
                await _read(self._tracks(), read)
            except NotFound:
                if self.read_id is not None:
                    return False  # deleted since it was listed
                read, compared = None, None
                self.stats.unreadable += 1
            except Forbidden:  # a followed playlist the provider keeps to its owner
                read, compared = None, None
                self.stats.unreadable += 1
            if read is not None:
                self.stats.tracks_read += len(read.entries)
                compared = kept = read.digest
        send = what_to_send(previous, digest, compared)
        await self._send(send, Remembered(self.details.change_marker, digest, kept), read)
        return True

    def _tracks(self) -> AsyncIterator[ProviderTrack]:
        if self.read_id is None:
            return self.adapter.liked_tracks()
        return self.adapter.playlist_tracks(self.read_id)

    async def _send(self, send: Send, sent: Remembered, read: ReadEntries | None) -> None:
        rt, stats = self.rt, self.stats
        now = datetime.now(UTC)
        if send is Send.NOTHING:
            stats.unchanged += 1
            if sent != self.previous:  # a new marker, the same contents: only remembered
                async with rt.transaction() as conn:
                    await imported.remember(conn, self.user_id, self.provider.value, self._id, sent, now)
            return
        parts: list[list[ImportedEntry] | None] = [None]
        if send is Send.ENTRIES:
            assert read is not None
            split = read.parts()
            if split is None:
                logger.warning(
                    "import: a {} playlist of {}{} entries is too large to send; skipped",
                    self.provider.value,
                    len(read.entries),
                    "+" if read.too_many else "",
                )
                stats.skipped += 1
                return
            parts = list(split)
        async with rt.transaction() as conn:
            for number, entries in enumerate(parts, start=1):
                part = PlaylistImported(
                    user_id=self.user_id,
                    job_id=self.job_id,
                    provider=self.provider,
                    playlist=self.details,
                    part=number,
                    parts=len(parts),
                    entries=entries,
                    read_at=now,
                )
                await rt.emit(conn, "library.playlist_imported", str(self.user_id), part)
            await imported.remember(conn, self.user_id, self.provider.value, self._id, sent, now)
        stats.imported += 1
        if send is Send.DETAILS:
            stats.details_only += 1

    @property
    def _id(self) -> str:
        return self.details.provider_playlist_id


async def _read(tracks: AsyncIterator[ProviderTrack], into: ReadEntries) -> None:
    try:
        async for track in tracks:
            if not into.add(track):
                break  # too large to send: read no further
    finally:
        await close_pages(tracks)


async def _finish_provider(
    rt: Runtime,
    job_id: uuid.UUID,
    user_id: uuid.UUID,
    provider: ProviderName,
    seen: list[str] | None,
    stats: ProviderStats,
    finished: dict[str, dict[str, Any]],
) -> None:
    """The provider's end: with ``seen`` (every playlist listed), ``library.import_finished`` and the
    others forgotten; the provider checkpointed as done, in the same transaction."""
    done = {**finished, provider.value: stats.to_dict()}
    async with rt.transaction() as conn:
        if seen is not None:
            ids = listed_ids(seen)
            end = LibraryImportFinished(
                user_id=user_id,
                job_id=job_id,
                provider=provider,
                provider_playlist_ids=ids,
                finished_at=datetime.now(UTC),
            )
            await rt.emit(conn, "library.import_finished", str(user_id), end)
            await imported.forget_unlisted(conn, user_id, provider.value, ids)
        await rt.jobs.save_checkpoint(conn, job_id, {"finished": done})
    finished.update(done)


# ---- the library's deletions -------------------------------------------------------------------------


async def forget_deleted(conn: asyncpg.Connection, event: PlaylistDeleted) -> None:
    """A playlist deleted from the library is forgotten here: the next import brings it back whole."""
    if event.origin is not None:
        await imported.forget(
            conn, event.user_id, event.origin.provider.value, event.origin.provider_playlist_id
        )
