"""The enrichment worker for real: the service in-process on a throwaway database and Kafka topics of its
own (its events are read back from Kafka, as the libraries get them), MusicBrainz from a provider emulator
started in this process (its own port, state and call counts) through the service's own client (the
stack's Redis, a key prefix of each test's own).

Recordings and seen tracks are written directly (what the catalog's writers leave behind); the worker's
loops are idle (ENRICHMENT_INTERVAL_S=3600) and each test runs the stages itself, except the last one,
which lets the loops do the work."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import redis.asyncio as aioredis

from pm_enrichment.app import definition
from pm_enrichment.domain.metadata import normalise_track
from pm_enrichment.settings import enrichment_settings
from pm_enrichment.usecases.enrichment import WORKER, EnrichmentWorker, FillPass
from pm_platform.service import Runtime
from pm_platform.testing import published_events, running_service
from pm_provider_emulator.settings import EmulatorSettings
from pm_provider_emulator.testing import EmulatorAdmin, started_emulator
from pm_providers.errors import ProviderUnavailable

pytestmark = pytest.mark.integration

AGENT = "PlaylistManagerTests/1.0 ( https://example.org/pm-tests )"
# Well-formed ISRCs in no catalogue: MusicBrainz knows no recording of them.
UNKNOWN = ["ZZ0000000101", "ZZ0000000102", "ZZ0000000103", "ZZ0000000104", "ZZ0000000105", "ZZ0000000106"]
RETRY_S = 60.0


class Emulator(EmulatorAdmin):
    async def musicbrainz_calls(self) -> int:
        return int((await self.admin("GET", "/calls?host=musicbrainz.org"))["total"])

    def known(self, count: int) -> list[Any]:
        """``count`` recordings of the emulator's MusicBrainz with a length, each of its own ISRC."""
        found = [
            recs[0]
            for _, recs in sorted(self.state.catalogs.mb_by_isrc.items())
            if len(recs) == 1 and recs[0].length and len(recs[0].isrcs) == 1
        ]
        return found[:count]


@dataclass(frozen=True)
class Seen:
    """A seen track: a provider's description of one of its tracks."""

    provider: str
    track_id: str
    isrc: str | None = None
    duration_ms: int | None = None
    release_date: date | None = None
    album: str | None = None
    title: str = "Teardrop"


def seen(provider: str, **values: Any) -> Seen:
    return Seen(provider, f"{provider}-{uuid.uuid4().hex[:12]}", **values)


@dataclass
class Enrichment:
    rt: Runtime
    worker: EnrichmentWorker
    emulator: Emulator

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        async with self.rt.pool.acquire() as conn:
            return list(await conn.fetch(sql, *args))

    async def add_recording(self, *tracks: Seen, merged_into: uuid.UUID | None = None) -> uuid.UUID:
        """A recording holding ``tracks``, each described as a seen track, as the catalog's writers
        leave one: due for the fill."""
        async with self.rt.transaction() as conn:
            recording_id: uuid.UUID = await conn.fetchval(
                "INSERT INTO recordings (title, artists, merged_into) VALUES ('Teardrop', '{Massive Attack}', $1)"
                " RETURNING id",
                merged_into,
            )
            for track in tracks:
                await self._add_track(conn, recording_id, track)
        return recording_id

    async def add_track(self, recording_id: uuid.UUID, track: Seen) -> None:
        """A track joins the recording, as the clustering does it: updated_at moves."""
        async with self.rt.transaction() as conn:
            await self._add_track(conn, recording_id, track)
            await self.touch(recording_id, conn)

    async def _add_track(self, conn: Any, recording_id: uuid.UUID, track: Seen) -> None:
        await conn.execute(
            "INSERT INTO recording_provider_ids (provider, provider_track_id, recording_id) VALUES ($1, $2, $3)",
            track.provider,
            track.track_id,
            recording_id,
        )
        if track.isrc:
            await conn.execute(
                "INSERT INTO recording_isrcs (recording_id, isrc) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                recording_id,
                track.isrc,
            )
        await conn.execute(
            """INSERT INTO seen_tracks (provider, provider_track_id, title, artists, album, duration_ms, isrc,
                                        release_date, title_keys, artist_key, normalised, described_at)
               VALUES ($1, $2, $3, '{Massive Attack}', $4, $5, $6, $7, $8, 'massive attack', $9::jsonb, now())""",
            track.provider,
            track.track_id,
            track.title,
            track.album,
            track.duration_ms,
            track.isrc,
            track.release_date,
            [track.title.lower()],
            json.dumps(normalise_track(track.title, ["Massive Attack"]).to_json()),
        )

    async def touch(self, recording_id: uuid.UUID, conn: Any | None = None) -> None:
        sql = "UPDATE recordings SET updated_at = clock_timestamp() WHERE id = $1"
        if conn is not None:
            await conn.execute(sql, recording_id)
        else:
            async with self.rt.transaction() as own:
                await own.execute(sql, recording_id)

    async def recording(self, recording_id: uuid.UUID) -> Any:
        [row] = await self.fetch("SELECT * FROM recordings WHERE id = $1", recording_id)
        return row

    async def events(self, recording_id: uuid.UUID) -> list[dict[str, Any]]:
        """The track.enriched events of a recording, oldest first (their data): every one the outbox holds
        awaited until the relay published it, then read back from Kafka."""
        envelopes = await published_events(self.rt, str(recording_id), timeout_s=30)
        return [e["data"] for e in envelopes if e["type"] == "track.enriched"]

    async def fill(self, worker: EnrichmentWorker | None = None) -> list[FillPass]:
        """Fill batches until nothing is due."""
        passes = []
        while (done := await (worker or self.worker).fill_due()).taken:
            passes.append(done)
        return passes


