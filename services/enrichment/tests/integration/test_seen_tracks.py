"""Provider imports feed the canonical catalog (library.playlist_imported, through the service's real
subscriber and dispatcher): the descriptions kept, each track placed on its recording by the clustering's
rules, joins logged with their rule, versions kept apart, merges of a transfer's recording, idempotence,
and what is not taken (local files, episodes, NUL ids, file imports)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from pm_contracts.library import FilePlaylistImported, PlaylistImported
from pm_contracts.registry import event_spec, event_type_of
from pm_platform.consumers import Outcome
from pm_platform.testing import deliver, envelope_of

from .conftest import Catalog, ids, matched

pytestmark = pytest.mark.integration

READ_AT = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def song(name: str) -> str:
    """A title no other test uses: the catalog is shared, and the clustering compares titles."""
    return f"{name} {uuid.uuid4().hex[:10]}"


def entry(
    track_id: str | None, title: str, artists: list[str], seconds: float, **more: Any
) -> dict[str, Any]:
    return {
        "track": {
            "provider_track_id": track_id,
            "title": title,
            "artists": artists,
            "duration_ms": int(seconds * 1000),
            **more,
        }
    }


def imported(provider: str, entries: list[dict[str, Any]], read_at: datetime = READ_AT) -> PlaylistImported:
    return PlaylistImported.model_validate(
        {
            "user_id": uuid.uuid4(),
            "job_id": uuid.uuid4(),
            "provider": provider,
            "playlist": {"provider_playlist_id": ids("pl"), "name": "Mix"},
            "part": 1,
            "parts": 1,
            "entries": entries,
            "read_at": read_at,
        }
    )


async def handled(catalog: Catalog, event: Any) -> None:
    """Hand the event to the service's dispatcher as its Kafka subscriber does (inbox, transaction), with
    no broker's reply deadline in between: a part of 2,000 new tracks takes about half a second."""
    event_type = event_type_of(type(event))
    topic, _ = event_spec(event_type)
    assert catalog.rt.dispatcher is not None
    outcome = await catalog.rt.dispatcher.dispatch(
        envelope_of(event_type, event), catalog.rt.bus.topic(topic.name)
    )
    assert outcome is Outcome.HANDLED


async def recordings(catalog: Catalog, *tracks: tuple[str, str]) -> list[uuid.UUID | None]:
    return [await catalog.recording_of(*t) for t in tracks]


async def test_two_services_libraries_make_one_recording_per_song_and_versions_stay_apart(catalog: Catalog):
    teardrop, angel, live = song("Teardrop"), song("Angel"), song("Angel")
    s1, s2, s3 = ("spotify", ids()), ("spotify", ids()), ("spotify", ids())
    d1, d2, d3 = ("deezer", ids()), ("deezer", ids()), ("deezer", ids())
    await handled(
        catalog,
        imported(
            "spotify",
            [
                entry(s1[1], teardrop, ["Massive Attack"], 330.7, isrc="GBAAA9800006"),
                entry(s2[1], angel, ["Massive Attack"], 379.5),
                entry(s3[1], f"{live} - Live at Glastonbury 2008", ["Massive Attack"], 401),
            ],
        ),
    )
    alone = await recordings(catalog, s1, s2, s3)
    assert None not in alone and len(set(alone)) == 3  # three songs, three recordings
    rows = await catalog.fetch(
        "SELECT join_id FROM recording_provider_ids WHERE recording_id = ANY($1)", alone
    )
    assert [r["join_id"] for r in rows] == [None, None, None]  # each came alone

    # Deezer holds the same songs under other ids and titles: the ISRC spelled otherwise, a remaster tag,
    # a featured credit; and the live version as a studio title would not be it.
    await handled(
        catalog,
        imported(
            "deezer",
            [
                entry(d1[1], f"{teardrop} (Remastered)", ["Massive Attack"], 331, isrc="gb-aaa-98-00006"),
                entry(d2[1], f"{angel} (feat. Horace Andy)", ["Massive Attack"], 380),
                entry(d3[1], f"{live} (Live)", ["Massive Attack"], 401.5),
            ],
        ),
    )
    assert await recordings(catalog, d1, d2, d3) == alone
    teardrop_joins = await catalog.joins(s1, d1) or await catalog.joins(d1, s1)
    [join] = teardrop_joins
    assert (join["origin"], join["method"], join["decision"], join["recording_id"]) == (
        "import",
        "isrc",
        "attached",
        alone[0],
    )
    assert join["reason"].startswith("isrc")
    [angel_join] = await catalog.joins(s2, d2) or await catalog.joins(d2, s2)
    assert angel_join["method"] == "metadata"
    assert await catalog.isrcs(alone[0]) == {"GBAAA9800006"}
    [described] = await catalog.fetch(
        "SELECT title, artists, normalised FROM seen_tracks WHERE provider = 'deezer' AND provider_track_id = $1",
        d2[1],
    )
    assert described["title"] == f"{angel} (feat. Horace Andy)"
    assert '"Horace Andy"' in described["normalised"]  # the featured artist read out of the title


