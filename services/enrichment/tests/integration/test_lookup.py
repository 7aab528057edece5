"""The catalog's lookup: the use case (one statement per batch) and its internal endpoint
(``POST /internal/catalog/lookup``: the service credential, a checked body, problem+json)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest

from pm_contracts.transfers import MAX_LOOKUP, CatalogLookup, CatalogLookupResult, LookupKey
from pm_enrichment.usecases import catalog as catalog_usecases

from .conftest import Catalog, ids, matched

pytestmark = pytest.mark.integration

ISRC = "GBAAA9800006"
MISS_TTL = timedelta(days=7)


def fresh_isrc() -> str:
    """An ISRC of this test's own: tests share the catalog."""
    return f"ZZT{uuid.uuid4().hex[:2].upper()}{uuid.uuid4().int % 10**7:07d}"


def key(provider: str | None = None, track_id: str | None = None, isrc: str | None = None) -> LookupKey:
    return LookupKey(provider=provider, provider_track_id=track_id, isrc=isrc)


async def look(catalog: Catalog, target: str, *keys: LookupKey) -> list[Any]:
    async with catalog.rt.pool.acquire() as conn:
        result = await catalog_usecases.lookup(
            conn, CatalogLookup(target=target, tracks=list(keys)), miss_ttl=MISS_TTL
        )
    return [(h.provider_track_id, h.via) if h is not None else None for h in result.hits]


async def test_a_known_track_answers_its_recordings_track_on_the_target(catalog: Catalog):
    a, x, m = ("spotify", ids()), ("deezer", ids()), ("tidal", ids())
    await catalog.tell(matched(a, x))
    await catalog.tell(matched(x, m))
    recording = await catalog.recording_of(*a)
    async with catalog.rt.pool.acquire() as conn:
        result = await catalog_usecases.lookup(
            conn, CatalogLookup(target="deezer", tracks=[key(*a)]), miss_ttl=MISS_TTL
        )
    [hit] = result.hits
    assert hit is not None and (hit.recording_id, hit.provider_track_id, hit.via) == (recording, x[1], "id")
    assert await look(catalog, "tidal", key(*a), key(*x)) == [(m[1], "id"), (m[1], "id")]
    assert await look(catalog, "spotify", key(*m)) == [(a[1], "id")]
    assert await look(catalog, "youtube", key(*a)) == [None]  # no youtube track yet


async def test_of_several_tracks_on_the_target_the_first_recorded_answers(catalog: Catalog):
    a, album, single = ("spotify", ids()), ("deezer", ids()), ("deezer", ids())
    await catalog.tell(matched(a, album))
    await catalog.tell(matched(a, single))
    assert await look(catalog, "deezer", key(*a)) == [(album[1], "id")]
    # The target's own tracks answer themselves.
    assert await look(catalog, "deezer", key(*single), key(*album)) == [(single[1], "id"), (album[1], "id")]


async def test_a_track_of_the_target_provider_answers_itself(catalog: Catalog):
    x = ("deezer", ids())
    await catalog.tell(matched(("spotify", ids()), x))
    assert await look(catalog, "deezer", key(*x)) == [(x[1], "id")]
    assert await look(catalog, "deezer", key("deezer", ids())) == [None]  # not in the catalog


async def test_an_unknown_track_is_found_by_its_isrc_as_a_hint(catalog: Catalog):
    isrc = fresh_isrc()
    a, x = ("spotify", ids()), ("deezer", ids())
    await catalog.tell(matched(a, x, source_isrc=isrc))
    recording = await catalog.recording_of(*a)
    async with catalog.rt.pool.acquire() as conn:
        result = await catalog_usecases.lookup(
            conn,
            CatalogLookup(target="deezer", tracks=[key("tidal", ids(), isrc.lower())]),
            miss_ttl=MISS_TTL,
        )
    [hit] = result.hits
    assert hit is not None and (hit.recording_id, hit.provider_track_id, hit.via) == (recording, x[1], "isrc")
    assert await look(catalog, "deezer", key(isrc=isrc)) == [(x[1], "isrc")]
    # A known track whose recording has no track on the target falls back to its ISRC.
    m, y = ("tidal", ids()), ("youtube", ids())
    await catalog.tell(matched(m, y))
    assert await look(catalog, "deezer", key(*m, isrc=isrc), key(*m)) == [(x[1], "isrc"), None]
    # An ISRC no recording with a track on the target holds: nothing.
    assert await look(catalog, "tidal", key(isrc=isrc)) == [None]
    assert await look(catalog, "deezer", key(isrc="not an isrc")) == [None]


