"""Sync: links that keep two playlists the same, their runs (the jobs ``sync.run`` and ``sync.undo``),
and the scheduler that starts each scheduled link's runs (docs/sync.md).

A run (:func:`run_sync`):

1. reads both ends' change markers (one call per end): neither changed since the last run → done, no
   read and no write;
2. reads both ends, keeps them as the run found them (what its undo restores: ``sync_runs``);
3. finds the tracks that must cross and are not paired yet on the other end (the matching pipeline of
   transfers: the user's mappings, the shared catalog, ISRC, search) and pairs them;
4. plans what each end should hold (domain/sync.py: mirror, add-only, or the three-way merge); stops
   before writing when an end would lose more than the link's share (the removal brake: the job pauses
   until the user confirms);
5. writes each end that differs with the provider's smallest edits (remove, move, insert: never a new
   playlist), reads both back, and records the new base and markers.

A run stopped anywhere starts again from step 1 when its job resumes: pairs are committed before any
write, and the plan against the base converges, so nothing is written twice.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, NoReturn

import asyncpg
from loguru import logger

from pm_contracts.playlists import PlaylistDeleted
from pm_contracts.providers import ProviderName
from pm_contracts.sync import (
    SideChanges,
    SyncConflict,
    SyncEnd,
    SyncLinkCreated,
    SyncRunCompleted,
    SyncRunFailed,
    SyncRunStarted,
)
from pm_platform.db import from_json_column, lock_until_commit
from pm_platform.errors import Conflict, NotFound, ServiceUnavailable, ValidationFailed
from pm_platform.internal import (
    LibraryPlaylistChanged,
    LibraryPlaylistGone,
    LibraryWriteRefused,
    PeerUnavailable,
)
from pm_platform.jobs import Job, JobCancelled, JobContext, JobFailed, JobNotFound, JobPaused
from pm_platform.service import Runtime
from pm_platform.tasks import cancel_and_wait
from pm_provider_sync.domain.pauses import PROVIDER_TITLES, pause_for
from pm_provider_sync.domain.sync import (
    LIBRARY,
    MAX_LINKS,
    MISS_TTL,
    SYNC_RUN_JOB,
    SYNC_UNDO_JOB,
    EndPlan,
    LinkChange,
    LinkRequest,
    Pairs,
    end_keys,
    id_changes,
    local_matches,
    over_brake,
    plan_run,
    restored_ids,
    track_of,
    with_locals,
    written_ids,
)
from pm_provider_sync.domain.transfers import Status, source_key
from pm_provider_sync.errors import ProviderNeedsReconsent, ProviderNotLinked
from pm_provider_sync.resources import SERVICES, counting_calls
from pm_provider_sync.settings import provider_sync_settings
from pm_provider_sync.storage import sync as stored
from pm_provider_sync.storage.links import link_statuses
from pm_provider_sync.usecases.matching import REFUSED_SEARCH, TrackMatcher
from pm_provider_sync.usecases.provider_calls import patiently, user_adapter
from pm_provider_sync.usecases.sync_ends import LibraryEnd, LinkEnd, ProviderEnd, link_ends
from pm_providers import ProviderTrack
from pm_providers.errors import Forbidden, InvalidRequest, PartialWrite, ProviderError
from pm_providers.errors import NotFound as ProviderNotFound
from pm_providers.errors import Unauthorized as ProviderUnauthorized

Side = Literal["a", "b"]
# A failed scheduled run is tried again after the link's interval doubled per failure in a row, a day at most.
MAX_BACKOFF = timedelta(days=1)
# Plans of a run whose library end the owner keeps editing between its read and its write.
LIBRARY_ATTEMPTS = 3


class SyncLinkExists(Conflict):
    code, title = "sync-link-exists", "These playlists are linked already"


class TooManyLinks(ValidationFailed):
    code, title = "too-many-links", "Too many sync links"


class PlaylistNotUsable(ValidationFailed):
    code, title = "playlist-not-usable", "The playlist cannot be synced"


class RunNotWaiting(Conflict):
    code, title = "run-not-waiting", "The run is not waiting for a confirmation"


class UndoRefused(Conflict):
    code, title = "undo-refused", "The run cannot be undone"


class LinkBusy(Conflict):
    code, title = "sync-busy", "A run of this link is under way"


def confirm_waiting_for(run_id: uuid.UUID) -> str:
    return f"sync-confirm:{run_id}"


# ---- links -----------------------------------------------------------------------------------------------


async def _check_linked(
    conn: asyncpg.Connection, user_id: uuid.UUID, providers: Sequence[ProviderName]
) -> None:
    statuses = await link_statuses(conn, user_id)
    for provider in providers:
        status = statuses.get(provider.value)
        if status is None:
            raise ProviderNotLinked(f"{PROVIDER_TITLES[provider]} is not linked", provider=provider.value)
        if status != "linked":
            raise ProviderNeedsReconsent(
                f"{PROVIDER_TITLES[provider]} has to be linked again before a sync", provider=provider.value
            )


def _link_providers(link: asyncpg.Record) -> list[ProviderName]:
    """The providers of the link's ends that are on one (not the library)."""
    return [
        ProviderName(link[f"{side}_provider"]) for side in ("a", "b") if link[f"{side}_provider"] != LIBRARY
    ]


