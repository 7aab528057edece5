"""proto/openapi.yaml against reality: real requests through the running gateway, each request and its
response validated against the document (openapi-core). Covers every path of the document but the
library import (`POST /api/v1/library/imports`, provider-sync's; the transfers' scenario starts one
without checking it); the generated requests of `make test-api` (schemathesis) complement these
hand-written scenarios."""

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import pytest
import redis.asyncio as aioredis
from journeys import Client
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from pm_contracts.jobs import JobUpdated
from pm_devstack.emulated_accounts import EmulatedAccount, LinkFailed
from pm_devstack.stack import Stack

DOCUMENT = Path(__file__).resolve().parents[1] / "proto" / "openapi.yaml"


@dataclass
class _Request:
    host_url: str
    path: str
    method: str
    body: bytes | None
    content_type: str
    parameters: RequestParameters = field(default_factory=RequestParameters)


@dataclass
class _Response:
    status_code: int
    content_type: str
    headers: Headers
    data: bytes


def _text(data: bytes | str, **_: str) -> str:
    return data.decode() if isinstance(data, bytes) else data


@pytest.fixture(scope="module")
def openapi() -> OpenAPI:
    # problem+json is JSON: parse it as such, so error bodies are checked against the Problem schema.
    text = {t: _text for t in ("text/event-stream", "text/html", "text/plain", "text/csv")}
    config = Config(extra_media_type_deserializers={"application/problem+json": json.loads, **text})
    return OpenAPI.from_file_path(str(DOCUMENT), config=config)


@dataclass
class Api:
    """Sends requests through the gateway and checks each exchange against the document."""

    base: str
    openapi: OpenAPI
    ip: str
    checked: list[tuple[str, str, int]] = field(default_factory=list)
    # The last answer's headers (e.g. its ETag, for the next conditional request).
    headers: Headers = field(default_factory=Headers)
    # Wait out a 429 (Retry-After) and send again: for scenarios of more requests than a burst allows.
    patient: bool = False

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json_body: object = None,
        headers: dict[str, str] | None = None,
        expect: int | None = None,
        validate_request: bool = True,
    ) -> tuple[int, object]:
        headers = {"X-Forwarded-For": self.ip, **(headers or {})}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        body = json.dumps(json_body).encode() if json_body is not None else None
        if body is not None:
            headers["Content-Type"] = "application/json"
        while True:
            async with (
                aiohttp.ClientSession() as session,
                session.request(
                    method, f"{self.base}{path}", data=body, headers=headers, allow_redirects=False
                ) as r,
            ):
                data = await r.read()
                response = _Response(
                    r.status,
                    r.headers.get("Content-Type", "").lower(),
                    Headers(list(r.headers.items())),
                    data,
                )
            if not (self.patient and response.status_code == 429):
                break
            await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
        self.headers = response.headers
        parts = urlsplit(path)
        request = _Request(
            self.base,
            parts.path,
            method.lower(),
            body,
            headers.get("Content-Type", ""),
            RequestParameters(
                query=ImmutableMultiDict(parse_qsl(parts.query)),
                header=Headers(list(headers.items())),
                cookie=ImmutableMultiDict(),
            ),
        )
        if validate_request:
            self.openapi.validate_request(request)
        self.openapi.validate_response(request, response)
        if expect is not None:
            assert response.status_code == expect, (method, path, response.status_code, data[:300])
        self.checked.append((method, parts.path, response.status_code))
        parsed: object = data
        if response.content_type.startswith(("application/json", "application/problem+json")) and data:
            parsed = json.loads(data)
        return response.status_code, parsed


@pytest.fixture
def api(gateway_url, openapi, client_ip) -> Api:
    return Api(gateway_url, openapi, client_ip)


async def test_accounts_and_sessions(api: Api):
    email, password = f"oas-{uuid.uuid4().hex[:10]}@example.com", "correct horse battery staple"
    await api.call(
        "POST", "/api/v1/auth/register", json_body={"email": email, "password": password}, expect=201
    )
    await api.call(
        "POST", "/api/v1/auth/register", json_body={"email": email, "password": password}, expect=409
    )
    await api.call(
        "POST",
        "/api/v1/auth/register",
        json_body={"email": "x", "password": "short"},
        expect=422,
        validate_request=False,
    )
    _, tokens = await api.call(
        "POST",
        "/api/v1/auth/login",
        json_body={"email": email, "password": password, "device_name": "oas"},
        expect=200,
    )
    assert isinstance(tokens, dict)
    access = tokens["access_token"]
    await api.call("GET", "/api/v1/me", token=access, expect=200)
    await api.call("GET", "/api/v1/me", expect=401, validate_request=False)
    await api.call("GET", "/api/v1/sessions", token=access, expect=200)
    await api.call("DELETE", f"/api/v1/sessions/{uuid.uuid4()}", token=access, expect=404)
    await api.call("DELETE", "/api/v1/sessions", token=access, expect=204)
    await api.call("GET", "/api/v1/providers", token=access, expect=200)
    _, rotated = await api.call(
        "POST", "/api/v1/auth/refresh", json_body={"refresh_token": tokens["refresh_token"]}, expect=200
    )
    assert isinstance(rotated, dict)
    access = rotated["access_token"]
    await api.call(
        "POST",
        "/api/v1/me/password",
        token=access,
        json_body={"current_password": password, "new_password": password + " again"},
        expect=204,
    )
    await api.call("POST", "/api/v1/auth/logout", token=access, expect=204)


