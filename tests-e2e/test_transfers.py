"""Transfers through the gateway: a user imports a Spotify library and moves two playlists to Deezer —
a dry run first (the per-track results and the not-found report, as JSON and CSV), then the apply with
the user's picks; the Deezer playlists then hold exactly the matched tracks in the source's order, every
match right by the emulator's ground truth. A second user transferring the same songs makes no search
call and no ISRC lookup, neither for the songs the first transfer matched nor for those it found nowhere
(the shared match cache and its misses), and the first user's transfer is nobody else's.

Beside the gateway and the emulator, one test asks enrichment's internal catalog lookup, as
provider-sync would, to wait until the first transfer's events have reached the catalog (through Kafka,
asynchronously)."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from journeys import JOB_DEADLINE_S, Client

from pm_devstack.stack import Stack
from pm_matching import REVIEW_AT
from pm_platform.identity import service_credential

# Two real playlists of the emulator's catalog (its data set's first playlists).
SOURCE_PLAYLISTS = (
    {"name": "Morning commute", "source_playlist": 0},
    {"name": "Late night", "source_playlist": 1},
)


@pytest.fixture
async def client(gateway_url: str, stack: Stack, register_user) -> AsyncIterator[Client]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        emulator = f"http://127.0.0.1:{stack.spec('provider-emulator').port}"
        yield Client(session, gateway_url, emulator, await register_user())


async def _imported_spotify(client: Client) -> dict[str, Any]:
    """The user's Spotify account (linked, imported) and an empty Deezer one (linked)."""
    spotify = await client.link("spotify", {"playlists": list(SOURCE_PLAYLISTS)})
    deezer = await client.link("deezer", {"playlists": []})
    await client.import_all(["spotify"])
    await client.library_when(lambda found: sum(k.startswith("spotify:") for k in found) == 3)
    return {"spotify": spotify, "deezer": deezer}


async def _deezer_tracks(client: Client, token: str, playlist_id: str) -> list[str]:
    async with client.session.get(
        f"{client.emulator}/api.deezer.com/playlist/{playlist_id}/tracks",
        params={"access_token": token, "limit": "2000"},
    ) as r:
        body = await r.json()
    return [str(t["id"]) for t in body["data"]]


async def _truth(client: Client, spotify_id: str, provider: str) -> set[str]:
    mapping = await client.admin("GET", "/catalog/mapping", params={"spotify_id": spotify_id})
    return {str(i) for rec in mapping["recordings"] for i in rec[provider]}


async def test_a_dry_run_then_the_apply_copies_two_playlists_to_deezer_in_order(
    client: Client, register_user
):
    accounts = await _imported_spotify(client)
    dry = await client.start_transfer(
        {
            "source": {"provider": "spotify", "collections": "playlists"},
            "target": {"provider": "deezer"},
            "dry_run": True,
        },
    )
    done = await client.job(dry["job_id"], {"succeeded"})
    result = done["result"]
    assert result["dry_run"] is True and result["playlists"] == 2
    assert (
        result["tracks"]
        == result["matched"]
        + result["review"]
        + result["not_matched"]
        + result["unavailable"]
        + result["skipped"]
    )
    assert result["matched"] >= 0.9 * result["tracks"], result
    assert all(p["tracks"] > 0 for p in result["parts"]) and len(result["parts"]) == 2

    # Nothing was written: the Deezer account still has no playlist.
    truth = await client.admin("GET", f"/users/deezer/{accounts['deezer'].id}")
    assert [p for p in truth["playlists"] if p["name"] != "Loved Tracks"] == []

    # Per-track results: every matched one is right by the emulator's ground truth.
    _, page = await client.call("GET", f"/api/v1/transfers/{dry['job_id']}/tracks", params={"limit": "1000"})
    tracks = page["tracks"]
    assert len(tracks) == result["tracks"]
    for t in tracks:
        if t["status"] == "matched":
            assert t["method"] in ("isrc", "search", "catalog", "mapping") and t["confidence"] is not None
            assert t["target_id"] in await _truth(client, t["source"]["provider_ids"]["spotify"], "deezer"), t
    # The not-found report, as JSON and as CSV: the same tracks.
    _, report = await client.call("GET", f"/api/v1/transfers/{dry['job_id']}/report")
    assert report["not_written"] == result["tracks"] - result["matched"]
    async with client.session.get(
        f"{client.gateway}/api/v1/transfers/{dry['job_id']}/report.csv", headers=client.headers
    ) as r:
        assert r.status == 200 and r.content_type == "text/csv"
        rows = list(csv.DictReader(io.StringIO(await r.text())))
    assert len(rows) == report["not_written"]

    # Apply, leaving the first playlist's first matched track out.
    first = next(t for t in tracks if t["status"] == "matched")
    _, applied = await client.call(
        "POST",
        f"/api/v1/transfers/{dry['job_id']}/apply",
        expect=202,
        json={"choices": [{"playlist": first["playlist"], "position": first["position"], "skip": True}]},
    )
    written = (await client.job(applied["job_id"], {"succeeded"}))["result"]
    assert written["dry_run"] is False and written["written"] == result["matched"] - 1
    _, view = await client.call("GET", f"/api/v1/transfers/{applied['job_id']}")
    token = accounts["deezer"].tokens["access_token"]
    for part in view["parts"]:
        expected = [
            t["target_id"]
            for t in tracks
            if t["playlist"] == part["playlist"] and t["status"] == "matched" and t is not first
        ]
        assert part["verified"] is True
        assert await _deezer_tracks(client, token, part["target_playlist_id"]) == expected

    # An apply twice, or of a transfer that was no dry run, is refused; another user sees none of it.
    await client.call(
        "POST", f"/api/v1/transfers/{applied['job_id']}/apply", expect=422, json={"choices": []}
    )
    other = Client(client.session, client.gateway, client.emulator, await register_user())
    await other.call("GET", f"/api/v1/transfers/{dry['job_id']}", expect=404)
    await other.call("GET", f"/api/v1/transfers/{dry['job_id']}/report.csv", expect=404)
    await other.call("POST", f"/api/v1/transfers/{dry['job_id']}/apply", expect=404, json={"choices": []})


