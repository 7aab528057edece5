"""Attacks on the library API (issue 15), end to end through the gateway: another user's playlists,
replayed writes, absurd sizes, slow bodies, hostile cursors and query values, concurrent edits.

Every test makes its own users (conftest's ``register_user``, each with a client address of its own) and
playlists, so tests neither see nor drain each other. Nothing waits on time except a 429, which is waited
out (Retry-After) and sent again: the per-user limit (10/s, bursts of 20) is the gateway's, not what is
tested here, and whatever the order the answers come in, what is asserted is the final state.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
import pytest
from journeys import security_edge as load_security_edge
from multidict import CIMultiDict

pytestmark = pytest.mark.e2e

# The raw-socket helpers of the transport's attack suite (tests-e2e/test_security_edge.py).
security_edge = load_security_edge()

PLAYLISTS = "/api/v1/playlists"
TEN_MB = 10 * 1024 * 1024


@dataclass(frozen=True)
class Answer:
    status: int
    headers: CIMultiDict[str]
    body: Any  # parsed JSON, else the raw bytes

    def problem(self) -> str:
        """The problem's code (the last part of its `type`), or "" when the answer is none."""
        if isinstance(self.body, dict) and isinstance(self.body.get("type"), str):
            return str(self.body["type"]).rsplit("/", 1)[-1]
        return ""