async def test_provider_linking(api: Api, register_user):
    user = await register_user()
    _, attempt = await api.call(
        "POST",
        "/api/v1/auth/spotify/authorize",
        token=user["access_token"],
        json_body={"mode": "poll"},
        expect=200,
    )
    assert isinstance(attempt, dict)
    await api.call(
        "GET", f"/api/v1/auth/attempts/{attempt['attempt_id']}", token=user["access_token"], expect=200
    )
    await api.call("GET", f"/api/v1/auth/attempts/{uuid.uuid4()}", token=user["access_token"], expect=404)
    await api.call(
        "GET", "/api/v1/auth/spotify/callback?code=x&state=unknown", expect=400, validate_request=False
    )
    await api.call("DELETE", "/api/v1/providers/deezer", token=user["access_token"])


async def test_jobs(api: Api, register_user, stack: Stack):
    user = await register_user()
    job_id, now = uuid.uuid4(), datetime.now(UTC)
    redis = aioredis.from_url(stack.redis_url())
    try:
        snapshot = JobUpdated(
            job_id=job_id,
            service="export",
            kind="export.playlist",
            user_id=uuid.UUID(user["user_id"]),
            state="succeeded",
            progress=1.0,
            result={"tracks": 3},
            created_at=now,
            updated_at=now,
            finished_at=now,
        )
        await redis.set(f"pm:gateway:job:{job_id}", snapshot.model_dump_json(), ex=600)
        await api.call("GET", f"/api/v1/jobs/{job_id}", token=user["access_token"], expect=200)
        await api.call("GET", f"/api/v1/jobs/{job_id}/events", token=user["access_token"], expect=200)
        await api.call("GET", f"/api/v1/jobs/{uuid.uuid4()}", token=user["access_token"], expect=404)
    finally:
        await redis.delete(f"pm:gateway:job:{job_id}")
        await redis.aclose()


async def test_system_routes(api: Api):
    for path in (
        "/.well-known/jwks.json",
        "/openapi.json",
        "/docs",
        "/health/live",
        "/health/ready",
        "/health",
        "/metrics",
    ):
        status, _ = await api.call("GET", path)
        assert status == 200, path


async def test_rate_limit_answers(api: Api):
    statuses = []
    for i in range(8):
        status, _ = await api.call(
            "POST",
            "/api/v1/auth/login",
            json_body={"email": f"nobody-{i}@example.com", "password": "wrong password"},
        )
        statuses.append(status)
    assert 429 in statuses, statuses


