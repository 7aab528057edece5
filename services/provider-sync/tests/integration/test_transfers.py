"""A transfer's matching against the shared catalog's misses, inside provider-sync: the job against the
emulated Deezer (tokens from the stand-in auth), the library and the catalog played by a stand-in, and
the events it publishes (read back from Kafka).

A track the catalog knows absent costs no ISRC lookup and no search; a track nobody finds is told to the
catalog (``track.not_found``), and only such a track: not a file's, not an episode, not for a user who
wants another version. Each test has its own user, accounts and source ids; nothing is timed."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web

from pm_platform.jobs import Job
from pm_platform.testing import published_events, stand_in_server
from pm_provider_sync.domain.transfers import SourceTrack, source_key
from pm_provider_sync.storage import transfers as stored

from .conftest import ProviderSync, ServiceFactory

pytestmark = pytest.mark.integration

SEARCHED_AT = "2026-03-04T05:06:07Z"


def unique_isrc() -> str:
    """A well-formed ISRC no catalog holds."""
    return f"ZZX{uuid.uuid4().hex[:2].upper()}{uuid.uuid4().int % 10**7:07d}"


def nonsense(kind: str) -> dict[str, Any]:
    """A track no provider has: its search finds nothing near."""
    word = uuid.uuid4().hex[:10]
    return {"title": f"Qwxzv {word} Plorkt", "artists": [f"Zzyzx Vromb {word}"], "duration_ms": 200_000} | {
        "media_type": kind
    }


@dataclass
class Services:
    """The library (one playlist per id, its entries' tracks) and the shared catalog: it knows no track,
    and answers ``absent`` for the source ids in ``absent`` (leaves the field out when ``old``)."""

    playlists: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    absent: set[str] = field(default_factory=set)
    old: bool = False
    lookups: list[dict[str, Any]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        path = request.path
        if request.method == "POST" and path == "/internal/catalog/lookup":
            body = await request.json()
            self.lookups.append(body)
            answer: dict[str, Any] = {"hits": [None] * len(body["tracks"])}
            if not self.old:
                answer["absent"] = [
                    SEARCHED_AT if t.get("provider_track_id") in self.absent else None for t in body["tracks"]
                ]
            return web.json_response(answer)
        playlist_id = path.rsplit("/", 1)[-1]
        if request.method == "GET" and playlist_id in self.playlists:
            items = [{"track": track} for track in self.playlists[playlist_id]]
            return web.json_response(
                {"id": playlist_id, "name": "Mixed", "entries": {"items": items, "next_offset": None}}
            )
        return web.json_response({"type": "not-found"}, status=404)


@pytest.fixture(scope="module")
async def services() -> AsyncIterator[tuple[Services, str]]:
    played = Services()
    async with stand_in_server(played.handle) as url:
        yield played, url


@pytest.fixture(scope="module")
async def transfers(start_provider_sync: ServiceFactory, services: tuple[Services, str]) -> ProviderSync:
    _, url = services
    return await start_provider_sync(PLAYLIST_URL=url, ENRICHMENT_URL=url)


async def _catalog_track(ps: ProviderSync) -> dict[str, Any]:
    """A Spotify track of the emulator's catalog that Deezer has, as the library describes it."""
    [track] = await _catalog_tracks(ps, 1, source_playlist=0)
    return track


@dataclass(frozen=True)
class Run:
    """A dry run that succeeded: its per-track results and the events it published."""

    job_id: uuid.UUID
    tracks: list[dict[str, Any]]
    events: list[dict[str, Any]]

    def told(self, event_type: str) -> list[dict[str, Any]]:
        return [e["data"] for e in self.events if e["type"] == event_type]


async def _transfer(ps: ProviderSync, user: uuid.UUID, playlist: str, **request: Any) -> Run:
    body = {"source": {"playlists": [playlist]}, "target": {"provider": "deezer"}, "dry_run": True} | request
    response = await ps.client.post("/api/v1/transfers", json=body, headers=ps.headers(user))
    assert response.status == 202, await response.text()
    job_id = uuid.UUID((await response.json())["job_id"])
    job = await ps.wait(job_id)
    assert job.state == "succeeded", job.error
    response = await ps.client.get(f"/api/v1/transfers/{job_id}/tracks", headers=ps.headers(user))
    tracks = (await response.json())["tracks"]
    return Run(job_id, tracks, await published_events(ps.rt, str(job_id)))


async def _deezer_calls(ps: ProviderSync) -> dict[str, int]:
    """Deezer's ISRC lookups and searches since the last reset."""
    calls = await ps.emulator.calls("deezer")
    return {
        "isrc": sum(n for k, n in calls.items() if "/track/" in k),
        "search": sum(n for k, n in calls.items() if "/search" in k),
    }


async def test_a_known_absent_track_is_not_looked_for_and_a_track_nobody_finds_is_told(
    transfers: ProviderSync, services: tuple[Services, str]
):
    ps, (played, _) = transfers, services
    user = uuid.uuid4()
    await ps.link(user, await ps.emulator.account("deezer", []))
    absent, nowhere, mapped, episode = (f"sp{uuid.uuid4().hex[:20]}" for _ in range(4))
    absent_isrc, nowhere_isrc = unique_isrc(), unique_isrc()
    real = await _catalog_track(ps)
    tracks = [
        nonsense("track") | {"isrc": absent_isrc, "provider_ids": {"spotify": absent}},
        nonsense("track") | {"isrc": nowhere_isrc, "provider_ids": {"spotify": nowhere}},
        nonsense("track") | {"provider_ids": {"spotify": mapped}},
        nonsense("track") | {"is_local": True},  # a local file: no provider id
        nonsense("episode") | {"provider_ids": {"spotify": episode}},
        real,
    ]
    playlist = str(uuid.uuid4())
    played.playlists[playlist] = tracks
    played.absent |= {absent, mapped}
    # The user's own mapping wins over the catalog's miss.
    async with ps.rt.transaction() as conn:
        key = source_key(SourceTrack.from_api(tracks[2]))
        await stored.remember_mappings(conn, user, "deezer", [(key, "3135556")], datetime.now(UTC))

    await ps.emulator.reset_calls()
    run = await _transfer(ps, user, playlist)
    by_position = {t["position"]: t for t in run.tracks}

    known = by_position[0]
    assert (known["status"], known["method"], known["target_id"]) == ("not_matched", "catalog", None)
    assert known["reason"] == (
        "not on Deezer: nobody's search found it (checked 2026-03-04); pick a track by hand to map it"
    )
    assert by_position[1]["status"] == "not_matched" and by_position[1]["method"] != "catalog"
    assert (by_position[2]["status"], by_position[2]["method"], by_position[2]["target_id"]) == (
        "matched",
        "mapping",
        "3135556",
    )
    assert by_position[5]["status"] == "matched" and by_position[5]["method"] in ("isrc", "search")
    # The known absent track cost nothing on Deezer: the ISRC lookups are the other two tracks' with an
    # ISRC, the searches those of the three tracks nobody has.
    assert await _deezer_calls(ps) == {"isrc": 2, "search": 3}

    # The report lists it like any track not written.
    response = await ps.client.get(f"/api/v1/transfers/{run.job_id}/report", headers=ps.headers(user))
    report = await response.json()
    assert [t["position"] for t in report["tracks"]] == [0, 1, 3, 4]

    # Only the track searched properly, with a provider id, that is a recording, is told as not found.
    [told] = run.told("track.not_found")
    assert told["source"] == {"provider": "spotify", "provider_track_id": nowhere}
    assert (told["target"], told["source_isrc"], told["title"]) == (
        "deezer",
        nowhere_isrc,
        tracks[1]["title"],
    )
    assert told["job_id"] == str(run.job_id) and told["searched_at"]
    assert [m["source"]["provider_track_id"] for m in run.told("track.matched")] == [
        real["provider_ids"]["spotify"]
    ]


async def test_a_user_who_wants_another_version_neither_asks_the_catalog_nor_teaches_it(
    transfers: ProviderSync, services: tuple[Services, str]
):
    ps, (played, _) = transfers, services
    user = uuid.uuid4()
    await ps.link(user, await ps.emulator.account("deezer", []))
    absent, nowhere = f"sp{uuid.uuid4().hex[:20]}", f"sp{uuid.uuid4().hex[:20]}"
    playlist = str(uuid.uuid4())
    played.playlists[playlist] = [
        nonsense("track") | {"isrc": unique_isrc(), "provider_ids": {"spotify": absent}},
        nonsense("track") | {"provider_ids": {"spotify": nowhere}},
    ]
    played.absent.add(absent)
    asked = len(played.lookups)
    await ps.emulator.reset_calls()
    run = await _transfer(ps, user, playlist, explicit="explicit")
    assert len(played.lookups) == asked
    assert [(t["status"], t["method"] == "catalog") for t in run.tracks] == [("not_matched", False)] * 2
    assert await _deezer_calls(ps) == {"isrc": 1, "search": 2}
    assert run.told("track.not_found") == []


async def test_a_catalog_that_answers_no_misses_leaves_every_track_to_be_looked_for(
    transfers: ProviderSync, services: tuple[Services, str]
):
    ps, (played, _) = transfers, services
    user = uuid.uuid4()
    await ps.link(user, await ps.emulator.account("deezer", []))
    absent = f"sp{uuid.uuid4().hex[:20]}"
    playlist = str(uuid.uuid4())
    played.playlists[playlist] = [nonsense("track") | {"provider_ids": {"spotify": absent}}]
    played.absent.add(absent)
    played.old = True
    try:
        await ps.emulator.reset_calls()
        run = await _transfer(ps, user, playlist)
    finally:
        played.old = False
    [track] = run.tracks
    assert track["status"] == "not_matched" and track["method"] != "catalog"
    assert await _deezer_calls(ps) == {"isrc": 0, "search": 1}
    assert [t["source"]["provider_track_id"] for t in run.told("track.not_found")] == [absent]


# ---- an existing target: append, replace, and one that cannot be written ---------------------------------


async def _catalog_tracks(ps: ProviderSync, count: int, source_playlist: int = 1) -> list[dict[str, Any]]:
    """``count`` Spotify tracks of the emulator's catalog that Deezer has, as the library describes them
    (from one of the emulator's real playlists)."""
    spotify = await ps.emulator.account("spotify", [{"name": "Real", "source_playlist": source_playlist}])
    found: list[dict[str, Any]] = []
    for track in await ps.adapter(spotify).read_all(spotify.playlists["Real"]):
        truth = await ps.emulator.admin("GET", f"/catalog/mapping?spotify_id={track.id}")
        if track.id and track.isrc and any(r["deezer"] for r in truth["recordings"]):
            found.append(
                {
                    "title": track.title,
                    "artists": list(track.artists),
                    "album": track.album,
                    "duration_ms": track.duration_ms,
                    "isrc": track.isrc,
                    "explicit": track.explicit,
                    "provider_ids": {"spotify": track.id},
                    "media_type": "track",
                }
            )
            if len(found) == count:
                return found
    raise AssertionError(f"fewer than {count} tracks of the emulator's playlist are on Deezer")


async def _written(ps: ProviderSync, user: uuid.UUID, playlist: str, target: dict[str, Any]) -> Job:
    body = {"source": {"playlists": [playlist]}, "target": {"provider": "deezer", **target}}
    response = await ps.client.post("/api/v1/transfers", json=body, headers=ps.headers(user))
    assert response.status == 202, await response.text()
    return await ps.wait(uuid.UUID((await response.json())["job_id"]))


async def _matched_ids(ps: ProviderSync, user: uuid.UUID, job_id: uuid.UUID) -> list[str]:
    response = await ps.client.get(f"/api/v1/transfers/{job_id}/tracks", headers=ps.headers(user))
    return [t["target_id"] for t in (await response.json())["tracks"] if t["status"] == "matched"]


@pytest.mark.parametrize("mode", ["append", "replace"])
async def test_an_existing_playlist_gets_the_tracks_after_what_it_held_or_instead_of_it(
    transfers: ProviderSync, services: tuple[Services, str], mode: str
):
    ps, (played, _) = transfers, services
    user = uuid.uuid4()
    deezer = await ps.emulator.account("deezer", [{"name": "Mine", "size": 3}])
    await ps.link(user, deezer)
    held = [t.id for t in await ps.adapter(deezer).read_all(deezer.playlists["Mine"])]
    playlist = str(uuid.uuid4())
    played.playlists[playlist] = await _catalog_tracks(ps, 3)
    job = await _written(ps, user, playlist, {"mode": mode, "playlist_id": deezer.playlists["Mine"]})
    assert job.state == "succeeded", job.error
    ours = await _matched_ids(ps, user, job.id)
    assert len(ours) == 3 and not set(ours) & set(held)
    now = [t.id for t in await ps.adapter(deezer).read_all(deezer.playlists["Mine"])]
    assert now == (held + ours if mode == "append" else ours)


async def test_a_target_that_is_not_there_or_not_the_users_fails_before_anything_is_looked_for(
    transfers: ProviderSync, services: tuple[Services, str]
):
    ps, (played, _) = transfers, services
    user = uuid.uuid4()
    await ps.link(user, await ps.emulator.account("deezer", []))
    someone = await ps.emulator.account("deezer", [{"name": "Theirs", "size": 2}])
    playlist = str(uuid.uuid4())
    played.playlists[playlist] = await _catalog_tracks(ps, 1)
    await ps.emulator.reset_calls()
    missing = await _written(ps, user, playlist, {"mode": "append", "playlist_id": "987654321987"})
    assert missing.state == "failed" and missing.error is not None
    assert missing.error.code == "target-not-found", missing.error
    theirs = await _written(
        ps, user, playlist, {"mode": "replace", "playlist_id": someone.playlists["Theirs"]}
    )
    assert theirs.state == "failed" and theirs.error is not None
    assert theirs.error.code in ("target-not-writable", "target-not-found"), theirs.error
    assert await _deezer_calls(ps) == {"isrc": 0, "search": 0}  # failed before matching
    assert [t.id for t in await ps.adapter(someone).read_all(someone.playlists["Theirs"])] != []