async def _check_end(
    rt: Runtime, user_id: uuid.UUID, provider: ProviderName, playlist_id: str, field: str
) -> None:
    """The playlist is there and this account may change it (a followed playlist of someone else's is not)."""
    adapter = user_adapter(rt, user_id, provider)
    title = PROVIDER_TITLES[provider]
    try:
        await patiently(adapter.current_user)
        found = await patiently(lambda: adapter.playlist(playlist_id))
    except (ProviderNotFound, Forbidden, InvalidRequest):
        raise PlaylistNotUsable(
            f"the {title} playlist {playlist_id} is not there, or not this account's", field=field
        ) from None
    except ProviderUnauthorized:
        raise ProviderNeedsReconsent(
            f"{title} has to be linked again before a sync", provider=provider.value
        ) from None
    except ProviderError as error:  # unavailable, rate limited, out of quota: try again later
        raise ServiceUnavailable(f"{title} cannot be asked now ({error.message}): try again later") from None
    if found.is_liked_collection:
        raise PlaylistNotUsable(f"{title}'s liked tracks are not a playlist a sync can edit", field=field)
    if found.is_owner is False and found.collaborative is not True:
        raise PlaylistNotUsable(
            f"the {title} playlist {playlist_id} is someone else's: it cannot be changed", field=field
        )


async def _check_library_end(rt: Runtime, user_id: uuid.UUID, playlist_id: str, field: str) -> str | None:
    """The library playlist is the user's and editable (not a followed one, not the liked songs); its
    origin (``provider:playlist id``), if it was imported."""
    try:
        found = await rt[SERVICES].library.page(user_id, uuid.UUID(playlist_id), 0, 1)
    except LibraryPlaylistGone:
        raise PlaylistNotUsable(
            f"the library playlist {playlist_id} is not in your library", field=field
        ) from None
    except PeerUnavailable:
        raise ServiceUnavailable("the library cannot be asked now: try again later") from None
    if found.get("read_only"):
        raise PlaylistNotUsable(
            f"the library playlist {playlist_id} is one you follow without owning it: it cannot be changed",
            field=field,
        )
    if found.get("collection") == "liked":
        raise PlaylistNotUsable("the library's liked songs are not a playlist a sync can edit", field=field)
    origin = found.get("origin") or {}
    return f"{origin['provider']}:{origin['playlist_id']}" if origin.get("provider") else None


async def create_link(rt: Runtime, user_id: uuid.UUID, request: LinkRequest) -> dict[str, Any]:
    ends = (("a", request.a), ("b", request.b))
    async with rt.pool.acquire() as conn:
        await _check_linked(conn, user_id, [ProviderName(e.provider) for _, e in ends if e.name != LIBRARY])
    library_origin: str | None = None
    for side, end in ends:
        if end.name == LIBRARY:
            library_origin = await _check_library_end(rt, user_id, end.playlist_id, f"{side}.playlist_id")
        else:
            await _check_end(rt, user_id, ProviderName(end.provider), end.playlist_id, f"{side}.playlist_id")
    now = datetime.now(UTC)
    async with rt.transaction() as conn:
        await lock_until_commit(conn, f"sync-links:{user_id}")
        if await stored.count_links(conn, user_id) >= MAX_LINKS:
            raise TooManyLinks(f"a user keeps {MAX_LINKS} sync links at most: delete one first")
        # A scheduled link runs for the first time at once.
        row = await stored.insert_link(
            conn,
            uuid.uuid4(),
            user_id,
            request,
            now,
            now if request.every_minutes is not None else None,
            library_origin,
        )
        if row is None:
            raise SyncLinkExists("these two playlists are linked already")
        event = SyncLinkCreated(
            link_id=row["id"],
            user_id=user_id,
            a=SyncEnd(provider=request.a.name, playlist_id=request.a.playlist_id),
            b=SyncEnd(provider=request.b.name, playlist_id=request.b.playlist_id),
            direction=request.direction,
            every_minutes=request.every_minutes,
            created_at=now,
        )
        await rt.emit(conn, "sync.link_created", str(row["id"]), event)
        return await _link_view(rt, conn, row)


async def _user_link(conn: asyncpg.Connection, user_id: uuid.UUID, link_id: uuid.UUID) -> asyncpg.Record:
    row = await stored.user_link(conn, user_id, link_id)
    if row is None:
        raise NotFound("no such sync link")
    return row


async def get_link(rt: Runtime, user_id: uuid.UUID, link_id: uuid.UUID) -> dict[str, Any]:
    async with rt.pool.acquire() as conn:
        return await _link_view(rt, conn, await _user_link(conn, user_id, link_id))


async def list_links(rt: Runtime, user_id: uuid.UUID) -> list[dict[str, Any]]:
    async with rt.pool.acquire() as conn:
        return [await _link_view(rt, conn, row) for row in await stored.list_links(conn, user_id)]