async def test_library(api: Api, register_user):
    """Every library operation but the import (provider-sync's), its successes and documented errors.
    409 `read-only-playlist` needs a followed playlist, which only an import makes: not reached here."""
    api.patient = True  # more requests than a burst of the gateway's per-user limit
    owner, other = await register_user(), await register_user()
    me, them = owner["access_token"], other["access_token"]
    tracks = [
        {"title": "Song A", "artists": ["Artist"], "isrc": "USAT21234567", "duration_ms": 200_000},
        {"title": "Song B", "artists": ["Band"], "album": "Album", "release_date": "2020-02-02"},
        {"title": "Song A", "artists": ["Artist"], "isrc": "US-AT2-12-34567", "duration_ms": 201_000},
        {"title": "Song C", "explicit": False},
    ]

    # Creating, reading, listing.
    _, created = await api.call(
        "POST", "/api/v1/playlists", token=me, json_body={"name": "Mix", "tracks": tracks}, expect=201
    )
    assert isinstance(created, dict)
    pid, etag = created["id"], api.headers["ETag"]
    assert api.headers["Location"] == f"/api/v1/playlists/{pid}"
    _, source = await api.call(
        "POST", "/api/v1/playlists", token=me, json_body={"name": "Source", "public": True}, expect=201
    )
    assert isinstance(source, dict)
    await api.call(
        "POST", "/api/v1/playlists", token=me, json_body={"name": ""}, expect=422, validate_request=False
    )
    await api.call(
        "POST",
        "/api/v1/playlists",
        token=me,
        json_body={"name": "x", "tracks": [{"track_id": str(uuid.uuid4())}]},
        expect=422,
    )
    _, page = await api.call("GET", f"/api/v1/playlists/{pid}?limit=2", token=me, expect=200)
    assert isinstance(page, dict) and page["entries"]["next_offset"] == 2
    await api.call("GET", f"/api/v1/playlists/{pid}", token=me, headers={"If-None-Match": etag}, expect=304)
    _, page = await api.call("GET", f"/api/v1/playlists/{pid}?offset=0&limit=500", token=me, expect=200)
    assert isinstance(page, dict)
    entries = [e["id"] for e in page["entries"]["items"]]
    track_id = page["entries"]["items"][1]["track"]["id"]
    await api.call("GET", f"/api/v1/playlists/{pid}", token=them, expect=404)
    await api.call("GET", "/api/v1/playlists/not-a-uuid", token=me, expect=404)
    await api.call("GET", f"/api/v1/playlists/{pid}?limit=501", token=me, expect=422, validate_request=False)
    _, listed = await api.call(
        "GET", "/api/v1/playlists?origin=created&sort=-created&limit=1", token=me, expect=200
    )
    assert isinstance(listed, dict) and listed["next_cursor"]
    list_etag = api.headers["ETag"]
    await api.call(
        "GET",
        "/api/v1/playlists?origin=created&sort=-created&limit=1",
        token=me,
        headers={"If-None-Match": list_etag},
        expect=304,
    )
    _, more = await api.call(
        "GET",
        f"/api/v1/playlists?origin=created&sort=-created&limit=1&cursor={listed['next_cursor']}",
        token=me,
        expect=200,
    )
    assert isinstance(more, dict) and [p["id"] for p in more["playlists"]] == [pid]
    await api.call("GET", f"/api/v1/playlists?sort=name&cursor={listed['next_cursor']}", token=me, expect=422)
    await api.call("GET", "/api/v1/playlists?name=mi&provider=spotify", token=me, expect=200)
    await api.call("GET", "/api/v1/playlists?limit=0", token=me, expect=422, validate_request=False)
    await api.call("GET", "/api/v1/library/liked", token=me, expect=200)

    # Details.
    path = f"/api/v1/playlists/{pid}"
    await api.call(
        "PATCH",
        path,
        token=me,
        json_body={"description": "for the road"},
        headers={"If-Match": etag},
        expect=200,
    )
    etag = api.headers["ETag"]
    await api.call(
        "PATCH", path, token=me, json_body={"name": "stale"}, headers={"If-Match": '"1.0"'}, expect=412
    )
    assert api.headers["ETag"] == etag
    await api.call("PATCH", path, token=me, json_body={"name": None}, expect=422, validate_request=False)
    await api.call("PATCH", path, token=them, json_body={"name": "mine now"}, expect=404)

    # Entries.
    await api.call(
        "POST",
        f"{path}/entries",
        token=me,
        json_body={"tracks": [{"track_id": track_id}, {"title": "Song D"}], "position": 1},
        headers={"If-Match": etag},
        expect=200,
    )
    await api.call(
        "POST",
        f"{path}/entries",
        token=me,
        json_body={"tracks": [{"title": "x"}], "position": 99},
        expect=422,
    )
    await api.call(
        "POST",
        f"{path}/entries",
        token=me,
        json_body={"tracks": [{"title": "x"}]},
        headers={"If-Match": etag},
        expect=412,
    )
    await api.call("POST", f"{path}/entries", token=them, json_body={"tracks": [{"title": "x"}]}, expect=404)
    await api.call(
        "POST", f"{path}/entries/move", token=me, json_body={"entry_ids": [entries[0]], "to": 4}, expect=200
    )
    await api.call(
        "POST", f"{path}/entries/move", token=me, json_body={"entry_ids": [entries[0]], "to": 6}, expect=422
    )
    await api.call(
        "POST", f"{path}/entries/remove", token=me, json_body={"entry_ids": [entries[3]]}, expect=200
    )
    await api.call(
        "POST", f"{path}/entries/remove", token=me, json_body={"entry_ids": [entries[3]]}, expect=422
    )
    _, before = await api.call("GET", f"{path}?limit=500", token=me, expect=200)
    assert isinstance(before, dict)
    halfway = [
        {"op": "add", "tracks": [{"title": "Song E"}]},
        {"op": "remove", "entry_ids": [entries[0], str(uuid.uuid4())]},
    ]
    await api.call("POST", f"{path}/edits", token=me, json_body={"edits": halfway}, expect=422)
    _, after = await api.call("GET", f"{path}?limit=500", token=me, expect=200)
    assert after == before  # a batch that fails halfway changes nothing
    batch = [
        {"op": "add", "tracks": [{"title": "Song E", "isrc": "usat21234567"}], "position": 0},
        {"op": "move", "entry_ids": [entries[1]], "to": 0},
        {"op": "remove", "entry_ids": [entries[2]]},
    ]
    await api.call("POST", f"{path}/edits", token=me, json_body={"edits": batch}, expect=200)
    _, page = await api.call("GET", f"{path}?limit=500", token=me, expect=200)
    assert isinstance(page, dict)
    current = [e["id"] for e in page["entries"]["items"]]
    await api.call("POST", f"{path}/reorder", token=me, json_body={"entry_ids": current[::-1]}, expect=200)
    await api.call("POST", f"{path}/reorder", token=me, json_body={"entry_ids": current[1:]}, expect=422)
    await api.call(
        "POST", f"{path}/sort", token=me, json_body={"by": "title", "descending": True}, expect=200
    )
    await api.call(
        "POST", f"{path}/sort", token=me, json_body={"by": "mood"}, expect=422, validate_request=False
    )
    await api.call(
        "POST", f"{path}/merge", token=me, json_body={"source_playlist_id": source["id"]}, expect=200
    )
    await api.call("POST", f"{path}/merge", token=me, json_body={"source_playlist_id": pid}, expect=422)
    _, theirs = await api.call(
        "POST", "/api/v1/playlists", token=them, json_body={"name": "Theirs"}, expect=201
    )
    assert isinstance(theirs, dict)
    await api.call(
        "POST", f"{path}/merge", token=me, json_body={"source_playlist_id": theirs["id"]}, expect=404
    )
    _, found = await api.call("POST", f"{path}/dedupe", token=me, json_body={"dry_run": True}, expect=200)
    assert isinstance(found, dict) and "isrc" in {d["rule"] for d in found["duplicates"]}
    await api.call(
        "POST", f"{path}/dedupe", token=me, json_body={"dry_run": "yes"}, expect=422, validate_request=False
    )
    _, deduped = await api.call("POST", f"{path}/dedupe", token=me, json_body={}, expect=200)
    assert isinstance(deduped, dict) and deduped["playlist"]["version"] == found["playlist"]["version"] + 1

    # History.
    _, versions = await api.call("GET", f"{path}/versions?limit=2", token=me, expect=200)
    assert isinstance(versions, dict) and versions["next_before"]
    latest = versions["versions"][0]["version"]
    await api.call("GET", f"{path}/versions?before={versions['next_before']}", token=me, expect=200)
    await api.call("GET", f"{path}/versions", token=them, expect=404)
    await api.call("GET", f"{path}/diff?from=1&to={latest}", token=me, expect=200)
    await api.call("GET", f"{path}/diff?from=1&to={latest + 1}", token=me, expect=404)
    await api.call("GET", f"{path}/diff?from=1", token=me, expect=422, validate_request=False)
    await api.call("GET", f"{path}/diff?from=1&to=2", token=them, expect=404)
    await api.call("GET", f"{path}/versions?limit=0", token=me, expect=422, validate_request=False)
    await api.call("GET", path, token=me, expect=200)
    etag = api.headers["ETag"]
    await api.call("POST", f"{path}/versions/1/restore", token=me, headers={"If-Match": etag}, expect=200)
    await api.call("POST", f"{path}/versions/1/restore", token=me, headers={"If-Match": etag}, expect=412)
    await api.call("POST", f"{path}/versions/{latest + 5}/restore", token=me, expect=404)
    await api.call("POST", f"{path}/versions/1/restore", token=them, expect=404)

    # Deleting.
    await api.call("DELETE", path, token=them, expect=404)
    await api.call("DELETE", path, token=me, headers={"If-Match": etag}, expect=412)
    await api.call("DELETE", path, token=me, expect=204)
    await api.call("GET", path, token=me, expect=404)
    # A track described with its provider's id (TrackInput's provider and provider_track_id).
    spotify = {"title": "Song F", "provider": "spotify", "provider_track_id": "4uLU6hMCjMI75M1A2tKUQC"}
    await api.call(
        "POST",
        f"/api/v1/playlists/{source['id']}/entries",
        token=me,
        json_body={"tracks": [spotify]},
        expect=200,
    )
    await api.call("DELETE", f"/api/v1/playlists/{source['id']}", token=me, expect=204)


