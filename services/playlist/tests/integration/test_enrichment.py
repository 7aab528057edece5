"""The catalog's enrichments (pm.enrichment) shown beside the providers' own fields of every library
that holds one of the recording's tracks: the newest event per recording wins, a replayed or older one
changes nothing, a track the recording no longer names loses it, pages and ETags follow, and a hostile
event is dead-lettered without a trace."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from pm_contracts.enrichment import (
    MAX_TRACKS,
    EnrichedDate,
    EnrichedDuration,
    EnrichedText,
    TrackEnriched,
)
from pm_contracts.library import (
    FileEntry,
    FilePlaylistImported,
    FileTrack,
    ImportedEntry,
    ImportedPlaylist,
    ImportedTrack,
    PlaylistImported,
)
from pm_contracts.registry import event_spec, event_type_of
from pm_contracts.transfers import TrackRef
from pm_platform.consumers import Outcome
from pm_platform.testing import envelope_of

pytestmark = pytest.mark.integration

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
READ_AT = datetime(2026, 11, 1, tzinfo=UTC)
MBID = uuid.UUID("2c1e8b3e-3a6f-4b5e-9a8e-6f0c1f1d2a3b")


def _ids(*names: str) -> dict[str, str]:
    """Provider track ids no other test names (the enrichments are shared by every library)."""
    run = uuid.uuid4().hex[:8]
    return {name: f"{name}-{run}" for name in names}


def _enriched(
    recording_id: uuid.UUID, tracks: list[tuple[str, str]], at: datetime = T0, **fields: Any
) -> TrackEnriched:
    return TrackEnriched(
        recording_id=recording_id,
        tracks=[TrackRef(provider=p, provider_track_id=i) for p, i in tracks],
        enriched_at=at,
        **fields,
    )


FULL = {
    "isrc": EnrichedText(value="GBAAA9800006", source="deezer"),
    "duration_ms": EnrichedDuration(value=330773, source="spotify"),
    "release_date": EnrichedDate(value=date(1998, 4, 20), source="musicbrainz"),
    "album": EnrichedText(value="Mezzanine", source="deezer"),
    "musicbrainz_id": MBID,
}


async def _import(user: Any, tracks: dict[str, str], **own: Any) -> str:
    """A Spotify playlist of these tracks (title → Spotify id) imported into the user's library; its id."""
    playlist_id = f"pl-{uuid.uuid4().hex[:8]}"
    event = PlaylistImported(
        user_id=user.id,
        job_id=uuid.uuid4(),
        provider="spotify",
        playlist=ImportedPlaylist(provider_playlist_id=playlist_id, name="Imported"),
        part=1,
        parts=1,
        entries=[
            ImportedEntry(
                track=ImportedTrack(
                    provider_track_id=track_id, title=title, artists=["Massive Attack"], **own
                ),
                added_at=READ_AT,
            )
            for title, track_id in tracks.items()
        ],
        read_at=READ_AT,
    )
    assert await user.lib.deliver(event) is Outcome.HANDLED
    _, listed = await user.call("GET", "/playlists", params={"provider": "spotify"}, expect=200)
    [found] = [p for p in listed["playlists"] if p["origin"]["playlist_id"] == playlist_id]
    return found["id"]


async def _tracks(user: Any, playlist_id: str) -> tuple[str, dict[str, dict[str, Any]]]:
    """The playlist's ETag, and its entries' tracks by title."""
    response, body = await user.call("GET", f"/playlists/{playlist_id}", params={"limit": 500}, expect=200)
    return response.headers["ETag"], {e["track"]["title"]: e["track"] for e in body["entries"]["items"]}


def _shown(recording_id: uuid.UUID, **fields: Any) -> dict[str, Any]:
    return {"recording_id": str(recording_id), "musicbrainz_id": None, "fields": fields}


async def _dispatch_raw(library: Any, event: TrackEnriched, **data: Any) -> Outcome:
    """The event as a producer would send it, with ``data`` put over its payload (values its model
    would refuse to build)."""
    event_type = event_type_of(TrackEnriched)
    topic, _ = event_spec(event_type)
    envelope = json.loads(envelope_of(event_type, event))
    envelope["data"].update(data)
    assert library.rt.dispatcher is not None
    return await library.rt.dispatcher.dispatch(
        json.dumps(envelope).encode(), library.rt.bus.topic(topic.name)
    )


