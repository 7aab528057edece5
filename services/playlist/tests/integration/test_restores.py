"""Playlists restored from a library backup (the export service's restore) applied to the library: the
same answers as when the backup was made (its kept versions and their diffs too), under the backup's ids
when they are free, once, and never touching another user's playlist or track."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from pm_contracts.library import (
    ImportedEntry,
    ImportedPlaylist,
    ImportedTrack,
    LibraryImportFinished,
    PlaylistImported,
    PlaylistRestored,
    RestoredChange,
    RestoredEntry,
    RestoredOrigin,
    RestoredPlaylist,
    RestoredStep,
    RestoredTrack,
    RestoredVersion,
)
from pm_platform.consumers import Outcome
from pm_platform.identity import service_credential
from pm_platform.testing import deliver, registry_examples
from pm_playlist.app import definition
from pm_playlist.domain.imports import derived_playlist_id
from pm_playlist.usecases import file_imports

pytestmark = pytest.mark.integration

RESTORED_AT = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
CREATED_AT = datetime(2025, 12, 24, 18, 0, tzinfo=UTC)
ADDED_AT = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)


def _backup(
    user_id: uuid.UUID, page: dict[str, Any], parts: int = 1, history: list[RestoredStep] | None = None
) -> list[PlaylistRestored]:
    """The events the export service sends to restore into ``user_id``'s library a playlist backed up
    from the library's public answer (``page``, every entry on it) and the ``history`` it kept, in
    ``parts`` parts."""
    origin = page["origin"]
    playlist = RestoredPlaylist(
        playlist_id=page["id"],
        collection=page["collection"],
        name=page["name"],
        description=page["description"],
        public=page["public"],
        collaborative=page["collaborative"],
        cover_url=page["cover_url"],
        origin=RestoredOrigin(**origin) if origin is not None else None,
        read_only=page["read_only"],
        gone_from_provider=page["gone_from_provider"],
        created_at=page["created_at"],
        version=page["version"],
        updated_at=page["updated_at"],
    )
    entries = [_entry(e) for e in page["entries"]["items"]]
    return _parts(user_id, playlist, entries, parts, history or [])


def _entry(view: dict[str, Any]) -> RestoredEntry:
    """An entry of the library's answer (a page's, or a diff's) as a backup holds it."""
    track = view["track"]
    return RestoredEntry(
        entry_id=view["id"],
        track=RestoredTrack(track_id=track["id"], **{k: v for k, v in track.items() if k != "id"}),
        added_at=view["added_at"],
        added_by=view["added_by"],
    )