Start = Callable[..., Awaitable[Enrichment]]


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    # Its own rate limit on (MusicBrainz: 1/s per IP): a call faster than the client's pace would be a 503.
    async with started_emulator(EmulatorSettings(rate_limits=True), Emulator) as started:
        yield started


@pytest.fixture
async def enrichment(
    service_env_factory: Callable[[str], Awaitable[dict[str, str]]],
    emulator: Emulator,
    redis: aioredis.Redis,
) -> AsyncIterator[Enrichment]:
    """The service on a database of its own, asking this test's emulator; the worker's loops idle."""
    env = await service_env_factory("enrichment")
    prefix = f"pm:test:enrichment:{uuid.uuid4().hex[:12]}"
    env |= {
        "MUSICBRAINZ_URL": f"{emulator.base}/musicbrainz.org",
        "MUSICBRAINZ_USER_AGENT": AGENT,
        # The MusicBrainz cache and the one-call-per-second slot of this test alone.
        "PROVIDER_REDIS_PREFIX": prefix,
        # A failing MusicBrainz is given up on after two attempts (each takes its second).
        "PROVIDER_RETRY": '{"max_attempts": 2, "backoff_base_s": 0.05, "backoff_max_s": 0.1}',
        "ENRICHMENT_INTERVAL_S": "3600",
        "ENRICHMENT_LOOKUP_RETRY_S": str(RETRY_S),
    }
    try:
        async with running_service(definition(), env) as (_, rt):
            yield Enrichment(rt, rt[WORKER], emulator)
    finally:
        async for key in redis.scan_iter(match=f"{prefix}:*"):
            await redis.delete(key)


def another_worker(
    e: Enrichment, clock: Callable[[], datetime] | None = None, **settings: Any
) -> EnrichmentWorker:
    """A worker of its own (another replica's, or one whose clock is later), on the same service."""
    own = enrichment_settings(e.rt.settings).model_copy(update=settings)
    if clock is None:
        return EnrichmentWorker(e.rt, own, e.worker.musicbrainz)
    return EnrichmentWorker(e.rt, own, e.worker.musicbrainz, clock=clock)


# ---- the fill ---------------------------------------------------------------------------------------------