async def test_of_several_recordings_holding_an_isrc_the_one_that_held_it_first_answers(catalog: Catalog):
    isrc = fresh_isrc()
    first, second = ("deezer", ids()), ("deezer", ids())
    # Two recordings the catalog could not join (both hold a deezer track) share the ISRC.
    await catalog.tell(matched(("spotify", ids()), first, target_isrc=isrc))
    await catalog.tell(matched(("tidal", ids()), second, target_isrc=isrc))
    for _ in range(3):
        assert await look(catalog, "deezer", key(isrc=isrc)) == [(first[1], "isrc")]


async def test_unknown_tracks_answer_none_and_the_order_is_kept(catalog: Catalog):
    pairs = [(("spotify", ids()), ("deezer", ids())) for _ in range(5)]
    for source, target in pairs:
        await catalog.tell(matched(source, target))
    keys = []
    expected = []
    for source, target in pairs:
        keys += [key(*source), key("spotify", ids()), key()]
        expected += [(target[1], "id"), None, None]
    keys.append(key("spotify", None, None))
    expected.append(None)
    assert await look(catalog, "deezer", *keys) == expected
    assert await look(catalog, "deezer") == []


async def test_a_batch_of_500_is_one_statement(catalog: Catalog):
    pairs = [(("spotify", ids()), ("youtube", ids())) for _ in range(250)]
    async with catalog.rt.transaction() as conn:
        for source, target in pairs:
            await catalog_usecases.record_match(conn, matched(source, target))
    keys = [key(*source) for source, _ in pairs] + [key("spotify", ids()) for _ in range(250)]
    assert len(keys) == MAX_LOOKUP
    statements: list[str] = []

    def sent(record: Any) -> None:
        statements.append(record.query)

    async with catalog.rt.pool.acquire() as conn:
        conn.add_query_logger(sent)
        try:
            result = await catalog_usecases.lookup(
                conn, CatalogLookup(target="youtube", tracks=keys), miss_ttl=MISS_TTL
            )
        finally:
            conn.remove_query_logger(sent)
    assert len(statements) == 1
    hits = [(h.provider_track_id, h.via) if h else None for h in result.hits]
    assert hits == [(target[1], "id") for _, target in pairs] + [None] * 250


# ---- the endpoint


async def call(catalog: Catalog, body: Any = None, *, headers: dict[str, str] | None = None, **kwargs: Any):
    if headers is None:
        headers = catalog.service_headers()
    if body is not None:
        kwargs["json"] = body
    response = await catalog.client.post("/internal/catalog/lookup", headers=headers, **kwargs)
    return response, await response.read()


async def test_the_endpoint_answers_a_lookup(catalog: Catalog):
    a, x = ("spotify", ids()), ("deezer", ids())
    await catalog.tell(matched(a, x))
    recording = await catalog.recording_of(*a)
    body = {
        "target": "deezer",
        "tracks": [
            {"provider": "spotify", "provider_track_id": a[1]},
            {"isrc": ISRC},
            {"provider": "tidal", "provider_track_id": "nothing"},
            {},
        ],
    }
    response, raw = await call(catalog, body)
    assert response.status == 200, raw
    assert response.content_type == "application/json"
    result = CatalogLookupResult.model_validate_json(raw)
    assert result.hits[0] is not None
    assert (result.hits[0].recording_id, result.hits[0].provider_track_id, result.hits[0].via) == (
        recording,
        x[1],
        "id",
    )
    assert result.hits[2:] == [None, None]
    assert json.loads(raw)["hits"][3] is None


