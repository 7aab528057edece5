"""Imports from provider-sync applied to the library: idempotent, incremental, in parts, and what goes
gone is kept."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from pm_contracts.library import ImportedPlaylist, LibraryImportFinished, PlaylistImported
from pm_platform.consumers import Outcome

pytestmark = pytest.mark.integration


async def _imported(user, provider_playlist_id: str) -> dict:
    _, listed = await user.call("GET", "/playlists", params={"provider": "spotify"}, expect=200)
    found = [p for p in listed["playlists"] if p["origin"]["playlist_id"] == provider_playlist_id]
    assert len(found) == 1
    return await user.page(found[0]["id"], limit=500)


async def test_an_import_creates_then_changes_only_what_changed(library):
    user = library.user()
    await user.import_playlist("pl-1", ["a", "b", "c", "d"], name="Mix", change_marker="s1", owner_id="me")
    first = await _imported(user, "pl-1")
    assert [e["track"]["title"] for e in first["entries"]["items"]] == ["a", "b", "c", "d"]
    assert first["origin"] == {
        "provider": "spotify",
        "playlist_id": "pl-1",
        "owner_id": "me",
        "owner_name": None,
    }
    assert first["version"] == 1 and first["entries"]["items"][0]["track"]["provider_ids"] == {
        "spotify": "trk-a"
    }
    events = await library.events(first["id"])
    assert [e["type"] for e in events] == ["playlist.created"]

    # The same content again (a replay, or a re-import of an unchanged playlist): nothing changes.
    await user.import_playlist("pl-1", ["a", "b", "c", "d"], name="Mix", change_marker="s1", owner_id="me")
    again = await _imported(user, "pl-1")
    assert again["version"] == 1 and again["entries"]["items"] == first["entries"]["items"]
    assert len(await library.events(first["id"])) == 1

    # The provider moved d first, dropped b and added e: one version naming those, entries kept by id.
    await user.import_playlist("pl-1", ["d", "a", "c", "e"], name="Mix", change_marker="s2", owner_id="me")
    changed = await _imported(user, "pl-1")
    assert [e["track"]["title"] for e in changed["entries"]["items"]] == ["d", "a", "c", "e"]
    assert changed["version"] == 2
    old_ids = {e["track"]["title"]: e["id"] for e in first["entries"]["items"]}
    assert {
        e["track"]["title"]: e["id"] for e in changed["entries"]["items"] if e["track"]["title"] != "e"
    } == {t: old_ids[t] for t in "dac"}
    _, versions = await user.call("GET", f"/playlists/{first['id']}/versions", expect=200)
    latest = versions["versions"][0]
    assert (latest["kind"], latest["author"], latest["added"], latest["removed"], latest["moved"]) == (
        "import",
        "import:spotify",
        1,
        1,
        1,
    )
    assert [e["type"] for e in await library.events(first["id"])] == [
        "playlist.created",
        "playlist.entries_changed",
    ]


async def test_a_playlist_in_parts_is_applied_once_all_parts_arrived(library):
    user = library.user()
    titles = [f"t{i}" for i in range(10)]
    job = uuid.uuid4()
    await user.import_playlist("big", titles, job=job, parts=3, name="Big")
    page = await _imported(user, "big")
    assert [e["track"]["title"] for e in page["entries"]["items"]] == titles
    assert await library.fetch("SELECT * FROM import_parts WHERE user_id = $1", user.id) == []
    # A replay of every part by the same job changes nothing.
    await user.import_playlist("big", titles, job=job, parts=3, name="Big")
    assert (await _imported(user, "big"))["version"] == 1


async def test_details_only_and_gone_from_provider(library):
    user = library.user()
    await user.import_playlist("keep", ["a"], name="Keep", change_marker="m1")
    await user.import_playlist("drop", ["b"], name="Drop", change_marker="m1")
    finished = LibraryImportFinished(
        user_id=user.id,
        job_id=uuid.uuid4(),
        provider="spotify",
        provider_playlist_ids=["keep"],
        finished_at=datetime(2026, 3, 1, tzinfo=UTC),
    )
    assert await library.deliver(finished) is Outcome.HANDLED
    dropped = await _imported(user, "drop")
    assert dropped["gone_from_provider"] is True and dropped["entry_count"] == 1  # kept, marked
    kept = await _imported(user, "keep")
    assert kept["gone_from_provider"] is False
    # Again: already marked, nothing more.
    assert await library.deliver(finished) is Outcome.HANDLED
    assert (await _imported(user, "drop"))["version"] == dropped["version"]
    # Back on the provider: no longer gone.
    await user.import_playlist("drop", ["b"], name="Drop again", change_marker="m2")
    back = await _imported(user, "drop")
    assert back["gone_from_provider"] is False and back["name"] == "Drop again"


async def test_an_import_never_touches_another_users_library(library):
    one, two = library.user(), library.user()
    await one.import_playlist("shared-id", ["a", "b"], name="One's")
    await two.import_playlist("shared-id", ["c"], name="Two's")
    assert [e["track"]["title"] for e in (await _imported(one, "shared-id"))["entries"]["items"]] == [
        "a",
        "b",
    ]
    assert [e["track"]["title"] for e in (await _imported(two, "shared-id"))["entries"]["items"]] == ["c"]


async def test_a_playlist_first_seen_without_entries_is_created_empty_and_read_only(library):
    user = library.user()
    event = PlaylistImported(
        user_id=user.id,
        job_id=uuid.uuid4(),
        provider="spotify",
        playlist=ImportedPlaylist(provider_playlist_id="followed", name="Their mix", read_only=True),
        part=1,
        parts=1,
        entries=None,
        read_at=datetime(2026, 3, 1, tzinfo=UTC),
    )
    assert await library.deliver(event) is Outcome.HANDLED
    page = await _imported(user, "followed")
    assert (page["name"], page["read_only"], page["entry_count"], page["version"]) == (
        "Their mix",
        True,
        0,
        1,
    )
    assert await library.deliver(event) is Outcome.HANDLED  # again: nothing new
    assert (await _imported(user, "followed"))["version"] == 1


async def test_an_older_read_arriving_late_changes_nothing(library):
    """A dead letter sent again, or a replay of an old import, must not put back an older list."""
    user = library.user()
    newer = PlaylistImported(
        user_id=user.id,
        job_id=uuid.uuid4(),
        provider="spotify",
        playlist=ImportedPlaylist(provider_playlist_id="late", name="Now", change_marker="m2"),
        part=1,
        parts=1,
        entries=[],
        read_at=datetime(2026, 3, 2, tzinfo=UTC),
    )
    older = newer.model_copy(
        update={
            "playlist": ImportedPlaylist(provider_playlist_id="late", name="Before", change_marker="m1"),
            "read_at": datetime(2026, 3, 1, tzinfo=UTC),
        }
    )
    assert await library.deliver(newer) is Outcome.HANDLED
    assert await library.deliver(older) is Outcome.HANDLED
    page = await _imported(user, "late")
    assert (page["name"], page["version"]) == ("Now", 1)
