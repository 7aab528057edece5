"""Transfers: copy library playlists (a provider's whole library, its liked songs, or chosen playlists)
to another service, as the job ``transfer.run``.

- :func:`request_transfer` (``POST /api/v1/transfers``): the job, refused (422) when the target is not
  linked; ``transfer.requested``.
- :func:`apply_transfer` (``POST /api/v1/transfers/{id}/apply``): a succeeded dry run's results with the
  user's picks become a new job that writes; each pick becomes the user's own mapping for that track.
- :func:`run_transfer`, the job, in three stages that each resume from the rows they leave
  (storage/transfers.py), so a job stopped anywhere (a crash, ``kill -9``, a pause) goes on where it was:

  1. *read*: the source playlists from the library (the playlist service's internal reads), every
     track stored pending;
  2. *match*, a page of tracks at a time: the user's own mappings, then the shared match cache (one
     batched lookup: a track, or "known absent" when nobody's search found it there lately), then the
     target's ISRC lookup (batched where the target takes several ISRCs), then a search scored by the
     matcher (pm_matching); the page's results commit together with a ``track.matched`` event for each
     confident automatic match and a ``track.not_found`` for each definitive miss (the cache learns
     both);
  3. *write* (not in a dry run): per source playlist one target playlist, or numbered parts when the
     target allows fewer tracks; before writing, a part that may hold some of its tracks already is read
     back and resumes after them; at the end every part is read back and compared with what it should
     hold (and repaired once when it differs).

  A revoked link, a used-up quota (YouTube) or a long Retry-After pauses the job until the link, the
  reset or the wait's end; a provider or service that stays unavailable pauses it for a minute.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

from loguru import logger

from pm_contracts.providers import ProviderName
from pm_contracts.transfers import (
    TransferCompleted,
    TransferFailed,
    TransferRequested,
)
from pm_matching import ExplicitPreference
from pm_platform.db import from_json_column, lock_until_commit
from pm_platform.errors import NotFound, ValidationFailed
from pm_platform.internal import LibraryPlaylistGone, PeerUnavailable
from pm_platform.jobs import Job, JobCancelled, JobContext, JobFailed, JobNotFound, JobPaused
from pm_platform.service import Runtime
from pm_provider_sync.domain.pauses import PROVIDER_TITLES, pause_for
from pm_provider_sync.domain.transfers import (
    TRANSFER_JOB,
    ApplyRequest,
    PlannedPart,
    SourceTrack,
    Status,
    TransferRequest,
    already_written,
    marker,
    plan_parts,
    progress,
    source_key,
    youtube_days,
)
from pm_provider_sync.errors import ProviderNeedsReconsent, ProviderNotLinked
from pm_provider_sync.resources import SERVICES, counting_calls
from pm_provider_sync.settings import provider_sync_settings
from pm_provider_sync.storage import transfers as stored
from pm_provider_sync.storage.links import link_statuses
from pm_provider_sync.usecases.matching import TrackMatcher
from pm_provider_sync.usecases.provider_calls import close_pages, patiently, user_adapter
from pm_providers import ProviderAdapter, ProviderTrack
from pm_providers.adapters.youtube import WRITE_UNITS
from pm_providers.errors import (
    Forbidden,
    InvalidRequest,
    PartialWrite,
    ProviderError,
    ProviderUnavailable,
)
from pm_providers.errors import NotFound as ProviderNotFound

# A provider or service unavailable beyond the adapter's retries: the job waits this long, this many
# times in a row at most, then fails.
UNAVAILABLE_PAUSE = timedelta(minutes=1)
MAX_UNAVAILABLE_PAUSES = 30

# ---- requests ------------------------------------------------------------------------------------------


async def request_transfer(rt: Runtime, user_id: uuid.UUID, request: TransferRequest) -> Job:
    target = ProviderName(request.target.provider)
    async with rt.transaction() as conn:
        status = (await link_statuses(conn, user_id)).get(target.value)
        if status is None:
            raise ProviderNotLinked(f"{PROVIDER_TITLES[target]} is not linked", provider=target.value)
        if status != "linked":
            raise ProviderNeedsReconsent(
                f"{PROVIDER_TITLES[target]} has to be linked again before a transfer", provider=target.value
            )
        job = await rt.jobs.create(conn, TRANSFER_JOB, user_id, {"request": request.model_dump(mode="json")})
        await _requested(rt, conn, job, request)
        return job


async def _requested(rt: Runtime, conn: Any, job: Job, request: TransferRequest) -> None:
    assert job.user_id is not None
    event = TransferRequested(
        job_id=job.id,
        user_id=job.user_id,
        target=request.target.provider,
        playlists=len(request.source.playlists or ()),
        dry_run=request.dry_run,
        requested_at=datetime.now(UTC),
    )
    await rt.emit(conn, "transfer.requested", str(job.id), event)


async def transfer_job(rt: Runtime, user_id: uuid.UUID, job_id: uuid.UUID | None) -> Job:
    """The user's transfer job (another user's, or none, is the same 404)."""
    if job_id is not None:
        async with rt.pool.acquire() as conn:
            try:
                job = await rt.jobs.get(conn, job_id)
            except JobNotFound:
                raise NotFound("no such transfer") from None
        if job.user_id == user_id and job.kind == TRANSFER_JOB:
            return job
    raise NotFound("no such transfer")


async def list_transfers(
    rt: Runtime, user_id: uuid.UUID, limit: int, before: tuple[datetime, uuid.UUID] | None
) -> list[Job]:
    """The user's transfers, newest first, after ``before`` (a page's last: created_at, id)."""
    async with rt.pool.acquire() as conn:
        return await rt.jobs.list_for_user(conn, user_id, limit, kind=TRANSFER_JOB, before=before)


async def transfer_view(rt: Runtime, job: Job) -> dict[str, Any]:
    """The job, its request and its target playlists so far."""
    async with rt.pool.acquire() as conn:
        parts = await stored.all_parts(conn, job.id)
        counted = await stored.counts(conn, job.id)
    return {
        "job": job.to_event(rt.name).model_dump(mode="json"),
        "request": job.params.get("request"),
        "applies": job.params.get("from_job"),
        "counts": counted,
        "parts": [
            {
                "playlist": p["playlist_index"],
                "part": p["part"],
                "name": p["name"],
                "target_playlist_id": p["target_playlist_id"],
                "tracks": p["tracks"],
                "verified": p["verified"],
            }
            for p in parts
        ],
    }


async def track_results(
    rt: Runtime, job: Job, statuses: Sequence[str] | None, offset: int, limit: int
) -> list[dict[str, Any]]:
    async with rt.pool.acquire() as conn:
        return await stored.tracks(conn, job.id, statuses, offset, limit)


NOT_WRITTEN = (Status.REVIEW.value, Status.NOT_MATCHED.value, Status.UNAVAILABLE.value, Status.SKIPPED.value)


async def not_found_report(rt: Runtime, job: Job) -> list[dict[str, Any]]:
    """Every track the transfer did not (or, in a dry run, would not) write, with reason and candidates."""
    async with rt.pool.acquire() as conn:
        return await stored.tracks(conn, job.id, NOT_WRITTEN, 0, 10_000_000)


async def apply_transfer(rt: Runtime, user_id: uuid.UUID, job: Job, body: ApplyRequest) -> Job:
    """A succeeded dry run, with the user's picks, becomes a transfer that writes."""
    request = TransferRequest.model_validate(job.params["request"])
    if not request.dry_run or job.state != "succeeded":
        raise ValidationFailed("only a dry run that succeeded can be applied")
    target = request.target.provider
    applied = request.model_copy(update={"dry_run": False})
    picks = {(c.playlist, c.position): (c.target_id if not c.skip else None) for c in body.choices}
    async with rt.transaction() as conn:
        # Applied once: a repeated apply (a double click, a retry after a lost answer) answers the job
        # that applies it, and never writes the playlists twice.
        await lock_until_commit(conn, f"transfer-apply:{job.id}")
        earlier = await stored.applying_job(conn, TRANSFER_JOB, job.id)
        if earlier is not None:
            return await rt.jobs.get(conn, earlier)
        new = await rt.jobs.create(
            conn, TRANSFER_JOB, user_id, {"request": applied.model_dump(mode="json"), "from_job": str(job.id)}
        )
        await stored.copy_results(conn, job.id, new.id)
        keys = await stored.apply_choices(conn, new.id, [(i, p, t) for (i, p), t in picks.items()])
        unknown = [pair for pair in picks if pair not in keys]
        if unknown:
            raise ValidationFailed(
                "a choice names a track the dry run does not have",
                errors=[
                    {
                        "field": "choices",
                        "message": f"no track at playlist {i}, position {p}",
                        "type": "value_error",
                    }
                    for i, p in unknown[:20]
                ],
            )
        chosen = [(keys[pair], target_id) for pair, target_id in picks.items()]
        await stored.remember_mappings(conn, user_id, target, chosen, datetime.now(UTC))
        await _requested(rt, conn, new, applied)
        return new