async def test_the_endpoint_wants_the_service_credential(catalog: Catalog):
    body = {"target": "deezer", "tracks": []}
    response, raw = await call(catalog, body, headers={})
    assert response.status == 401 and response.content_type == "application/problem+json", raw
    for wrong in ("Service nope", "Bearer x", "Service " + "0" * 64):
        response, raw = await call(catalog, body, headers={"Authorization": wrong})
        assert response.status == 403 and response.content_type == "application/problem+json", raw
    response, _ = await call(catalog, body)
    assert response.status == 200


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{", 400),
        (b"[" * 100 + b"]" * 100, 400),
        (b'{"target": "deezer", "tracks": [], "n": 1' + b"1" * 5000 + b"}", 400),
        (b"[]", 422),
        (b'"deezer"', 422),
        (b"{}", 422),
        (b'{"target": "napster", "tracks": []}', 422),
        (b'{"target": 3, "tracks": []}', 422),
        (b'{"target": "deezer", "tracks": {}}', 422),
        (b'{"target": "deezer", "tracks": [3]}', 422),
        (b'{"target": "deezer", "tracks": [null]}', 422),
        (b'{"target": "deezer", "tracks": [], "extra": 1}', 422),
        (b'{"target": "deezer", "tracks": [{"provider": "spotify", "provider_track_id": 5}]}', 422),
        (b'{"target": "deezer", "tracks": [{"provider": "spotify", "provider_track_id": true}]}', 422),
        (b'{"target": "deezer", "tracks": [{"isrc": 12}]}', 422),
        (b'{"target": "deezer", "tracks": [{"isrc": "' + b"G" * 33 + b'"}]}', 422),
        (b'{"target": "deezer", "tracks": [{"provider_track_id": "' + b"x" * 201 + b'"}]}', 422),
        (b'{"target": "de\\u0000ezer", "tracks": []}', 422),
    ],
)
async def test_a_bad_body_is_a_problem(catalog: Catalog, body: bytes, status: int):
    headers = {**catalog.service_headers(), "Content-Type": "application/json"}
    response, raw = await call(catalog, headers=headers, data=body)
    assert response.status == status, raw
    assert response.content_type == "application/problem+json"
    problem = json.loads(raw)
    assert problem["status"] == status


async def test_a_nul_character_finds_nothing_and_fails_nothing(catalog: Catalog):
    """No track in the catalog has a NUL in its id, so such a track is not found; its neighbours are."""
    a, x = ("spotify", ids()), ("deezer", ids())
    await catalog.tell(matched(a, x))
    body = {
        "target": "deezer",
        "tracks": [
            {"provider": "spotify", "provider_track_id": a[1] + "\u0000"},
            {"provider": "spotify", "provider_track_id": "\u0000"},
            {"provider": "spotify", "provider_track_id": a[1], "isrc": "\u0000" * 32},
        ],
    }
    response, raw = await call(catalog, body)
    assert response.status == 200, raw
    hits = json.loads(raw)["hits"]
    assert hits[:2] == [None, None]
    assert (hits[2]["provider_track_id"], hits[2]["via"]) == (x[1], "id")
    # The target itself may not hold one.
    response, raw = await call(catalog, {"target": "deezer\u0000", "tracks": []})
    assert response.status == 422, raw


async def test_too_many_tracks_are_refused(catalog: Catalog):
    tracks = [{"provider": "spotify", "provider_track_id": str(i)} for i in range(MAX_LOOKUP + 1)]
    response, raw = await call(catalog, {"target": "deezer", "tracks": tracks})
    assert response.status == 422, raw
    assert json.loads(raw)["errors"][0]["field"] == "tracks"
    response, raw = await call(catalog, {"target": "deezer", "tracks": tracks[:MAX_LOOKUP]})
    assert response.status == 200, raw
    assert json.loads(raw)["hits"] == [None] * MAX_LOOKUP


async def test_a_huge_or_foreign_body_is_refused(catalog: Catalog):
    huge = json.dumps({"target": "deezer", "tracks": [{"isrc": "x" * (2 << 20)}]}).encode()
    headers = {**catalog.service_headers(), "Content-Type": "application/json"}
    response, _ = await call(catalog, headers=headers, data=huge)
    assert response.status == 413 and response.content_type == "application/problem+json"
    headers = {**catalog.service_headers(), "Content-Type": "text/plain"}
    response, _ = await call(catalog, headers=headers, data=b'{"target": "deezer", "tracks": []}')
    assert response.status == 415 and response.content_type == "application/problem+json"
    answer = await catalog.client.get("/internal/catalog/lookup", headers=catalog.service_headers())
    assert answer.status == 405