def _parts(
    user_id: uuid.UUID,
    playlist: RestoredPlaylist,
    entries: list[RestoredEntry],
    parts: int = 1,
    history: list[RestoredStep] | None = None,
) -> list[PlaylistRestored]:
    """In ``parts`` parts of about one size: the entries first, then the steps of the history."""
    job = uuid.uuid4()
    items: list[RestoredEntry | RestoredStep] = [*entries, *(history or [])]
    size = -(-len(items) // parts) if items else 0
    chunks = [items[(part - 1) * size : part * size] for part in range(1, parts + 1)]
    return [
        PlaylistRestored(
            user_id=user_id,
            job_id=job,
            playlist=playlist,
            part=part,
            parts=parts,
            entries=[i for i in chunk if isinstance(i, RestoredEntry)],
            history=[i for i in chunk if isinstance(i, RestoredStep)],
            restored_at=RESTORED_AT,
        )
        for part, chunk in enumerate(chunks, start=1)
    ]


def _made_up(titles: list[str], **details: Any) -> tuple[RestoredPlaylist, list[RestoredEntry]]:
    """A backup of a playlist this test run has never seen: every id is new."""
    playlist = RestoredPlaylist(
        playlist_id=uuid.uuid4(), name=details.pop("name", "Backed up"), created_at=CREATED_AT, **details
    )
    entries = [
        RestoredEntry(
            entry_id=uuid.uuid4(),
            track=RestoredTrack(
                track_id=uuid.uuid4(),
                title=t,
                artists=["Band"],
                duration_ms=200_000,
                provider_ids={"deezer": f"dz-{t}"},
            ),
            added_at=ADDED_AT,
            added_by="someone",
        )
        for t in titles
    ]
    return playlist, entries


async def _deliver_all(library: Any, events: list[PlaylistRestored]) -> None:
    for event in events:
        assert await library.deliver(event) is Outcome.HANDLED


async def _page(user: Any, playlist_id: Any) -> dict[str, Any]:
    return await user.page(str(playlist_id), limit=500)


def _public(page: dict[str, Any]) -> dict[str, Any]:
    """The answer but what a restore makes anew: its version and when it changed."""
    return {k: v for k, v in page.items() if k not in ("version", "updated_at")}


async def _held(library: Any, user_id: uuid.UUID) -> list[Any]:
    return await library.fetch("SELECT part FROM import_parts WHERE user_id = $1 ORDER BY part", user_id)


async def _tracks_of(library: Any, user_id: uuid.UUID) -> list[tuple[Any, ...]]:
    rows = await library.fetch("SELECT * FROM tracks WHERE user_id = $1 ORDER BY id", user_id)
    return [tuple(r) for r in rows]


async def _import_rich(library: Any, user: Any, provider_playlist_id: str, **details: Any) -> dict[str, Any]:
    """A Spotify playlist imported with everything a provider tells; its page."""
    entries = [
        ImportedEntry(
            track=ImportedTrack(
                provider_track_id=f"trk-{t}",
                title=t.title(),
                artists=["Band", "Guest"],
                album="Album",
                duration_ms=180_000 + i,
                isrc="GBAAA980000" + str(i),
                explicit=i % 2 == 0,
                release_date=datetime(1998, 4, 20).date(),
                available=i != 1,
            ),
            added_at=datetime(2026, 1, 1 + i, tzinfo=UTC),
            added_by="friend" if i else None,
        )
        for i, t in enumerate(["a", "b", "a", "c"])  # a twice: two entries of one track
    ]
    event = PlaylistImported(
        user_id=user.id,
        job_id=uuid.uuid4(),
        provider="spotify",
        playlist=ImportedPlaylist(
            provider_playlist_id=provider_playlist_id,
            name="Followed",
            description="Their mix",
            public=True,
            collaborative=False,
            cover_url="https://img.example/cover.jpg",
            owner_id="them",
            owner_name="Them",
            **details,
        ),
        part=1,
        parts=1,
        entries=entries,
        read_at=datetime(2026, 2, 1, tzinfo=UTC),
    )
    assert await library.deliver(event) is Outcome.HANDLED
    _, listed = await user.call("GET", "/playlists", params={"provider": "spotify"}, expect=200)
    [found] = [p for p in listed["playlists"] if p["origin"]["playlist_id"] == provider_playlist_id]
    return await _page(user, found["id"])


async def test_a_playlist_restored_after_it_was_deleted_answers_as_it_did(library):
    user = library.user()
    imported = await _import_rich(library, user, "pl-followed", read_only=True)
    gone = LibraryImportFinished(
        user_id=user.id,
        job_id=uuid.uuid4(),
        provider="spotify",
        provider_playlist_ids=[],
        finished_at=RESTORED_AT,
    )
    assert await library.deliver(gone) is Outcome.HANDLED  # marked gone from its provider
    created = await user.create("Mine", tracks=3, public=False)
    pages = [await _page(user, imported["id"]), await _page(user, created["id"])]
    assert pages[0]["gone_from_provider"] and pages[0]["read_only"] and pages[0]["version"] == 2
    backups = [_backup(user.id, p) for p in pages]
    for page in pages:
        await user.call("DELETE", f"/playlists/{page['id']}", expect=204)

    for events in backups:
        await _deliver_all(library, events)
    for page in pages:
        restored = await _page(user, page["id"])
        assert _public(restored) == _public(page)  # ids, tracks, dates, authors, origin, flags
        assert restored["version"] == 1
        _, versions = await user.call("GET", f"/playlists/{page['id']}/versions", expect=200)
        assert [(v["version"], v["kind"], v["author"]) for v in versions["versions"]] == [
            (1, "restore", "restore:backup")
        ]
        events = await library.events(page["id"])
        assert [e["type"] for e in events][-2:] == ["playlist.deleted", "playlist.created"]
        assert events[-1]["data"]["entries"] == page["entry_count"]
    # Still a followed playlist: edits are refused; and no track was made again.
    await user.call("PATCH", f"/playlists/{imported['id']}", json={"name": "x"}, expect=409)
    assert len(await _tracks_of(library, user.id)) == 3 + 3
    assert await _held(library, user.id) == []


async def test_a_replay_of_every_part_changes_nothing(library):
    user = library.user()
    playlist, entries = _made_up([f"t{i}" for i in range(7)])
    events = _parts(user.id, playlist, entries, parts=3)
    await _deliver_all(library, events)
    before = await _page(user, playlist.playlist_id)

    await _deliver_all(library, events)  # new event ids: past the inbox, as a producer's replay is
    assert await _page(user, playlist.playlist_id) == before
    assert len(await library.events(playlist.playlist_id)) == 1
    assert len(await library.fetch("SELECT id FROM playlists WHERE user_id = $1", user.id)) == 1
    assert await _held(library, user.id) == []


async def test_three_parts_make_the_playlist_once_the_last_arrives(library):
    user = library.user()
    titles = [f"t{i}" for i in range(10)]
    playlist, entries = _made_up(titles)
    first, second, last = _parts(user.id, playlist, entries, parts=3)

    await _deliver_all(library, [first, second, second])
    await user.call("GET", f"/playlists/{playlist.playlist_id}", expect=404)
    assert [r["part"] for r in await _held(library, user.id)] == [1, 2]

    await _deliver_all(library, [last])
    page = await _page(user, playlist.playlist_id)
    assert [e["track"]["title"] for e in page["entries"]["items"]] == titles
    assert [e["id"] for e in page["entries"]["items"]] == [str(e.entry_id) for e in entries]
    assert await _held(library, user.id) == []


async def test_a_backup_restored_into_a_new_account_keeps_its_ids(library):
    user = library.user()
    playlist, entries = _made_up(["a", "b"], description="Kept", public=True, collaborative=True)
    local = RestoredTrack(track_id=uuid.uuid4(), title="Demo", artists=["Me"], is_local=True)
    entries.append(RestoredEntry(entry_id=uuid.uuid4(), track=local, added_at=ADDED_AT))
    await _deliver_all(library, _parts(user.id, playlist, entries))

    page = await _page(user, playlist.playlist_id)
    assert (page["name"], page["description"], page["public"], page["collaborative"]) == (
        "Backed up",
        "Kept",
        True,
        True,
    )
    assert (page["origin"], page["read_only"], datetime.fromisoformat(page["created_at"])) == (
        None,
        False,
        CREATED_AT,
    )
    items = page["entries"]["items"]
    assert [(e["id"], e["track"]["id"]) for e in items] == [
        (str(e.entry_id), str(e.track.track_id)) for e in entries
    ]
    assert [(datetime.fromisoformat(e["added_at"]), e["added_by"]) for e in items] == [
        (ADDED_AT, "someone"),
        (ADDED_AT, "someone"),
        (ADDED_AT, None),
    ]
    assert items[0]["track"]["provider_ids"] == {"deezer": "dz-a"} and items[2]["track"]["is_local"]


async def test_a_playlist_id_of_another_user_is_restored_under_a_derived_id(library):
    owner, other = library.user(), library.user()
    theirs = await _page(owner, (await owner.create("Owner's", tracks=2))["id"])
    owner_tracks = await _tracks_of(library, owner.id)
    events = _backup(other.id, theirs)  # the owner's backup, restored into another account

    await _deliver_all(library, events)
    derived = derived_playlist_id(events[0].job_id, uuid.UUID(theirs["id"]))
    restored = await _page(other, derived)
    assert restored["name"] == "Owner's" and restored["id"] == str(derived)
    # Same entries, on tracks of the other user's own (the owner's ids are taken: new ones).
    assert [e["id"] for e in restored["entries"]["items"]] == [e["id"] for e in theirs["entries"]["items"]]
    restored_tracks = {e["track"]["id"] for e in restored["entries"]["items"]}
    assert restored_tracks.isdisjoint({e["track"]["id"] for e in theirs["entries"]["items"]})
    # The owner's playlist and tracks are untouched; the other user sees nothing of them.
    assert await _page(owner, theirs["id"]) == theirs
    assert await _tracks_of(library, owner.id) == owner_tracks
    await other.call("GET", f"/playlists/{theirs['id']}", expect=404)

    await _deliver_all(library, events)  # a replay: still the one restored playlist
    assert await _page(other, derived) == restored
    assert len(await library.fetch("SELECT id FROM playlists WHERE user_id = $1", other.id)) == 1
    assert len(await library.events(derived)) == 1


async def test_a_track_id_of_another_users_track_is_never_taken(library):
    owner, other = library.user(), library.user()
    theirs = await _page(owner, (await owner.create("Owner's", tracks=1))["id"])
    [owner_track] = await _tracks_of(library, owner.id)
    taken = uuid.UUID(theirs["entries"]["items"][0]["track"]["id"])

    playlist, entries = _made_up(["x", "y"])
    entries[0] = entries[0].model_copy(
        update={"track": entries[0].track.model_copy(update={"track_id": taken})}
    )
    await _deliver_all(library, _parts(other.id, playlist, entries))

    items = (await _page(other, playlist.playlist_id))["entries"]["items"]
    assert items[0]["track"]["id"] != str(taken) and items[0]["track"]["title"] == "x"
    assert items[1]["track"]["id"] == str(entries[1].track.track_id)  # a free id is taken as given
    assert await _tracks_of(library, owner.id) == [owner_track]
    assert await _page(owner, theirs["id"]) == theirs


async def test_a_playlist_whose_origin_is_in_the_library_is_left_as_it_is(library):
    user = library.user()
    page = await _import_rich(library, user, "pl-again")
    events = _backup(user.id, page, parts=2)
    await user.call("DELETE", f"/playlists/{page['id']}", expect=204)
    again = await _import_rich(library, user, "pl-again")  # imported from its provider since: a new id
    assert again["id"] != page["id"]

    await _deliver_all(library, events)
    await user.call("GET", f"/playlists/{page['id']}", expect=404)
    assert await _page(user, again["id"]) == again
    assert len(await library.fetch("SELECT id FROM playlists WHERE user_id = $1", user.id)) == 1
    assert await _held(library, user.id) == []


async def test_a_liked_collection_restores_as_liked(library):
    user = library.user()
    origin = RestoredOrigin(provider="deezer", playlist_id="liked", owner_id="me")
    playlist, entries = _made_up(["a", "b"], name="Loved Tracks", collection="liked", origin=origin)
    playlist = playlist.model_copy(update={"gone_from_provider": True})
    await _deliver_all(library, _parts(user.id, playlist, entries))

    page = await _page(user, playlist.playlist_id)
    assert (page["collection"], page["gone_from_provider"]) == ("liked", True)
    assert page["origin"] == {
        "provider": "deezer",
        "playlist_id": "liked",
        "owner_id": "me",
        "owner_name": None,
    }
    _, liked = await user.call("GET", "/playlists", params={"collection": "liked"}, expect=200)
    assert [p["id"] for p in liked["playlists"]] == [str(playlist.playlist_id)]
    created = await library.events(playlist.playlist_id)
    assert created[0]["data"]["collection"] == "liked"
    assert created[0]["data"]["origin"] == {"provider": "deezer", "provider_playlist_id": "liked"}


async def test_a_restore_larger_than_a_playlist_may_be_is_dropped_whole(library, monkeypatch):
    user = library.user()
    monkeypatch.setattr(file_imports, "MAX_ENTRIES", 3)  # the contracts keep a real backup within 100,000
    playlist, entries = _made_up([f"t{i}" for i in range(4)])
    await _deliver_all(library, _parts(user.id, playlist, entries, parts=2))
    await user.call("GET", f"/playlists/{playlist.playlist_id}", expect=404)
    assert await _held(library, user.id) == []
    assert await _tracks_of(library, user.id) == []


# ---------------------------------------------------------------- with the history a backup kept


async def _read(library: Any, user: Any, playlist_id: str, suffix: str = "", **query: str) -> dict[str, Any]:
    """An internal read of the user's playlist, as the export service makes it."""
    credential = service_credential(library.rt.settings.service_token.get_secret_value())
    response = await library.client.get(
        f"/internal/users/{user.id}/playlists/{playlist_id}{suffix}",
        params=query,
        headers={"Authorization": credential},
    )
    assert response.status == 200, (suffix, query, await response.text())
    return await response.json()


async def _kept_history(library: Any, user: Any, playlist_id: str, oldest: int = 1) -> list[RestoredStep]:
    """The history a backup keeps from version ``oldest`` on, read as the export service reads it: the
    versions newest first, page by page, each followed by its diff from the one before (the oldest
    kept by none)."""
    versions: list[dict[str, Any]] = []
    query = {"limit": "4"}  # small pages: the cursor is followed
    while True:
        page = await _read(library, user, playlist_id, "/versions", **query)
        versions += page["versions"]
        if page["next_before"] is None:
            break
        query = {"limit": "4", "before": str(page["next_before"])}
    steps: list[RestoredStep] = []
    for view in versions:
        number = view["version"]
        if number < oldest:
            break
        steps.append(RestoredStep(version=RestoredVersion.model_validate(view)))
        if number > oldest:
            changes = await _read(
                library, user, playlist_id, "/diff", **{"from": str(number - 1), "to": str(number)}
            )
            steps += [
                RestoredStep(
                    change=RestoredChange(
                        change=kind,
                        position=c["position"],
                        from_position=c.get("from_position"),
                        entry=_entry(c),
                    )
                )
                for kind in ("removed", "moved", "added")
                for c in changes[kind]
            ]
    return steps


def _listed(page: dict[str, Any]) -> list[tuple[Any, ...]]:
    """A page's entries as they are: id, track, when and by whom added."""
    return [(e["id"], e["track"]["id"], e["added_at"], e["added_by"]) for e in page["entries"]["items"]]


async def _edited(user: Any) -> tuple[str, dict[int, list[tuple[Any, ...]]]]:
    """A playlist made through the API and edited in every way (add, remove, move, rename, reorder, a
    batch, an old version restored, a new description): its id, and its entries at each version."""
    pid = (await user.create("Edited", tracks=5))["id"]
    states = {1: _listed(await _page(user, pid))}
    ids = [e[0] for e in states[1]]

    async def edit(method: str, path: str, body: Any = None) -> None:
        await user.call(method, f"/playlists/{pid}{path}", json=body, expect=200)
        page = await _page(user, pid)
        states[page["version"]] = _listed(page)

    await edit(
        "POST",
        "/entries",
        {"tracks": [{"title": "New 1", "artists": ["X"]}, {"title": "New 2"}], "position": 1},
    )
    await edit("POST", "/entries/remove", {"entry_ids": [ids[2]]})  # Song 2: in no later version
    await edit("POST", "/entries/move", {"entry_ids": [ids[4], ids[0]], "to": 1})
    await edit("PATCH", "", {"name": "Renamed"})
    await edit("POST", "/reorder", {"entry_ids": [e[0] for e in states[5]][::-1]})
    new_2 = next(e[0] for e in states[6] if e[0] not in ids and e[0] != states[2][1][0])
    await edit("POST", "/edits", {"edits": [{"op": "add", "tracks": [{"title": "Batch"}], "position": 0},
                                            {"op": "remove", "entry_ids": [new_2]}]})  # fmt: skip
    await edit("POST", "/versions/3/restore")  # New 2 back under its id, Batch gone
    await edit("PATCH", "", {"description": "Kept"})
    assert sorted(states) == list(range(1, 10))
    return pid, states


async def _answers(user: Any, pid: str, pairs: list[tuple[int, int]]) -> dict[str, Any]:
    """What the library answers of the playlist: its page, its versions (whole, and in pages), and the
    diffs between ``pairs`` of versions."""
    _, versions = await user.call("GET", f"/playlists/{pid}/versions", expect=200)
    _, paged = await user.call(
        "GET", f"/playlists/{pid}/versions", params={"limit": 3, "before": 8}, expect=200
    )
    answers: dict[str, Any] = {"page": await _page(user, pid), "versions": versions, "paged": paged}
    for older, newer in pairs:
        _, changes = await user.call(
            "GET", f"/playlists/{pid}/diff", params={"from": older, "to": newer}, expect=200
        )
        answers[f"diff {older} {newer}"] = changes
    return answers


EVERY_PAIR = [(a, b) for a in range(1, 10) for b in range(1, 10) if a != b]


async def test_a_playlist_restored_with_its_history_answers_as_it_did(library):
    user = library.user()
    pid, states = await _edited(user)
    before = await _answers(user, pid, EVERY_PAIR)
    history = await _kept_history(library, user, pid)
    events = _backup(user.id, before["page"], parts=3, history=history)
    await user.call("DELETE", f"/playlists/{pid}", expect=204)

    await _deliver_all(library, events)
    assert await _answers(user, pid, EVERY_PAIR) == before  # version, updated_at, entries, history, diffs
    created = (await library.events(pid))[-1]
    assert created["type"] == "playlist.created"
    assert (created["data"]["version"], created["data"]["entries"]) == (9, len(states[9]))
    assert await _held(library, user.id) == []

    await _deliver_all(library, events)  # replayed: nothing changes
    assert await _answers(user, pid, [(1, 9), (3, 2)]) == {
        k: v for k, v in before.items() if k in ("page", "versions", "paged", "diff 1 9", "diff 3 2")
    }
    assert [e["type"] for e in await library.events(pid)][-1:] == ["playlist.created"]
    assert len(await library.events(pid, "playlist.created")) == 2  # made, then restored once

    # Any kept version restores as it would have on the original: its very entries, as a new version.
    for version in (2, 1, 7):
        _, restored = await user.call("POST", f"/playlists/{pid}/versions/{version}/restore", expect=200)
        assert _listed(await _page(user, pid)) == states[version], version
    assert restored["version"] == 12


async def test_a_partial_history_keeps_its_versions_and_none_older(library):
    user = library.user()
    pid, states = await _edited(user)
    pairs = [(7, 8), (8, 9), (9, 7)]
    before = await _answers(user, pid, pairs)
    events = _backup(user.id, before["page"], history=await _kept_history(library, user, pid, oldest=7))
    await user.call("DELETE", f"/playlists/{pid}", expect=204)

    await _deliver_all(library, events)
    after = await _answers(user, pid, pairs)
    assert after["page"] == before["page"]
    assert after["versions"] == {"versions": before["versions"]["versions"][:3], "next_before": None}
    _, first_page = await user.call("GET", f"/playlists/{pid}/versions", params={"limit": 3}, expect=200)
    assert first_page["next_before"] is None  # its oldest kept version is the last: no empty page after
    assert [after[f"diff {a} {b}"] for a, b in pairs] == [before[f"diff {a} {b}"] for a, b in pairs]
    for older in (1, 6):
        response, problem = await user.call("GET", f"/playlists/{pid}/diff", params={"from": older, "to": 9})
        assert response.status == 404 and problem["type"].endswith("/version-not-found")
        response, _ = await user.call("POST", f"/playlists/{pid}/versions/{older}/restore")
        assert response.status == 404
    _, restored = await user.call("POST", f"/playlists/{pid}/versions/7/restore", expect=200)
    assert restored["version"] == 10 and _listed(await _page(user, pid)) == states[7]


async def test_a_history_that_does_not_hold_together_is_left_out_and_the_playlist_restored(library):
    user = library.user()
    pid, _ = await _edited(user)
    page = await _page(user, pid)
    history = await _kept_history(library, user, pid)
    [cut] = [i for i, s in enumerate(history) if s.change is not None and s.change.change == "removed"][:1]
    events = _backup(user.id, page, parts=2, history=history[:cut] + history[cut + 1 :])  # a change lost
    await user.call("DELETE", f"/playlists/{pid}", expect=204)

    await _deliver_all(library, events)
    restored = await _page(user, pid)
    assert _public(restored) == _public(page) and restored["version"] == 1
    _, versions = await user.call("GET", f"/playlists/{pid}/versions", expect=200)
    assert [(v["version"], v["kind"], v["author"]) for v in versions["versions"]] == [
        (1, "restore", "restore:backup")
    ]
    assert await _held(library, user.id) == []


async def test_a_history_restored_into_another_account_brings_the_tracks_of_older_versions(library):
    owner, other = library.user(), library.user()
    pid, _ = await _edited(owner)
    pairs = [(1, 9), (2, 3), (8, 9)]
    theirs = await _answers(owner, pid, pairs)
    events = _backup(other.id, theirs["page"], history=await _kept_history(library, owner, pid))

    await _deliver_all(library, events)
    derived = str(derived_playlist_id(events[0].job_id, uuid.UUID(pid)))
    mine = await _answers(other, derived, pairs)
    assert mine["versions"] == theirs["versions"]

    def shown(changes: dict[str, Any]) -> dict[str, Any]:
        """A diff but the tracks' ids (the other account's own)."""
        return {
            kind: [{**c, "track": {k: v for k, v in c["track"].items() if k != "id"}} for c in changes[kind]]
            for kind in ("added", "removed", "moved")
        }

    for older, newer in pairs:
        assert shown(mine[f"diff {older} {newer}"]) == shown(theirs[f"diff {older} {newer}"])
    # Song 2, removed at version 3, is in no current entry: a track of the other user's all the same.
    [gone] = mine["diff 2 3"]["removed"]
    assert gone["track"]["title"] == "Song 2"
    [owner_row] = await library.fetch(
        "SELECT user_id FROM tracks WHERE id = $1", uuid.UUID(gone["track"]["id"])
    )
    assert owner_row["user_id"] == other.id
    assert await _answers(owner, pid, pairs) == theirs  # the owner's playlist untouched


async def test_a_restore_counts_its_entries_only_against_the_largest_playlist(library, monkeypatch):
    user = library.user()
    pid = (await user.create("Small", tracks=3))["id"]
    ids = [e[0] for e in _listed(await _page(user, pid))]
    await user.call("POST", f"/playlists/{pid}/entries/remove", json={"entry_ids": ids[:2]}, expect=200)
    await user.call(
        "POST", f"/playlists/{pid}/entries", json={"tracks": [{"title": "A"}, {"title": "B"}]}, expect=200
    )
    page = await _page(user, pid)
    history = await _kept_history(library, user, pid)
    assert page["entry_count"] == 3 and len(history) > 3
    events = _backup(user.id, page, parts=2, history=history)
    await user.call("DELETE", f"/playlists/{pid}", expect=204)

    monkeypatch.setattr(file_imports, "MAX_ENTRIES", 3)
    await _deliver_all(library, events)
    assert await _page(user, pid) == page


async def test_the_registry_example_is_applied_once_through_the_subscriber(start_in_memory):
    # (test_file_imports.py runs every example through check_registry_examples; the file import's
    # example names the same playlist id for the same user, so this one is delivered alone.)
    runtime = await start_in_memory(definition())
    [(_, _, raw)] = registry_examples({"library.playlist_restored"})
    example = PlaylistRestored.model_validate(json.loads(raw)["data"])
    for _ in range(2):  # the second: sent again by its producer (a new event id)
        assert await deliver(runtime, example) is Outcome.HANDLED
    async with runtime.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT user_id, name, origin_playlist_id, version FROM playlists WHERE id = $1",
            example.playlist.playlist_id,
        )
        [entry] = await conn.fetch(
            "SELECT id, track_id FROM entries WHERE playlist_id = $1", example.playlist.playlist_id
        )
        versions = await conn.fetch(
            "SELECT version, kind FROM playlist_versions WHERE playlist_id = $1 ORDER BY version DESC",
            example.playlist.playlist_id,
        )
    # At the version the backup was taken at, with the versions it kept (its history holds together).
    kept = [(s.version.version, s.version.kind) for s in example.history if s.version is not None]
    assert kept, "the example restores a playlist with its history"
    assert [tuple(r) for r in rows] == [
        (example.user_id, example.playlist.name, "3cEYpjA9oz9GiPac4AsH4n", example.playlist.version)
    ]
    assert [tuple(v) for v in versions] == kept
    assert (entry["id"], entry["track_id"]) == (
        example.entries[0].entry_id,
        example.entries[0].track.track_id,
    )