# ---- the job -------------------------------------------------------------------------------------------


async def run_transfer(ctx: JobContext) -> dict[str, Any]:
    rt = ctx.runtime
    job = ctx.job
    assert job.user_id is not None, "a transfer belongs to a user"
    request = TransferRequest.model_validate(ctx.params["request"])
    target = ProviderName(request.target.provider)
    calls_before: dict[str, int] = dict(ctx.checkpoint.get("calls", {}))
    run = _Run(ctx, rt, job.user_id, request, target)
    with counting_calls() as calls:
        try:
            await run.check_target()
            await run.read_sources()
            await run.match()
            await run.drop_duplicates()
            if not request.dry_run:
                await run.write()
            result = await run.result(
                {k: calls_before.get(k, 0) + calls.get(k, 0) for k in {*calls_before, *calls}}
            )
        except ProviderError as error:
            await run.save_calls(calls_before, calls)
            cause = error.cause if isinstance(error, PartialWrite) and error.cause is not None else error
            await run.stop(cause)
            raise AssertionError("unreachable") from None
        except PeerUnavailable as error:
            await run.save_calls(calls_before, calls)
            await run.unavailable(str(error))
            raise AssertionError("unreachable") from None
        except (JobPaused, JobFailed, JobCancelled, asyncio.CancelledError):
            raise
        except Exception as error:
            await run.failed_event("internal-error", type(error).__name__)
            raise
    async with rt.transaction() as conn:
        completed = TransferCompleted(
            job_id=job.id,
            user_id=job.user_id,
            target=target,
            dry_run=request.dry_run,
            tracks=result["tracks"],
            matched=result["matched"],
            not_matched=result["tracks"] - result["matched"],
            written=result["written"],
            completed_at=datetime.now(UTC),
        )
        await rt.emit(conn, "transfer.completed", str(job.id), completed)
    return result