async def _linked(client: Client, provider: str, library: dict) -> EmulatedAccount:
    """client.link, started again when the emulator refused a step: every test on the machine shares
    it, its Deezer limit (50 requests in 5 s per client address, the consent page included) and the
    faults other tests inject (e.g. 5 % of Deezer's answers a 503)."""
    for attempt in range(5):
        try:
            return await client.link(provider, library)
        except LinkFailed:
            if attempt == 4:
                raise
            await asyncio.sleep(2)
    raise AssertionError("unreachable")


async def _until_linked(api: Api, token: str, body: dict) -> dict:
    """POST /api/v1/transfers until its 202: provider-sync learns of a new link from auth's event, and
    until it has, the target is not linked there (422 `provider-not-linked`, checked too)."""
    for _ in range(120):
        status, answer = await api.call("POST", "/api/v1/transfers", token=token, json_body=body)
        assert isinstance(answer, dict)
        if status == 202:
            return answer
        assert status == 422 and answer["type"].endswith("/provider-not-linked"), (status, answer)
        await asyncio.sleep(0.5)
    raise AssertionError("the target never became linked for provider-sync")


async def test_transfers(api: Api, register_user, stack: Stack):
    """The transfer routes (provider-sync's): a dry run to Deezer of an imported Spotify playlist and of
    one made here (a song found by search, another 25 s longer for review, a song nobody has), its
    per-track results and not-found report, its apply with the user's picks; the documented errors."""
    api.patient = True  # more requests than a burst of the gateway's per-user limit
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        emulator = f"http://127.0.0.1:{stack.spec('provider-emulator').port}"
        client = Client(session, api.base, emulator, await register_user())
        await _transfer_scenario(api, client, (await register_user())["access_token"])