async def test_a_recording_is_enriched_from_its_services_and_told_only_when_that_changed(
    enrichment: Enrichment,
):
    spotify = seen("spotify", isrc=UNKNOWN[0], duration_ms=330_773, release_date=date(2006, 3, 20))
    deezer = seen(
        "deezer", isrc=UNKNOWN[0], duration_ms=331_000, release_date=date(1998, 4, 20), album="Mezzanine"
    )
    youtube = seen("youtube", duration_ms=345_000)  # a video: longer
    recording = await enrichment.add_recording(spotify, deezer, youtube)

    [done] = await enrichment.fill()

    assert (done.taken, done.told, done.lookups_wanted) == (1, 1, 1)
    [event] = await enrichment.events(recording)
    assert {k: v for k, v in event.items() if k != "enriched_at"} == {
        "recording_id": str(recording),
        "tracks": [
            {"provider": "spotify", "provider_track_id": spotify.track_id},
            {"provider": "deezer", "provider_track_id": deezer.track_id},
            {"provider": "youtube", "provider_track_id": youtube.track_id},
        ],
        "isrc": {"value": UNKNOWN[0], "source": "spotify"},
        "duration_ms": {"value": 330_773, "source": "spotify"},
        "release_date": {"value": "1998-04-20", "source": "deezer"},
        "album": {"value": "Mezzanine", "source": "deezer"},
        "musicbrainz_id": None,
    }
    row = await enrichment.recording(recording)
    assert row["enriched_from"] == row["updated_at"]
    assert json.loads(row["enrichment"])["album"] == {"value": "Mezzanine", "source": "deezer"}
    assert row["mb_wanted_isrc"] == UNKNOWN[0] and row["mb_isrc"] is None
    assert datetime.fromisoformat(event["enriched_at"]) == row["enriched_at"]

    # Nothing changed: nothing due, nothing told.
    assert await enrichment.fill() == []
    # Its tracks changed but not its enrichment's fields: its new track is told.
    tidal = seen("tidal", isrc=UNKNOWN[0], duration_ms=330_000)
    await enrichment.add_track(recording, tidal)
    [done] = await enrichment.fill()
    assert done.told == 1
    first, second = await enrichment.events(recording)
    assert [t["provider"] for t in second["tracks"]] == ["spotify", "deezer", "tidal", "youtube"]
    assert datetime.fromisoformat(second["enriched_at"]) > datetime.fromisoformat(first["enriched_at"])
    # Touched without any change (e.g. a confirmation): taken, computed, not told.
    await enrichment.touch(recording)
    [done] = await enrichment.fill()
    assert (done.taken, done.told) == (1, 0)
    assert len(await enrichment.events(recording)) == 2


async def test_a_recording_nobody_described_or_merged_away_is_never_told(enrichment: Enrichment):
    undescribed = await enrichment.add_recording()
    async with enrichment.rt.transaction() as conn:
        await conn.execute(
            "INSERT INTO recording_provider_ids (provider, provider_track_id, recording_id) VALUES ('deezer', $1, $2)",
            f"d-{uuid.uuid4().hex[:8]}",
            undescribed,
        )
    survivor = await enrichment.add_recording(seen("spotify", album="Mezzanine"))
    merged = await enrichment.add_recording(merged_into=survivor)

    passes = await enrichment.fill()

    assert sum(p.taken for p in passes) == 2  # the merged one is never due
    assert await enrichment.events(undescribed) == [] and await enrichment.events(merged) == []
    assert len(await enrichment.events(survivor)) == 1
    assert (await enrichment.recording(merged))["enrichment"] is None
    stored = json.loads((await enrichment.recording(undescribed))["enrichment"])
    assert stored["isrc"] is None and stored["tracks"] and stored["album"] is None


# ---- MusicBrainz -----------------------------------------------------------------------------------------


