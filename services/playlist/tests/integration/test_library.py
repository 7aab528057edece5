"""The library API against the real service, database, Redis and Kafka: editing with history and
optimistic concurrency, the cache, and what another user can see."""

from __future__ import annotations

import base64
import json
import uuid

import pytest

from pm_playlist.storage import cache

pytestmark = pytest.mark.integration


async def _ids(user, playlist_id: str) -> list[str]:
    page = await user.page(playlist_id, limit=500)
    return [e["id"] for e in page["entries"]["items"]]


async def _titles(user, playlist_id: str) -> list[str]:
    page = await user.page(playlist_id, limit=500)
    return [e["track"]["title"] for e in page["entries"]["items"]]


async def test_edits_make_versions_that_diff_and_restore(library):
    user = library.user()
    created = await user.create("Road trip", tracks=5)
    pid = created["id"]
    assert created["version"] == 1 and created["entry_count"] == 5
    ids = await _ids(user, pid)

    await user.call(
        "POST", f"/playlists/{pid}/entries/move", json={"entry_ids": [ids[4]], "to": 0}, expect=200
    )
    assert await _titles(user, pid) == ["Song 4", "Song 0", "Song 1", "Song 2", "Song 3"]
    _, added = await user.call(
        "POST",
        f"/playlists/{pid}/entries",
        json={"tracks": [{"title": "New", "artists": ["X"]}], "position": 1},
        expect=200,
    )
    assert added["version"] == 3 and added["entry_count"] == 6
    await user.call("POST", f"/playlists/{pid}/entries/remove", json={"entry_ids": [ids[0]]}, expect=200)
    assert await _titles(user, pid) == ["Song 4", "New", "Song 1", "Song 2", "Song 3"]
    # Positions stay dense.
    page = await user.page(pid)
    assert [e["position"] for e in page["entries"]["items"]] == list(range(5))

    _, versions = await user.call("GET", f"/playlists/{pid}/versions", expect=200)
    assert [(v["version"], v["kind"]) for v in versions["versions"]] == [
        (4, "remove"),
        (3, "insert"),
        (2, "move"),
        (1, "created"),
    ]
    assert all(v["author"] == str(user.id) for v in versions["versions"])

    _, changes = await user.call("GET", f"/playlists/{pid}/diff", params={"from": 1, "to": 4}, expect=200)
    assert [e["track"]["title"] for e in changes["added"]] == ["New"]
    assert [e["track"]["title"] for e in changes["removed"]] == ["Song 0"]
    assert [(m["track"]["title"], m["from_position"], m["position"]) for m in changes["moved"]] == [
        ("Song 4", 4, 0)
    ]

    _, restored = await user.call("POST", f"/playlists/{pid}/versions/1/restore", expect=200)
    assert restored["version"] == 5
    assert await _titles(user, pid) == [f"Song {i}" for i in range(5)]
    assert await _ids(user, pid) == ids  # the same entries, not copies
    _, versions = await user.call("GET", f"/playlists/{pid}/versions", params={"limit": 1}, expect=200)
    assert versions["versions"][0]["kind"] == "restore" and versions["next_before"] == 5


async def test_a_stale_if_match_changes_nothing_and_if_none_match_is_304(library):
    user = library.user()
    pid = (await user.create(tracks=3))["id"]
    response, _ = await user.call("GET", f"/playlists/{pid}", expect=200)
    etag = response.headers["ETag"]
    cached, _ = await user.call("GET", f"/playlists/{pid}", headers={"If-None-Match": etag}, expect=304)
    assert cached.headers["ETag"] == etag

    await user.call(
        "PATCH", f"/playlists/{pid}", json={"name": "Renamed"}, headers={"If-Match": etag}, expect=200
    )
    stale, problem = await user.call(
        "PATCH", f"/playlists/{pid}", json={"name": "Lost update"}, headers={"If-Match": etag}, expect=412
    )
    assert problem["type"].endswith("/precondition-failed") and stale.headers["ETag"] != etag
    ids = await _ids(user, pid)
    await user.call(
        "POST",
        f"/playlists/{pid}/entries/remove",
        json={"entry_ids": ids[:1]},
        headers={"If-Match": etag},
        expect=412,
    )
    page = await user.page(pid)
    assert page["name"] == "Renamed" and page["entry_count"] == 3 and page["version"] == 2
    # The old ETag no longer matches: the client gets the new version.
    fresh, body = await user.call("GET", f"/playlists/{pid}", headers={"If-None-Match": etag}, expect=200)
    assert body["name"] == "Renamed" and fresh.headers["ETag"] != etag