async def _transfer_scenario(api: Api, client: Client, them: str) -> None:
    me = client.user["access_token"]
    playlists = [{"name": "Verano Forever", "source_playlist": 1}]
    await _linked(client, "spotify", {"playlists": playlists})
    await _linked(client, "deezer", {"playlists": []})
    await client.import_all(["spotify"])
    library = await client.library_when(
        lambda found: any(p["collection"] == "playlist" for p in found.values())
    )
    imported = next(p for p in library.values() if p["collection"] == "playlist")
    # (Two songs: a playlist holding one Deezer track twice cannot be written to Deezer.)
    one, other = (e["track"] for e in imported["entries"]["items"][:2])
    described = [
        {"title": one["title"], "artists": one["artists"], "duration_ms": one["duration_ms"]},
        {"title": other["title"], "artists": other["artists"], "duration_ms": other["duration_ms"] + 25_000},
        {"title": f"Nobody has this song {uuid.uuid4().hex[:8]}", "artists": ["Nobody"]},
    ]
    _, made = await api.call(
        "POST", "/api/v1/playlists", token=me, json_body={"name": "Made here", "tracks": described}
    )
    assert isinstance(made, dict)

    # Refused requests: invalid (the document says so too), and a target that is not linked.
    for bad in (
        {"source": {"playlists": [imported["id"]], "provider": "spotify"}, "target": {"provider": "deezer"}},
        {"source": {"provider": "spotify"}, "target": {"provider": "deezer", "mode": "append"}},
        {"source": {"provider": "spotify"}, "target": {"provider": "deezer", "name": "one source only"}},
        {"source": {"provider": "spotify"}, "target": {"provider": "deezer"}, "dry_run": "yes"},
    ):
        await api.call(
            "POST", "/api/v1/transfers", token=me, json_body=bad, expect=422, validate_request=False
        )
    _, problem = await api.call(
        "POST",
        "/api/v1/transfers",
        token=me,
        json_body={"source": {"provider": "spotify"}, "target": {"provider": "tidal"}},
        expect=422,
    )
    assert isinstance(problem, dict) and problem["type"].endswith("/provider-not-linked")
    await api.call("GET", "/api/v1/transfers", expect=401, validate_request=False)

    # A dry run, its view, its tracks and its report.
    body = {
        "source": {"playlists": [imported["id"], made["id"]]},
        "target": {"provider": "deezer"},
        "dry_run": True,
        "explicit": "source",
    }
    dry = (await _until_linked(api, me, body))["job_id"]
    assert api.headers["Location"] == f"/api/v1/jobs/{dry}"
    result = (await client.job(dry, {"succeeded"}))["result"]
    assert result["dry_run"] is True and result["playlists"] == 2 and result["written"] == 0
    _, listed = await api.call("GET", "/api/v1/transfers", token=me, expect=200)
    assert isinstance(listed, dict) and [t["job_id"] for t in listed["transfers"]] == [dry]
    _, view = await api.call("GET", f"/api/v1/transfers/{dry}", token=me, expect=200)
    assert isinstance(view, dict) and view["applies"] is None and view["parts"] == []
    assert sum(view["counts"].values()) == result["tracks"]
    _, page = await api.call("GET", f"/api/v1/transfers/{dry}/tracks?limit=1000", token=me, expect=200)
    assert isinstance(page, dict) and page["next_offset"] is None
    tracks = page["tracks"]
    assert len(tracks) == result["tracks"]
    _, first = await api.call("GET", f"/api/v1/transfers/{dry}/tracks?offset=1&limit=2", token=me, expect=200)
    assert isinstance(first, dict) and first["tracks"] == tracks[1:3] and first["next_offset"] == 3
    _, not_found = await api.call(
        "GET", f"/api/v1/transfers/{dry}/tracks?status=not_matched,review", token=me, expect=200
    )
    assert isinstance(not_found, dict) and not_found["tracks"]
    assert {t["status"] for t in not_found["tracks"]} <= {"not_matched", "review"}
    for query in ("limit=0", "limit=1001", "offset=-1", "status=done", "status=matched,"):
        await api.call(
            "GET", f"/api/v1/transfers/{dry}/tracks?{query}", token=me, expect=422, validate_request=False
        )
    _, report = await api.call("GET", f"/api/v1/transfers/{dry}/report", token=me, expect=200)
    assert isinstance(report, dict) and report["not_written"] == result["tracks"] - result["matched"] > 0
    _, csv_report = await api.call("GET", f"/api/v1/transfers/{dry}/report.csv", token=me, expect=200)
    assert (
        isinstance(csv_report, bytes) and len(csv_report.decode().splitlines()) == report["not_written"] + 1
    )

    # Apply: one matched track left out, one not written (the one to review) picked as its best candidate.
    matched = next(t for t in tracks if t["status"] == "matched")
    pickable = next(t for t in report["tracks"] if t["candidates"])
    choices = [
        {"playlist": matched["playlist"], "position": matched["position"], "skip": True},
        {
            "playlist": pickable["playlist"],
            "position": pickable["position"],
            "target_id": pickable["candidates"][0]["id"],
        },
    ]
    for bad_choices in (
        [{"playlist": matched["playlist"], "position": matched["position"]}],
        [{"playlist": 0, "position": 0, "target_id": "1", "skip": True}],
    ):
        await api.call(
            "POST",
            f"/api/v1/transfers/{dry}/apply",
            token=me,
            json_body={"choices": bad_choices},
            expect=422,
            validate_request=False,
        )
    await api.call(
        "POST",
        f"/api/v1/transfers/{dry}/apply",
        token=me,
        json_body={"choices": [{"playlist": 7, "position": 0, "skip": True}]},
        expect=422,
    )
    _, applied = await api.call(
        "POST", f"/api/v1/transfers/{dry}/apply", token=me, json_body={"choices": choices}, expect=202
    )
    assert isinstance(applied, dict)
    written = (await client.job(applied["job_id"], {"succeeded"}))["result"]
    assert written["dry_run"] is False and written["written"] == result["matched"]  # one out, one in
    _, view = await api.call("GET", f"/api/v1/transfers/{applied['job_id']}", token=me, expect=200)
    assert isinstance(view, dict) and view["applies"] == dry and view["request"]["dry_run"] is False
    assert [p["verified"] for p in view["parts"]] == [True, True]
    # Only a dry run is applied (this one was not; no body is an apply as it is).
    await api.call("POST", f"/api/v1/transfers/{applied['job_id']}/apply", token=me, expect=422)

    # Another user's transfer, or an id that is none, is not found.
    await api.call("GET", f"/api/v1/transfers/{dry}", token=them, expect=404)
    await api.call("GET", f"/api/v1/transfers/{dry}/tracks", token=them, expect=404)
    await api.call("GET", f"/api/v1/transfers/{dry}/report", token=them, expect=404)
    await api.call("GET", f"/api/v1/transfers/{dry}/report.csv", token=them, expect=404)
    await api.call("POST", f"/api/v1/transfers/{dry}/apply", token=them, json_body={}, expect=404)
    await api.call("GET", f"/api/v1/transfers/{uuid.uuid4()}", token=me, expect=404)
    await api.call("GET", "/api/v1/transfers/not-a-uuid", token=me, expect=404, validate_request=False)
    _, theirs = await api.call("GET", "/api/v1/transfers", token=them, expect=200)
    assert theirs == {"transfers": [], "next_cursor": None}