async def test_the_enrichment_shows_beside_the_providers_fields_in_every_library(library):
    one, two = library.user(), library.user()
    ids = _ids("teardrop", "angel", "other")
    deezer = _ids("teardrop")["teardrop"]
    first = await _import(one, {"Teardrop": ids["teardrop"], "Angel": ids["angel"]}, album="Own album")
    second = await _import(two, {"Teardrop": ids["teardrop"], "Other": ids["other"]})
    etag_before, before = await _tracks(one, first)  # the page is cached now
    assert before["Teardrop"]["enrichment"] is None

    recording = uuid.uuid4()
    event = _enriched(recording, [("spotify", ids["teardrop"]), ("deezer", deezer)], **FULL)
    assert await library.deliver(event) is Outcome.HANDLED

    expected = {
        "recording_id": str(recording),
        "musicbrainz_id": str(MBID),
        "fields": {
            "isrc": {"value": "GBAAA9800006", "source": "deezer"},
            "duration_ms": {"value": 330773, "source": "spotify"},
            "release_date": {"value": "1998-04-20", "source": "musicbrainz"},
            "album": {"value": "Mezzanine", "source": "deezer"},
        },
    }
    etag_after, after = await _tracks(one, first)
    assert after["Teardrop"]["enrichment"] == expected
    # Beside the provider's own fields, which stay what the provider said.
    assert (after["Teardrop"]["album"], after["Teardrop"]["isrc"]) == ("Own album", None)
    assert after["Teardrop"]["provider_ids"] == {"spotify": ids["teardrop"]}
    assert after["Angel"]["enrichment"] is None  # not the recording's
    assert etag_after != etag_before  # the page changed (not the playlist's version)
    assert etag_after.split(".")[0] == etag_before.split(".")[0]
    # Another user's track of the same provider id shows it too.
    _, theirs = await _tracks(two, second)
    assert theirs["Teardrop"]["enrichment"] == expected
    assert theirs["Other"]["enrichment"] is None
    # Nothing was written into the libraries' own rows.
    rows = await library.fetch(
        "SELECT album, isrc, duration_ms, release_date FROM tracks WHERE identity = $1",
        f"spotify:{ids['teardrop']}",
    )
    assert sorted((tuple(r) for r in rows), key=str) == sorted(
        [("Own album", None, None, None), (None, None, None, None)], key=str
    )


async def test_an_older_event_or_a_replay_changes_nothing(library):
    user = library.user()
    ids = _ids("song", "gone")
    playlist = await _import(user, {"Song": ids["song"], "Gone": ids["gone"]})
    recording = uuid.uuid4()
    newer = _enriched(
        recording,
        [("spotify", ids["song"])],
        T0 + timedelta(hours=1),
        album=EnrichedText(value="Newer", source="musicbrainz"),
    )
    assert await library.deliver(newer) is Outcome.HANDLED
    etag, shown = await _tracks(user, playlist)
    assert shown["Song"]["enrichment"] == _shown(recording, album={"value": "Newer", "source": "musicbrainz"})

    # An older one arriving late: other fields, another track, nothing at all.
    older = _enriched(
        recording,
        [("spotify", ids["song"]), ("spotify", ids["gone"])],
        T0,
        album=EnrichedText(value="Older", source="spotify"),
        isrc=EnrichedText(value="GBAAA0000001", source="spotify"),
    )
    assert await library.deliver(older) is Outcome.HANDLED
    # The newer one replayed (a new event id: the inbox does not know it; its time does).
    assert await library.deliver(newer) is Outcome.HANDLED
    assert await _tracks(user, playlist) == (etag, shown)
    [kept] = await library.fetch(
        "SELECT enriched_at, fields FROM recording_enrichments WHERE recording_id = $1", recording
    )
    assert kept["enriched_at"] == T0 + timedelta(hours=1)
    assert json.loads(kept["fields"]) == {"album": {"value": "Newer", "source": "musicbrainz"}}

    # A newer one that only confirms the same fields changes no page either.
    confirmed = newer.model_copy(update={"enriched_at": T0 + timedelta(hours=2)})
    assert await library.deliver(confirmed) is Outcome.HANDLED
    assert await _tracks(user, playlist) == (etag, shown)


async def test_a_track_the_recording_no_longer_names_loses_its_enrichment(library):
    user = library.user()
    ids = _ids("a", "b", "c")
    playlist = await _import(user, {"A": ids["a"], "B": ids["b"], "C": ids["c"]})
    recording, split = uuid.uuid4(), uuid.uuid4()
    album = EnrichedText(value="Album", source="deezer")
    tracks = [("spotify", ids["a"]), ("spotify", ids["b"]), ("spotify", ids["c"])]
    assert await library.deliver(_enriched(recording, tracks, T0, album=album)) is Outcome.HANDLED
    _, shown = await _tracks(user, playlist)
    assert {t: shown[t]["enrichment"]["recording_id"] for t in "ABC"} == dict.fromkeys("ABC", str(recording))

    # An operator split B off: the recording's next event names A and C only; B shows nothing.
    etag, _ = await _tracks(user, playlist)
    later = _enriched(recording, [tracks[0], tracks[2]], T0 + timedelta(minutes=1), album=album)
    assert await library.deliver(later) is Outcome.HANDLED
    etag_after, shown = await _tracks(user, playlist)
    assert shown["B"]["enrichment"] is None
    assert (
        shown["A"]["enrichment"]
        == shown["C"]["enrichment"]
        == _shown(recording, album={"value": "Album", "source": "deezer"})
    )
    assert etag_after != etag

    # B's new recording's event shows it; an older event of the first recording naming B does not
    # take it back.
    mine = EnrichedText(value="Split off", source="musicbrainz")
    assert await library.deliver(_enriched(split, [tracks[1]], T0 + timedelta(minutes=2), album=mine)) is (
        Outcome.HANDLED
    )
    assert await library.deliver(_enriched(recording, tracks, T0, album=album)) is Outcome.HANDLED
    _, shown = await _tracks(user, playlist)
    assert shown["B"]["enrichment"] == _shown(split, album={"value": "Split off", "source": "musicbrainz"})
    assert shown["A"]["enrichment"]["recording_id"] == str(recording)


