"""The catalog's misses: a track.not_found is remembered (through the service's real subscriber and
dispatcher), told again it only moves forward, a match of the track wins over it, and the lookup answers
it "known absent" while it is younger than the TTL — still in one statement, through indexes."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pm_contracts.transfers import MAX_LOOKUP, CatalogLookup, LookupKey
from pm_enrichment.storage import catalog as catalog_sql
from pm_enrichment.usecases import catalog as catalog_usecases
from pm_platform.consumers import Outcome
from pm_platform.explain import ExplainingConnection, sequential_scans
from pm_platform.testing import deliver, envelope_of

from .conftest import Catalog, ids, matched, missed

pytestmark = pytest.mark.integration

TTL = timedelta(days=7)
ISRC = "GBAAA9800006"


def fresh_isrc() -> str:
    """An ISRC of this test's own: tests share the catalog."""
    return f"ZZM{uuid.uuid4().hex[:2].upper()}{uuid.uuid4().int % 10**7:07d}"


def recently(days: float = 0) -> datetime:
    """A moment ``days`` ago (a miss must be young to be answered)."""
    return datetime.now(UTC) - timedelta(days=days)


async def answers(
    catalog: Catalog, target: str, *keys: LookupKey, miss_ttl: timedelta = TTL
) -> list[tuple[Any, Any]]:
    """Per key: (the target track and how it was found, or None; when it was searched in vain, or None)."""
    async with catalog.rt.pool.acquire() as conn:
        result = await catalog_usecases.lookup(
            conn, CatalogLookup(target=target, tracks=list(keys)), miss_ttl=miss_ttl
        )
    assert len(result.absent) == len(result.hits) == len(keys)
    return [
        ((h.provider_track_id, h.via) if h is not None else None, a)
        for h, a in zip(result.hits, result.absent, strict=True)
    ]


def key(provider: str | None = None, track_id: str | None = None, isrc: str | None = None) -> LookupKey:
    return LookupKey(provider=provider, provider_track_id=track_id, isrc=isrc)


# ---- remembering


async def test_a_miss_is_remembered_with_its_evidence_and_no_user(catalog: Catalog):
    a = ("spotify", ids())
    searched = recently(1)
    event = missed(a, "deezer", source_isrc="gb-aaa-98-00006", searched_at=searched, artists=["", "X"])
    await catalog.tell(event)
    row = (await catalog.misses(a))["deezer"]
    assert (row["searched_at"], row["job_id"], row["source_isrc"]) == (searched, event.job_id, ISRC)
    assert (row["title"], row["artists"], row["duration_ms"]) == ("Teardrop (Kazoo Version)", ["X"], 213_573)
    assert not any("user" in column for column in dict(row))
    # One miss per target provider.
    await catalog.tell(missed(a, "tidal", searched_at=searched))
    assert set(await catalog.misses(a)) == {"deezer", "tidal"}


async def test_a_replayed_miss_changes_nothing_and_a_newer_one_only_moves_forward(catalog: Catalog):
    a = ("spotify", ids())
    first = missed(a, "deezer", searched_at=recently(3))
    raw = envelope_of("track.not_found", first)
    assert await deliver(catalog.rt, first, raw=raw) is Outcome.HANDLED
    before = (await catalog.misses(a))["deezer"]
    # The same envelope redelivered: the inbox knows it. The same miss in a new event (a replay by the
    # producer), or an older search: nothing changes.
    assert await deliver(catalog.rt, first, raw=raw) is Outcome.DUPLICATE
    await catalog.tell(first)
    await catalog.tell(missed(a, "deezer", searched_at=recently(5), title="Older"))
    assert (await catalog.misses(a))["deezer"] == before
    # A newer search moves it forward, with its own evidence.
    newer = missed(a, "deezer", searched_at=recently(1), title="Newer")
    await catalog.tell(newer)
    row = (await catalog.misses(a))["deezer"]
    assert (row["searched_at"], row["job_id"], row["title"]) == (newer.searched_at, newer.job_id, "Newer")
    # A search "in the future" (a producer's clock ahead) counts as now: it cannot outlive the TTL.
    await catalog.tell(missed(a, "deezer", searched_at=recently(-365)))
    assert (await catalog.misses(a))["deezer"]["searched_at"] <= datetime.now(UTC)