def _nowhere(track: dict[str, Any]) -> bool:
    """A track its transfer found nowhere on the target: not matched, and no candidate a user could pick
    (the shared catalog remembers such a miss), or the catalog knew it so already."""
    if track["status"] != "not_matched":
        return False
    if track["method"] == "catalog":
        return True
    return "refused" not in (track["reason"] or "") and all(
        (c["confidence"] or 0) < REVIEW_AT for c in track["candidates"]
    )


async def _catalog_learnt(
    stack: Stack, target: str, matched: list[str], nowhere: list[str], deadline_s: float = JOB_DEADLINE_S
) -> None:
    """Wait until the shared catalog answers each Spotify id of ``matched`` with its track on the target
    and each of ``nowhere`` as known absent: a transfer's events reach enrichment through Kafka, after
    the job ended."""
    env = stack.service_env("provider-sync")
    url = f"{env['ENRICHMENT_URL']}/internal/catalog/lookup"
    headers = {"Authorization": service_credential(env["SERVICE_TOKEN"])}
    keys = [{"provider": "spotify", "provider_track_id": i} for i in matched + nowhere]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + deadline_s
    async with aiohttp.ClientSession() as session:
        while True:
            async with session.post(url, headers=headers, json={"target": target, "tracks": keys}) as r:
                assert r.status == 200, await r.text()
                answer = await r.json()
            hits, absent = answer["hits"], answer.get("absent") or [None] * len(keys)
            known = [h is not None and h["via"] == "id" for h in hits[: len(matched)]]
            missed = [a is not None for a in absent[len(matched) :]]
            if all(known) and all(missed):
                return
            assert loop.time() < deadline, f"the catalog has not learnt the first transfer: {answer}"
            await asyncio.sleep(0.5)


