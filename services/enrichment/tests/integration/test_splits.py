"""An operator's split of a wrong join (``POST /internal/catalog/recordings/{id}/split``): tracks taken
out into a new recording with their ISRCs, both recordings due for the enrichment, and remembered — a
later import's placing and a transfer's match never join the two sides again. And the attacks: no or a
wrong credential, another recording's tracks, a split leaving nothing, ids that are no UUIDs, NUL
characters, too many tracks."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Catalog, ids, matched
from .test_seen_tracks import entry, handled, imported, recordings, song

pytestmark = pytest.mark.integration


async def _split(catalog: Catalog, recording: Any, tracks: list[tuple[str, str]], **more: Any) -> Any:
    response = await catalog.client.post(
        f"/internal/catalog/recordings/{recording}/split",
        headers=more.pop("headers", catalog.service_headers()),
        json={
            "tracks": [{"provider": p, "provider_track_id": i} for p, i in tracks],
            "reason": "two songs of one name",
            **more,
        },
    )
    return response.status, await response.json()


async def test_a_split_takes_tracks_out_and_is_remembered_by_imports_and_transfers(catalog: Catalog):
    title = song("Safe From Harm")
    s, d = ("spotify", ids()), ("deezer", ids())
    await handled(
        catalog, imported("spotify", [entry(s[1], title, ["Massive Attack"], 318, isrc="GBAAA9100001")])
    )
    await handled(catalog, imported("deezer", [entry(d[1], title, ["Massive Attack"], 318.4)]))
    [recording] = set(await recordings(catalog, s, d))
    assert recording is not None
    [row] = await catalog.fetch("SELECT updated_at FROM recordings WHERE id = $1", recording)
    before = row["updated_at"]

    status, answer = await _split(catalog, recording, [d])
    assert status == 201, answer
    new = answer["new_recording_id"]
    assert answer["moved"] == [{"provider": "deezer", "provider_track_id": d[1]}]
    assert [str(r) for r in await recordings(catalog, s, d)] == [str(recording), new]
    rows = await catalog.fetch(
        "SELECT id, updated_at, title FROM recordings WHERE id = ANY($1::uuid[])", [recording, new]
    )
    assert all(r["updated_at"] > before for r in rows)  # both due for the enrichment
    [split] = await catalog.fetch("SELECT * FROM catalog_splits WHERE recording_id = $1", recording)
    assert split["reason"] == "two songs of one name"

    # The same descriptions imported again (read by new rules, say): placed again, kept apart.
    async with catalog.rt.pool.acquire() as conn:
        await conn.execute("UPDATE seen_tracks SET title_keys = '{}' WHERE provider_track_id = $1", d[1])
    await handled(catalog, imported("deezer", [entry(d[1], title, ["Massive Attack"], 318.4)]))
    assert [str(r) for r in await recordings(catalog, s, d)] == [str(recording), new]
    # A transfer's match of the two: refused, remembered.
    await catalog.tell(matched(s, d, title=title, artists=["Massive Attack"], duration_ms=318_000))
    assert [str(r) for r in await recordings(catalog, s, d)] == [str(recording), new]
    [refused] = await catalog.joins(s, d)
    assert (refused["decision"], refused["reason"]) == ("refused", "an operator split these recordings apart")


async def test_the_split_moves_the_isrcs_its_tracks_carry(catalog: Catalog):
    title = song("Daydreaming")
    s, t = ("spotify", ids()), ("tidal", ids())
    await handled(
        catalog, imported("spotify", [entry(s[1], title, ["Massive Attack"], 254, isrc="GBAAA9100003")])
    )
    await handled(
        catalog, imported("tidal", [entry(t[1], title, ["Massive Attack"], 254.2, isrc="GBAAA9100003")])
    )
    [recording] = set(await recordings(catalog, s, t))
    status, answer = await _split(catalog, recording, [t])
    assert status == 201
    # Both still carry the ISRC: the Spotify track's description keeps it on the old one too.
    assert await catalog.isrcs(recording) == {"GBAAA9100003"}
    assert await catalog.isrcs(answer["new_recording_id"]) == {"GBAAA9100003"}


async def test_bad_splits_are_refused_clearly(catalog: Catalog):
    title = song("Lately")
    s, d = ("spotify", ids()), ("deezer", ids())
    await handled(catalog, imported("spotify", [entry(s[1], title, ["Massive Attack"], 266)]))
    await handled(catalog, imported("deezer", [entry(d[1], title, ["Massive Attack"], 266.3)]))
    [recording] = set(await recordings(catalog, s, d))
    stranger = ("tidal", ids())
    cases = [
        ({"tracks": [s, d]}, 422, "split-refused"),  # nothing would stay
        ({"tracks": [stranger]}, 422, "split-refused"),  # not one of its tracks
        ({"tracks": []}, 422, None),
        ({"tracks": [("deezer", "x\x00y")]}, 422, None),
        ({"tracks": [("myspace", "1")]}, 422, None),
        ({"tracks": [("deezer", str(n)) for n in range(501)]}, 422, None),
        ({"tracks": [d], "extra": 1}, 422, None),
        ({"tracks": [d], "reason": ""}, 422, None),
    ]
    for body, status, code in cases:
        tracks = body.pop("tracks")
        got, problem = await _split(catalog, recording, tracks, **body)
        assert got == status, (tracks[:2], got, problem)
        if code:
            assert problem["type"].endswith(f"/{code}"), problem
    for recording_path in ("not-a-uuid", "00000000-0000-4000-8000-000000000000"):
        got, problem = await _split(catalog, recording_path, [d])
        assert (got, problem["type"].split("/")[-1]) == (404, "recording-not-found")
    got, _ = await _split(catalog, recording, [d], headers={})
    assert got == 401
    got, _ = await _split(catalog, recording, [d], headers={"Authorization": "Service not-the-token-at-all"})
    assert got == 403
    assert len(set(await recordings(catalog, s, d))) == 1  # nothing was split
