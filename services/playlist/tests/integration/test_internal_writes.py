"""Provider-sync's internal writes (a library playlist as one end of a sync link): the user's tracks for
described tracks, and a playlist made exactly a list of them — for holders of the service credential
only, idempotent, and refusing hostile input without changing anything."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from pm_platform.identity import service_credential

pytestmark = pytest.mark.integration


def _internal(library: Any, **extra: str) -> dict[str, str]:
    return {
        "Authorization": service_credential(library.rt.settings.service_token.get_secret_value()),
        **extra,
    }


def _song(title: str, provider: str | None = "spotify", **extra: Any) -> dict[str, Any]:
    described: dict[str, Any] = {"title": title, "artists": ["Band"], "duration_ms": 180_000, **extra}
    if provider is not None:
        described |= {"provider": provider, "provider_track_id": f"trk-{title}"}
    return described


async def _write_tracks(library: Any, user: Any, tracks: list[dict[str, Any]]) -> list[str]:
    response = await library.client.post(
        f"/internal/users/{user.id}/tracks", json={"tracks": tracks}, headers=_internal(library)
    )
    assert response.status == 200, await response.text()
    body = await response.json()
    assert set(body) == {"track_ids"}
    ids: list[str] = body["track_ids"]
    return ids


async def _put(
    library: Any, user: Any, playlist_id: str, body: Any, if_match: str | None = None, **kwargs: Any
) -> Any:
    headers = _internal(library, **({"If-Match": if_match} if if_match is not None else {}))
    if isinstance(body, bytes):
        kwargs["data"] = body
        headers.setdefault("Content-Type", "application/json")
    else:
        kwargs["json"] = body
    headers |= kwargs.pop("headers", {})
    return await library.client.put(
        f"/internal/users/{user.id}/playlists/{playlist_id}/entries", headers=headers, **kwargs
    )


async def _state(user: Any, playlist_id: str) -> tuple[int, list[tuple[str, str]]]:
    """The playlist's version and its entries (entry id, track id), as the public read gives them."""
    page = await user.page(playlist_id, limit=500)
    return page["version"], [(e["id"], e["track"]["id"]) for e in page["entries"]["items"]]


async def _user_tracks(library: Any, user: Any) -> int:
    rows = await library.fetch("SELECT count(*) AS n FROM tracks WHERE user_id = $1", user.id)
    return int(rows[0]["n"])


# ---------------------------------------------------------------- POST /internal/users/{user}/tracks


async def test_tracks_answer_their_ids_in_order_idempotently_keeping_an_imported_tracks_id(library):
    user, other = library.user(), library.user()
    await user.import_playlist("sp-1", ["a", "b"], name="Imported")
    _, listed = await user.call("GET", "/playlists", expect=200)
    imported = listed["playlists"][0]["id"]
    page = await user.page(imported)
    imported_ids = {e["track"]["title"]: e["track"]["id"] for e in page["entries"]["items"]}

    asked = [_song("a"), _song("x", "deezer"), _song("a"), _song("Demo", provider=None), _song("b")]
    ids = await _write_tracks(library, user, asked)
    assert len(ids) == 5 and all(uuid.UUID(i) for i in ids)
    assert ids[0] == ids[2] == imported_ids["a"] and ids[4] == imported_ids["b"]
    assert len(set(ids)) == 4
    assert await _write_tracks(library, user, asked) == ids  # idempotent
    assert await _write_tracks(library, user, list(reversed(asked))) == list(reversed(ids))
    assert await _write_tracks(library, user, []) == []
    # Another user's library has its own tracks for the same descriptions.
    assert set(await _write_tracks(library, other, asked)).isdisjoint(ids)

    # Unchanged descriptions touched no playlist; a changed title refreshes the track (as an import
    # does) and the playlist holding it answers the new title at a new ETag, not from the cache.
    after = await user.page(imported)
    assert after == page
    response, _ = await user.call("GET", f"/playlists/{imported}")
    etag = response.headers["ETag"]
    assert await _write_tracks(library, user, [_song("a") | {"title": "a (2024)"}]) == [imported_ids["a"]]
    response, refreshed = await user.call("GET", f"/playlists/{imported}", expect=200)
    assert response.headers["ETag"] != etag and refreshed["version"] == page["version"]
    assert [e["track"]["title"] for e in refreshed["entries"]["items"]] == ["a (2024)", "b"]