async def test_musicbrainz_fills_what_the_services_did_not_give_after_the_fill(enrichment: Enrichment):
    [known] = enrichment.emulator.known(1)
    isrc = known.isrcs[0]
    first_release = date.fromisoformat(known.first_release_date)
    later = first_release + timedelta(days=400)  # the remaster the service sells
    recording = await enrichment.add_recording(seen("spotify", isrc=isrc, release_date=later))

    # The fill first: what the services gave, at once, with no call.
    [done] = await enrichment.fill()
    assert done.lookups_wanted == 1
    [first] = await enrichment.events(recording)
    assert first["release_date"] == {"value": later.isoformat(), "source": "spotify"}
    assert first["musicbrainz_id"] is None and first["album"] is None and first["duration_ms"] is None
    assert await enrichment.emulator.musicbrainz_calls() == 0

    looked = await enrichment.worker.look_up_due()
    assert (looked.claimed, looked.isrcs, looked.answered, looked.error) == (1, 1, 1, None)
    assert await enrichment.emulator.musicbrainz_calls() == 1
    row = await enrichment.recording(recording)
    assert row["mb_isrc"] == isrc and row["mb_next_at"] is None and row["enriched_from"] is None

    # The answer is due for the fill, which tells what MusicBrainz added.
    [done] = await enrichment.fill()
    assert done.told == 1
    _, second = await enrichment.events(recording)
    assert second["musicbrainz_id"] == known.id
    assert second["release_date"] == {"value": first_release.isoformat(), "source": "musicbrainz"}
    assert second["duration_ms"] == {"value": known.length, "source": "musicbrainz"}
    assert second["album"] == {"value": known.release_title, "source": "musicbrainz"}
    assert second["isrc"] == {"value": isrc, "source": "spotify"}
    # Asked once: nothing more to look up.
    assert (await enrichment.worker.look_up_due()).claimed == 0
    assert await enrichment.emulator.musicbrainz_calls() == 1


async def test_one_call_per_isrc_and_a_second_identical_library_costs_no_call(enrichment: Enrichment):
    a, b = enrichment.emulator.known(2)
    # An ISRC two recordings hold (their merge was refused), another one, and one MusicBrainz does not know.
    first = [
        await enrichment.add_recording(seen("spotify", isrc=a.isrcs[0])),
        await enrichment.add_recording(seen("deezer", isrc=a.isrcs[0])),
        await enrichment.add_recording(seen("tidal", isrc=b.isrcs[0])),
        await enrichment.add_recording(seen("tidal", isrc=UNKNOWN[1])),
    ]
    await enrichment.fill()

    looked = await enrichment.worker.look_up_due()

    assert (looked.claimed, looked.isrcs, looked.answered) == (4, 3, 4)
    assert await enrichment.emulator.musicbrainz_calls() == 3
    await enrichment.fill()  # the answers folded in
    ids = [(await enrichment.recording(r))["musicbrainz_id"] for r in first]
    assert [str(i) if i else None for i in ids] == [a.id, a.id, b.id, None]

    # The same library again, from another service's import: new recordings, the same ISRCs — MusicBrainz's
    # answers come from the cache.
    second = [
        await enrichment.add_recording(seen("youtube", isrc=isrc))
        for isrc in (a.isrcs[0], a.isrcs[0], b.isrcs[0], UNKNOWN[1])
    ]
    await enrichment.fill()
    looked = await enrichment.worker.look_up_due()
    assert (looked.claimed, looked.answered) == (4, 4)
    assert await enrichment.emulator.musicbrainz_calls() == 3
    await enrichment.fill()
    ids = [(await enrichment.recording(r))["musicbrainz_id"] for r in second]
    assert [str(i) if i else None for i in ids] == [a.id, a.id, b.id, None]
    # And the first library's recordings, unchanged, cost nothing at all.
    await enrichment.fill()
    assert (await enrichment.worker.look_up_due()).claimed == 0
    assert await enrichment.emulator.musicbrainz_calls() == 3