async def test_the_same_import_again_changes_nothing(catalog: Catalog):
    title = song("Unfinished Sympathy")
    s, d = ("spotify", ids()), ("deezer", ids())
    first = imported("spotify", [entry(s[1], title, ["Massive Attack"], 308)])
    second = imported("deezer", [entry(d[1], title, ["Massive Attack"], 308.4)])
    await handled(catalog, first)
    await handled(catalog, second)
    [recording] = set(await recordings(catalog, s, d))
    assert recording is not None
    before = await catalog.snapshot(recording)
    seen_before = await catalog.fetch(
        "SELECT * FROM seen_tracks WHERE provider_track_id = ANY($1)", [s[1], d[1]]
    )
    await handled(catalog, first)
    await handled(catalog, second.model_copy(update={"job_id": uuid.uuid4()}))  # another import, same data
    assert await catalog.snapshot(recording) == before
    assert await catalog.fetch(
        "SELECT * FROM seen_tracks WHERE provider_track_id = ANY($1)", [s[1], d[1]]
    ) == (seen_before)


async def test_a_track_a_transfer_placed_bridges_two_recordings_once_described(catalog: Catalog):
    title = song("Protection")
    s, d, y = ("spotify", ids()), ("deezer", ids()), ("youtube", ids())
    # A transfer matched Spotify → Deezer: a recording of two ids nobody described yet.
    await catalog.tell(matched(s, d, title=title, artists=["Massive Attack"], duration_ms=471_000))
    transferred = await catalog.recording_of(*s)
    # A YouTube import sees the song first: a recording of its own (nothing it could compare with).
    await handled(
        catalog, imported("youtube", [entry(y[1], f"Massive Attack - {title}", ["Massive Attack"], 471)])
    )
    alone = await catalog.recording_of(*y)
    assert alone is not None and alone != transferred
    # Now the Spotify import describes the transferred track: it is the YouTube upload's song.
    await handled(catalog, imported("spotify", [entry(s[1], title, ["Massive Attack"], 471)]))
    survivor = await catalog.recording_of(*s)
    assert survivor == transferred  # the older recording stays
    assert await recordings(catalog, d, y) == [transferred, transferred]
    [folded] = await catalog.fetch("SELECT merged_into FROM recordings WHERE id = $1", alone)
    assert folded["merged_into"] == transferred
    [merge] = await catalog.joins(s, y) or await catalog.joins(y, s)
    assert (merge["decision"], merge["other_recording_id"], merge["origin"]) == ("merged", alone, "import")