async def test_a_later_match_wins_over_the_miss(catalog: Catalog):
    a, x = ("spotify", ids()), ("deezer", ids())
    await catalog.tell(missed(a, "deezer", searched_at=recently(1)))
    await catalog.tell(missed(a, "tidal", searched_at=recently(1)))
    assert (await answers(catalog, "deezer", key(*a)))[0][1] is not None
    await catalog.tell(matched(a, x))
    assert set(await catalog.misses(a)) == {"tidal"}  # only the miss on the matched provider goes
    assert await answers(catalog, "deezer", key(*a)) == [((x[1], "id"), None)]
    # A miss told after the match (another transfer's, arriving late) is ignored: the hit wins.
    await catalog.tell(missed(a, "deezer", searched_at=recently(0)))
    assert set(await catalog.misses(a)) == {"tidal"}
    assert await answers(catalog, "deezer", key(*a)) == [((x[1], "id"), None)]


async def test_a_match_the_other_way_round_wins_too(catalog: Catalog):
    """The miss of a spotify track on deezer goes when a deezer track is matched to it (from deezer)."""
    a, x = ("spotify", ids()), ("deezer", ids())
    await catalog.tell(missed(a, "deezer", searched_at=recently(1)))
    await catalog.tell(matched(x, a))
    assert await catalog.misses(a) == {}
    assert await answers(catalog, "deezer", key(*a)) == [((x[1], "id"), None)]


async def test_a_miss_of_a_track_on_its_own_provider_is_dead_lettered(catalog: Catalog):
    a = ("deezer", ids())
    assert await deliver(catalog.rt, missed(a, "deezer")) is Outcome.DEAD_LETTERED
    assert await deliver(catalog.rt, missed(("deezer", "x\u0000"), "tidal")) is Outcome.DEAD_LETTERED
    assert await catalog.misses(a) == {}


# ---- the lookup


async def test_the_lookup_answers_a_young_miss_as_known_absent_and_an_old_one_not(catalog: Catalog):
    young, old, never = ("spotify", ids()), ("spotify", ids()), ("spotify", ids())
    searched = recently(2)
    await catalog.tell(missed(young, "deezer", searched_at=searched))
    await catalog.tell(missed(old, "deezer", searched_at=recently(8)))
    assert await answers(catalog, "deezer", key(*young), key(*old), key(*never)) == [
        (None, searched),
        (None, None),
        (None, None),
    ]
    # Past the TTL (a shorter one, or the miss grown old) it is nothing: the track is looked for again.
    assert await answers(catalog, "deezer", key(*young), miss_ttl=timedelta(days=1)) == [(None, None)]
    assert await answers(catalog, "deezer", key(*young), miss_ttl=timedelta(0)) == [(None, None)]
    async with catalog.rt.pool.acquire() as conn:
        await conn.execute(
            "UPDATE catalog_misses SET searched_at = now() - interval '7 days 1 minute' "
            "WHERE source_provider = $1 AND source_track_id = $2",
            *young,
        )
    assert await answers(catalog, "deezer", key(*young)) == [(None, None)]
    # Told again, it is young again.
    again = recently(0)
    await catalog.tell(missed(young, "deezer", searched_at=again))
    assert await answers(catalog, "deezer", key(*young)) == [(None, again)]


async def test_a_miss_is_of_one_provider_id_on_one_target(catalog: Catalog):
    isrc = fresh_isrc()
    a = ("spotify", ids())
    searched = recently(1)
    await catalog.tell(missed(a, "deezer", source_isrc=isrc, searched_at=searched))
    assert await answers(catalog, "tidal", key(*a)) == [(None, None)]
    # Not by its ISRC: another track of that ISRC may be another release, and was never searched.
    assert await answers(catalog, "deezer", key(isrc=isrc), key("tidal", ids(), isrc)) == [
        (None, None),
        (None, None),
    ]
    assert await answers(catalog, "deezer", key(*a, isrc=isrc)) == [(None, searched)]