async def test_a_track_of_two_recordings_shows_the_newest(library):
    """A track with several provider ids (from a file) whose ids two recordings name: the newest
    enrichment is shown."""
    user = library.user()
    ids = _ids("sp", "dz")
    playlist_id = uuid.uuid4()
    entry = FileEntry(
        track=FileTrack(
            title="Both", artists=["Band"], provider_ids={"spotify": ids["sp"], "deezer": ids["dz"]}
        ),
        added_at=READ_AT,
    )
    imported = FilePlaylistImported(
        user_id=user.id,
        job_id=uuid.uuid4(),
        playlist_id=playlist_id,
        name="From a file",
        part=1,
        parts=1,
        entries=[entry],
        read_at=READ_AT,
    )
    assert await library.deliver(imported) is Outcome.HANDLED
    older, newer = uuid.uuid4(), uuid.uuid4()
    assert (
        await library.deliver(
            _enriched(newer, [("deezer", ids["dz"])], T0 + timedelta(days=1), isrc=FULL["isrc"])
        )
        is Outcome.HANDLED
    )
    assert (
        await library.deliver(_enriched(older, [("spotify", ids["sp"])], T0, album=FULL["album"]))
        is Outcome.HANDLED
    )
    _, shown = await _tracks(user, str(playlist_id))
    assert shown["Both"]["enrichment"] == _shown(newer, isrc={"value": "GBAAA9800006", "source": "deezer"})


async def test_a_diff_shows_the_enrichment_of_its_tracks(library):
    user = library.user()
    ids = _ids("kept", "new")
    playlist = await _import(user, {"Kept": ids["kept"]})
    recording = uuid.uuid4()
    assert (
        await library.deliver(_enriched(recording, [("spotify", ids["new"])], album=FULL["album"]))
        is Outcome.HANDLED
    )
    await user.call(
        "POST",
        f"/playlists/{playlist}/entries",
        json={
            "tracks": [
                {"title": "New", "artists": ["Band"], "provider": "spotify", "provider_track_id": ids["new"]}
            ]
        },
        expect=200,
    )
    _, diff = await user.call("GET", f"/playlists/{playlist}/diff", params={"from": 1, "to": 2}, expect=200)
    assert [e["track"]["enrichment"] for e in diff["added"]] == [
        _shown(recording, album={"value": "Mezzanine", "source": "deezer"})
    ]


async def test_a_hostile_event_is_handled_or_dead_lettered_cleanly(library):
    user = library.user()
    ids = _ids("victim")
    playlist = await _import(user, {"Victim": ids["victim"]})
    etag, before = await _tracks(user, playlist)
    victim = ("spotify", ids["victim"])

    # A NUL character (PostgreSQL cannot store it): dead-lettered by the handler, nothing kept.
    for event in (
        _enriched(uuid.uuid4(), [victim, ("deezer", "bad\x00id")], album=FULL["album"]),
        _enriched(uuid.uuid4(), [victim], album=EnrichedText(value="Mezz\x00anine", source="deezer")),
    ):
        assert await library.deliver(event) is Outcome.DEAD_LETTERED
        assert (
            await library.fetch(
                "SELECT 1 FROM recording_enrichments WHERE recording_id = $1", event.recording_id
            )
            == []
        )
    # Beyond the contract's bounds: refused before the handler.
    base = _enriched(uuid.uuid4(), [victim])
    too_many = [{"provider": "spotify", "provider_track_id": f"t{i}"} for i in range(MAX_TRACKS + 1)]
    for data in (
        {"tracks": too_many},
        {"tracks": []},
        {"album": {"value": "x" * 100_000, "source": "deezer"}},
        {"isrc": {"value": "GBAAA9800006", "source": "somebody"}},
        {"duration_ms": {"value": -1, "source": "spotify"}},
        {"tracks": [{"provider": "spotify", "provider_track_id": "x" * 10_000}]},
    ):
        assert await _dispatch_raw(library, base, **data) is Outcome.DEAD_LETTERED
    assert (
        await library.fetch("SELECT 1 FROM recording_enrichments WHERE recording_id = $1", base.recording_id)
        == []
    )
    assert await _tracks(user, playlist) == (etag, before)

    # As many tracks as the contract allows, one of them named twice over: handled, once each.
    big = uuid.uuid4()
    many = [victim, victim] + [("deezer", f"{ids['victim']}-{i}") for i in range(MAX_TRACKS - 2)]
    assert await library.deliver(_enriched(big, many, album=FULL["album"])) is Outcome.HANDLED
    [count] = await library.fetch("SELECT count(*) FROM enriched_tracks WHERE recording_id = $1", big)
    assert count[0] == MAX_TRACKS - 1
    _, after = await _tracks(user, playlist)
    assert after["Victim"]["enrichment"]["recording_id"] == str(big)