async def test_two_isrcs_keep_two_recordings_and_the_refusal_is_logged(catalog: Catalog):
    title = song("Karmacoma")
    s1, s2, t = ("spotify", ids()), ("spotify", ids()), ("tidal", ids())
    await handled(
        catalog,
        imported(
            "spotify",
            [
                entry(s1[1], title, ["Massive Attack"], 316, isrc="GBAAA9400001"),
                entry(s2[1], title, ["Massive Attack"], 316.5, isrc="GBAAA9400002"),
            ],
        ),
    )
    first, second = await recordings(catalog, s1, s2)
    assert first != second  # two ISRCs: two recordings
    # A TIDAL track without an ISRC fits both: it joins one, and the bridge to the other is refused.
    await handled(catalog, imported("tidal", [entry(t[1], title, ["Massive Attack"], 316.2)]))
    on = await catalog.recording_of(*t)
    assert on in (first, second)
    refused = await catalog.fetch(
        "SELECT * FROM catalog_joins WHERE decision = 'refused' AND origin = 'import' AND $1 IN (source_track_id, target_track_id)",
        t[1],
    )
    assert len(refused) == 1
    assert refused[0]["reason"] == "the recordings' ISRCs disagree"
    assert {refused[0]["recording_id"], refused[0]["other_recording_id"]} == {first, second}


async def test_what_is_not_music_or_has_no_id_is_not_kept(catalog: Catalog):
    title = song("Mezzanine")
    local, episode, nul, kept = ids("l"), ids("e"), ids("n") + "\x00x", ids("k")
    await handled(
        catalog,
        imported(
            "spotify",
            [
                entry(None, title, ["Massive Attack"], 200),
                entry(local, title, ["Massive Attack"], 200, is_local=True),
                entry(episode, title, ["Massive Attack"], 200, media_type="episode"),
                entry(nul, title, ["Massive Attack"], 200),
                entry(kept, f"{title}\x00", ["Massive\x00 Attack", " "], 10**12),
            ],
        ),
    )
    rows = await catalog.fetch("SELECT * FROM seen_tracks WHERE title LIKE $1", f"{title}%")
    assert [(r["provider_track_id"], r["title"], r["artists"], r["duration_ms"]) for r in rows] == [
        (kept, title, ["Massive Attack"], None)
    ]


async def test_a_file_import_teaches_the_catalog_nothing(catalog: Catalog):
    track_id = ids()
    event = FilePlaylistImported.model_validate(
        {
            "user_id": uuid.uuid4(),
            "job_id": uuid.uuid4(),
            "playlist_id": uuid.uuid4(),
            "name": "Forged",
            "part": 1,
            "parts": 1,
            "entries": [{"track": {"title": "Not what it is", "provider_ids": {"spotify": track_id}}}],
            "read_at": READ_AT,
        }
    )
    assert await deliver(catalog.rt, event) is Outcome.IGNORED
    assert await catalog.recording_of("spotify", track_id) is None


async def test_an_older_description_does_not_replace_a_newer_one(catalog: Catalog):
    title = song("Risingson")
    s = ("spotify", ids())
    await handled(catalog, imported("spotify", [entry(s[1], title, ["Massive Attack"], 298)]))
    older = datetime(2026, 1, 1, tzinfo=UTC)
    await handled(
        catalog, imported("spotify", [entry(s[1], f"{title} (old)", ["Massive Attack"], 298)], older)
    )
    [row] = await catalog.fetch("SELECT title FROM seen_tracks WHERE provider_track_id = $1", s[1])
    assert row["title"] == title


async def test_a_full_part_of_two_thousand_new_tracks_is_placed(catalog: Catalog):
    prefix = uuid.uuid4().hex[:8]
    entries = [
        entry(f"{prefix}-{n}", f"Track {prefix} {n}", [f"Band {n % 50}"], 180 + n % 60) for n in range(2000)
    ]
    await handled(catalog, imported("deezer", entries))
    [count] = await catalog.fetch(
        "SELECT count(DISTINCT recording_id) AS n FROM recording_provider_ids WHERE provider_track_id LIKE $1",
        f"{prefix}-%",
    )
    assert count["n"] == 2000


