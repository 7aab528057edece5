"""The enrichment of the canonical recordings (docs/enrichment.md): a worker beside the service that keeps
every recording's enrichment (domain/enrichment.py) up to date and tells the libraries
(``track.enriched``, through the outbox) when it changed.

It works in two stages, each its own loop, so that the services' descriptions are never held up by
MusicBrainz's one call per second:

- **the fill** takes a batch of due recordings (never enriched, or whose tracks or ISRCs changed since,
  or whose MusicBrainz answer just arrived), locked ``FOR UPDATE SKIP LOCKED`` so replicas share the
  batches, computes each enrichment from the seen tracks and the MusicBrainz answer already stored (no
  network), stores it and emits ``track.enriched`` in the same transaction when it changed;
- **the lookups** claim a batch of recordings whose ISRC MusicBrainz was not asked about yet (a lease,
  committed at once: no row stays locked while MusicBrainz answers), ask MusicBrainz once per distinct
  ISRC (its client keeps the deployment to one call per second and caches answers in Redis), store each
  answer and hand the recordings back to the fill. MusicBrainz unavailable: the recordings wait with a
  doubling backoff and are asked again later; nothing is lost.

Neither stage runs in an event handler: event consumption never waits for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from loguru import logger

from pm_enrichment.domain.enrichment import MbAnswer, MbCandidate, enrich, worth_telling
from pm_enrichment.settings import EnrichmentSettings, enrichment_settings
from pm_enrichment.storage import enrichment as enrichment_sql
from pm_enrichment.storage.enrichment import Computed, RecordingTracks
from pm_platform.resources import ResourceKey
from pm_platform.service import Runtime
from pm_platform.tasks import cancel_and_wait
from pm_providers import MusicBrainz, ProviderMetrics, Providers
from pm_providers.errors import ProviderError

# A claimed lookup is the claimer's this long at least: the batch's lookups take about a second each
# (more while other replicas share MusicBrainz's second, and Retry-After waits), and a claim of a worker
# that died expires after it.
LOOKUP_LEASE_MIN = timedelta(minutes=15)
LOOKUP_LEASE_PER_RECORDING = timedelta(seconds=30)
# The smallest step between two enriched_at of one recording: the events' order by enriched_at holds even
# when two replicas' clocks disagree.
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class FillPass:
    """One batch of the fill: recordings taken, events emitted, and recordings whose ISRC MusicBrainz
    has not answered yet (work for the lookups)."""

    taken: int = 0
    told: int = 0
    lookups_wanted: int = 0


@dataclass(frozen=True)
class LookupPass:
    """One batch of lookups: recordings claimed, distinct ISRCs asked (answers from the cache included),
    recordings given an answer, recordings left to retry later, and the error that stopped the batch."""

    claimed: int = 0
    isrcs: int = 0
    answered: int = 0
    postponed: int = 0
    error: ProviderError | None = None


class EnrichmentWorker:
    """The two stages (:meth:`fill_due`, :meth:`look_up_due`: one batch each, safe to call from several
    tasks or replicas at once) and the loops that repeat them (:meth:`run`).

    ``musicbrainz`` None: no lookups (the fill still runs)."""

    def __init__(
        self,
        rt: Runtime,
        settings: EnrichmentSettings,
        musicbrainz: MusicBrainz | None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.rt = rt
        self.settings = settings
        self.musicbrainz = musicbrainz
        self.clock = clock
        self._fill_wanted = asyncio.Event()
        self._lookups_wanted = asyncio.Event()

    # -- the fill

    async def fill_due(self) -> FillPass:
        """Enrich one batch of due recordings (at most ENRICHMENT_BATCH) in one transaction: each
        enrichment stored, and ``track.enriched`` emitted with it when it changed. No network; rows
        another transaction holds are skipped, never waited for."""
        async with self.rt.transaction() as conn:
            due = await enrichment_sql.take_due(conn, self.settings.enrichment_batch)
            if not due:
                return FillPass()
            tracks = await enrichment_sql.tracks_of(conn, [d.id for d in due])
            now = self.clock()
            computed: list[Computed] = []
            told = wanted = 0
            for recording in due:
                of = tracks.get(recording.id, RecordingTracks([], []))
                enrichment = enrich(of.tracks, of.seen, recording.musicbrainz)
                enriched_at = None
                event = (
                    enrichment.event(recording.id, now)
                    if worth_telling(recording.previous, enrichment)
                    else None
                )
                if event is not None:
                    if recording.enriched_at is not None and event.enriched_at <= recording.enriched_at:
                        event = event.model_copy(update={"enriched_at": recording.enriched_at + _TICK})
                    await self.rt.emit(conn, "track.enriched", str(recording.id), event)
                    enriched_at = event.enriched_at
                    told += 1
                isrc = enrichment.isrc.value if enrichment.isrc else None
                if isrc is not None and (recording.musicbrainz is None or recording.musicbrainz.isrc != isrc):
                    wanted += 1
                computed.append(Computed(recording.id, enrichment, recording.updated_at, enriched_at))
            await enrichment_sql.store_enrichments(conn, computed)
        return FillPass(taken=len(due), told=told, lookups_wanted=wanted)

    # -- the lookups

    async def look_up_due(self) -> LookupPass:
        """Ask MusicBrainz about one batch of recordings (at most ENRICHMENT_LOOKUP_BATCH) whose ISRC it
        was not asked about: once per distinct ISRC, each answer stored as it comes (the recordings are
        then due for the fill). May block for about a second a lookup (MusicBrainz's pace, shared by the
        deployment); holds no row lock meanwhile. When MusicBrainz fails (after its client's retries) the
        batch stops: that ISRC's recordings back off (ENRICHMENT_LOOKUP_RETRY_S, doubling), the rest are
        due again after the first backoff; both are asked again then."""
        if self.musicbrainz is None:
            return LookupPass()
        now = self.clock()
        batch = self.settings.enrichment_lookup_batch
        lease = max(LOOKUP_LEASE_MIN, LOOKUP_LEASE_PER_RECORDING * batch)
        async with self.rt.transaction() as conn:
            claimed = await enrichment_sql.claim_lookups(conn, now, batch, now + lease)
        by_isrc: dict[str, list[uuid.UUID]] = defaultdict(list)
        for recording_id, isrc in claimed:
            by_isrc[isrc].append(recording_id)
        pending = sorted(by_isrc.items())
        asked = answered = 0
        while pending:
            isrc, ids = pending[0]
            try:
                found = await self.musicbrainz.recordings_by_isrc(isrc)
            except ProviderError as error:
                postponed = await self._postpone(pending)
                log = logger.warning if error.retryable else logger.error
                log(
                    "enrichment: MusicBrainz lookup of {} failed ({}: {}); {} recording(s) asked again later",
                    isrc,
                    type(error).__name__,
                    error,
                    postponed,
                )
                return LookupPass(len(claimed), asked, answered, postponed, error)
            except ValueError:
                found = []  # not an ISRC to MusicBrainz: it knows no recording of it
            asked += 1
            answer = MbAnswer(
                isrc, tuple(c for r in found if (c := MbCandidate.from_recording(r)) is not None)
            )
            async with self.rt.transaction() as conn:
                answered += await enrichment_sql.store_answer(conn, ids, answer)
            pending.pop(0)
        return LookupPass(len(claimed), asked, answered)

    async def _postpone(self, pending: list[tuple[str, list[uuid.UUID]]]) -> int:
        """The first pending ISRC failed: its recordings back off; the others were not asked and are
        released until the first backoff ends."""
        now = self.clock()
        retry = timedelta(seconds=self.settings.enrichment_lookup_retry_s)
        (failed_isrc, failed_ids), *rest = pending
        async with self.rt.transaction() as conn:
            await enrichment_sql.lookup_failed(
                conn, failed_ids, failed_isrc, now, self.settings.enrichment_lookup_retry_s
            )
            for isrc, ids in rest:
                await enrichment_sql.release_claims(conn, ids, isrc, now + retry)
        return sum(len(ids) for _, ids in pending)

    # -- the loops

    async def run(self) -> None:
        """Both stages, each in its own loop, until cancelled. A stage repeats at once while it finds
        work, else waits ENRICHMENT_INTERVAL_S or until the other stage hands it some (the fill: ISRCs
        to look up; the lookups: answers to fill in). The stages called directly wake nobody."""

        async def fill() -> bool:
            done = await self.fill_due()
            if done.lookups_wanted:
                self._lookups_wanted.set()
            return done.taken > 0

        async def lookups() -> bool:
            done = await self.look_up_due()
            if done.answered:
                self._fill_wanted.set()
            return done.claimed > 0 and done.error is None

        async with asyncio.TaskGroup() as group:
            group.create_task(self._loop("fill", fill, self._fill_wanted))
            if self.musicbrainz is not None:
                group.create_task(self._loop("lookups", lookups, self._lookups_wanted))

    async def _loop(self, name: str, step: Callable[[], Awaitable[bool]], wanted: asyncio.Event) -> None:
        # The first round after one interval: the service starts its consumers first.
        busy = False
        while True:
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wanted.wait(), self.settings.enrichment_interval_s)
            wanted.clear()
            try:
                busy = await step()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - the database may be away: the next round tries again
                logger.warning("enrichment {}: {}: {}", name, type(error).__name__, error)
                busy = False


WORKER = ResourceKey("enrichment_worker", EnrichmentWorker)


async def worker(rt: Runtime) -> AsyncIterator[None]:
    """The enrichment worker beside the service (a resource), with MusicBrainz's client over the
    providers' session and Redis limiter (its calls on the service's ``/metrics``), as ``rt[WORKER]``."""
    settings = enrichment_settings(rt.settings)
    async with Providers(settings, rt.redis, metrics=ProviderMetrics(rt.metrics.registry)) as providers:
        enrichment_worker = EnrichmentWorker(rt, settings, providers.musicbrainz())
        rt[WORKER] = enrichment_worker
        task = asyncio.create_task(enrichment_worker.run(), name="enrichment-worker")
        try:
            yield
        finally:
            await cancel_and_wait(task)
            del rt[WORKER]