class Client:
    """One user through the gateway (from its own client address). A 429 is waited out and sent again."""

    def __init__(self, session: aiohttp.ClientSession, gateway_url: str, user: dict) -> None:
        self.session, self.base, self.user = session, gateway_url, user

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> Answer:
        sent = {
            "Authorization": f"Bearer {self.user['access_token']}",
            "X-Forwarded-For": self.user["ip"],
            **(headers or {}),
        }
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        if data is not None:
            sent.setdefault("Content-Type", "application/json")
        while True:
            async with self.session.request(method, f"{self.base}{path}", data=data, headers=sent) as r:
                content = await r.read()
                answer = Answer(r.status, CIMultiDict(r.headers), content)
            if answer.status != 429:
                break
            await asyncio.sleep(float(answer.headers.get("Retry-After", "1")))
        if answer.headers.get("Content-Type", "").startswith(
            ("application/json", "application/problem+json")
        ):
            return Answer(answer.status, answer.headers, json.loads(content))
        return answer

    async def ok(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Answer:
        answer = await self.call(method, path, body, **kwargs)
        assert 200 <= answer.status < 300, (method, path, answer.status, answer.body)
        return answer

    async def create(self, name: str | None = None, tracks: int = 4, **details: Any) -> dict:
        described = [
            {"title": f"Track {i}", "artists": [f"Artist {i % 3}"], "duration_ms": 180_000 + i * 10_000}
            for i in range(tracks)
        ]
        body = {"name": name or f"e2e-{uuid.uuid4().hex[:12]}", "tracks": described, **details}
        return dict((await self.ok("POST", PLAYLISTS, body)).body)

    async def page(self, playlist_id: str) -> dict:
        """The whole playlist (up to 500 entries) as the API shows it."""
        return dict((await self.ok("GET", f"{PLAYLISTS}/{playlist_id}?limit=500")).body)

    async def state(self, playlist_id: str) -> tuple[dict, dict]:
        """Everything the API tells about a playlist: its page, and its versions."""
        versions = await self.ok("GET", f"{PLAYLISTS}/{playlist_id}/versions?limit=100")
        return await self.page(playlist_id), dict(versions.body)

    async def names(self) -> list[str]:
        listed = await self.ok("GET", f"{PLAYLISTS}?limit=200")
        return sorted(p["name"] for p in listed.body["playlists"])


def _ids(page: dict) -> list[str]:
    return [e["id"] for e in page["entries"]["items"]]


def _positions(page: dict) -> list[int]:
    return [e["position"] for e in page["entries"]["items"]]


# ---- another user's playlists --------------------------------------------------------------------------


async def test_another_user_can_neither_see_nor_change_any_of_a_users_playlists(gateway_url, register_user):
    """Every operation, with every id of the first user (playlists, entries, tracks, versions): 404 for
    the playlist (the same answer as for one that never existed, also with its ETag as If-None-Match),
    422 for its entries and tracks named in the second user's own playlist; nothing of either changes."""
    async with aiohttp.ClientSession() as session:
        alice = Client(session, gateway_url, await register_user())
        mallory = Client(session, gateway_url, await register_user())
        mine = await alice.create(tracks=6)
        other = await alice.create(tracks=2)
        path = f"{PLAYLISTS}/{mine['id']}"
        page = await alice.page(mine["id"])
        entries, tracks = _ids(page), [e["track"]["id"] for e in page["entries"]["items"]]
        await alice.ok("POST", f"{path}/entries/move", {"entry_ids": entries[:1], "to": 5})
        await alice.ok("PATCH", path, {"description": "alice's"})
        theirs = await mallory.create(tracks=3)
        their_path = f"{PLAYLISTS}/{theirs['id']}"
        before = {p: await alice.state(p) for p in (mine["id"], other["id"])}
        their_before = await mallory.state(theirs["id"])
        alice_names = await alice.names()
        etag = (await alice.ok("GET", path)).headers["ETag"]

        attempts: list[tuple[str, str, Any, dict[str, str]]] = []
        for target in (mine["id"], other["id"]):
            p = f"{PLAYLISTS}/{target}"
            attempts += [
                ("GET", p, None, {}),
                ("GET", f"{p}?offset=0&limit=500", None, {}),
                ("GET", p, None, {"If-None-Match": etag}),
                ("GET", p, None, {"If-None-Match": "*"}),
                ("PATCH", p, {"name": "mallory's now"}, {}),
                ("PATCH", p, {"public": True}, {"If-Match": "*"}),
                ("DELETE", p, None, {}),
                ("DELETE", p, None, {"If-Match": etag}),
                ("POST", f"{p}/entries", {"tracks": [{"title": "planted"}]}, {}),
                ("POST", f"{p}/entries", {"tracks": [{"track_id": tracks[0]}], "position": 0}, {}),
                ("POST", f"{p}/entries/remove", {"entry_ids": entries[:2]}, {}),
                ("POST", f"{p}/entries/move", {"entry_ids": entries[:1], "to": 0}, {}),
                ("POST", f"{p}/edits", {"edits": [{"op": "remove", "entry_ids": entries[:1]}]}, {}),
                ("POST", f"{p}/reorder", {"entry_ids": entries[::-1]}, {}),
                ("POST", f"{p}/sort", {"by": "title"}, {}),
                ("POST", f"{p}/dedupe", {"dry_run": True}, {}),
                ("POST", f"{p}/dedupe", {}, {}),
                ("POST", f"{p}/merge", {"source_playlist_id": theirs["id"]}, {}),
                ("GET", f"{p}/versions", None, {}),
                ("GET", f"{p}/versions?before=3&limit=1", None, {}),
                ("GET", f"{p}/diff?from=1&to=2", None, {}),
                ("POST", f"{p}/versions/1/restore", None, {}),
                ("POST", f"{p}/versions/2/restore", None, {"If-Match": etag}),
            ]
        # Alice's playlists as the source of a merge into Mallory's own.
        attempts += [("POST", f"{their_path}/merge", {"source_playlist_id": pid}, {}) for pid in before]
        unknown = f"{PLAYLISTS}/{uuid.uuid4()}"
        nowhere = await mallory.call("GET", unknown)
        assert nowhere.status == 404 and nowhere.problem() == "playlist-not-found", nowhere
        refused = []
        for method, target, body, headers in attempts:
            answer = await mallory.call(method, target, body, headers=headers)
            same_as_nowhere = answer.status == 404 and answer.problem() == "playlist-not-found"
            if not same_as_nowhere or answer.body["detail"] != nowhere.body["detail"]:
                refused.append((method, target, answer.status, answer.body))
        assert not refused, refused

        # Alice's entries and tracks named in Mallory's own playlist: not hers, so unknown.
        alien = [
            ("POST", f"{their_path}/entries/remove", {"entry_ids": entries[:1]}, "unknown-entry"),
            ("POST", f"{their_path}/entries/move", {"entry_ids": entries[:1], "to": 0}, "unknown-entry"),
            ("POST", f"{their_path}/edits", {"edits": [{"op": "move", "entry_ids": entries, "to": 0}]}, None),
            ("POST", f"{their_path}/reorder", {"entry_ids": entries}, None),
            ("POST", f"{their_path}/entries", {"tracks": [{"track_id": tracks[1]}]}, "unknown-track"),
            (
                "POST",
                PLAYLISTS,
                {"name": "stolen", "tracks": [{"track_id": t} for t in tracks]},
                "unknown-track",
            ),
        ]
        wrong = []
        for method, target, body, code in alien:
            answer = await mallory.call(method, target, body)
            if answer.status != 422 or (code is not None and answer.problem() != code):
                wrong.append((method, target, answer.status, answer.body))
        # Alice's versions (3 of them) are no versions of Mallory's playlist (1).
        for method, target in (
            ("GET", f"{their_path}/diff?from=1&to=3"),
            ("POST", f"{their_path}/versions/3/restore"),
        ):
            answer = await mallory.call(method, target)
            if answer.status != 404 or answer.problem() != "version-not-found":
                wrong.append((method, target, answer.status, answer.body))
        assert not wrong, wrong

        # Alice's names are nowhere in Mallory's lists, whatever the filter.
        for query in ("", f"?name={quote(mine['name'])}", "?origin=created", "?sort=-updated&limit=200"):
            listed = await mallory.ok("GET", f"{PLAYLISTS}{query}")
            assert {p["id"] for p in listed.body["playlists"]} <= {theirs["id"]}, query
        assert (await mallory.ok("GET", "/api/v1/library/liked")).body == {"collections": []}

        for pid, state in before.items():
            assert await alice.state(pid) == state
        assert await alice.names() == alice_names
        assert await mallory.state(theirs["id"]) == their_before


async def test_an_idempotency_key_is_the_senders_own(gateway_url, register_user):
    """The same key and body sent by another user is that user's request: 404, never the first user's
    replayed answer."""
    async with aiohttp.ClientSession() as session:
        alice = Client(session, gateway_url, await register_user())
        mallory = Client(session, gateway_url, await register_user())
        mine = await alice.create()
        path = f"{PLAYLISTS}/{mine['id']}/entries"
        key, body = {"Idempotency-Key": f"e2e-{uuid.uuid4().hex}"}, {"tracks": [{"title": "Once"}]}
        first = await alice.ok("POST", path, body, headers=key)
        stolen = await mallory.call("POST", path, body, headers=key)
        assert stolen.status == 404 and "Idempotent-Replayed" not in stolen.headers, stolen
        assert (await alice.page(mine["id"]))["version"] == first.body["version"] == 2


# ---- replays -------------------------------------------------------------------------------------------


async def test_a_replayed_write_applies_once(gateway_url, register_user):
    """The same write with the same Idempotency-Key, again and again (one after the other and at once),
    is applied once: the first answer is replayed (or 409 while the first is still in flight), the same
    key with another body is refused, and no version is made twice."""
    async with aiohttp.ClientSession() as session:
        alice = Client(session, gateway_url, await register_user())
        name = f"e2e-once-{uuid.uuid4().hex[:8]}"
        key = {"Idempotency-Key": f"e2e-{uuid.uuid4().hex}"}
        created = await alice.call("POST", PLAYLISTS, {"name": name, "tracks": [{"title": "A"}]}, headers=key)
        again = await alice.call("POST", PLAYLISTS, {"name": name, "tracks": [{"title": "A"}]}, headers=key)
        assert created.status == again.status == 201, (created, again)
        assert again.body == created.body and again.headers.get("Idempotent-Replayed") == "true"
        assert (await alice.names()).count(name) == 1
        path = f"{PLAYLISTS}/{created.body['id']}"
        entry = _ids(await alice.page(created.body["id"]))[0]

        writes = [
            ("POST", f"{path}/entries", {"tracks": [{"title": "B"}, {"title": "C"}]}),
            ("POST", f"{path}/entries/move", {"entry_ids": [entry], "to": 2}),
            ("POST", f"{path}/edits", {"edits": [{"op": "add", "tracks": [{"title": "D"}], "position": 0}]}),
            ("POST", f"{path}/sort", {"by": "title", "descending": True}),
            ("POST", f"{path}/versions/1/restore", None),
        ]
        for method, target, body in writes:
            version = (await alice.page(created.body["id"]))["version"]
            key = {"Idempotency-Key": f"e2e-{uuid.uuid4().hex}"}
            first = await alice.ok(method, target, body, headers=key)
            assert first.body["version"] == version + 1, (target, first.body)
            answers = await asyncio.gather(*(alice.call(method, target, body, headers=key) for _ in range(5)))
            for answer in answers:
                assert answer.status == 200 and answer.body == first.body, (target, answer)
                assert answer.headers.get("Idempotent-Replayed") == "true", (target, answer.headers)
            other = await alice.call(
                method, target, {"by": "artist"} if body is None else {**body, "x": 1}, headers=key
            )
            assert other.status == 422 and other.problem() == "idempotency-key-reused", (target, other)
            assert (await alice.page(created.body["id"]))["version"] == version + 1, target

        # Several at once, the first among them unknown: one applies, the others wait their turn (409)
        # or get its answer replayed.
        page = await alice.page(created.body["id"])
        key = {"Idempotency-Key": f"e2e-{uuid.uuid4().hex}"}
        body = {"tracks": [{"title": "Z"}]}
        answers = await asyncio.gather(
            *(alice.call("POST", f"{path}/entries", body, headers=key) for _ in range(8))
        )
        assert {a.status for a in answers} <= {200, 409}, [(a.status, a.body) for a in answers]
        assert [a.headers.get("Idempotent-Replayed") for a in answers if a.status == 200].count(None) == 1
        after = await alice.page(created.body["id"])
        assert after["version"] == page["version"] + 1
        assert [e["track"]["title"] for e in after["entries"]["items"]].count("Z") == 1


# ---- absurd sizes --------------------------------------------------------------------------------------


async def test_oversize_requests_are_refused_and_change_nothing(gateway_url, register_user):
    """A 10 MB name is 413; a batch of 100,000 entries 413 or 422; 10,001 entry ids 422 — never a 5xx,
    and the library is as it was."""
    async with aiohttp.ClientSession() as session:
        alice = Client(session, gateway_url, await register_user())
        mine = await alice.create(tracks=3)
        path = f"{PLAYLISTS}/{mine['id']}"
        before, names = await alice.state(mine["id"]), await alice.names()
        huge_name = "n" * TEN_MB
        many_tracks = [{"title": f"t{i}"} for i in range(100_000)]
        many_ids = [str(uuid.uuid4()) for _ in range(100_000)]
        own = _ids(before[0])
        cases: list[tuple[str, str, Any, set[int]]] = [
            ("POST", PLAYLISTS, {"name": huge_name}, {413}),
            ("PATCH", path, {"name": huge_name}, {413}),
            ("PATCH", path, {"description": huge_name}, {413}),
            ("POST", f"{path}/entries", {"tracks": [{"title": huge_name}]}, {413}),
            ("POST", PLAYLISTS, {"name": "many", "tracks": many_tracks}, {413, 422}),
            ("POST", f"{path}/entries", {"tracks": many_tracks}, {413, 422}),
            ("POST", f"{path}/edits", {"edits": [{"op": "add", "tracks": many_tracks}]}, {413, 422}),
            ("POST", f"{path}/reorder", {"entry_ids": many_ids}, {413, 422}),
            ("POST", f"{path}/entries/remove", {"entry_ids": many_ids}, {413, 422}),
            ("POST", f"{path}/entries/remove", {"entry_ids": own + many_ids[: 10_001 - len(own)]}, {422}),
            (
                "POST",
                f"{path}/entries/move",
                {"entry_ids": own + many_ids[: 10_001 - len(own)], "to": 0},
                {422},
            ),
            ("POST", f"{path}/edits", {"edits": [{"op": "remove", "entry_ids": many_ids[:10_001]}]}, {422}),
            ("POST", f"{path}/entries", {"tracks": many_tracks[:10_001]}, {422}),
            ("POST", PLAYLISTS, {"name": "many", "tracks": many_tracks[:10_001]}, {422}),
            # 101 edits of one entry each; and 10,001 added over two edits of a batch.
            ("POST", f"{path}/edits", {"edits": [{"op": "remove", "entry_ids": own[:1]}] * 101}, {422}),
            (
                "POST",
                f"{path}/edits",
                {
                    "edits": [
                        {"op": "add", "tracks": many_tracks[:5_000]},
                        {"op": "add", "tracks": many_tracks[:5_001]},
                    ]
                },
                {422},
            ),
        ]
        unexpected = []
        for method, target, body, allowed in cases:
            answer = await alice.call(method, target, body)
            if answer.status not in allowed:
                unexpected.append((method, target, len(json.dumps(body)), answer.status, answer.body))
        assert not unexpected, unexpected
        assert await alice.state(mine["id"]) == before
        assert await alice.names() == names


async def test_the_largest_edit_the_api_takes_goes_through(gateway_url, register_user):
    """10,000 tracks in one request (AddEntriesRequest's maxItems; "a whole provider playlist in one
    edit"), each described as a provider describes it, through the gateway: applied, not 413."""
    tracks = [
        {
            "title": f"An ordinary song title {i}",
            "artists": ["Some Artist", "A Featured Artist"],
            "album": "An Album of Ordinary Length",
            "duration_ms": 215_000,
            "isrc": f"QZES7{i:07d}",
            "release_date": "2021-06-18",
        }
        for i in range(10_000)
    ]
    async with aiohttp.ClientSession() as session:
        alice = Client(session, gateway_url, await register_user())
        mine = await alice.create(tracks=0)
        answer = await alice.call("POST", f"{PLAYLISTS}/{mine['id']}/entries", {"tracks": tracks})
        assert answer.status == 200, (len(json.dumps({"tracks": tracks})), answer.status, answer.body)
        assert answer.body["entry_count"] == 10_000


async def test_a_slow_body_is_cut_and_changes_nothing(gateway_url, register_user):
    """An edit whose body trickles in a byte a second: 408 and the connection closed by the gateway
    (docs/security.md, Request limits), and the playlist as it was."""
    async with aiohttp.ClientSession() as session:
        alice = Client(session, gateway_url, await register_user())
        mine = await alice.create(tracks=2)
        before = await alice.state(mine["id"])
    body = json.dumps({"tracks": [{"title": "slow"}]}).encode()
    head = (
        f"POST {PLAYLISTS}/{mine['id']}/entries HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {alice.user['access_token']}\r\nX-Forwarded-For: {alice.user['ip']}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body) + 100}\r\n\r\n"
    ).encode()
    port = urlsplit(gateway_url).port
    assert port is not None
    answer, closed = await security_edge._exchange(port, head + body[:1], trickle=body[1:] + b" " * 40)
    assert closed, answer
    [(status, headers, _)] = security_edge._answers(answer)
    assert status == 408, answer
    assert headers["content-type"] == "application/problem+json"
    async with aiohttp.ClientSession() as session:
        alice = Client(session, gateway_url, alice.user)
        assert await alice.state(mine["id"]) == before


# ---- hostile cursors and query values ------------------------------------------------------------------


def _cursor(*parts: Any, raw: bytes | None = None) -> str:
    data = raw if raw is not None else json.dumps(list(parts)).encode()
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


HOSTILE_CURSORS = {
    "not base64": "!!!!",
    "empty": "",
    "base64 of nothing JSON": _cursor(raw=b"\xff\xfe\x00garbage"),
    "JSON, not a list": _cursor(raw=b'{"sort": "name"}'),
    "too short a list": _cursor("name", "a"),
    "too long a list": _cursor("name", "a", str(uuid.uuid4()), "more"),
    "another sort's": _cursor("-created", "2026-01-01T00:00:00+00:00", str(uuid.uuid4())),
    "a number for the value": _cursor("name", 5, str(uuid.uuid4())),
    "no UUID": _cursor("name", "a", "not-a-uuid"),
    "a NUL in the value": _cursor("name", "a\x00b", str(uuid.uuid4())),
    "a lone surrogate in the value": _cursor(
        raw=b'["name","\\ud800",' + json.dumps(str(uuid.uuid4())).encode() + b"]"
    ),
    "over 1024 characters": _cursor("name", "x" * 2000, str(uuid.uuid4())),
    "nested 760 deep (1,014 characters)": _cursor(raw=b"[" * 760),
}
HOSTILE_TIME_CURSORS = {
    "no time": _cursor("created", "yesterday", str(uuid.uuid4())),
    "year 1 east of Greenwich": _cursor("created", "0001-01-01T00:00:00+14:00", str(uuid.uuid4())),
    "year 9999 west of Greenwich": _cursor("created", "9999-12-31T23:59:59-14:00", str(uuid.uuid4())),
    "an offset past a day": _cursor("created", "2026-01-01T00:00:00+25:00", str(uuid.uuid4())),
}
# Values no integer parameter takes: signs, decimals, exponents, digits of other scripts, blanks.
NO_INTEGERS = ["-1", "1.5", "1e3", "0x10", "", " 1", "²", "\uff11", "\u0663", "99999999999999999999999"]


async def test_hostile_cursors_and_query_values_are_refused(gateway_url, register_user):
    async with aiohttp.ClientSession() as session:
        alice = Client(session, gateway_url, await register_user())
        mine = await alice.create(tracks=2)
        for _ in range(2):
            await alice.create(tracks=0)
        path = f"{PLAYLISTS}/{mine['id']}"
        before = await alice.state(mine["id"])
        queries = [f"{PLAYLISTS}?cursor={quote(c, safe='')}" for c in HOSTILE_CURSORS.values()]
        queries += [
            f"{PLAYLISTS}?sort=created&cursor={quote(c, safe='')}" for c in HOSTILE_TIME_CURSORS.values()
        ]
        queries += [f"{PLAYLISTS}?limit={quote(v)}" for v in [*NO_INTEGERS, "0", "201"]]
        queries += [
            f"{PLAYLISTS}?sort=bogus",
            f"{PLAYLISTS}?sort=",
            f"{PLAYLISTS}?sort=name%00",
            f"{PLAYLISTS}?provider=napster",
            f"{PLAYLISTS}?provider=SPOTIFY",
            f"{PLAYLISTS}?origin=stolen",
            f"{PLAYLISTS}?collection=everything",
            f"{PLAYLISTS}?name={'n' * 201}",
        ]
        queries += [f"{path}?offset={quote(v)}" for v in [*NO_INTEGERS, "10000001"]]
        queries += [f"{path}?limit={quote(v)}" for v in [*NO_INTEGERS, "0", "501"]]
        queries += [f"{path}/versions?before={quote(v)}" for v in [*NO_INTEGERS, "2147483648"]]
        queries += [f"{path}/versions?limit={quote(v)}" for v in [*NO_INTEGERS, "0", "101"]]
        queries += [f"{path}/diff?from={quote(v)}&to=1" for v in [*NO_INTEGERS, "0"]]
        queries += [f"{path}/diff?from=1&to={quote(v)}" for v in [*NO_INTEGERS, "0"]]
        queries += [f"{path}/diff?from=1", f"{path}/diff?to=1", f"{path}/diff"]
        wrong = []
        for query in queries:
            answer = await alice.call("GET", query)
            if answer.status != 422:
                wrong.append((query, answer.status, answer.body))

        # A version that is no number names no version: 404, as one that never was.
        for version in ["²", "\uff11", "-1", "1.0", "0", "01x", "9" * 30]:
            answer = await alice.call("POST", f"{path}/versions/{quote(version)}/restore")
            if answer.status != 404 or answer.problem() != "version-not-found":
                wrong.append((f"restore {version!r}", answer.status, answer.body))

        # A name filter no name can match (names hold no NUL): refused, or answered with nothing.
        for name in ("%00", "a%00b", quote("\ud800", errors="surrogatepass")):
            answer = await alice.call("GET", f"{PLAYLISTS}?name={name}")
            if answer.status != 422 and (answer.status != 200 or answer.body["playlists"]):
                wrong.append((f"name={name}", answer.status, answer.body))
        assert not wrong, wrong
        assert await alice.state(mine["id"]) == before


async def test_text_a_playlist_cannot_hold_is_refused(gateway_url, register_user):
    """A NUL (which PostgreSQL's text cannot store) or a lone surrogate in any text of a body: 422, never
    a 5xx, and nothing changes."""
    async with aiohttp.ClientSession() as session:
        alice = Client(session, gateway_url, await register_user())
        mine = await alice.create(tracks=1)
        path = f"{PLAYLISTS}/{mine['id']}"
        before, names = await alice.state(mine["id"]), await alice.names()
        wrong = []
        for text in ("a\\u0000b", "\\u0000", "a\\ud800b"):
            bodies = [
                ("POST", PLAYLISTS, f'{{"name": "{text}"}}'),
                ("POST", PLAYLISTS, f'{{"name": "x", "description": "{text}"}}'),
                ("POST", PLAYLISTS, f'{{"name": "x", "tracks": [{{"title": "{text}"}}]}}'),
                ("PATCH", path, f'{{"name": "{text}"}}'),
                ("PATCH", path, f'{{"description": "{text}"}}'),
                ("POST", f"{path}/entries", f'{{"tracks": [{{"title": "{text}"}}]}}'),
                ("POST", f"{path}/entries", f'{{"tracks": [{{"title": "t", "artists": ["{text}"]}}]}}'),
                ("POST", f"{path}/entries", f'{{"tracks": [{{"title": "t", "album": "{text}"}}]}}'),
                (
                    "POST",
                    f"{path}/edits",
                    f'{{"edits": [{{"op": "add", "tracks": [{{"title": "{text}"}}]}}]}}',
                ),
            ]
            for method, target, body in bodies:
                answer = await alice.call(method, target, raw=body.encode())
                if answer.status != 422:
                    wrong.append((method, target, body, answer.status, answer.body))
        assert not wrong, wrong
        assert await alice.state(mine["id"]) == before
        assert await alice.names() == names


# ---- concurrent edits ----------------------------------------------------------------------------------


async def test_concurrent_edits_all_apply_with_dense_positions(gateway_url, register_user):
    """20 moves and adds of one playlist at once, without If-Match, with reads among them: each applies
    (in some order, each its own version), and the playlist ends with positions 0 … n-1, every entry it
    had and every one added exactly once. Reads after it see the last version, also conditional ones
    naming any earlier ETag."""
    async with aiohttp.ClientSession() as session:
        alice = Client(session, gateway_url, await register_user())
        mine = await alice.create(tracks=10)
        path = f"{PLAYLISTS}/{mine['id']}"
        first = await alice.page(mine["id"])
        initial = _ids(first)
        added = [f"Added {i}" for i in range(10)]
        writes = [
            ("POST", f"{path}/entries", {"tracks": [{"title": title}], "position": i})
            for i, title in enumerate(added)
        ] + [
            ("POST", f"{path}/entries/move", {"entry_ids": [entry], "to": (i * 7) % len(initial)})
            for i, entry in enumerate(initial)
        ]
        reads = [("GET", f"{path}?limit=500", None) for _ in range(6)]
        calls = [
            item for pair in zip(writes, reads + [None] * len(writes), strict=False) for item in pair if item
        ]
        answers = await asyncio.gather(*(alice.call(m, p, b) for m, p, b in calls))
        refused = [(c, a.status, a.body) for c, a in zip(calls, answers, strict=True) if a.status != 200]
        assert not refused, refused
        written = [a for c, a in zip(calls, answers, strict=True) if c[0] == "POST"]
        assert sorted(a.body["version"] for a in written) == list(range(2, 22))

        final = await alice.page(mine["id"])
        assert final["version"] == 21 and final["entry_count"] == 20
        assert _positions(final) == list(range(20))
        ids = _ids(final)
        assert len(set(ids)) == 20 and set(initial) <= set(ids)
        titles = Counter(e["track"]["title"] for e in final["entries"]["items"])
        assert titles == Counter([e["track"]["title"] for e in first["entries"]["items"]] + added)

        versions = (await alice.ok("GET", f"{path}/versions?limit=100")).body["versions"]
        assert [v["version"] for v in versions] == list(range(21, 0, -1))
        assert Counter(v["kind"] for v in versions) == {"insert": 10, "move": 10, "created": 1}
        assert [v["entry_count"] for v in versions] == sorted(v["entry_count"] for v in versions)[::-1]

        # No read is served an older version, plain or conditional on any ETag handed out before.
        current = (await alice.ok("GET", f"{path}?limit=500")).headers["ETag"]
        earlier = ", ".join(sorted({a.headers["ETag"] for a in answers} - {current}))
        for _ in range(3):
            plain = await alice.ok("GET", f"{path}?limit=500")
            assert plain.body == final and plain.headers["ETag"] == current
            conditional = await alice.call("GET", f"{path}?limit=500", headers={"If-None-Match": earlier})
            assert conditional.status == 200 and conditional.body == final, (earlier, conditional.status)


async def test_concurrent_writes_on_one_if_match_one_wins(gateway_url, register_user):
    """10 writes at once, each with the same current If-Match: exactly one applies, the others are 412
    with the new ETag, and nothing of theirs is in the playlist."""
    async with aiohttp.ClientSession() as session:
        alice = Client(session, gateway_url, await register_user())
        mine = await alice.create(tracks=3)
        path = f"{PLAYLISTS}/{mine['id']}"
        etag = (await alice.ok("GET", path)).headers["ETag"]
        calls = [("POST", f"{path}/entries", {"tracks": [{"title": f"Racer {i}"}]}) for i in range(5)]
        calls += [("PATCH", path, {"name": f"Racer {i}"}) for i in range(5)]
        answers = await asyncio.gather(
            *(alice.call(m, p, b, headers={"If-Match": etag}) for m, p, b in calls)
        )
        assert sorted(a.status for a in answers) == [200] + [412] * 9, [(a.status, a.body) for a in answers]
        [winner] = [a for a in answers if a.status == 200]
        assert {a.headers["ETag"] for a in answers} == {winner.headers["ETag"]}
        page = await alice.page(mine["id"])
        assert page["version"] == 2
        racers = [
            e["track"]["title"] for e in page["entries"]["items"] if e["track"]["title"].startswith("Racer")
        ]
        assert len(racers) + page["name"].startswith("Racer") == 1