async def test_a_second_users_transfer_of_the_same_songs_makes_no_search_call(
    client: Client, stack: Stack, register_user
):
    await _imported_spotify(client)
    body = {
        "source": {"provider": "spotify", "collections": "playlists"},
        "target": {"provider": "deezer"},
        "dry_run": True,
    }
    first_job = (await client.start_transfer(body))["job_id"]
    first = (await client.job(first_job, {"succeeded"}))["result"]
    # (On a fresh stack the first transfer searched; an earlier run may have taught the catalog already.)
    automatic = sum(first["methods"].get(m, 0) for m in ("search", "isrc", "catalog"))
    assert automatic == first["matched"] > 0, first
    tracks = await client.transfer_tracks(first_job)
    nowhere = [t for t in tracks if _nowhere(t)]
    assert nowhere, "the emulator's playlists hold songs Deezer does not have"
    await _catalog_learnt(
        stack,
        "deezer",
        [t["source"]["provider_ids"]["spotify"] for t in tracks if t["status"] == "matched"],
        [t["source"]["provider_ids"]["spotify"] for t in nowhere],
    )

    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        second = Client(session, client.gateway, client.emulator, await register_user())
        await _imported_spotify(second)
        again_job = (await second.start_transfer(body))["job_id"]
        again = (await second.job(again_job, {"succeeded"}))["result"]
        again_tracks = {(t["playlist"], t["position"]): t for t in await second.transfer_tracks(again_job)}
    # Every track the first transfer matched comes from the shared catalog now, and every track it found
    # nowhere is known absent there: no search, no ISRC lookup for either. Only what a user could pick
    # among candidates (review, or not available to the first account) is looked for again.
    assert again["methods"] == {"catalog": first["matched"]}, again
    for track in nowhere:
        known = again_tracks[(track["playlist"], track["position"])]
        assert (known["status"], known["method"]) == ("not_matched", "catalog"), known
        assert known["reason"].startswith("not on Deezer: nobody's search found it"), known
    looked_again = first["tracks"] - first["matched"] - first["skipped"] - len(nowhere)
    assert again["calls"].get("deezer", 0) <= 2 * looked_again, again


async def test_hostile_transfer_requests_are_refused_clearly(client: Client):
    bad = [
        {},
        {"source": {"provider": "spotify"}, "target": {"provider": "myspace"}},
        {"source": {"playlists": []}, "target": {"provider": "deezer"}},
        {"source": {"playlists": ["not-a-uuid"]}, "target": {"provider": "deezer"}},
        {
            "source": {"provider": "spotify", "playlists": ["6f1c1e1e-5a8b-4c1f-9a55-7d0c0c7e2b11"]},
            "target": {"provider": "deezer"},
        },
        {"source": {"provider": "spotify"}, "target": {"provider": "deezer", "mode": "append"}},
        {"source": {"provider": "spotify"}, "target": {"provider": "deezer", "name": "x\u0000"}},
        {"source": {"provider": "spotify"}, "target": {"provider": "deezer"}, "explicit": "sometimes"},
        {"source": {"provider": "spotify"}, "target": {"provider": "deezer"}, "extra": 1},
    ]
    for body in bad:
        status, problem = await client.call("POST", "/api/v1/transfers", expect=None, json=body)
        assert status in (400, 422), (body, status, problem)
        assert problem["status"] == status and problem["type"]
    # The target must be linked.
    status, problem = await client.call(
        "POST",
        "/api/v1/transfers",
        expect=None,
        json={"source": {"provider": "spotify"}, "target": {"provider": "tidal"}},
    )
    assert status == 422 and problem["type"].endswith("/provider-not-linked")
    # Ids that are not transfers, or not UUIDs, are 404.
    for path in ("/api/v1/transfers/nope", "/api/v1/transfers/6f1c1e1e-5a8b-4c1f-9a55-7d0c0c7e2b11/report"):
        await client.call("GET", path, expect=404)


async def test_deezer_gets_a_repeated_track_once_and_the_report_says_so(client: Client):
    """Deezer holds a track once per playlist: a library playlist holding one song twice is transferred
    with the song once, the repeat reported as skipped (in the dry run already), not a failed job."""
    await _imported_spotify(client)
    library = await client.library()
    source = next(
        p for key, p in library.items() if key.startswith("spotify:") and p["collection"] == "playlist"
    )
    song = source["entries"]["items"][0]["track"]
    described = {k: song[k] for k in ("title", "artists", "album", "duration_ms", "isrc", "explicit")}
    _, made = await client.call(
        "POST", "/api/v1/playlists", expect=201, json={"name": "Twice", "tracks": [described, described]}
    )
    body = {"source": {"playlists": [made["id"]]}, "target": {"provider": "deezer"}, "dry_run": True}
    dry = (await client.job((await client.start_transfer(body))["job_id"], {"succeeded"}))["result"]
    assert (dry["matched"], dry["skipped"]) == (1, 1), dry
    job_id = (await client.start_transfer({**body, "dry_run": False}))["job_id"]
    done = (await client.job(job_id, {"succeeded"}))["result"]
    assert (done["matched"], done["skipped"], done["written"]) == (1, 1, 1), done
    _, report = await client.call("GET", f"/api/v1/transfers/{job_id}/report")
    [repeat] = report["tracks"]
    assert repeat["position"] == 1 and repeat["status"] == "skipped" and "once" in repeat["reason"]