async def test_an_isrc_hint_wins_over_a_miss(catalog: Catalog):
    """A track found since through its ISRC (another source's match) is a hit, never "known absent"."""
    isrc = fresh_isrc()
    a, b, x = ("spotify", ids()), ("tidal", ids()), ("deezer", ids())
    await catalog.tell(missed(a, "deezer", source_isrc=isrc, searched_at=recently(1)))
    await catalog.tell(matched(b, x, source_isrc=isrc))
    assert await answers(catalog, "deezer", key(*a, isrc=isrc)) == [((x[1], "isrc"), None)]


async def test_a_batch_of_hits_misses_and_unknowns_is_one_statement(catalog: Catalog):
    searched = recently(1)
    hits = [(("spotify", ids()), ("youtube", ids())) for _ in range(100)]
    misses = [("spotify", ids()) for _ in range(200)]
    async with catalog.rt.transaction() as conn:
        for source, target in hits:
            await catalog_usecases.record_match(conn, matched(source, target))
        for source in misses:
            await catalog_usecases.record_miss(conn, missed(source, "youtube", searched_at=searched))
    keys = (
        [key(*s) for s, _ in hits] + [key(*s) for s in misses] + [key("spotify", ids()) for _ in range(200)]
    )
    assert len(keys) == MAX_LOOKUP
    statements: list[str] = []

    def sent(record: Any) -> None:
        statements.append(record.query)

    async with catalog.rt.pool.acquire() as conn:
        conn.add_query_logger(sent)
        try:
            result = await catalog_usecases.lookup(
                conn, CatalogLookup(target="youtube", tracks=keys), miss_ttl=TTL
            )
        finally:
            conn.remove_query_logger(sent)
    assert len(statements) == 1
    assert [(h.provider_track_id if h else None) for h in result.hits] == [t[1] for _, t in hits] + [
        None
    ] * 400
    assert result.absent == [None] * 100 + [searched] * 200 + [None] * 200


async def test_every_step_of_the_lookup_can_use_an_index(catalog: Catalog):
    """With sequential scans priced out, the planner reads none of the catalog's tables from end to end:
    each step, the misses' included, has an index that serves it."""
    keys = [(catalog_sql.TrackKey("spotify", ids()), ISRC), (None, ISRC)]
    async with catalog.rt.transaction() as conn:
        await conn.execute("SET LOCAL enable_seqscan = off")
        explaining = ExplainingConnection(conn, "lookup")
        await catalog_sql.lookup(explaining, "deezer", keys, TTL)  # type: ignore[arg-type]
    tables = {"recording_provider_ids", "recording_isrcs", "catalog_misses"}
    plan = json.dumps(explaining.plans[0].plan)
    assert "catalog_misses" in plan
    assert sequential_scans(explaining.plans, tables) == []


# ---- the endpoint


async def test_the_endpoint_answers_absent_beside_the_hits(catalog: Catalog):
    a, b, x = ("spotify", ids()), ("spotify", ids()), ("deezer", ids())
    await catalog.tell(matched(a, x))
    searched = recently(1)
    await catalog.tell(missed(b, "deezer", searched_at=searched))
    body = {
        "target": "deezer",
        "tracks": [
            {"provider": "spotify", "provider_track_id": a[1]},
            {"provider": "spotify", "provider_track_id": b[1]},
            {"provider": "spotify", "provider_track_id": ids()},
        ],
    }
    response = await catalog.client.post(
        "/internal/catalog/lookup", headers=catalog.service_headers(), json=body
    )
    assert response.status == 200
    answer = await response.json()
    assert [h and h["provider_track_id"] for h in answer["hits"]] == [x[1], None, None]
    assert answer["absent"][0] is None and answer["absent"][2] is None
    assert datetime.fromisoformat(answer["absent"][1]) == searched