async def change_link(
    rt: Runtime, user_id: uuid.UUID, link_id: uuid.UUID, change: LinkChange
) -> dict[str, Any]:
    now = datetime.now(UTC)
    async with rt.transaction() as conn:
        await _user_link(conn, user_id, link_id)
        row = await stored.link_for_update(conn, link_id)
        assert row is not None
        values: dict[str, Any] = {
            name: getattr(change, name)
            for name in ("direction", "every_minutes", "max_removal_share", "paused")
            if name in change.model_fields_set
        }
        every = values.get("every_minutes", row["every_minutes"])
        if "every_minutes" in values or values.get("paused") is False:
            values["next_run_at"] = now if every is not None else None
        if "direction" in values and values["direction"] != row["direction"]:
            if await stored.active_run(conn, link_id) is not None:
                raise LinkBusy("a run of this link is under way: change the direction once it ends")
            # What the last run left means something else under another direction: start afresh.
            values.update(base=None, a_marker=None, b_marker=None)
        return await _link_view(rt, conn, await stored.change_link(conn, link_id, values, now))


async def delete_link(rt: Runtime, user_id: uuid.UUID, link_id: uuid.UUID) -> None:
    async with rt.transaction() as conn:
        await _user_link(conn, user_id, link_id)
        await _delete(rt, conn, user_id, link_id)


async def _delete(rt: Runtime, conn: asyncpg.Connection, user_id: uuid.UUID, link_id: uuid.UUID) -> None:
    active = await stored.active_run(conn, link_id)
    if active is not None:
        await rt.jobs.request_cancel(conn, active)
    await stored.delete_link(conn, user_id, link_id)


async def forget_library_playlist(rt: Runtime, conn: asyncpg.Connection, event: PlaylistDeleted) -> None:
    """A library playlist deleted: the links it was an end of go with it (a run under way is cancelled)."""
    for link_id in await stored.links_with_library_playlist(conn, event.user_id, str(event.playlist_id)):
        await _delete(rt, conn, event.user_id, link_id)