class _Run:
    """One run of a transfer job (a resumed job is a new run from the same rows)."""

    def __init__(
        self, ctx: JobContext, rt: Runtime, user_id: uuid.UUID, request: TransferRequest, target: ProviderName
    ) -> None:
        self.ctx, self.rt, self.user_id, self.request, self.target = ctx, rt, user_id, request, target
        self.job_id = ctx.job.id
        self.adapter: ProviderAdapter = user_adapter(rt, user_id, target)
        self.settings = provider_sync_settings(rt.settings)
        self.matcher: TrackMatcher[tuple[int, int]] = TrackMatcher(
            rt, user_id, self.job_id, self.adapter, ExplicitPreference(request.explicit)
        )

    # -- stopping

    async def save_calls(self, before: dict[str, int], now: Any) -> None:
        """The provider calls of every run so far (the result reports the job's total)."""
        await self._checkpoint(calls={k: before.get(k, 0) + now.get(k, 0) for k in {*before, *now}})

    async def stop(self, error: ProviderError) -> NoReturn:
        decided_pause = pause_for(self.target, error, datetime.now(UTC), job="transfer")
        if decided_pause is not None:
            logger.info("transfer {}: paused ({})", self.job_id, decided_pause.code)
            raise JobPaused(
                decided_pause.waiting_for, decided_pause.code, decided_pause.message, decided_pause.resume_at
            )
        if isinstance(error, ProviderUnavailable):
            await self.unavailable(f"{PROVIDER_TITLES[self.target]} cannot be reached now")
        await self._failed("provider-error", f"{PROVIDER_TITLES[self.target]} refused the transfer: {error}")

    async def unavailable(self, message: str) -> NoReturn:
        pauses = int(self.ctx.checkpoint.get("unavailable_pauses", 0)) + 1
        if pauses > MAX_UNAVAILABLE_PAUSES:
            await self._failed("unavailable", f"{message}; gave up after {MAX_UNAVAILABLE_PAUSES} tries")
        await self._checkpoint(unavailable_pauses=pauses)
        resume_at = datetime.now(UTC) + UNAVAILABLE_PAUSE
        raise JobPaused(
            f"unavailable:{self.job_id}",
            "unavailable",
            f"{message}: the transfer goes on by itself at {resume_at:%Y-%m-%d %H:%M:%S} UTC",
            resume_at,
        )

    async def _failed(self, code: str, message: str) -> NoReturn:
        await self.failed_event(code, message)
        raise JobFailed(code, message[:1000], retryable=code == "unavailable")

    async def failed_event(self, code: str, message: str) -> None:
        message = message[:1000]
        async with self.rt.transaction() as conn:
            failed = TransferFailed(
                job_id=self.job_id,
                user_id=self.user_id,
                target=self.target,
                code=code,
                message=message,
                failed_at=datetime.now(UTC),
            )
            await self.rt.emit(conn, "transfer.failed", str(self.job_id), failed)

    # -- 0. the target playlist, when it exists already

    async def check_target(self) -> None:
        """A playlist to append to or replace is looked at before anything is matched: one that is not
        there fails the job at once (not after a search for every track), and so does one the provider
        says is someone else's and not collaborative."""
        playlist_id = self.request.target.playlist_id
        if playlist_id is None or self.ctx.checkpoint.get("target_checked"):
            return
        title = PROVIDER_TITLES[self.target]
        try:
            await patiently(self.adapter.current_user)  # so that the playlist says whose it is
            found = await patiently(functools.partial(self.adapter.playlist, playlist_id))
        except (ProviderNotFound, Forbidden, InvalidRequest):
            await self._failed(
                "target-not-found", f"the {title} playlist {playlist_id} is not there, or not this account's"
            )
        if found.is_owner is False and found.collaborative is False:
            await self._failed(
                "target-not-writable",
                f"the {title} playlist {playlist_id} is someone else's: it cannot be changed",
            )
        await self._checkpoint(target_checked=True)

    # -- 1. read the sources

    async def read_sources(self) -> None:
        if self.ctx.checkpoint.get("read") or self.ctx.params.get("from_job"):
            return
        clients = self.rt[SERVICES]
        sources: list[str] | None = self.ctx.checkpoint.get("sources")
        if sources is None:
            if self.request.source.playlists is not None:
                sources = [str(p) for p in self.request.source.playlists]
            else:
                kind = {"all": None, "playlists": "playlist", "liked": "liked"}[
                    self.request.source.collections
                ]
                listed = await clients.library.playlists(
                    self.user_id, provider=self.request.source.provider, collection=kind
                )
                sources = [p["id"] for p in listed]
            if not sources:
                await self._failed("nothing-to-transfer", "no playlist to transfer: import the library first")
            await self._checkpoint(sources=sources)
        async with self.rt.pool.acquire() as conn:
            done = {row["playlist_index"] for row in await stored.planned(conn, self.job_id)}
        for index, playlist_id in enumerate(sources):
            await self.ctx.progress(progress("reading", index, len(sources)), f"reading playlist {index + 1}")
            if index in done:
                continue
            read = await self._read_playlist(uuid.UUID(playlist_id))
            if read is None:
                continue  # it left the library since it was listed: nothing to transfer
            name, tracks = read
            async with self.rt.transaction() as conn:
                await stored.add_source(
                    conn, self.job_id, self.user_id, index, uuid.UUID(playlist_id), name, tracks
                )
        await self._checkpoint(read=True)

    async def _read_playlist(
        self, playlist_id: uuid.UUID
    ) -> tuple[str, list[tuple[SourceTrack, str]]] | None:
        name = ""
        tracks: list[tuple[SourceTrack, str]] = []
        try:
            async for playlist, items in self.rt[SERVICES].library.entries(self.user_id, playlist_id):
                name = str(playlist.get("name") or "")
                for entry in items:
                    track = SourceTrack.from_api(entry.get("track") or {})
                    tracks.append((track, source_key(track)))
        except LibraryPlaylistGone:
            if self.request.source.playlists is not None:
                await self._failed("source-not-found", f"playlist {playlist_id} is not in your library")
            logger.info("transfer {}: playlist {} left the library; skipped", self.job_id, playlist_id)
            return None
        return name, tracks

    async def _checkpoint(self, **values: Any) -> None:
        async with self.rt.transaction() as conn:
            current = (await self.rt.jobs.get(conn, self.job_id)).checkpoint or {}
            checkpoint = {**current, **values}
            await self.rt.jobs.save_checkpoint(conn, self.job_id, checkpoint)
        self.ctx.job = dataclasses.replace(self.ctx.job, checkpoint=checkpoint)

    # -- 2. match

    async def match(self) -> None:
        page_size = self.settings.transfer_page
        async with self.rt.pool.acquire() as conn:
            total = sum((await stored.counts(conn, self.job_id)).values())
        while True:
            async with self.rt.pool.acquire() as conn:
                rows = await stored.pending_page(conn, self.job_id, page_size)
                left = await stored.pending_count(conn, self.job_id)
            if not rows:
                return
            done = total - left
            await self.ctx.progress(progress("matching", done, total), f"matching: {done} of {total} tracks")
            await self._match_page(rows)

    async def _match_page(self, rows: Sequence[Any]) -> None:
        page = [
            (
                (r["playlist_index"], r["position"]),
                SourceTrack.from_json(from_json_column(r["source"])),
                r["source_key"],
            )
            for r in rows
        ]
        results = await self.matcher.match_page(page)
        matched_events, missed_events = self.matcher.take_events()
        async with self.rt.transaction() as conn:
            await stored.save_results(conn, self.job_id, [(i, p, r) for (i, p), r in results.items()])
            for event in matched_events:
                await self.rt.emit(conn, "track.matched", str(self.job_id), event)
            for missed in missed_events:
                await self.rt.emit(conn, "track.not_found", str(self.job_id), missed)
        await self._made_progress()
        self.matcher.raise_held()

    async def _made_progress(self) -> None:
        """Unavailability pauses count in a row: work that committed starts the count again."""
        if self.ctx.checkpoint.get("unavailable_pauses"):
            await self._checkpoint(unavailable_pauses=0)

    async def drop_duplicates(self) -> None:
        """A target that refuses a track twice in a playlist (Deezer) gets each once: the later ones are
        reported as skipped, in the dry run already."""
        if self.adapter.limits.allows_duplicates:
            return
        async with self.rt.transaction() as conn:
            await stored.skip_repeats(
                conn,
                self.job_id,
                f"already in this playlist: {PROVIDER_TITLES[self.target]} holds a track once per playlist",
            )

    # -- 3. write

    async def write(self) -> None:
        async with self.rt.pool.acquire() as conn:
            sources = await stored.planned(conn, self.job_id)
        total = len(sources)
        for number, source in enumerate(sources):
            index = source["playlist_index"]
            await self.ctx.progress(
                progress("writing", number, total), f"writing playlist {number + 1} of {total}"
            )
            async with self.rt.pool.acquire() as conn:
                parts = await stored.parts(conn, self.job_id, index)
                if not parts:
                    ids = await stored.matched_ids(conn, self.job_id, index)
            if not parts:
                await self._plan_parts(index, source["name"], ids)
                async with self.rt.pool.acquire() as conn:
                    parts = await stored.parts(conn, self.job_id, index)
            for part in parts:
                if not part["verified"]:
                    await self._write_part(index, part)

    async def _plan_parts(self, index: int, name: str, ids: list[str]) -> None:
        target = self.request.target
        limits = self.adapter.limits
        if target.mode == "create":
            planned = plan_parts(target.name or name, ids, limits.max_playlist_size, limits.max_name_length)
        else:
            planned = [PlannedPart(1, name, ids)]
        async with self.rt.transaction() as conn:
            await stored.add_parts(conn, self.job_id, self.user_id, index, planned, target.playlist_id)

    async def _write_part(self, index: int, part: Any) -> None:
        ids: list[str] = list(from_json_column(part["track_ids"]))
        number = part["part"]
        playlist_id: str | None = part["target_playlist_id"]
        mode = self.request.target.mode
        fresh = False
        if playlist_id is None:
            if part["creating"]:
                playlist_id = await self._find_created(marker(self.job_id, index, number), part["name"])
            if playlist_id is None:
                await self._update_part(index, number, creating=True)
                created = await patiently(
                    lambda: self.adapter.create_playlist(
                        part["name"], description=marker(self.job_id, index, number), public=False
                    )
                )
                playlist_id, fresh = created.id, True
                await self._update_part(index, number, target_playlist_id=playlist_id, creating=False)
        assert playlist_id is not None
        base = part["base_count"]
        if mode == "replace":
            await patiently(lambda: self.adapter.replace_tracks(playlist_id, ids))
        else:
            current: list[ProviderTrack] = (
                [] if fresh else await patiently(lambda: self.adapter.read_all(playlist_id))
            )
            based = f"base:{index}:{number}"
            if mode == "append" and not self.ctx.checkpoint.get(based):
                # What the target held before this part wrote anything stays first, untouched.
                base = len(current)
                await self._update_part(index, number, base_count=base)
                await self._checkpoint(**{based: True})
            existing = [t.id for t in current]
            if mode == "append" and not self.adapter.limits.allows_duplicates:
                ids = await self._without_held(index, number, existing[:base], ids)
            done = already_written(existing, base, ids)
            if done is None:
                await self._repair(playlist_id, current, base, ids)
            elif done < len(ids):
                await self._add(playlist_id, ids[done:])
            await self._update_part(index, number, written=len(ids))
        await self._verify(index, number, playlist_id, base, ids)

    async def _add(self, playlist_id: str, ids: list[str]) -> None:
        """Append ``ids``, in calls the day's quota allows (YouTube: 50 units an insert): a write that
        cannot fit is refused before anything is sent, so it is cut down; the last one pauses the job."""
        rest = list(ids)
        while rest:
            count = len(rest)
            while count > 1 and await self.adapter.would_exceed(writes=count):
                count //= 2
            batch = rest[:count]
            await patiently(functools.partial(self.adapter.add_tracks, playlist_id, batch))
            rest = rest[count:]

    async def _without_held(
        self, index: int, number: int, held: list[str | None], ids: list[str]
    ) -> list[str]:
        """Appending to a target that holds a track once (Deezer): what it holds already is not added
        again, and reported as skipped."""
        already = {i for i in held if i is not None}
        kept = [i for i in ids if i not in already]
        if len(kept) < len(ids):
            async with self.rt.transaction() as conn:
                await stored.unwritten(
                    conn,
                    self.job_id,
                    index,
                    sorted(already & set(ids)),
                    Status.SKIPPED,
                    "already in the target playlist",
                )
                await stored.update_part(conn, self.job_id, index, number, track_ids=json.dumps(kept))
        return kept

    async def _repair(
        self, playlist_id: str, current: list[ProviderTrack], base: int, ids: list[str]
    ) -> None:
        """Make the target exactly its first ``base`` entries, then ``ids`` (the fewest edits)."""
        wanted = [t.id or "" for t in current[:base]] + ids
        logger.warning(
            "transfer {}: target {} differs from what was written; repairing", self.job_id, playlist_id
        )
        await patiently(lambda: self.adapter.replace_tracks(playlist_id, wanted, current=current))

    async def _verify(self, index: int, number: int, playlist_id: str, base: int, ids: list[str]) -> None:
        """Read the target back: it must hold ``ids`` in order after its base entries. A track the target
        refused (it dropped it on the add) is reported, not retried; anything else differing is repaired
        once."""
        for attempt in range(2):
            current = await patiently(lambda: self.adapter.read_all(playlist_id))
            held = [t.id for t in current[base:]]
            if held == ids:
                break
            held_set = set(held)
            missing = [i for i in ids if i not in held_set]
            missing_set = set(missing)
            if missing and held == [i for i in ids if i not in missing_set]:
                await self._refused(index, missing)
                break
            if attempt == 1:
                await self._failed(
                    "verification-failed",
                    f"the {PROVIDER_TITLES[self.target]} playlist does not hold the transferred tracks in order",
                )
            await self._repair(playlist_id, current, base, ids)
        await self._update_part(index, number, verified=True)
        await self._made_progress()

    async def _refused(self, index: int, missing: list[str]) -> None:
        async with self.rt.transaction() as conn:
            await stored.unwritten(
                conn, self.job_id, index, missing, Status.NOT_MATCHED, "the target refused to add this track"
            )

    async def _find_created(self, reference: str, name: str) -> str | None:
        """The playlist a stopped run created for this part: its description carries the reference. A
        listing without descriptions (Deezer's) is looked into for the playlists of the part's name; one
        of them still empty and undescribed was left half-made (Deezer creates, then describes)."""
        found: list[str] = []
        pages = self.adapter.playlists()
        try:
            async for playlist in pages:
                if playlist.description is not None and playlist.description.endswith(reference):
                    return playlist.id
                if playlist.description is None and playlist.name == name and playlist.is_owner is not False:
                    found.append(playlist.id)
        finally:
            await close_pages(pages)
        for playlist_id in found:
            details = await patiently(functools.partial(self.adapter.playlist, playlist_id))
            if details.description and details.description.endswith(reference):
                return playlist_id
            if not details.description and not details.track_count:
                await patiently(
                    functools.partial(
                        self.adapter.update_details, playlist_id, description=reference, public=False
                    )
                )
                return playlist_id
        return None

    async def _update_part(self, index: int, number: int, **fields: Any) -> None:
        async with self.rt.transaction() as conn:
            await stored.update_part(conn, self.job_id, index, number, **fields)

    # -- the result

    async def result(self, calls: dict[str, int]) -> dict[str, Any]:
        async with self.rt.pool.acquire() as conn:
            counted = await stored.counts(conn, self.job_id)
            methods = await stored.method_counts(conn, self.job_id)
            sources = await stored.planned(conn, self.job_id)
            parts = await stored.all_parts(conn, self.job_id)
            planned: list[dict[str, Any]] = []
            if self.request.dry_run:
                for source in sources:
                    ids = await stored.matched_ids(conn, self.job_id, source["playlist_index"])
                    limits = self.adapter.limits
                    for p in plan_parts(
                        self.request.target.name or source["name"],
                        ids,
                        limits.max_playlist_size,
                        limits.max_name_length,
                    ):
                        planned.append(
                            {
                                "playlist": source["playlist_index"],
                                "part": p.part,
                                "name": p.name,
                                "tracks": len(p.track_ids),
                            }
                        )
        matched = counted.get(Status.MATCHED.value, 0)
        result: dict[str, Any] = {
            "dry_run": self.request.dry_run,
            "target": self.target.value,
            "playlists": len(sources),
            "tracks": sum(counted.values()),
            "matched": matched,
            "review": counted.get(Status.REVIEW.value, 0),
            "not_matched": counted.get(Status.NOT_MATCHED.value, 0),
            "unavailable": counted.get(Status.UNAVAILABLE.value, 0),
            "skipped": counted.get(Status.SKIPPED.value, 0),
            "methods": methods,
            "written": 0 if self.request.dry_run else sum(p["tracks"] for p in parts if p["verified"]),
            "parts": planned
            if self.request.dry_run
            else [
                {
                    "playlist": p["playlist_index"],
                    "part": p["part"],
                    "name": p["name"],
                    "tracks": p["tracks"],
                    "target_playlist_id": p["target_playlist_id"],
                }
                for p in parts
            ],
            "calls": calls,
        }
        if self.target is ProviderName.YOUTUBE:
            quota = self.settings.youtube_quota
            result["days_needed"] = youtube_days(
                matched if self.request.dry_run else 0,
                0,
                quota.units_per_day,
                quota.search_calls_per_day,
                WRITE_UNITS,
            )
        return result