async def test_a_track_read_by_older_rules_is_placed_again_by_the_new_ones(catalog: Catalog):
    title = song("Dissolved Girl")
    s, d = ("spotify", ids()), ("deezer", ids())
    spotify = imported("spotify", [entry(s[1], title, ["Massive Attack"], 366)])
    await handled(catalog, spotify)
    # As if the track had been kept by rules that filed it under no key (a title of symbols only was).
    async with catalog.rt.pool.acquire() as conn:
        await conn.execute("UPDATE seen_tracks SET title_keys = '{}' WHERE provider_track_id = $1", s[1])
    await handled(catalog, imported("deezer", [entry(d[1], title, ["Massive Attack"], 366)]))
    assert len(set(await recordings(catalog, s, d))) == 2  # the Deezer track could not find it
    await handled(catalog, spotify)  # the same description, read by today's rules: placed again
    [recording] = set(await recordings(catalog, s, d))
    assert recording is not None


async def _hit(catalog: Catalog, source: tuple[str, str], target: str) -> Any:
    response = await catalog.client.post(
        "/internal/catalog/lookup",
        headers=catalog.service_headers(),
        json={"target": target, "tracks": [{"provider": source[0], "provider_track_id": source[1]}]},
    )
    assert response.status == 200
    return (await response.json())["hits"][0]


async def test_a_new_track_bridging_two_recordings_logs_the_merge_naming_the_folded_one(catalog: Catalog):
    title = song("Hymn of the Big Wheel")
    s, t, d = ("spotify", ids()), ("tidal", ids()), ("deezer", ids())
    # 12 s apart: the matcher keeps the Spotify and the TIDAL track apart...
    await handled(
        catalog, imported("spotify", [entry(s[1], title, ["Massive Attack"], 200, isrc="GBAAA9100011")])
    )
    await handled(catalog, imported("tidal", [entry(t[1], title, ["Massive Attack"], 212)]))
    first, second = await recordings(catalog, s, t)
    assert first != second
    # ...and a Deezer track between them (the Spotify one's ISRC, 6 s from each) is both: one recording.
    await handled(
        catalog, imported("deezer", [entry(d[1], title, ["Massive Attack"], 206, isrc="GBAAA9100011")])
    )
    assert await recordings(catalog, s, t, d) == [first, first, first]  # into the older
    merges = await catalog.fetch(
        "SELECT * FROM catalog_joins WHERE decision = 'merged' AND recording_id = $1", first
    )
    assert [(m["other_recording_id"], m["origin"]) for m in merges] == [(second, "import")]
    [folded] = await catalog.fetch("SELECT merged_into FROM recordings WHERE id = $1", second)
    assert folded["merged_into"] == first


async def test_an_upload_only_an_import_described_is_never_a_transfers_answer(catalog: Catalog):
    title = song("Man Next Door")
    s, y = ("spotify", ids()), ("youtube", ids())
    await handled(
        catalog, imported("spotify", [entry(s[1], title, ["Massive Attack"], 355, isrc="GBAAA9800012")])
    )
    await handled(
        catalog, imported("youtube", [entry(y[1], f"Massive Attack - {title}", ["Massive Attack"], 355)])
    )
    assert await catalog.recording_of(*s) == await catalog.recording_of(*y)  # clustered: one recording
    assert await _hit(catalog, s, "youtube") is None  # anyone may upload a video titled so
    assert (await _hit(catalog, y, "spotify"))["provider_track_id"] == s[1]  # the other way is a label's
    # A transfer's matcher chose the upload for the song: it vouches for it, and it is an answer now.
    await catalog.tell(matched(s, y, title=title, artists=["Massive Attack"], duration_ms=355_000))
    assert (await _hit(catalog, s, "youtube"))["provider_track_id"] == y[1]
