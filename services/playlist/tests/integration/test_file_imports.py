"""Playlists read from files (the export service's file import) applied to the library: created once
every part has arrived, idempotent, one library track per recording, and never another user's."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from pm_contracts.library import FileEntry, FilePlaylistImported, FileTrack
from pm_contracts.users import UserDeleted
from pm_platform.consumers import Outcome
from pm_platform.testing import check_registry_examples, deliver, registry_examples
from pm_playlist.app import definition
from pm_playlist.usecases import file_imports

pytestmark = pytest.mark.integration

READ_AT = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
ADDED_AT = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)


def _song(title: str, **ids: str) -> FileEntry:
    return FileEntry(
        track=FileTrack(title=title, artists=["Band"], duration_ms=200_000, provider_ids=ids),
        added_at=ADDED_AT,
    )


def _parts(
    user_id: uuid.UUID,
    entries: list[FileEntry],
    parts: int = 1,
    *,
    playlist_id: uuid.UUID | None = None,
    name: str = "From a file",
) -> list[FilePlaylistImported]:
    """The events the export service would send for a file of these entries, in ``parts`` parts."""
    job, playlist_id = uuid.uuid4(), playlist_id or uuid.uuid4()
    size = -(-len(entries) // parts) if entries else 0
    return [
        FilePlaylistImported(
            user_id=user_id,
            job_id=job,
            playlist_id=playlist_id,
            name=name,
            description="From mix.m3u8",
            part=part,
            parts=parts,
            entries=entries[(part - 1) * size : part * size],
            read_at=READ_AT,
        )
        for part in range(1, parts + 1)
    ]


async def _deliver_all(library: Any, events: list[FilePlaylistImported]) -> None:
    for event in events:
        assert await library.deliver(event) is Outcome.HANDLED


async def _titles(user: Any, playlist_id: uuid.UUID) -> list[str]:
    page = await user.page(str(playlist_id), limit=500)
    return [e["track"]["title"] for e in page["entries"]["items"]]


async def _held(library: Any, user_id: uuid.UUID) -> list[Any]:
    return await library.fetch("SELECT part FROM import_parts WHERE user_id = $1 ORDER BY part", user_id)


async def test_a_file_in_one_part_is_a_library_playlist_the_user_owns(library):
    user = library.user()
    undated = FileEntry(track=FileTrack(title="b", artists=["Band"]))
    [event] = _parts(user.id, [_song("a", spotify="sp-a"), undated, _song("c")], name="Mix")
    await _deliver_all(library, [event])

    page = await user.page(str(event.playlist_id))
    assert (page["id"], page["name"], page["description"]) == (str(event.playlist_id), "Mix", "From mix.m3u8")
    assert (page["origin"], page["read_only"], page["version"], page["entry_count"]) == (None, False, 1, 3)
    items = page["entries"]["items"]
    assert [e["track"]["title"] for e in items] == ["a", "b", "c"]
    assert [e["position"] for e in items] == [0, 1, 2]
    # The file's date, else when the file was read.
    assert [datetime.fromisoformat(e["added_at"]) for e in items] == [ADDED_AT, READ_AT, ADDED_AT]
    assert all(e["added_by"] == str(user.id) for e in items)
    assert items[0]["track"]["provider_ids"] == {"spotify": "sp-a"}

    _, versions = await user.call("GET", f"/playlists/{event.playlist_id}/versions", expect=200)
    assert [(v["version"], v["kind"], v["author"]) for v in versions["versions"]] == [
        (1, "import", "import:file")
    ]
    created = await library.events(event.playlist_id)
    assert [e["type"] for e in created] == ["playlist.created"]
    assert created[0]["data"]["origin"] is None and created[0]["data"]["entries"] == 3
    # The user's own playlist: editable, and listed among those created in the library.
    _, renamed = await user.call(
        "PATCH", f"/playlists/{event.playlist_id}", json={"name": "Mine"}, expect=200
    )
    assert renamed["version"] == 2
    _, listed = await user.call("GET", "/playlists", params={"origin": "created"}, expect=200)
    assert [p["id"] for p in listed["playlists"]] == [str(event.playlist_id)]


async def test_three_parts_make_the_playlist_once_the_last_arrives(library):
    user = library.user()
    titles = [f"t{i}" for i in range(10)]
    first, second, last = _parts(user.id, [_song(t, deezer=f"dz-{t}") for t in titles], parts=3)

    await _deliver_all(library, [first, second])
    await user.call("GET", f"/playlists/{first.playlist_id}", expect=404)
    assert [r["part"] for r in await _held(library, user.id)] == [1, 2]

    await _deliver_all(library, [last])
    assert await _titles(user, first.playlist_id) == titles
    assert await _held(library, user.id) == []
    assert len(await library.events(first.playlist_id)) == 1


async def test_a_replay_of_every_part_changes_nothing(library):
    user = library.user()
    events = _parts(user.id, [_song(f"t{i}", spotify=f"sp-{i}") for i in range(7)], parts=3)
    await _deliver_all(library, events)
    before = await user.page(str(events[0].playlist_id))

    await _deliver_all(library, events)  # new event ids: past the inbox, as a producer's replay is
    after = await user.page(str(events[0].playlist_id))
    assert after == before  # the same version, entries (ids included) and tracks
    assert await _held(library, user.id) == []
    assert len(await library.events(events[0].playlist_id)) == 1
    assert len(await library.fetch("SELECT id FROM playlists WHERE user_id = $1", user.id)) == 1


async def test_parts_delivered_twice_are_held_once(library):
    user = library.user()
    titles = [f"t{i}" for i in range(6)]
    first, second, last = _parts(user.id, [_song(t) for t in titles], parts=3)

    await _deliver_all(library, [first, first, second, second, last, last, first])
    assert await _titles(user, first.playlist_id) == titles
    assert (await user.page(str(first.playlist_id)))["version"] == 1
    assert await _held(library, user.id) == []
    assert len(await library.events(first.playlist_id)) == 1


async def test_a_track_named_by_several_providers_is_one_track_with_every_id(library):
    user = library.user()
    # The file names Deezer's and YouTube's ids: known by Deezer's (before YouTube in PROVIDERS).
    rich = FileEntry(
        track=FileTrack(
            title="Teardrop",
            artists=["Massive Attack"],
            album="Mezzanine",
            duration_ms=330_000,
            isrc="gb-aaa-98-00004",
            provider_ids={"youtube": "yt-1", "deezer": "dz-1"},
        )
    )
    [one] = _parts(user.id, [rich, _song("Other", spotify="sp-other")])
    await _deliver_all(library, [one])
    track = (await user.page(str(one.playlist_id)))["entries"]["items"][0]["track"]
    assert track["provider_ids"] == {"deezer": "dz-1", "youtube": "yt-1"}
    assert track["isrc"] == "GBAAA9800004"
    [stored] = await library.fetch(
        "SELECT identity FROM tracks WHERE user_id = $1 AND id = $2", user.id, uuid.UUID(track["id"])
    )
    assert stored["identity"] == "deezer:dz-1"

    # Another file names the same recording by Deezer's id and TIDAL's, with less metadata (an M3U line).
    sparse = FileEntry(track=FileTrack(title="teardrop", provider_ids={"tidal": "td-1", "deezer": "dz-1"}))
    [two] = _parts(user.id, [sparse, sparse])
    await _deliver_all(library, [two])
    items = (await user.page(str(two.playlist_id)))["entries"]["items"]
    assert {e["track"]["id"] for e in items} == {track["id"]}  # one library track, twice
    gained = items[0]["track"]
    assert gained["provider_ids"] == {"deezer": "dz-1", "youtube": "yt-1", "tidal": "td-1"}
    # What the library knew stays: a file's sparser description does not overwrite it.
    assert (gained["title"], gained["album"], gained["duration_ms"]) == ("Teardrop", "Mezzanine", 330_000)
    # The first playlist shows the new id too (its ETag moved; its history did not).
    first = await user.page(str(one.playlist_id))
    assert first["version"] == 1 and first["entries"]["items"][0]["track"] == gained
    assert len(await library.fetch("SELECT id FROM tracks WHERE user_id = $1", user.id)) == 2


async def test_a_track_without_ids_is_known_by_its_metadata(library):
    user = library.user()
    demo = FileTrack(title="Demo 3", artists=["Me"], duration_ms=1_000, is_local=True)
    same = FileTrack(title="demo 3!", artists=["ME"], duration_ms=1_000, is_local=True)
    [one] = _parts(user.id, [FileEntry(track=demo)])
    [two] = _parts(user.id, [FileEntry(track=same)])
    await _deliver_all(library, [one, two])
    first = (await user.page(str(one.playlist_id)))["entries"]["items"][0]["track"]
    second = (await user.page(str(two.playlist_id)))["entries"]["items"][0]["track"]
    assert first["id"] == second["id"] and first["provider_ids"] == {} and first["is_local"] is True
    [stored] = await library.fetch("SELECT identity FROM tracks WHERE user_id = $1", user.id)
    assert stored["identity"].startswith("local:")


async def test_another_users_playlist_id_is_never_touched(library):
    owner, intruder = library.user(), library.user()
    [theirs] = _parts(owner.id, [_song("mine")], name="Owner's")
    await _deliver_all(library, [theirs])
    before = await owner.page(str(theirs.playlist_id))

    # One part naming the owner's id, and an import in two parts that does too.
    [single] = _parts(intruder.id, [_song("x")], playlist_id=theirs.playlist_id, name="Hijack")
    first, last = _parts(intruder.id, [_song("y"), _song("z")], parts=2, playlist_id=theirs.playlist_id)
    await _deliver_all(library, [single, first, last])

    assert await owner.page(str(theirs.playlist_id)) == before
    await intruder.call("GET", f"/playlists/{theirs.playlist_id}", expect=404)
    assert await library.fetch("SELECT id FROM tracks WHERE user_id = $1", intruder.id) == []
    assert await _held(library, intruder.id) == []
    assert len(await library.events(theirs.playlist_id)) == 1


async def test_a_file_larger_than_a_playlist_may_be_is_refused_whole(library, monkeypatch):
    user = library.user()
    monkeypatch.setattr(file_imports, "MAX_ENTRIES", 3)  # the contracts keep a real file within 100,000
    events = _parts(user.id, [_song(f"t{i}", spotify=f"sp-{i}") for i in range(4)], parts=2)
    await _deliver_all(library, events)
    await user.call("GET", f"/playlists/{events[0].playlist_id}", expect=404)
    assert await _held(library, user.id) == []
    assert await library.fetch("SELECT id FROM tracks WHERE user_id = $1", user.id) == []


async def test_an_import_that_never_completes_is_not_applied_and_its_parts_go(library):
    user = library.user()
    first, _, _ = _parts(user.id, [_song(f"t{i}") for i in range(3)], parts=3)
    await _deliver_all(library, [first])
    await user.call("GET", f"/playlists/{first.playlist_id}", expect=404)
    assert [r["part"] for r in await _held(library, user.id)] == [1]

    # A day later, the user's next part (of another import) clears what never completed.
    async with library.rt.pool.acquire() as conn:
        await conn.execute(
            "UPDATE import_parts SET received_at = now() - interval '2 days' WHERE user_id = $1", user.id
        )
    other, _ = _parts(user.id, [_song("a"), _song("b")], parts=2)
    await _deliver_all(library, [other])
    held = await library.fetch(
        "SELECT provider_playlist_id, part FROM import_parts WHERE user_id = $1", user.id
    )
    assert [(r["provider_playlist_id"], r["part"]) for r in held] == [(str(other.playlist_id), 1)]

    # And a deleted user's held parts are erased with the rest of the library.
    erased = UserDeleted(user_id=user.id, deleted_at=datetime.now(UTC))
    assert await library.deliver(erased) is Outcome.HANDLED
    assert await _held(library, user.id) == []


async def test_the_registry_example_is_applied_through_the_subscriber(start_in_memory):
    runtime = await start_in_memory(definition())
    await check_registry_examples(runtime)  # every example: handled, then a duplicate (the inbox)
    [(_, _, raw)] = registry_examples({"library.file_playlist_imported"})
    example = FilePlaylistImported.model_validate(json.loads(raw)["data"])
    # Sent again by its producer (a new event id): still the one playlist.
    assert await deliver(runtime, example) is Outcome.HANDLED
    async with runtime.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT user_id, name, entry_count, version FROM playlists WHERE id = $1", example.playlist_id
        )
    assert [tuple(r) for r in rows] == [(example.user_id, example.name, len(example.entries), 1)]