async def _link_view(rt: Runtime, conn: asyncpg.Connection, row: asyncpg.Record) -> dict[str, Any]:
    last = await stored.list_runs(conn, row["id"], 1)
    last_run = None
    if last:
        try:
            job = await rt.jobs.get(conn, last[0]["id"])
            last_run = {
                "id": str(job.id),
                "kind": last[0]["kind"],
                "state": job.state,
                "finished_at": _iso(job.finished_at),
            }
        except JobNotFound:
            last_run = None
    return {
        "id": str(row["id"]),
        "a": {"provider": row["a_provider"], "playlist_id": row["a_playlist_id"]},
        "b": {"provider": row["b_provider"], "playlist_id": row["b_playlist_id"]},
        "direction": row["direction"],
        "every_minutes": row["every_minutes"],
        "max_removal_share": round(float(row["max_removal_share"]), 4),
        "paused": row["paused"],
        "next_run_at": _iso(row["next_run_at"]),
        "last_synced_at": _iso(row["last_synced_at"]),
        "failures": row["failures"],
        "last_error": row["last_error"],
        "last_run": last_run,
        "created_at": _iso(row["created_at"]),
        "updated_at": _iso(row["updated_at"]),
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# ---- runs: starting, confirming, undoing, reading ----------------------------------------------------------


async def _start(
    rt: Runtime,
    conn: asyncpg.Connection,
    link: asyncpg.Record,
    kind: Literal["sync", "undo"],
    undo_of: uuid.UUID | None = None,
) -> Job:
    job_kind = SYNC_RUN_JOB if kind == "sync" else SYNC_UNDO_JOB
    params: dict[str, Any] = {"link_id": str(link["id"])}
    if undo_of is not None:
        params["undo_of"] = str(undo_of)
    job = await rt.jobs.create(conn, job_kind, link["user_id"], params)
    now = datetime.now(UTC)
    await stored.insert_run(conn, job.id, link, kind, now, undo_of)
    started = SyncRunStarted(
        run_id=job.id, link_id=link["id"], user_id=link["user_id"], kind=kind, started_at=now
    )
    await rt.emit(conn, "sync.run_started", str(link["id"]), started)
    return job


async def run_now(rt: Runtime, user_id: uuid.UUID, link_id: uuid.UUID) -> Job:
    """A run of the link, or the one already queued, running or paused (a double click starts one)."""
    async with rt.transaction() as conn:
        await _user_link(conn, user_id, link_id)
        # The link's row, locked: a run asked for here and one the scheduler starts never both start.
        link = await stored.link_for_update(conn, link_id)
        assert link is not None
        active = await stored.active_run(conn, link_id)
        if active is not None:
            job = await rt.jobs.get(conn, active)
            if job.state == "paused" and job.waiting_for == confirm_waiting_for(active):
                # Stopped at the brake: asked to run again (the owner may have changed the ends since), it
                # plans again, and stops again if it still would remove too much.
                await rt.jobs.resume_waiting(conn, user_id, confirm_waiting_for(active))
                job = await rt.jobs.get(conn, active)
            return job
        await _check_linked(conn, user_id, _link_providers(link))
        return await _start(rt, conn, link, "sync")


async def _user_run(conn: asyncpg.Connection, user_id: uuid.UUID, run_id: uuid.UUID) -> asyncpg.Record:
    row = await stored.user_run(conn, user_id, run_id)
    if row is None:
        raise NotFound("no such sync run")
    return row


async def confirm_run(rt: Runtime, user_id: uuid.UUID, run_id: uuid.UUID) -> Job:
    """A run the removal brake stopped goes on, writing what it planned."""
    async with rt.transaction() as conn:
        await _user_run(conn, user_id, run_id)
        job = await rt.jobs.get(conn, run_id)
        if job.state != "paused" or job.waiting_for != confirm_waiting_for(run_id):
            raise RunNotWaiting("this run is not waiting for a confirmation")
        await stored.confirm(conn, run_id)
        await rt.jobs.resume_waiting(conn, user_id, confirm_waiting_for(run_id))
        return await rt.jobs.get(conn, run_id)


async def undo_run(rt: Runtime, user_id: uuid.UUID, run_id: uuid.UUID) -> Job:
    """The undo of the link's latest run that changed something: both ends back to how that run found
    them. Asked again, the same undo; once that failed or was cancelled, a new one."""
    async with rt.transaction() as conn:
        row = await _user_run(conn, user_id, run_id)
        link = await stored.link_for_update(conn, row["link_id"])  # as run_now and the scheduler do
        assert link is not None
        existing = await stored.undo_of(conn, run_id)
        if existing is not None:
            earlier = await rt.jobs.get(conn, existing)
            if earlier.state not in ("failed", "cancelled"):
                return earlier
        if row["kind"] != "sync":
            raise UndoRefused("an undo cannot be undone: run the link again instead")
        job = await rt.jobs.get(conn, run_id)
        report = from_json_column(row["report"]) or {}
        if job.state != "succeeded" or not report.get("changed"):
            raise UndoRefused("only a run that finished and changed something can be undone")
        if await stored.later_change(conn, row["link_id"], row["created_at"]):
            raise UndoRefused("a later run changed the playlists since: undo that one first")
        if await stored.active_run(conn, row["link_id"]) is not None:
            raise LinkBusy("a run of this link is under way: undo once it ends")
        return await _start(rt, conn, link, "undo", undo_of=run_id)


async def run_view(rt: Runtime, user_id: uuid.UUID, run_id: uuid.UUID) -> dict[str, Any]:
    async with rt.pool.acquire() as conn:
        return await _run_view(rt, conn, await _user_run(conn, user_id, run_id))


async def list_runs(rt: Runtime, user_id: uuid.UUID, link_id: uuid.UUID, limit: int) -> list[dict[str, Any]]:
    async with rt.pool.acquire() as conn:
        await _user_link(conn, user_id, link_id)
        return [await _run_view(rt, conn, row) for row in await stored.list_runs(conn, link_id, limit)]


async def _run_view(rt: Runtime, conn: asyncpg.Connection, row: asyncpg.Record) -> dict[str, Any]:
    try:
        job = await rt.jobs.get(conn, row["id"])
    except JobNotFound:  # a run is made with its job, in one transaction: only a race with erasure
        raise NotFound("no such sync run") from None
    undone_by = await stored.undo_of(conn, row["id"])
    return {
        "id": str(row["id"]),
        "link_id": str(row["link_id"]),
        "kind": row["kind"],
        "undo_of": str(row["undo_of"]) if row["undo_of"] else None,
        "undone_by": str(undone_by) if undone_by else None,
        "state": job.state,
        "message": job.message,
        "error": job.error.model_dump(mode="json") if job.error else None,
        "waiting_for_confirmation": job.state == "paused"
        and job.waiting_for == confirm_waiting_for(row["id"]),
        "confirmed": row["confirmed"],
        "created_at": _iso(row["created_at"]),
        "finished_at": _iso(job.finished_at),
        "report": from_json_column(row["report"]),
    }


# ---- the scheduler ---------------------------------------------------------------------------------------


def _backoff(every_minutes: int, failures: int) -> timedelta:
    wait: timedelta = timedelta(minutes=every_minutes) * (2 ** min(failures, 16))
    return min(wait, MAX_BACKOFF)


async def start_due(rt: Runtime, now: datetime, limit: int = 50) -> int:
    """Start a run of every scheduled link that is due (one transaction; a due link another replica is
    starting is skipped, so each is started once). Returns how many were started."""
    started = 0
    async with rt.transaction() as conn:
        for link in await stored.due_links(conn, now, limit):
            every = int(link["every_minutes"])
            await stored.change_link(conn, link["id"], {"next_run_at": now + timedelta(minutes=every)}, now)
            if await stored.active_run(conn, link["id"]) is not None:
                continue
            statuses = await link_statuses(conn, link["user_id"])
            if any(statuses.get(provider.value) != "linked" for provider in _link_providers(link)):
                continue  # not linked now: tried again next time
            await _start(rt, conn, link, "sync")
            started += 1
    return started


async def scheduler(rt: Runtime) -> AsyncIterator[None]:
    """The scheduler loop beside the service (a resource): every SYNC_TICK_S, due links start."""
    settings = provider_sync_settings(rt.settings)

    async def loop() -> None:
        while True:
            try:
                started = await start_due(rt, datetime.now(UTC))
                if started:
                    logger.info("sync scheduler: {} run(s) started", started)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - the next tick tries again
                logger.warning("sync scheduler: {}: {}", type(error).__name__, error)
            await asyncio.sleep(settings.sync_tick_s)

    task = asyncio.create_task(loop(), name="sync-scheduler")
    try:
        yield
    finally:
        await cancel_and_wait(task)


# ---- the run ---------------------------------------------------------------------------------------------


class _Run:
    def __init__(self, ctx: JobContext, link: asyncpg.Record, run: asyncpg.Record) -> None:
        self.ctx, self.rt, self.link, self.run = ctx, ctx.runtime, link, run
        self.run_id: uuid.UUID = ctx.job.id
        self.user_id: uuid.UUID = link["user_id"]
        self.link_id: uuid.UUID = link["id"]
        end_a, end_b = link_ends(self.rt, link, f"sync:{self.link_id}")
        self.ends: dict[Side, LinkEnd] = {"a": end_a, "b": end_b}
        self.kind: Literal["sync", "undo"] = run["kind"]
        self.failing: Side = "a"

    @property
    def providers(self) -> dict[Side, ProviderName]:
        """The provider of each end that is on one."""
        return {side: end.provider for side, end in self.ends.items() if isinstance(end, ProviderEnd)}

    async def marker(self, side: Side) -> str | None:
        self.failing = side
        return await self.ends[side].marker()

    async def read(self, side: Side) -> list[ProviderTrack]:
        self.failing = side
        return await self.ends[side].read()

    async def write(self, side: Side, ids: Sequence[str | None], current: Sequence[ProviderTrack]) -> int:
        """Make the end hold ``ids`` (None: a local entry kept where it is) with the fewest edits; the
        entries moved."""
        self.failing = side
        return await self.ends[side].write(ids, current)

    # -- a sync

    async def sync(self) -> dict[str, Any]:
        link = self.link
        done = from_json_column(self.run["report"])
        if done is not None and "error" not in done:
            return dict(done)  # an earlier attempt finished the run and stopped before the job ended
        # Both ends at once: each provider's own limit paces its calls.
        marker_a, marker_b = await asyncio.gather(self.marker("a"), self.marker("b"))
        markers = {"a": marker_a, "b": marker_b}
        unchanged = (
            link["base"] is not None
            and markers["a"] is not None
            and markers["b"] is not None
            and (markers["a"], markers["b"]) == (link["a_marker"], link["b_marker"])
        )
        if unchanged:
            async with self.rt.transaction() as conn:
                await stored.mark_synced(conn, self.link_id, datetime.now(UTC))
            return {"changed": False}
        await self.ctx.progress(0.1, "reading both playlists")
        read_a, read_b = await asyncio.gather(self.read("a"), self.read("b"))
        entries: dict[Side, list[ProviderTrack]] = {"a": read_a, "b": read_b}
        async with self.rt.transaction() as conn:
            await stored.save_before(
                conn, self.run_id, [t.id for t in entries["a"]], [t.id for t in entries["b"]]
            )
            kept = await stored.run(conn, self.run_id)
        assert kept is not None
        # As the run found the ends before it first wrote (a resumed run may have written, then stopped).
        before: dict[Side, list[str | None]] = {
            "a": from_json_column(kept["before_a"]),
            "b": from_json_column(kept["before_b"]),
        }
        await self.ctx.progress(0.3, "finding new songs on the other end")
        pairs = await self.pair(entries)
        keys = {side: end_keys([t.id for t in entries[side]], pairs, side) for side in ("a", "b")}
        base = from_json_column(link["base"])
        plan = plan_run(
            link["direction"],
            base,
            keys["a"],
            keys["b"],
            single={side for side in ("a", "b") if not self.ends[side].allows_duplicates},
        )
        await self.brake(plan.a, plan.b)
        b_to_a = self.b_to_a(pairs, entries["a"])
        await self.ctx.progress(0.6, "editing the playlists")
        moved: dict[Side, int] = {}
        ends: tuple[tuple[Side, EndPlan], ...] = (("a", plan.a), ("b", plan.b))
        if plan.a.changed or plan.b.changed:
            async with self.rt.transaction() as conn:
                await stored.start_writing(conn, self.run_id)
        for side, end in ends:
            moved[side] = 0
            if end.changed:
                ids = written_ids(end.desired, side, [t.id for t in entries[side]], pairs, b_to_a)
                moved[side] = await self.write(
                    side, with_locals(ids, [t.id for t in entries[side]]), entries[side]
                )
        # The markers of the written ends first, then what the ends hold, read back: an edit by the owner
        # in between shows in the read-back (the end "differs": its marker is forgotten), never in a
        # marker taken as synced.
        written_markers = {side: await self.marker(side) for side, end in ends if end.changed}
        back_a, back_b = await asyncio.gather(
            self.read("a") if plan.a.changed else _same(entries["a"]),
            self.read("b") if plan.b.changed else _same(entries["b"]),
        )
        after: dict[Side, list[ProviderTrack]] = {"a": back_a, "b": back_b}
        differs = [
            side
            for side, end in ends
            if end_keys([t.id for t in after[side]], pairs, side) != list(end.desired)
        ]
        # An end that did not read back as planned is compared in full next time (its marker forgotten).
        new_markers = {
            side: None if side in differs else written_markers.get(side, markers[side]) for side, _ in ends
        }
        titles = {k: self._title(k, entries) for _, k in plan.unmatched}
        report = {
            "changed": any(before[side] != [t.id for t in after[side]] for side in ("a", "b")),
            "a": id_changes(before["a"], [t.id for t in after["a"]], moved["a"]),
            "b": id_changes(before["b"], [t.id for t in after["b"]], moved["b"]),
            "conflicts": [{"key": c.key, "kind": c.kind, "message": c.message} for c in plan.conflicts],
            "unmatched": [
                {"side": side, "track_id": track_of(k)[1], "title": titles.get(k)}
                for side, k in plan.unmatched
            ],
            "differs": differs,
        }
        async with self.rt.transaction() as conn:
            await stored.record_synced(
                conn, self.link_id, plan.base, new_markers["a"], new_markers["b"], datetime.now(UTC)
            )
            # With the new base: a job that dies now finds its run done (above) when it resumes.
            await stored.save_after(conn, self.run_id, [t.id for t in after["a"]], [t.id for t in after["b"]])
            await stored.save_report(conn, self.run_id, report)
            for conflict in plan.conflicts:
                event = SyncConflict(
                    run_id=self.run_id,
                    link_id=self.link_id,
                    user_id=self.user_id,
                    kind=conflict.kind,
                    message=conflict.message[:1000],
                    detected_at=datetime.now(UTC),
                )
                await self.rt.emit(conn, "sync.conflict", str(self.link_id), event)
        return report

    @staticmethod
    def _title(key: str, entries: dict[Side, list[ProviderTrack]]) -> str | None:
        kind, ident = track_of(key)
        for track in entries["a" if kind == "a" else "b"]:
            if track.id == ident:
                return f"{', '.join(track.artists)} - {track.title}"
        return None

    @staticmethod
    def b_to_a(pairs: Pairs, on_a: Sequence[ProviderTrack]) -> dict[str, str]:
        """A b id's a id: the one end a holds now when several a ids were paired with it."""
        present = {t.id for t in on_a}
        out: dict[str, str] = {}
        for a_id, b_id in sorted(pairs.a_to_b.items()):
            if b_id not in out or (a_id in present and out[b_id] not in present):
                out[b_id] = a_id
        return out

    async def pair(self, entries: dict[Side, list[ProviderTrack]]) -> Pairs:
        """Match each track that must cross to the other end and is not paired yet; the pairs found are
        committed (with what the shared catalog learns) before anything is written."""
        async with self.rt.pool.acquire() as conn:
            known = await stored.pairs(conn, self.link_id)
        paired_b = set(known.values())
        two_way = self.link["direction"] == "two_way"
        # A library end's tracks that carry the other end's id (imported from there) are that track.
        found = self.direct_pairs(entries, known, paired_b)
        # Then what the other end holds already (no provider call): those are paired, never added.
        local = local_matches(
            [t for t in entries["a"] if t.id and t.id not in known and t.id not in found],
            [t for t in entries["b"] if t.id and t.id not in paired_b and t.id not in found.values()],
        )
        found |= local
        if two_way:
            local_b = local_matches(
                [t for t in entries["b"] if t.id and t.id not in paired_b and t.id not in found.values()],
                [t for t in entries["a"] if t.id and t.id not in known and t.id not in found],
            )
            found |= {a_id: b_id for b_id, a_id in local_b.items()}
        if found:
            async with self.rt.transaction() as conn:
                await stored.add_pairs(conn, self.link_id, self.user_id, sorted(found.items()))
            known |= found
            paired_b |= set(found.values())
        now = datetime.now(UTC)
        async with self.rt.pool.acquire() as conn:
            looked_for = await stored.recent_misses(conn, self.link_id, now - MISS_TTL)
        crossing: dict[Side, list[ProviderTrack]] = {
            "a": [t for t in entries["a"] if t.id and t.id not in known and ("a", t.id) not in looked_for],
            "b": [
                t
                for t in entries["b"]
                if two_way and t.id and t.id not in paired_b and ("b", t.id) not in looked_for
            ],
        }
        for side, tracks in crossing.items():
            if tracks:
                await self.cross(side, list({t.id: t for t in tracks}.values()), now)
        async with self.rt.pool.acquire() as conn:
            return Pairs(await stored.pairs(conn, self.link_id))

    def direct_pairs(
        self, entries: dict[Side, list[ProviderTrack]], known: dict[str, str], paired_b: set[str]
    ) -> dict[str, str]:
        """a id → b id of a library end's tracks that carry the id of a track the other end holds, not
        paired yet (a library track carrying an id the other end does not hold is paired only if it has
        to cross: the other end may hold that song under another id, which local matching finds)."""
        found: dict[str, str] = {}
        for side, end in self.ends.items():
            if not isinstance(end, LibraryEnd):
                continue
            held = {t.id for t in entries["b" if side == "a" else "a"] if t.id}
            for library_id, other_id in end.carrying(entries[side])[0]:
                if other_id not in held:
                    continue
                a_id, b_id = (library_id, other_id) if side == "a" else (other_id, library_id)
                if a_id in known or a_id in found or b_id in paired_b or b_id in found.values():
                    continue
                found[a_id] = b_id
        return found

    async def keep_pairs(self, pairs: list[tuple[str, str]], paired_a: set[str], now: datetime) -> None:
        """Commit ``pairs`` (a id, b id); one whose a track is paired already with another of b's (b holds
        the song under two ids) is remembered as a miss of that b track instead."""
        async with self.rt.transaction() as conn:
            await stored.add_pairs(
                conn, self.link_id, self.user_id, [p for p in pairs if p[0] not in paired_a]
            )
            twice = [("b", b) for a, b in pairs if a in paired_a]
            await stored.add_misses(conn, self.link_id, self.user_id, twice, now)

    async def cross(self, side: Side, unique: list[ProviderTrack], now: datetime) -> None:
        """Pair ``side``'s tracks with the other end's: the library adopts a provider's track as it is;
        a provider's catalog is searched with the transfers' pipeline, a page at a time."""
        other: Side = "b" if side == "a" else "a"
        target, source = self.ends[other], self.ends[side]
        self.failing = other
        paired_a: set[str] = set()
        if side == "b":
            async with self.rt.pool.acquire() as conn:
                paired_a = set(await stored.pairs(conn, self.link_id))
        if isinstance(target, LibraryEnd):
            adopted = zip(unique, await target.adopt(unique), strict=True)
            await self.keep_pairs(
                [(t.id or "", i) if side == "a" else (i, t.id or "") for t, i in adopted], paired_a, now
            )
            return
        if isinstance(source, LibraryEnd):
            # A library track that carries the other end's id is that track: no search.
            direct, unique = source.carrying(unique)
            pairs = [(i, o) if side == "a" else (o, i) for i, o in direct]
            await self.keep_pairs(pairs, paired_a, now)
            paired_a |= {a for a, _ in pairs}
        matcher: TrackMatcher[int] = TrackMatcher(self.rt, self.user_id, self.run_id, target.adapter)
        page_size = provider_sync_settings(self.rt.settings).transfer_page
        for start in range(0, len(unique), page_size):
            page = unique[start : start + page_size]
            sources = [source.source(t) for t in page]
            results = await matcher.match_page([(i, s, source_key(s)) for i, s in enumerate(sources)])
            matched_events, missed_events = matcher.take_events()
            found: list[tuple[str, str]] = []
            misses: list[tuple[str, str]] = []
            for i, r in sorted(results.items()):
                ident = page[i].id or ""
                if r.status is Status.MATCHED and r.target_id:
                    if side == "a":
                        found.append((ident, r.target_id))
                    elif r.target_id not in paired_a:
                        found.append((r.target_id, ident))
                        paired_a.add(r.target_id)
                    else:
                        # b holds that song under two ids, and a pair joins one a id with one b id: this
                        # one stays on b, reported, and is not searched again each run.
                        misses.append((side, ident))
                elif not (r.reason or "").startswith(REFUSED_SEARCH):
                    # Decided and not found (a refused search stays undecided): not looked for a while.
                    misses.append((side, ident))
            async with self.rt.transaction() as conn:
                await stored.add_pairs(
                    conn, self.link_id, self.user_id, [(a, b) for a, b in found if a and b]
                )
                await stored.add_misses(conn, self.link_id, self.user_id, misses, now)
                for event in matched_events:
                    await self.rt.emit(conn, "track.matched", str(self.run_id), event)
                for missed in missed_events:
                    await self.rt.emit(conn, "track.not_found", str(self.run_id), missed)
            matcher.raise_held()

    async def brake(self, a: EndPlan, b: EndPlan) -> None:
        """Stop before writing when an end would lose more than the link's share; the owner's
        confirmation covers the removals it was shown, not a re-planned run that would remove more."""
        share = float(self.link["max_removal_share"])
        removals = {"a": len(a.removed), "b": len(b.removed)}
        async with self.rt.pool.acquire() as conn:
            row = await stored.run(conn, self.run_id)
        assert row is not None
        shown = from_json_column(row["braked"]) or {}
        if row["confirmed"] and all(removals[side] <= int(shown.get(side, 0)) for side in removals):
            return
        planned: tuple[tuple[Side, EndPlan], ...] = (("a", a), ("b", b))
        for side, end in planned:
            if over_brake(end, share):
                async with self.rt.transaction() as conn:
                    await stored.braked(conn, self.run_id, removals)
                title = self.ends[side].title
                message = (
                    f"this run would remove {len(end.removed)} of the {len(end.current)} tracks of the {title} "
                    f"playlist (more than {share:.0%}): confirm it (POST /api/v1/sync/runs/{self.run_id}/confirm) "
                    "or undo the change"
                )
                raise JobPaused(confirm_waiting_for(self.run_id), "removal-brake", message)

    # -- an undo

    async def undo(self) -> dict[str, Any]:
        """Each end the undone run changed goes back to how that run found it, merged with what the owner
        changed there since (a three-way merge per entry: the run's own additions, removals and moves are
        reverted, the owner's later ones kept); an end the run left alone is not touched."""
        async with self.rt.pool.acquire() as conn:
            undone = await stored.run(conn, self.run["undo_of"])
        assert undone is not None
        report: dict[str, Any] = {"changed": False, "not_restored": []}
        for side in ("a", "b"):
            before: list[str | None] = from_json_column(undone[f"before_{side}"]) or []
            after: list[str | None] | None = from_json_column(undone[f"after_{side}"])
            current = await self.read(side)
            now = [t.id for t in current]
            if after is None or after == before:  # the run did not change this end
                report[side] = id_changes(now, now, 0)
                continue
            want = restored_ids(before, after, now)
            if want == [i for i in now if i is not None]:
                report[side] = id_changes(now, now, 0)
                continue
            moved = await self.write(side, with_locals(want, now), current)
            read_back = [t.id for t in await self.read(side)]
            report[side] = id_changes(now, read_back, moved)
            missing = Counter(want) - Counter(i for i in read_back if i)
            report["not_restored"] += [{"side": side, "track_id": i} for i in missing.elements()]
            report["changed"] = True
        marker_a, marker_b = await asyncio.gather(self.marker("a"), self.marker("b"))
        markers = {"a": marker_a, "b": marker_b}
        async with self.rt.transaction() as conn:
            await stored.restore_base(
                conn,
                self.link_id,
                from_json_column(undone["base_before"]),
                markers["a"],
                markers["b"],
                datetime.now(UTC),
            )
        return report

    # -- ending

    async def finish(self, report: dict[str, Any], calls: Counter[str]) -> dict[str, Any]:
        report = {**report, "calls": dict(calls)}
        zero = {"added": 0, "removed": 0, "moved": 0}
        a, b = report.get("a", zero), report.get("b", zero)
        async with self.rt.transaction() as conn:
            await stored.save_report(conn, self.run_id, report)
            done = SyncRunCompleted(
                run_id=self.run_id,
                link_id=self.link_id,
                user_id=self.user_id,
                kind=self.kind,
                changed=bool(report.get("changed")),
                a=SideChanges(added=a["added"], removed=a["removed"], moved=a["moved"]),
                b=SideChanges(added=b["added"], removed=b["removed"], moved=b["moved"]),
                conflicts=len(report.get("conflicts", [])),
                unmatched=len(report.get("unmatched", [])),
                completed_at=datetime.now(UTC),
            )
            await self.rt.emit(conn, "sync.run_completed", str(self.link_id), done)
        counts = ("added", "removed", "moved")
        return {
            "link_id": str(self.link_id),
            "kind": self.kind,
            "changed": done.changed,
            "a": {k: a[k] for k in counts},
            "b": {k: b[k] for k in counts},
            "conflicts": done.conflicts,
            "unmatched": done.unmatched,
            "calls": dict(calls),
        }

    async def fail(self, code: str, message: str) -> NoReturn:
        await self.failed_event(code, message)
        raise JobFailed(code, message[:1000])

    async def failed_event(self, code: str, message: str) -> None:
        """The link keeps its last good state; a scheduled one is tried again after a backoff."""
        message = message[:1000]
        now = datetime.now(UTC)
        every = self.link["every_minutes"]
        async with self.rt.transaction() as conn:
            failures = int(self.link["failures"]) + 1
            retry = now + _backoff(int(every), failures) if every is not None else None
            if self.kind == "sync":
                await stored.record_failure(conn, self.link_id, message, retry, now)
            await stored.save_report(
                conn, self.run_id, {"changed": None, "error": {"code": code, "message": message}}
            )
            failed = SyncRunFailed(
                run_id=self.run_id,
                link_id=self.link_id,
                user_id=self.user_id,
                kind=self.kind,
                code=code,
                message=message,
                failed_at=now,
            )
            await self.rt.emit(conn, "sync.run_failed", str(self.link_id), failed)


async def run_sync(ctx: JobContext) -> dict[str, Any]:
    """The jobs ``sync.run`` and ``sync.undo``."""
    rt = ctx.runtime
    async with rt.pool.acquire() as conn:
        run = await stored.run(conn, ctx.job.id)
        link = await stored.link(conn, uuid.UUID(ctx.params["link_id"]))
    if run is None or link is None:
        raise JobFailed("link-deleted", "the sync link was deleted")
    job = _Run(ctx, link, run)
    with counting_calls() as calls:
        try:
            report = await _attempts(job, run["kind"])
        except PartialWrite as error:
            await _stopped(job, error.cause if error.cause is not None else error)
        except ProviderError as error:
            await _stopped(job, error)
        except LibraryPlaylistGone:
            await job.fail("playlist-gone", "the library playlist of this link was deleted")
        except LibraryWriteRefused as error:
            await job.fail("library-refused", f"the library refused the sync: {error.detail}")
        except LibraryPlaylistChanged:
            await job.fail("library-busy", "the library playlist kept changing while the run wrote it")
        except PeerUnavailable as error:
            await job.fail("library-unavailable", f"the library cannot be reached now ({error})")
        except (JobPaused, JobFailed, JobCancelled, asyncio.CancelledError):
            raise
        except Exception as error:
            await job.failed_event("internal-error", type(error).__name__)
            raise
    return await job.finish(report, calls)


async def _attempts(job: _Run, kind: str) -> dict[str, Any]:
    """The run, planned again when the owner edited a library end between its read and its write."""
    for _ in range(LIBRARY_ATTEMPTS - 1):
        try:
            return await (job.sync() if kind == "sync" else job.undo())
        except LibraryPlaylistChanged:
            logger.info("sync run {}: the library playlist changed while writing; planned again", job.run_id)
    return await (job.sync() if kind == "sync" else job.undo())


async def _same(value: list[ProviderTrack]) -> list[ProviderTrack]:
    return value


async def _stopped(job: _Run, error: ProviderError) -> NoReturn:
    # The provider that refused (both ends are read at once); else the end last asked.
    provider = (
        error.provider if error.provider is not None and error.provider in job.providers.values() else None
    )
    provider = provider or job.providers.get(job.failing) or next(iter(job.providers.values()))
    decided = pause_for(provider, error, datetime.now(UTC), job="sync")
    if decided is not None:
        raise JobPaused(decided.waiting_for, decided.code, decided.message, decided.resume_at)
    await job.fail("provider-error", f"{PROVIDER_TITLES[provider]} refused the sync: {error}")