async def _job_ended(api: Api, token: str, job_id: str) -> dict:
    """The job once it ended (the gateway learns of it from its events: 404 until the first arrives)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 120
    while True:
        status, job = await api.call("GET", f"/api/v1/jobs/{job_id}", token=token)
        if status == 200 and isinstance(job, dict) and job["state"] in ("succeeded", "failed", "cancelled"):
            return job
        assert loop.time() < deadline, job
        await asyncio.sleep(0.3)


async def test_sync(api: Api, register_user, stack: Stack):
    """The sync routes (provider-sync's): a mirror link from Spotify to Deezer, read, changed, run, its
    runs and one run's report, the undo of that run; a second link that the removal brake stops, and its
    confirmation; the documented errors; the links deleted."""
    api.patient = True
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        emulator = f"http://127.0.0.1:{stack.spec('provider-emulator').port}"
        client = Client(session, api.base, emulator, await register_user())
        me, them = client.user["access_token"], (await register_user())["access_token"]
        spotify = await _linked(client, "spotify", {"playlists": [{"name": "Mine", "size": 3}]})
        deezer = await _linked(
            client, "deezer", {"playlists": [{"name": "Copy", "size": 0}, {"name": "Big", "size": 12}]}
        )
        listed = await client.admin("GET", f"/users/spotify/{spotify.id}")
        mine = listed["playlists"][0]["id"]
        held = {
            p["name"]: str(p["id"])
            for p in (await client.admin("GET", f"/users/deezer/{deezer.id}"))["playlists"]
        }
        body = {
            "a": {"provider": "spotify", "playlist_id": mine},
            "b": {"provider": "deezer", "playlist_id": held["Copy"]},
        }
        for _ in range(120):  # provider-sync learns of the links from auth's events
            status, link = await api.call("POST", "/api/v1/sync", token=me, json_body=body)
            if status == 201:
                break
            assert status == 422 and isinstance(link, dict), (status, link)
            assert link["type"].endswith("/provider-not-linked"), link
            await asyncio.sleep(0.5)
        assert isinstance(link, dict) and api.headers["Location"] == f"/api/v1/sync/{link['id']}"
        await api.call("POST", "/api/v1/sync", token=me, json_body=body, expect=409)
        await api.call(
            "POST", "/api/v1/sync", token=me, json_body={"a": body["a"], "b": body["a"]}, expect=422
        )
        await api.call("GET", "/api/v1/sync", token=me, expect=200)
        await api.call("GET", f"/api/v1/sync/{link['id']}", token=them, expect=404)
        await api.call(
            "PATCH", f"/api/v1/sync/{link['id']}", token=me, json_body={"max_removal_share": 0.5}, expect=200
        )
        _, job = await api.call("POST", f"/api/v1/sync/{link['id']}/run", token=me, expect=202)
        assert isinstance(job, dict)
        await client.job(job["job_id"], {"succeeded"})
        _, runs = await api.call("GET", f"/api/v1/sync/{link['id']}/runs?limit=5", token=me, expect=200)
        assert isinstance(runs, dict) and [r["id"] for r in runs["runs"]] == [job["job_id"]]
        _, view = await api.call("GET", f"/api/v1/sync/runs/{job['job_id']}", token=me, expect=200)
        assert isinstance(view, dict) and view["report"]["b"]["added"] == 3
        await api.call("POST", f"/api/v1/sync/runs/{job['job_id']}/confirm", token=me, expect=409)
        _, undo = await api.call("POST", f"/api/v1/sync/runs/{job['job_id']}/undo", token=me, expect=202)
        assert isinstance(undo, dict)
        await client.job(undo["job_id"], {"succeeded"})
        await api.call("POST", f"/api/v1/sync/runs/{undo['job_id']}/undo", token=me, expect=409)

        # Deezer's "Big" (12 songs) mirrored from Spotify's 3: the brake stops the run until confirmed.
        braked = {
            "a": body["a"],
            "b": {"provider": "deezer", "playlist_id": held["Big"]},
            "direction": "mirror",
        }
        _, second = await api.call("POST", "/api/v1/sync", token=me, json_body=braked, expect=201)
        assert isinstance(second, dict)
        _, job = await api.call("POST", f"/api/v1/sync/{second['id']}/run", token=me, expect=202)
        assert isinstance(job, dict)
        paused = await client.job(job["job_id"], {"paused"})
        assert paused["error"]["code"] == "removal-brake"
        await api.call("POST", f"/api/v1/sync/runs/{job['job_id']}/confirm", token=them, expect=404)
        await api.call("POST", f"/api/v1/sync/runs/{job['job_id']}/confirm", token=me, expect=202)
        await client.job(job["job_id"], {"succeeded"})
        for made in (link, second):
            await api.call("DELETE", f"/api/v1/sync/{made['id']}", token=me, expect=204)
        await api.call("GET", f"/api/v1/sync/{link['id']}/runs", token=me, expect=404)


async def test_exports(api: Api, register_user):
    """The export service's routes: an export, its stored file and download redirect; an import of a
    presigned upload; a backup, its file, and its restore; the documented errors."""
    api.patient = True
    owner, other = await register_user(), await register_user()
    me, them = owner["access_token"], other["access_token"]
    _, made = await api.call(
        "POST",
        "/api/v1/playlists",
        token=me,
        json_body={"name": "Export me", "tracks": [{"title": "Song", "artists": ["Band"]}]},
        expect=201,
    )
    assert isinstance(made, dict)
    _, job = await api.call(
        "POST",
        "/api/v1/exports",
        token=me,
        json_body={"playlists": [made["id"]], "format": "xspf"},
        expect=202,
    )
    assert isinstance(job, dict) and api.headers["Location"] == f"/api/v1/jobs/{job['job_id']}"
    ended = await _job_ended(api, me, job["job_id"])
    assert ended["state"] == "succeeded", ended
    _, export = await api.call("GET", f"/api/v1/exports/{job['job_id']}", token=me, expect=200)
    assert isinstance(export, dict) and export["file_name"] == "Export me.xspf"
    await api.call("GET", f"/api/v1/exports/{job['job_id']}/download", token=me, expect=303)
    async with aiohttp.ClientSession() as session, session.get(api.headers["Location"]) as r:
        assert r.status == 200 and b"<title>Export me</title>" in await r.read()

    # Another user's export, an unknown one, a job that is not an export's yet: 404 and 409.
    await api.call("GET", f"/api/v1/exports/{job['job_id']}", token=them, expect=404)
    await api.call("GET", f"/api/v1/exports/{job['job_id']}/download", token=them, expect=404)
    await api.call("GET", f"/api/v1/exports/{uuid.uuid4()}", token=me, expect=404)
    _, failing = await api.call(
        "POST",
        "/api/v1/exports",
        token=them,
        json_body={"playlists": [made["id"]], "format": "csv"},
        expect=202,
    )
    assert isinstance(failing, dict)
    ended = await _job_ended(api, them, failing["job_id"])
    assert ended["state"] == "failed" and ended["error"]["code"] == "playlist-not-found", ended
    await api.call("GET", f"/api/v1/exports/{failing['job_id']}", token=them, expect=409)
    # Refused requests.
    await api.call(
        "POST",
        "/api/v1/exports",
        token=me,
        json_body={"playlists": "all", "format": "mp3"},
        expect=422,
        validate_request=False,
    )
    await api.call(
        "POST",
        "/api/v1/exports",
        json_body={"playlists": "all", "format": "csv"},
        expect=401,
        validate_request=False,
    )

    # A presigned upload, imported; the same upload named by another user: 422.
    _, slot = await api.call("POST", "/api/v1/imports/uploads", token=me, expect=201)
    assert isinstance(slot, dict)
    async with aiohttp.ClientSession() as session:
        m3u = b"#EXTM3U\n#PLAYLIST:Uploaded\n#EXTINF:200,Band - Song\n/music/song.mp3\n"
        async with session.put(slot["upload_url"], data=m3u) as r:
            assert r.status == 200
    named = {"upload_id": slot["upload_id"], "file_name": "uploaded.m3u8"}
    await api.call("POST", "/api/v1/imports/files", token=them, json_body=named, expect=422)
    _, job = await api.call("POST", "/api/v1/imports/files", token=me, json_body=named, expect=202)
    assert isinstance(job, dict)
    ended = await _job_ended(api, me, job["job_id"])
    assert ended["state"] == "succeeded" and ended["result"]["playlists"][0]["name"] == "Uploaded", ended

    # A backup, its stored file and download; a restore of it (the library holds it all: no change).
    _, job = await api.call("POST", "/api/v1/backups", token=me, expect=202)
    assert isinstance(job, dict)
    ended = await _job_ended(api, me, job["job_id"])
    assert ended["state"] == "succeeded", ended
    _, backup = await api.call("GET", f"/api/v1/backups/{job['job_id']}", token=me, expect=200)
    assert isinstance(backup, dict) and backup["format"] == "backup"
    await api.call("GET", f"/api/v1/backups/{job['job_id']}/download", token=me, expect=303)
    await api.call("GET", f"/api/v1/backups/{job['job_id']}", token=them, expect=404)
    _, slot = await api.call("POST", "/api/v1/imports/uploads", token=me, expect=201)
    assert isinstance(slot, dict)
    async with aiohttp.ClientSession() as session:
        async with session.get(backup["download_url"]) as r:
            data = await r.read()
        async with session.put(slot["upload_url"], data=data) as r:
            assert r.status == 200
    _, job = await api.call(
        "POST", "/api/v1/backups/restore", token=me, json_body={"upload_id": slot["upload_id"]}, expect=202
    )
    assert isinstance(job, dict)
    ended = await _job_ended(api, me, job["job_id"])
    assert ended["state"] == "succeeded", ended
