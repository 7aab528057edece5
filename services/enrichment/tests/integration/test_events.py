"""The canonical catalog learns from track.matched, through the service's real subscriber and dispatcher
(FastStream's in-memory broker): new recordings, attached tracks, merges and refused merges, ISRCs, the
join log, idempotence, hostile payloads, and writers racing for the same ids."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from pm_contracts.registry import event_spec
from pm_contracts.transfers import MAX_TEXT
from pm_enrichment.usecases import catalog as catalog_usecases
from pm_platform.consumers import Outcome
from pm_platform.testing import deliver, envelope_of

from .conftest import Catalog, ids, matched

pytestmark = pytest.mark.integration

ISRC = "GBAAA9800006"
OTHER_ISRC = "USXXX0000001"


async def test_two_unknown_tracks_make_one_recording_described_by_the_source(catalog: Catalog):
    a, x = ("spotify", ids()), ("deezer", ids())
    event = matched(a, x, source_isrc=ISRC, target_isrc=ISRC.lower(), method="isrc", confidence=1.0)
    await catalog.tell(event)
    recording = await catalog.recording_of(*a)
    assert recording is not None and recording == await catalog.recording_of(*x)
    assert await catalog.tracks(recording) == [a, x]  # the source first
    assert await catalog.isrcs(recording) == {ISRC}
    [row] = await catalog.fetch("SELECT * FROM recordings WHERE id = $1", recording)
    assert (row["title"], row["artists"], row["duration_ms"], row["merged_into"]) == (
        "Teardrop",
        ["Massive Attack"],
        330_773,
        None,
    )
    [join] = await catalog.joins(a, x)
    assert (join["decision"], join["recording_id"], join["other_recording_id"]) == (
        "created",
        recording,
        None,
    )
    assert (join["method"], join["confidence"], join["job_id"]) == ("isrc", 1.0, event.job_id)
    assert (join["source_isrc"], join["target_isrc"]) == (ISRC, ISRC)


async def test_an_unknown_track_joins_the_known_ones_recording(catalog: Catalog):
    a, x, m, y = ("spotify", ids()), ("deezer", ids()), ("tidal", ids()), ("youtube", ids())
    await catalog.tell(matched(a, x))
    recording = await catalog.recording_of(*a)
    assert recording is not None
    await catalog.tell(matched(a, m, target_isrc=OTHER_ISRC))  # the source is known
    await catalog.tell(matched(y, x))  # the target is known
    assert await catalog.tracks(recording) == [a, x, m, y]
    assert await catalog.isrcs(recording) == {OTHER_ISRC}
    assert [j["decision"] for j in await catalog.joins(a, m)] == ["attached"]
    assert [j["decision"] for j in await catalog.joins(y, x)] == ["attached"]
    # An album's and a single's release: a second deezer track joins too.
    single = ("deezer", ids())
    await catalog.tell(matched(a, single))
    assert await catalog.recording_of(*single) == recording


async def test_the_same_match_again_changes_nothing(catalog: Catalog):
    a, x = ("spotify", ids()), ("deezer", ids())
    event = matched(a, x, source_isrc=ISRC)
    raw = envelope_of("track.matched", event)
    assert await deliver(catalog.rt, event, raw=raw) is Outcome.HANDLED
    recording = await catalog.recording_of(*a)
    assert recording is not None
    before = await catalog.snapshot(recording)
    # The same envelope redelivered: the inbox knows it.
    assert await deliver(catalog.rt, event, raw=raw) is Outcome.DUPLICATE
    # The same match in a new event (another transfer, a replay by the producer): nothing changes either.
    await catalog.tell(event)
    await catalog.tell(event.model_copy(update={"job_id": uuid.uuid4(), "confidence": 0.5}))
    assert await catalog.snapshot(recording) == before
    assert [j["decision"] for j in await catalog.joins(a, x)] == ["created"]
    # The other way round it is a new pair, already true: confirmed, once.
    await catalog.tell(matched(x, a))
    await catalog.tell(matched(x, a))
    assert [j["decision"] for j in await catalog.joins(x, a)] == ["confirmed"]
    assert await catalog.tracks(recording) == [a, x]


async def test_two_recordings_without_conflict_merge_into_the_older(catalog: Catalog):
    a, x, m, y = ("spotify", ids()), ("deezer", ids()), ("tidal", ids()), ("youtube", ids())
    await catalog.tell(matched(a, x, source_isrc=ISRC))
    await catalog.tell(matched(m, y))
    older, newer = await catalog.recording_of(*a), await catalog.recording_of(*m)
    assert older is not None and newer is not None and older != newer
    event = matched(a, m, source_isrc=ISRC, target_isrc=ISRC, method="isrc", confidence=0.99)
    await catalog.tell(event)
    assert await catalog.tracks(older) == [a, x, m, y]  # each keeps its recording order
    assert await catalog.tracks(newer) == []
    assert await catalog.isrcs(older) == {ISRC} and await catalog.isrcs(newer) == set()
    [row] = await catalog.fetch("SELECT merged_into FROM recordings WHERE id = $1", newer)
    assert row["merged_into"] == older
    [join] = await catalog.joins(a, m)
    assert (join["decision"], join["recording_id"], join["other_recording_id"]) == ("merged", older, newer)
    # The moved tracks still name the match that brought them.
    [moved] = await catalog.fetch(
        "SELECT j.decision FROM recording_provider_ids p JOIN catalog_joins j ON j.id = p.join_id "
        "WHERE p.provider = $1 AND p.provider_track_id = $2",
        *y,
    )
    assert moved["decision"] == "created"


async def test_recordings_merged_twice_all_point_at_the_live_one(catalog: Catalog):
    """Three one-track recordings (a track matched to itself), made oldest first: merging the two newer
    ones, then the result into the oldest, leaves both merged recordings pointing at the oldest."""
    m, a, x = ("tidal", ids()), ("spotify", ids()), ("deezer", ids())
    for track in (m, a, x):
        await catalog.tell(matched(track, track))
    oldest, middle, newest = [await catalog.recording_of(*t) for t in (m, a, x)]
    assert oldest is not None and middle is not None and newest is not None
    await catalog.tell(matched(a, x))
    await catalog.tell(matched(x, m))
    assert await catalog.tracks(oldest) == [m, a, x]
    rows = await catalog.fetch("SELECT id, merged_into FROM recordings WHERE id = ANY($1)", [middle, newest])
    assert {r["id"]: r["merged_into"] for r in rows} == {middle: oldest, newest: oldest}


async def test_two_recordings_holding_tracks_of_one_provider_are_not_merged(catalog: Catalog):
    a, x = ("spotify", ids()), ("deezer", ids())
    m, z = ("tidal", ids()), ("deezer", ids())
    await catalog.tell(matched(a, x))
    await catalog.tell(matched(m, z))
    first, second = await catalog.recording_of(*a), await catalog.recording_of(*m)
    assert first is not None and second is not None
    before = await catalog.snapshot(first, second)
    await catalog.tell(matched(a, m))
    assert await catalog.tracks(first) == [a, x] and await catalog.tracks(second) == [m, z]
    [join] = await catalog.joins(a, m)
    assert (join["decision"], join["recording_id"], join["other_recording_id"]) == ("refused", first, second)
    assert "deezer" in join["reason"]
    refused = await catalog.snapshot(first, second)
    assert refused[:3] == before[:3]  # the recordings, their tracks and ISRCs are untouched
    # Told again: nothing changes, not even the log.
    await catalog.tell(matched(a, m))
    assert await catalog.snapshot(first, second) == refused
    assert len(await catalog.joins(a, m)) == 1


async def test_a_refused_merge_whose_isrcs_come_to_agree_merges_and_both_are_on_record(catalog: Catalog):
    a, x = ("spotify", ids()), ("deezer", ids())
    m, y = ("tidal", ids()), ("youtube", ids())
    await catalog.tell(matched(a, x, source_isrc=ISRC))
    await catalog.tell(matched(m, y, source_isrc=OTHER_ISRC))
    first, second = await catalog.recording_of(*a), await catalog.recording_of(*m)
    await catalog.tell(matched(a, m))
    assert [j["decision"] for j in await catalog.joins(a, m)] == ["refused"]
    assert await catalog.recording_of(*m) == second
    # A later match says the first recording's deezer track has the second's ISRC too.
    await catalog.tell(matched(("spotify", ids()), x, target_isrc=OTHER_ISRC))
    await catalog.tell(matched(a, m))
    assert [j["decision"] for j in await catalog.joins(a, m)] == ["refused", "merged"]
    assert await catalog.recording_of(*m) == first == await catalog.recording_of(*y)
    assert second is not None and await catalog.tracks(second) == []


async def test_isrcs_are_recorded_normalised_and_garbage_is_not(catalog: Catalog):
    a, x = ("spotify", ids()), ("deezer", ids())
    await catalog.tell(matched(a, x, source_isrc=" gb-aaa-98-00006 ", target_isrc="not an isrc"))
    recording = await catalog.recording_of(*a)
    assert recording is not None
    assert await catalog.isrcs(recording) == {ISRC}
    [join] = await catalog.joins(a, x)
    assert (join["source_isrc"], join["target_isrc"]) == (ISRC, None)


async def test_refused_tracks_still_get_their_own_isrcs(catalog: Catalog):
    a, x, m, z = ("spotify", ids()), ("deezer", ids()), ("tidal", ids()), ("deezer", ids())
    await catalog.tell(matched(a, x))
    await catalog.tell(matched(m, z))
    await catalog.tell(matched(a, m, source_isrc=ISRC, target_isrc=OTHER_ISRC))
    first, second = await catalog.recording_of(*a), await catalog.recording_of(*m)
    assert first is not None and second is not None
    assert (await catalog.isrcs(first), await catalog.isrcs(second)) == ({ISRC}, {OTHER_ISRC})


async def test_a_match_of_a_track_to_itself_records_it_once(catalog: Catalog):
    a = ("spotify", ids())
    await catalog.tell(matched(a, a))
    recording = await catalog.recording_of(*a)
    assert recording is not None and await catalog.tracks(recording) == [a]
    await catalog.tell(matched(a, a))
    assert [j["decision"] for j in await catalog.joins(a, a)] == ["created"]


async def test_a_track_id_the_catalog_cannot_store_is_dead_lettered(catalog: Catalog):
    a, x = ("spotify", ids() + "\x00"), ("deezer", ids())
    assert await deliver(catalog.rt, matched(a, x)) is Outcome.DEAD_LETTERED
    assert await catalog.recording_of(*x) is None


async def test_a_hostile_description_is_stored_harmless(catalog: Catalog):
    a, x = ("spotify", ids()), ("deezer", ids())
    event = matched(
        a,
        x,
        title="Tear\x00drop" + "x" * (MAX_TEXT - 9),
        artists=["Massive\x00Attack", "", "y" * 200_000],
        duration_ms=2**62,
    )
    await catalog.tell(event)
    recording = await catalog.recording_of(*a)
    [row] = await catalog.fetch("SELECT title, artists, duration_ms FROM recordings WHERE id = $1", recording)
    assert row["title"] == "Teardrop" + "x" * (MAX_TEXT - 9)
    assert row["artists"] == ["MassiveAttack", "y" * MAX_TEXT]
    assert row["duration_ms"] is None


async def test_payloads_of_the_wrong_shape_are_dead_lettered(catalog: Catalog):
    a, x = ("spotify", ids()), ("deezer", ids())
    good = json.loads(envelope_of("track.matched", matched(a, x)))
    _, spec = event_spec("track.matched")
    for change in (
        {"confidence": "high"},
        {"confidence": 2},
        {"source": {"provider": "napster", "provider_track_id": "1"}},
        {"target": {"provider": "deezer", "provider_track_id": "x" * 10_000}},
        {"artists": "Massive Attack"},
        {"job_id": "not-a-uuid"},
        {"method": "mapping"},  # a user's own choice never enters the catalog
        {"method": "catalog"},
    ):
        envelope = good | {"id": str(uuid.uuid4()), "data": good["data"] | change}
        raw = json.dumps(envelope).encode()
        payload = spec.model.model_construct()
        assert await deliver(catalog.rt, payload, raw=raw) is Outcome.DEAD_LETTERED, change
    assert await catalog.recording_of(*a) is None


async def test_writers_racing_for_one_track_make_one_recording(catalog: Catalog):
    """Transfers from many sources to one target at once, each in its own transaction as the dispatcher
    runs it: every source ends on the one recording of the target."""
    target = ("deezer", ids())
    sources = [(provider, ids()) for provider in ("spotify", "tidal", "youtube") for _ in range(8)]

    async def record(source: tuple[str, str]) -> None:
        async with catalog.rt.transaction() as conn:
            await catalog_usecases.record_match(conn, matched(source, target, target_isrc=ISRC))

    await asyncio.gather(*(record(s) for s in sources))
    recording = await catalog.recording_of(*target)
    assert recording is not None
    assert sorted(await catalog.tracks(recording)) == sorted([*sources, target])
    assert await catalog.isrcs(recording) == {ISRC}
    created = await catalog.fetch(
        "SELECT count(*) FROM catalog_joins WHERE target_provider = $1 AND target_track_id = $2 "
        "AND decision = 'created'",
        *target,
    )
    assert created[0]["count"] == 1


async def test_merges_racing_with_attaches_leave_no_track_on_a_merged_recording(catalog: Catalog):
    for _ in range(10):
        a, x, m, y = ("spotify", ids()), ("deezer", ids()), ("tidal", ids()), ("youtube", ids())
        b = ("spotify", ids())
        await catalog.tell(matched(a, x))
        await catalog.tell(matched(m, y))

        async def record(source: tuple[str, str], target: tuple[str, str]) -> None:
            async with catalog.rt.transaction() as conn:
                await catalog_usecases.record_match(conn, matched(source, target))

        # Merging the two (a → m) races with attaching b to the second (y → b); in either order the
        # catalog stays whole: b is where y is, and no track is left on a merged recording.
        await asyncio.gather(record(a, m), record(y, b))
        assert await catalog.recording_of(*b) == await catalog.recording_of(*y)
    orphans = await catalog.fetch(
        "SELECT count(*) FROM recording_provider_ids p JOIN recordings r ON r.id = p.recording_id "
        "WHERE r.merged_into IS NOT NULL"
    )
    assert orphans[0]["count"] == 0