async def test_musicbrainz_down_loses_nothing_and_is_asked_again_after_a_growing_backoff(
    enrichment: Enrichment,
):
    a, b = enrichment.emulator.known(2)
    first = await enrichment.add_recording(seen("spotify", isrc=a.isrcs[0], album="Mezzanine"))
    second = await enrichment.add_recording(seen("spotify", isrc=b.isrcs[0]))
    await enrichment.emulator.admin("PUT", "/faults/musicbrainz", {"fail_next": 1000, "error_status": 503})

    # The services' part never waits for MusicBrainz.
    await enrichment.fill()
    assert (await enrichment.events(first))[0]["album"] == {"value": "Mezzanine", "source": "spotify"}

    t0 = datetime.now(UTC)
    looked = await enrichment.worker.look_up_due()

    # The first ISRC failed after the client's two attempts; the batch stopped there.
    assert isinstance(looked.error, ProviderUnavailable)
    assert (looked.claimed, looked.isrcs, looked.answered, looked.postponed) == (2, 0, 0, 2)
    assert await enrichment.emulator.musicbrainz_calls() == 2
    failed, released = sorted(
        [await enrichment.recording(first), await enrichment.recording(second)],
        key=lambda r: r["mb_wanted_isrc"],
    )
    assert failed["mb_attempts"] == 1 and released["mb_attempts"] == 0
    for row in (failed, released):
        assert row["mb_isrc"] is None
        assert t0 + timedelta(seconds=RETRY_S - 5) < row["mb_next_at"] < t0 + timedelta(seconds=RETRY_S + 30)
    # Backing off: not asked again now.
    assert (await enrichment.worker.look_up_due()).claimed == 0
    assert await enrichment.emulator.musicbrainz_calls() == 2

    # A minute later, still down: the wait doubles.
    later = another_worker(enrichment, clock=lambda: datetime.now(UTC) + timedelta(seconds=RETRY_S + 1))
    looked = await later.look_up_due()
    assert looked.claimed == 2 and looked.error is not None
    failed_again = await enrichment.recording(failed["id"])
    assert failed_again["mb_attempts"] == 2
    assert failed_again["mb_next_at"] > t0 + timedelta(seconds=3 * RETRY_S - 5)

    # Back up: the lookups succeed when their time comes, and the fill tells what MusicBrainz added.
    await enrichment.emulator.admin("DELETE", "/faults/musicbrainz")
    much_later = another_worker(enrichment, clock=lambda: datetime.now(UTC) + timedelta(seconds=4 * RETRY_S))
    looked = await much_later.look_up_due()
    assert (looked.claimed, looked.answered, looked.error) == (2, 2, None)
    await enrichment.fill()
    assert (await enrichment.events(first))[-1]["musicbrainz_id"] == a.id
    assert (await enrichment.events(second))[-1]["musicbrainz_id"] == b.id
    assert (await enrichment.recording(first))["mb_attempts"] == 0


# ---- several workers -------------------------------------------------------------------------------------


async def test_two_workers_never_take_one_recording(enrichment: Enrichment):
    recordings = [
        await enrichment.add_recording(seen("spotify", isrc=UNKNOWN[i % len(UNKNOWN)], album=f"Album {i}"))
        for i in range(12)
    ]
    one = another_worker(enrichment, enrichment_batch=5, enrichment_lookup_batch=2)
    two = another_worker(enrichment, enrichment_batch=5, enrichment_lookup_batch=2)

    async def drain(worker: EnrichmentWorker) -> int:
        taken = 0
        while (done := await worker.fill_due()).taken:
            taken += done.taken
        return taken

    taken = await asyncio.gather(drain(one), drain(two))

    assert sum(taken) == len(recordings)
    for recording in recordings:
        assert len(await enrichment.events(recording)) == 1, recording

    # The lookups too: each recording claimed by one of them (six ISRCs MusicBrainz does not know).
    claimed = answered = 0
    while True:
        looked = await asyncio.gather(*(w.look_up_due() for w in (one, two, one, two)))
        if not any(p.claimed for p in looked):
            break
        claimed += sum(p.claimed for p in looked)
        answered += sum(p.answered for p in looked)
    assert claimed == answered == len(recordings)
    rows = await enrichment.fetch(
        "SELECT mb_isrc, mb_wanted_isrc FROM recordings WHERE id = ANY($1)", recordings
    )
    assert all(r["mb_isrc"] == r["mb_wanted_isrc"] for r in rows)


async def test_the_loops_do_it_all_by_themselves(enrichment: Enrichment):
    [known] = enrichment.emulator.known(1)
    recording = await enrichment.add_recording(seen("deezer", isrc=known.isrcs[0], duration_ms=known.length))
    worker = another_worker(enrichment, enrichment_interval_s=0.2)
    task = asyncio.create_task(worker.run())
    try:
        async with asyncio.timeout(30):
            events = await enrichment.events(recording)
            while len(events) < 2:
                await asyncio.sleep(0.1)
                events = await enrichment.events(recording)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert events[0]["musicbrainz_id"] is None
    assert events[1]["musicbrainz_id"] == known.id
    assert events[1]["album"] == {"value": known.release_title, "source": "musicbrainz"}
    assert await enrichment.emulator.musicbrainz_calls() == 1