async def test_tracks_refuse_ids_and_absurd_bodies_writing_nothing(library):
    user = library.user()
    base = f"/internal/users/{user.id}/tracks"
    await _write_tracks(library, user, [_song("kept")])
    before = await _user_tracks(library, user)
    refusals: list[tuple[dict[str, Any] | bytes, int]] = [
        ({"tracks": [{"track_id": str(uuid.uuid4())}]}, 422),  # an id is not a description
        ({"tracks": [_song("new"), {**_song("y"), "track_id": str(uuid.uuid4())}]}, 422),
        ({"tracks": [_song("new")] * 2001}, 422),
        ({"tracks": [{**_song("new"), "provider": "napster"}]}, 422),
        ({"tracks": [{**_song("new"), "title": "x\u0000y"}]}, 422),
        ({"tracks": [{**_song("new"), "title": "x" * 501}]}, 422),
        ({"tracks": _song("new")}, 422),
        ({}, 422),
        (b"not json", 400),
        (b'{"tracks": [' + b"[" * 10_000 + b"]" * 10_000 + b"]}", 400),
        (b'{"tracks": [{"title": "' + b"x" * 9_000_000 + b'"}]}', 413),
    ]
    for body, status in refusals:
        if isinstance(body, bytes):
            response = await library.client.post(
                base, data=body, headers=_internal(library, **{"Content-Type": "application/json"})
            )
        else:
            response = await library.client.post(base, json=body, headers=_internal(library))
        assert response.status == status, (str(body)[:100], response.status, (await response.text())[:300])
    response = await library.client.post(
        base, data=b"{}", headers=_internal(library, **{"Content-Type": "text/plain"})
    )
    assert response.status == 415
    assert await _user_tracks(library, user) == before


async def test_internal_writes_need_the_service_credential(library):
    user = library.user()
    pid = (await user.create("Mine", tracks=1))["id"]
    response, _ = await user.call("GET", f"/playlists/{pid}")
    etag = response.headers["ETag"]
    writes = [
        ("POST", f"/internal/users/{user.id}/tracks", {"tracks": [_song("a")]}),
        ("PUT", f"/internal/users/{user.id}/playlists/{pid}/entries", {"track_ids": [], "author": "sync:x"}),
    ]
    for method, path, body in writes:
        for headers, status in [
            ({}, 401),
            ({"Authorization": "Service deadbeef"}, 403),
            ({"Authorization": "Bearer deadbeef"}, 403),
        ]:
            response = await library.client.request(
                method, path, json=body, headers={"If-Match": etag, **headers}
            )
            assert response.status == status, (method, headers)
        # A user's own signed identity is not the service credential.
        response = await library.client.request(
            method, path, json=body, headers=user.headers(**{"If-Match": etag})
        )
        assert response.status in (401, 403), method
        # Nor are these routes served on the public path.
        response, _ = await user.call(method, path.removeprefix("/internal"), json=body)
        assert response.status in (404, 405), method
    bad_user = "/internal/users/not-a-uuid/tracks"
    response = await library.client.post(bad_user, json={"tracks": []}, headers=_internal(library))
    assert response.status == 404
    assert (await _state(user, pid))[0] == 1
    assert await _user_tracks(library, user) == 1


# ---------------------------------------------------------------- PUT …/playlists/{id}/entries


async def test_a_put_makes_the_list_exactly_the_ids_keeping_the_entries_that_stay(library):
    user = library.user()
    created = await user.create("Linked", tracks=4)
    pid = created["id"]
    version, entries = await _state(user, pid)
    (e0, t0), (e1, _), (e2, t2), (e3, t3) = entries
    [t4] = await _write_tracks(library, user, [_song("new one")])
    response, _ = await user.call("GET", f"/playlists/{pid}")
    etag = response.headers["ETag"]

    # A move (t3 first), a removal (t1), two inserts (t4, and t0 a second time): one PUT.
    wanted = [t3, t0, t2, t4, t0]
    response = await _put(library, user, pid, {"track_ids": wanted, "author": "sync:link-1"}, etag)
    assert response.status == 200, await response.text()
    answer = await response.json()
    assert answer["id"] == pid and answer["version"] == version + 1 and answer["entry_count"] == 5
    assert response.headers["ETag"].startswith(f'"{version + 1}.')
    now_version, now_entries = await _state(user, pid)
    assert now_version == version + 1
    assert [t for _, t in now_entries] == wanted
    assert [e for e, _ in now_entries[:3]] == [e3, e0, e2]  # the entries that stay keep their ids
    assert e1 not in {e for e, _ in now_entries}
    page = await user.page(pid)
    fresh = [e for e in page["entries"]["items"] if e["id"] not in {e0, e1, e2, e3}]
    assert len(fresh) == 2 and all(e["added_by"] is None for e in fresh)

    _, versions = await user.call("GET", f"/playlists/{pid}/versions", expect=200)
    latest = versions["versions"][0]
    assert (latest["version"], latest["kind"], latest["author"]) == (version + 1, "sync", "sync:link-1")
    assert (latest["added"], latest["removed"], latest["entry_count"]) == (2, 1, 5)
    events = await library.events(pid, "playlist.entries_changed")
    assert [(e["data"]["change"], e["data"]["version"]) for e in events] == [("sync", version + 1)]

    # The same list again, with the new ETag or the version alone (as provider-sync sends it): no
    # version, no event; the answer is the playlist as it is.
    for if_match in (response.headers["ETag"], f'"{version + 1}"'):
        again = await _put(library, user, pid, {"track_ids": wanted, "author": "sync:link-1"}, if_match)
        assert again.status == 200
        assert (await again.json())["version"] == version + 1
        assert again.headers["ETag"] == response.headers["ETag"]
    assert await _state(user, pid) == (now_version, now_entries)
    assert len(await library.events(pid, "playlist.entries_changed")) == 1

    # Emptied, then filled again: each a version of kind sync.
    emptied = await _put(library, user, pid, {"track_ids": [], "author": "sync:link-1"}, f'"{version + 1}"')
    assert emptied.status == 200 and (await emptied.json())["entry_count"] == 0
    _, versions = await user.call("GET", f"/playlists/{pid}/versions", expect=200)
    assert [v["kind"] for v in versions["versions"][:2]] == ["sync", "sync"]