async def test_the_cache_never_serves_a_page_older_than_the_last_write(library):
    user = library.user()
    pid = (await user.create(tracks=2))["id"]
    for n in range(3):
        await user.page(pid)  # cached
        await user.call("PATCH", f"/playlists/{pid}", json={"name": f"Name {n}"}, expect=200)
        assert (await user.page(pid))["name"] == f"Name {n}"
    _, listed = await user.call("GET", "/playlists", expect=200)
    assert [p["name"] for p in listed["playlists"]] == ["Name 2"]
    await user.call("DELETE", f"/playlists/{pid}", expect=204)
    await user.call("GET", f"/playlists/{pid}", expect=404)
    _, listed = await user.call("GET", "/playlists", expect=200)
    assert listed["playlists"] == []


async def test_another_user_can_neither_see_nor_change_a_playlist(library):
    owner, other = library.user(), library.user()
    pid = (await owner.create("Private", tracks=2))["id"]
    ids = await _ids(owner, pid)
    await owner.page(pid)  # the page is now cached: the cache must not hand it to anyone else
    attempts = [
        ("GET", f"/playlists/{pid}", None),
        ("PATCH", f"/playlists/{pid}", {"name": "Mine now"}),
        ("DELETE", f"/playlists/{pid}", None),
        ("POST", f"/playlists/{pid}/entries", {"tracks": [{"title": "Spam"}]}),
        ("POST", f"/playlists/{pid}/entries/remove", {"entry_ids": ids}),
        ("POST", f"/playlists/{pid}/entries/move", {"entry_ids": ids[:1], "to": 1}),
        ("POST", f"/playlists/{pid}/edits", {"edits": [{"op": "remove", "entry_ids": ids}]}),
        ("POST", f"/playlists/{pid}/reorder", {"entry_ids": ids[::-1]}),
        ("POST", f"/playlists/{pid}/sort", {"by": "title"}),
        ("POST", f"/playlists/{pid}/dedupe", {}),
        ("GET", f"/playlists/{pid}/versions", None),
        ("GET", f"/playlists/{pid}/diff?from=1&to=1", None),
        ("POST", f"/playlists/{pid}/versions/1/restore", None),
    ]
    for method, path, body in attempts:
        response, problem = await other.call(method, path, json=body)
        assert response.status == 404, (method, path, response.status)
        assert problem["type"].endswith("/playlist-not-found"), (method, path, problem)
    # Merging the owner's playlist into one's own reveals nothing either.
    mine = (await other.create("Mine"))["id"]
    response, _ = await other.call("POST", f"/playlists/{mine}/merge", json={"source_playlist_id": pid})
    assert response.status == 404
    # A track id of the owner's library is not the other user's to add.
    owner_track = (await owner.page(pid))["entries"]["items"][0]["track"]["id"]
    response, problem = await other.call(
        "POST", f"/playlists/{mine}/entries", json={"tracks": [{"track_id": owner_track}]}
    )
    assert response.status == 422 and problem["type"].endswith("/unknown-track")
    _, listed = await other.call("GET", "/playlists", expect=200)
    assert [p["name"] for p in listed["playlists"]] == ["Mine"]
    page = await owner.page(pid)
    assert page["name"] == "Private" and page["version"] == 1 and page["entry_count"] == 2


async def test_bad_edits_are_422_and_change_nothing(library):
    user = library.user()
    pid = (await user.create(tracks=3))["id"]
    ids = await _ids(user, pid)
    response, problem = await user.call(
        "POST", f"/playlists/{pid}/entries/move", json={"entry_ids": ids[:1], "to": 3}
    )
    assert response.status == 422 and problem["type"].endswith("/position-out-of-range")
    # A batch whose second edit cannot apply: the first is not kept either.
    response, problem = await user.call(
        "POST",
        f"/playlists/{pid}/edits",
        json={
            "edits": [{"op": "remove", "entry_ids": ids[:1]}, {"op": "move", "entry_ids": ids[:1], "to": 0}]
        },
    )
    assert response.status == 422 and problem["type"].endswith("/unknown-entry")
    response, problem = await user.call("POST", f"/playlists/{pid}/reorder", json={"entry_ids": ids[:2]})
    assert response.status == 422 and problem["type"].endswith("/not-a-reordering")
    for bad in ("not-a-uuid", str(uuid.uuid4())):
        response, _ = await user.call("GET", f"/playlists/{bad}")
        assert response.status == 404
    response, _ = await user.call("GET", f"/playlists/{pid}/diff", params={"from": 1, "to": 99})
    assert response.status == 404
    page = await user.page(pid)
    assert page["version"] == 1 and [e["id"] for e in page["entries"]["items"]] == ids