async def test_a_put_refused_changes_nothing(library):
    user, other = library.user(), library.user()
    pid = (await user.create("Linked", tracks=3))["id"]
    response, _ = await user.call("GET", f"/playlists/{pid}")
    etag = response.headers["ETag"]
    before = await _state(user, pid)
    mine = [t for _, t in before[1]]
    [theirs] = await _write_tracks(library, other, [_song("theirs")])
    foreign_pid = (await other.create("Theirs", tracks=1))["id"]
    await user.import_playlist("followed-1", ["x", "y"], name="Someone's", read_only=True)
    _, listed = await user.call("GET", "/playlists", params={"origin": "followed"}, expect=200)
    followed = listed["playlists"][0]
    body = {"track_ids": list(reversed(mine)), "author": "sync:link-1"}

    def problem_code(problem: dict[str, Any]) -> str:
        return str(problem["type"]).rsplit("/", 1)[-1]

    async def refused(status: int, code: str | None, *args: Any, **kwargs: Any) -> None:
        response = await _put(library, user, *args, **kwargs)
        text = await response.text()
        assert response.status == status, (str(args[1])[:200], response.status, text[:300])
        if code is not None:
            assert problem_code(await response.json()) == code, text[:300]

    await refused(428, "precondition-required", pid, body)
    await refused(428, "precondition-required", pid, body, "*")  # any version is not the one read
    await refused(412, "precondition-failed", pid, body, '"0.0"')
    await refused(412, None, pid, body, 'W/"1"')  # a weak tag never matches a write's precondition
    await refused(404, "playlist-not-found", foreign_pid, body, '"1"')
    await refused(404, None, str(uuid.uuid4()), body, '"1"')
    await refused(404, None, "not-a-uuid", body, '"1"')
    await refused(409, "read-only-playlist", followed["id"], body, f'"{followed["version"]}"')
    await refused(422, "unknown-track", pid, {**body, "track_ids": [*mine, theirs]}, etag)
    await refused(422, "unknown-track", pid, {**body, "track_ids": [str(uuid.uuid4())]}, etag)
    await refused(422, "playlist-too-large", pid, {**body, "track_ids": [mine[0]] * 100_001}, etag)
    for hostile in [
        {"track_ids": ["not-a-uuid"], "author": "sync:x"},
        {"track_ids": [mine[0], 7], "author": "sync:x"},
        {"track_ids": mine},  # no author
        {"track_ids": mine, "author": ""},
        {"track_ids": mine, "author": "import:spotify"},
        {"track_ids": mine, "author": str(other.id)},
        {"track_ids": mine, "author": "sync:a\r\nX-Injected: 1"},
        {"track_ids": mine, "author": "sync:" + "x" * 100},
        {"track_ids": mine, "author": "sync:x", "kind": "restore"},
        {"track_ids": {"0": mine[0]}, "author": "sync:x"},
        {"author": "sync:x"},
        [mine],
    ]:
        await refused(422, "validation-failed", pid, hostile, etag)
    await refused(400, None, pid, b"not json", etag)
    await refused(400, None, pid, b'{"track_ids": [' + b"[" * 10_000 + b"]" * 10_000 + b"]}", etag)
    await refused(413, None, pid, b'{"track_ids": [], "author": "sync:' + b"x" * 9_000_000 + b'"}', etag)
    await refused(415, None, pid, json.dumps(body).encode(), etag, headers={"Content-Type": "text/plain"})

    assert await _state(user, pid) == before
    _, versions = await user.call("GET", f"/playlists/{pid}/versions", expect=200)
    assert [v["kind"] for v in versions["versions"]] == ["created"]
    assert await library.events(pid, "playlist.entries_changed") == []
    followed_page = await user.page(followed["id"])
    assert followed_page["version"] == followed["version"] and followed_page["entry_count"] == 2