async def test_absurd_sizes_are_refused_before_any_work(library):
    user = library.user()
    pid = (await user.create(tracks=1))["id"]
    response, _ = await user.call(
        "PATCH",
        f"/playlists/{pid}",
        data=b'{"name": "' + b"x" * 10_000_000 + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 413
    response, _ = await user.call("PATCH", f"/playlists/{pid}", json={"name": "x" * 501})
    assert response.status == 422
    many = {"tracks": [{"track_id": str(uuid.uuid4())} for _ in range(100_000)]}
    response, _ = await user.call("POST", f"/playlists/{pid}/entries", json=many)
    assert response.status in (413, 422)
    ids = [str(uuid.uuid4()) for _ in range(10_001)]
    response, _ = await user.call("POST", f"/playlists/{pid}/entries/remove", json={"entry_ids": ids})
    assert response.status == 422
    for query in ({"limit": "501"}, {"offset": "-1"}, {"limit": "0"}, {"offset": "1e9"}):
        response, _ = await user.call("GET", f"/playlists/{pid}", params=query)
        assert response.status == 422, query
    assert (await user.page(pid))["version"] == 1


async def test_list_filters_sorts_and_pages_with_a_cursor(library):
    user = library.user()
    for name in ["delta", "Alpha", "charlie", "Bravo", "echo"]:
        await user.create(name)
    await user.import_playlist("sp-1", ["a"], name="Foxtrot")
    await user.import_playlist("sp-2", ["b"], name="Golf", read_only=True)
    _, page = await user.call("GET", "/playlists", params={"limit": 2}, expect=200)
    names = [p["name"] for p in page["playlists"]]
    while page["next_cursor"]:
        _, page = await user.call(
            "GET", "/playlists", params={"limit": 2, "cursor": page["next_cursor"]}, expect=200
        )
        names += [p["name"] for p in page["playlists"]]
    assert names == ["Alpha", "Bravo", "charlie", "delta", "echo", "Foxtrot", "Golf"]
    _, page = await user.call("GET", "/playlists", params={"sort": "-name", "limit": 3}, expect=200)
    assert [p["name"] for p in page["playlists"]] == ["Golf", "Foxtrot", "echo"]
    _, rest = await user.call(
        "GET", "/playlists", params={"sort": "-name", "cursor": page["next_cursor"]}, expect=200
    )
    assert [p["name"] for p in rest["playlists"]] == ["delta", "charlie", "Bravo", "Alpha"]

    async def names_for(**query):
        _, body = await user.call("GET", "/playlists", params=query, expect=200)
        return [p["name"] for p in body["playlists"]]

    assert await names_for(origin="created") == ["Alpha", "Bravo", "charlie", "delta", "echo"]
    assert await names_for(origin="own") == ["Foxtrot"]
    assert await names_for(origin="followed") == ["Golf"]
    assert await names_for(provider="spotify") == ["Foxtrot", "Golf"]
    assert await names_for(name="HAR") == ["charlie"]
    assert await names_for(name="%") == []  # a wildcard is a character like any other
    for bad in ({"sort": "size"}, {"provider": "napster"}, {"cursor": "garbage"}, {"limit": "1000"}):
        response, _ = await user.call("GET", "/playlists", params=bad)
        assert response.status == 422, bad
    # A cursor of one sort order is refused by another.
    _, first = await user.call("GET", "/playlists", params={"limit": 1}, expect=200)
    response, _ = await user.call(
        "GET", "/playlists", params={"sort": "-name", "cursor": first["next_cursor"]}
    )
    assert response.status == 422


async def test_dedupe_sort_merge_and_read_only(library):
    user = library.user()
    tracks = [
        {"title": "Halo", "artists": ["Beyoncé"], "duration_ms": 261_000},
        {"title": "Teardrop", "artists": ["Massive Attack"], "isrc": "GBAAA9800006"},
        {"title": "HALO!", "artists": ["Beyonce"], "duration_ms": 262_500},
        {"title": "Teardrop (Remastered)", "artists": ["Massive Attack"], "isrc": "GB-AAA-98-00006"},
    ]
    _, created = await user.call("POST", "/playlists", json={"name": "Dupes", "tracks": tracks}, expect=201)
    pid = created["id"]
    _, dry = await user.call("POST", f"/playlists/{pid}/dedupe", json={"dry_run": True}, expect=200)
    assert sorted(d["rule"] for d in dry["duplicates"]) == ["isrc", "title-artists-duration"]
    assert dry["playlist"]["version"] == 1
    _, done = await user.call("POST", f"/playlists/{pid}/dedupe", json={}, expect=200)
    assert done["playlist"]["entry_count"] == 2
    assert await _titles(user, pid) == ["Halo", "Teardrop"]

    await user.call("POST", f"/playlists/{pid}/sort", json={"by": "title", "descending": True}, expect=200)
    assert await _titles(user, pid) == ["Teardrop", "Halo"]

    other = (await user.create("Other", tracks=2))["id"]
    _, merged = await user.call(
        "POST", f"/playlists/{pid}/merge", json={"source_playlist_id": other}, expect=200
    )
    assert merged["entry_count"] == 4
    response, problem = await user.call("POST", f"/playlists/{pid}/merge", json={"source_playlist_id": pid})
    assert response.status == 422

    await user.import_playlist("followed-1", ["x", "y"], name="Someone's", read_only=True)
    _, listed = await user.call("GET", "/playlists", params={"origin": "followed"}, expect=200)
    followed = listed["playlists"][0]["id"]
    response, problem = await user.call("POST", f"/playlists/{followed}/sort", json={"by": "title"})
    assert response.status == 409 and problem["type"].endswith("/read-only-playlist")
    response, _ = await user.call("PATCH", f"/playlists/{followed}", json={"name": "Mine"})
    assert response.status == 409


async def test_inserts_at_one_spot_outlast_the_gap_between_two_keys(library):
    """Each insert between the same two entries halves the room there; when it runs out, every entry
    gets a key again and the order still holds."""
    user = library.user()
    pid = (await user.create(tracks=2))["id"]
    for n in range(25):  # 2**20 between two keys: about 20 halvings
        await user.call(
            "POST",
            f"/playlists/{pid}/entries",
            json={"tracks": [{"title": f"In {n}"}], "position": 1},
            expect=200,
        )
    assert await _titles(user, pid) == ["Song 0", *[f"In {n}" for n in reversed(range(25))], "Song 1"]
    page = await user.page(pid, offset=20, limit=5)
    assert [e["position"] for e in page["entries"]["items"]] == [20, 21, 22, 23, 24]


async def test_a_restore_larger_than_one_request_stays_readable(library):
    """A restore (or an import) may change more entries than a request may: its version is kept whole, so
    the history reads back and diffs across it."""
    user = library.user()
    pid = (await user.create("Big", tracks=10_000))["id"]
    many = [{"title": f"More {i}"} for i in range(10_000)]
    await user.call("POST", f"/playlists/{pid}/entries", json={"tracks": many}, expect=200)  # v2: 20,000
    await user.call(
        "POST", f"/playlists/{pid}/entries", json={"tracks": [{"title": "One"}]}, expect=200
    )  # v3
    page = await user.page(pid, limit=500)
    assert page["entry_count"] == 20_001
    ids: list[str] = []
    for offset in range(0, 10_000, 500):
        ids += [e["id"] for e in (await user.page(pid, offset=offset, limit=500))["entries"]["items"]]
    await user.call("POST", f"/playlists/{pid}/entries/remove", json={"entry_ids": ids}, expect=200)  # v4
    _, restored = await user.call("POST", f"/playlists/{pid}/versions/3/restore", expect=200)  # v5: +10,000
    assert (restored["version"], restored["entry_count"]) == (5, 20_001)
    _, changes = await user.call("GET", f"/playlists/{pid}/diff", params={"from": 1, "to": 5}, expect=200)
    assert len(changes["added"]) == 10_001 and changes["removed"] == []
    _, again = await user.call("POST", f"/playlists/{pid}/versions/5/restore", expect=200)
    assert again["version"] == 5  # already that list: no new version


async def test_a_described_track_never_rewrites_a_track_of_the_library(library):
    user = library.user()
    first = await user.call(
        "POST",
        "/playlists",
        json={
            "name": "A",
            "tracks": [{"title": "Teardrop", "artists": ["Massive Attack"], "explicit": False}],
        },
        expect=201,
    )
    pid = first[1]["id"]
    etag = first[0].headers["ETag"]
    await user.call(
        "POST",
        "/playlists",
        json={
            "name": "B",
            "tracks": [{"title": "TEARDROP!", "artists": ["massive attack"], "explicit": True}],
        },
        expect=201,
    )
    page = await user.page(pid)
    track = page["entries"]["items"][0]["track"]
    assert (track["title"], track["explicit"]) == ("Teardrop", False)
    await user.call("GET", f"/playlists/{pid}", headers={"If-None-Match": etag}, expect=304)


async def test_a_provider_track_can_be_described_by_its_id(library):
    user = library.user()
    described = {
        "title": "Halo",
        "artists": ["Beyoncé"],
        "provider": "spotify",
        "provider_track_id": "4JehYebiI9JE8sR8MisGVb",
    }
    _, created = await user.call("POST", "/playlists", json={"name": "P", "tracks": [described]}, expect=201)
    page = await user.page(created["id"])
    assert page["entries"]["items"][0]["track"]["provider_ids"] == {"spotify": "4JehYebiI9JE8sR8MisGVb"}
    response, _ = await user.call(
        "POST", "/playlists", json={"name": "P", "tracks": [{**described, "provider": "napster"}]}
    )
    assert response.status == 422


async def test_hostile_query_values_and_texts_are_422_not_500(library):
    user = library.user()
    pid = (await user.create(tracks=1))["id"]
    for query in ({"limit": "²"}, {"offset": "\u0661"}):
        response, _ = await user.call("GET", f"/playlists/{pid}", params=query)
        assert response.status == 422, query
    response, _ = await user.call("POST", f"/playlists/{pid}/versions/²/restore")
    assert response.status == 404
    for bad in ({"name": "a\x00b"}, {"name": "ok", "description": "\x00"}):
        response, _ = await user.call("PATCH", f"/playlists/{pid}", json=bad)
        assert response.status == 422, bad
    response, _ = await user.call("POST", f"/playlists/{pid}/entries", json={"tracks": [{"title": "\x00"}]})
    assert response.status == 422
    for query in ({"name": "a\x00"}, {"limit": "²"}):
        response, _ = await user.call("GET", "/playlists", params=query)
        assert response.status == 422, query
    for forged in (
        ["created", "9999-12-31T23:59:59-10:00", str(uuid.uuid4())],
        ["created", "2026-01-01T00:00:00", str(uuid.uuid4())],
        ["name", "\ud800", str(uuid.uuid4())],
        ["name", "a\x00", str(uuid.uuid4())],
    ):
        raw = json.dumps(forged).encode()
        cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        response, _ = await user.call("GET", "/playlists", params={"sort": forged[0], "cursor": cursor})
        assert response.status == 422, forged
    assert (await user.page(pid))["version"] == 1


async def test_a_late_notice_of_an_older_version_does_not_win_the_cache(library):
    """Two writers' notices after their commits may arrive in either order."""
    user, playlist_id = library.user(), uuid.uuid4()
    await cache.playlists_changed(library.rt, user.id, {playlist_id: '"7.0"'})
    await cache.playlists_changed(library.rt, user.id, {playlist_id: '"6.0"'})
    assert (await cache.cached_page(library.rt, user.id, playlist_id, 0, 100))[0] == '"7.0"'
    await cache.playlists_changed(library.rt, user.id, {playlist_id: '"7.1"'})  # its tracks' revision
    assert (await cache.cached_page(library.rt, user.id, playlist_id, 0, 100))[0] == '"7.1"'
    # Another user's request never learns the state.
    assert (await cache.cached_page(library.rt, uuid.uuid4(), playlist_id, 0, 100)) == (None, None)


async def test_internal_reads_serve_other_services_with_the_service_credential_only(library):
    """A transfer reads its sources through /internal/users/{user}/playlists…: the public answers, for the
    user the calling service names, and only for holders of the service credential."""
    from pm_platform.identity import service_credential

    user, other = library.user(), library.user()
    created = await user.create("Source", tracks=3)
    await other.create("Not theirs", tracks=1)
    internal = {"Authorization": service_credential(library.rt.settings.service_token.get_secret_value())}
    base = f"/internal/users/{user.id}/playlists"

    listed = await library.client.get(base, headers=internal)
    assert listed.status == 200
    assert [p["name"] for p in (await listed.json())["playlists"]] == ["Source"]
    page = await library.client.get(f"{base}/{created['id']}?limit=2", headers=internal)
    assert page.status == 200
    body = await page.json()
    assert [e["track"]["title"] for e in body["entries"]["items"]] == ["Song 0", "Song 1"]
    assert body["entries"]["next_offset"] == 2

    # Another user's playlist under this user's path is the same 404 as none at all.
    foreign = await other.create("Foreign")
    assert (await library.client.get(f"{base}/{foreign['id']}", headers=internal)).status == 404
    assert (await library.client.get("/internal/users/not-a-uuid/playlists", headers=internal)).status == 404
    # No credential, a wrong one, or a user's own signed identity: refused.
    assert (await library.client.get(base)).status == 401
    assert (await library.client.get(base, headers={"Authorization": "Service deadbeef"})).status == 403
    assert (await library.client.get(base, headers=user.headers())).status in (401, 403)


async def test_internal_history_reads_answer_as_the_public_ones_for_the_service_credential_only(library):
    """A backup reads a playlist's history through …/versions and …/diff under
    /internal/users/{user}/playlists/{id}: the public answers (diff entries with their author), for the
    user the calling service names, and only for holders of the service credential."""
    from pm_platform.identity import service_credential

    user, other = library.user(), library.user()
    pid = (await user.create("History", tracks=3))["id"]
    ids = await _ids(user, pid)
    await user.call(
        "POST", f"/playlists/{pid}/entries/move", json={"entry_ids": [ids[0]], "to": 2}, expect=200
    )
    await user.call("PATCH", f"/playlists/{pid}", json={"name": "Renamed"}, expect=200)
    internal = {"Authorization": service_credential(library.rt.settings.service_token.get_secret_value())}
    base = f"/internal/users/{user.id}/playlists/{pid}"

    for suffix, query in [
        ("/versions", {}),
        ("/versions", {"before": "3", "limit": "1"}),
        ("/diff", {"from": "1", "to": "2"}),
        ("/diff", {"from": "3", "to": "1"}),
    ]:
        inside = await library.client.get(f"{base}{suffix}", params=query, headers=internal)
        _, public = await user.call("GET", f"/playlists/{pid}{suffix}", params=query, expect=200)
        assert inside.status == 200, (suffix, query)
        assert await inside.json() == public, (suffix, query)
    moved = await (await library.client.get(f"{base}/diff?from=1&to=2", headers=internal)).json()
    assert [(m["id"], m["added_by"]) for m in moved["moved"]] == [(ids[0], str(user.id))]
    history = await (await library.client.get(f"{base}/versions?limit=1", headers=internal)).json()
    assert [v["version"] for v in history["versions"]] == [3] and history["next_before"] == 3

    # A version the playlist does not have, and a query missing a version: as the public answers.
    assert (await library.client.get(f"{base}/diff?from=1&to=9", headers=internal)).status == 404
    assert (await library.client.get(f"{base}/diff?from=1", headers=internal)).status == 422
    # Another user's playlist under this user's path is the same 404 as none at all.
    foreign = (await other.create("Foreign", tracks=1))["id"]
    for suffix in ("/versions", "/diff?from=1&to=1"):
        theirs = f"/internal/users/{user.id}/playlists/{foreign}{suffix}"
        assert (await library.client.get(theirs, headers=internal)).status == 404, suffix
        unknown = f"/internal/users/not-a-uuid/playlists/{pid}{suffix}"
        assert (await library.client.get(unknown, headers=internal)).status == 404, suffix
    # No credential, a wrong one, or a user's own signed identity: refused.
    for suffix in ("/versions", "/diff?from=1&to=2"):
        assert (await library.client.get(f"{base}{suffix}")).status == 401, suffix
        wrong = {"Authorization": "Service deadbeef"}
        assert (await library.client.get(f"{base}{suffix}", headers=wrong)).status == 403, suffix
        assert (await library.client.get(f"{base}{suffix}", headers=user.headers())).status in (401, 403)
