"""Clustering seen tracks into recordings (pure): real-world-like pairs joined or kept apart, the chaining
guard, the explanations, and properties of the partition."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pm_enrichment.domain.clustering import (
    Cluster,
    SeenTrack,
    cluster,
    different_versions,
    same_recording,
)


def track(
    provider: str,
    track_id: str,
    title: str,
    artists: tuple[str, ...] = ("Artist",),
    seconds: float | None = 200.0,
    isrc: str | None = None,
    album: str | None = None,
) -> SeenTrack:
    duration = None if seconds is None else int(seconds * 1000)
    return SeenTrack(provider, track_id, title, artists, album, duration, isrc)


def partition(clusters: list[Cluster]) -> set[frozenset[tuple[str, str]]]:
    return {frozenset(member.key for member in found.members) for found in clusters}


# (a, b, the rule that joins them)
JOINED = [
    pytest.param(
        track("spotify", "s1", "Song - Remastered 2011", seconds=200, isrc="GBAAA1100001"),
        track("deezer", "d1", "Song (Remastered)", seconds=201),
        "metadata",
        id="remaster spelled two ways",
    ),
    pytest.param(
        track("spotify", "s1", "Song (feat. X)", ("Artist",)),
        track("tidal", "t1", "Song", ("Artist", "X"), seconds=200.5),
        "metadata",
        id="featured artist in the title or the credit",
    ),
    pytest.param(
        track("spotify", "s1", "Song", ("Artist",), seconds=200),
        track("youtube", "y1", "Artist - Song (Official Video)", ("Artist",), seconds=232),
        "metadata",
        id="YouTube video with an intro",
    ),
    pytest.param(
        track("spotify", "s1", "Song", seconds=200, isrc="GBAAA1100001"),
        track("tidal", "t1", "SONG", seconds=204, isrc="gb-aaa-11-00001"),
        "isrc",
        id="same ISRC, spelled differently",
    ),
    pytest.param(
        track("spotify", "s1", "Song", seconds=200),
        track("spotify", "s1", "Song (other listing)", seconds=None),
        "same-id",
        id="one provider id seen twice",
    ),
    pytest.param(
        track("deezer", "d1", "Song (Radio Edit)", seconds=200),
        track("deezer", "d2", "Song", seconds=201),
        "metadata",
        id="radio edit as long as the original: one recording on one provider under two ids",
    ),
]

# (a, b): never one recording
APART = [
    pytest.param(
        track("spotify", "s1", "Song"), track("deezer", "d1", "Song (Live)", seconds=201), id="live vs studio"
    ),
    pytest.param(
        track("spotify", "s1", "Song"), track("tidal", "t1", "Song - Tiësto Remix", seconds=200), id="remix"
    ),
    pytest.param(
        track("spotify", "s1", "Song (Acoustic)"),
        track("spotify", "s2", "Song (Live at Wembley)"),
        id="acoustic vs live",
    ),
    pytest.param(
        track("spotify", "s1", "Song", seconds=240),
        track("deezer", "d1", "Song (Radio Edit)", seconds=180),
        id="radio edit a minute shorter",
    ),
    pytest.param(
        track("spotify", "s1", "Home", ("Alpha Band",)),
        track("deezer", "d1", "Home", ("Zed Omega",)),
        id="same title, different artists",
    ),
    pytest.param(
        track("spotify", "s1", "Yesterday", ("The Beatles",), 125, "GBAYE6500001"),
        track("deezer", "d1", "Bohemian Rhapsody", ("Queen",), 355, "GBAYE6500001"),
        id="bad ISRC on another song",
    ),
    pytest.param(
        track("spotify", "s1", "Song", isrc="GBAYE6500001"),
        track("deezer", "d1", "Song", isrc="GBAYE6500002"),
        id="two ISRCs: two recordings of one name",
    ),
    pytest.param(
        track("spotify", "s1", "Song", album="Live at the O2"),
        track("deezer", "d1", "Song", album="Song"),
        id="live album",
    ),
]


@pytest.mark.parametrize(("a", "b", "rule"), JOINED)
def test_same_recording_joins_by_the_first_rule_that_applies(a: SeenTrack, b: SeenTrack, rule: str) -> None:
    found = same_recording(a, b)
    assert found is not None
    assert found.name == rule
    assert found.reason  # explainable
    assert same_recording(b, a) == found  # symmetric
    assert partition(cluster([a, b])) == {frozenset({a.key, b.key})}


@pytest.mark.parametrize(("a", "b"), APART)
def test_same_recording_keeps_versions_songs_and_bad_isrcs_apart(a: SeenTrack, b: SeenTrack) -> None:
    assert same_recording(a, b) is None
    assert same_recording(b, a) is None
    assert partition(cluster([a, b])) == {frozenset({a.key}), frozenset({b.key})}


def test_isrcs_are_normalised_as_the_catalog_keeps_them() -> None:
    assert track("tidal", "t1", "Song", isrc="gb-aaa-11-00001").isrc == "GBAAA1100001"
    assert track("tidal", "t1", "Song", isrc="not an isrc").isrc is None


def test_different_versions() -> None:
    studio, live = track("spotify", "s1", "Song"), track("spotify", "s2", "Song - Live")
    tiesto, avicii = (
        track("spotify", "s3", "Song (Tiësto Remix)"),
        track("spotify", "s4", "Song - Avicii Remix"),
    )
    unnamed = track("spotify", "s5", "Song - Remix")
    assert different_versions(studio, live)
    assert different_versions(tiesto, avicii)
    assert not different_versions(tiesto, unnamed)
    assert not different_versions(studio, track("deezer", "d1", "Song - 2011 Remaster"))


def test_one_recording_across_four_providers_with_its_explanations() -> None:
    tracks = [
        track("spotify", "s1", "Song (feat. X) - Remastered 2011", ("Artist",), 200, "GBAAA1100001", "Album"),
        track("deezer", "d1", "Song (feat. X) (Remastered)", ("Artist", "X"), 201, "GBAAA1100001", "Album"),
        track("tidal", "t1", "Song (Remastered)", ("Artist", "X"), 200, None, "Album (Deluxe)"),
        track("youtube", "y1", "Artist - Song ft. X (Official Video)", ("ArtistVEVO",), 231),
        track("deezer", "d2", "Song (Live)", ("Artist",), 215, "GBAAA1100002"),
        track("spotify", "s2", "Other Song", ("Artist",), 180, "GBAAA1100003"),
    ]
    clusters = cluster(tracks)
    assert partition(clusters) == {
        frozenset({("spotify", "s1"), ("deezer", "d1"), ("tidal", "t1"), ("youtube", "y1")}),
        frozenset({("deezer", "d2")}),
        frozenset({("spotify", "s2")}),
    }
    song = next(found for found in clusters if len(found.members) == 4)
    assert len(song.joins) == 3  # a spanning tree: every join says why
    assert {join.rule.name for join in song.joins} <= {"isrc", "metadata"}
    assert any(join.rule.name == "isrc" for join in song.joins)
    path = song.explain(tracks[0], tracks[3])
    assert path and all(join.rule.reason for join in path)
    assert {path[0].a.key, path[0].b.key} & {tracks[0].key}
    assert {path[-1].a.key, path[-1].b.key} & {tracks[3].key}
    assert song.explain(tracks[0], tracks[0]) == []


def test_chaining_guard_keeps_two_remixers_apart_though_an_unnamed_remix_fits_both() -> None:
    tiesto = track("spotify", "s1", "Song (Tiësto Remix)", seconds=200)
    unnamed = track("deezer", "d1", "Song (Remix)", seconds=200)
    avicii = track("tidal", "t1", "Song - Avicii Remix", seconds=200)
    assert same_recording(tiesto, unnamed) is not None
    assert same_recording(avicii, unnamed) is not None
    assert same_recording(tiesto, avicii) is None
    clusters = cluster([tiesto, unnamed, avicii])
    assert len(clusters) == 2
    assert all(not (tiesto in found.members and avicii in found.members) for found in clusters)


def test_chaining_guard_keeps_two_isrcs_apart_though_a_track_without_one_fits_both() -> None:
    # Two recordings of one name and length (a reissue with its own ISRC, the emulator's truth keeps them
    # apart), and a YouTube upload that fits both: it joins one, and does not bridge them.
    first = track("spotify", "s1", "Song", seconds=200, isrc="GBAAA1100001")
    second = track("spotify", "s2", "Song", seconds=203, isrc="GBAAA1100002")
    upload = track("youtube", "y1", "Song", seconds=200)
    clusters = cluster([first, second, upload])
    assert partition(clusters) == {frozenset({first.key, upload.key}), frozenset({second.key})}


def test_a_title_of_symbols_only_meets_its_twin() -> None:
    # "@" folds to nothing; without a key of its own it would never be compared with anything.
    a = track("spotify", "s1", "@", ("chillwagon",), 150, isrc="JP22N1969979", album="@")
    b = track("deezer", "d1", "@", ("chillwagon",), 150.4, album="@")
    assert partition(cluster([a, b])) == {frozenset({a.key, b.key})}


def test_a_track_sharing_only_a_common_title_is_alone() -> None:
    tracks = [track("spotify", f"s{i}", "Intro", (f"Band {i}",), 60 + i) for i in range(100)]
    assert partition(cluster(tracks)) == {frozenset({t.key}) for t in tracks}


# ---- properties ------------------------------------------------------------------------------------------

TITLES = ["Song", "Song (Live)", "Song - Remastered 2011", "Song (feat. X)", "Song - Tiësto Remix", "Other"]
ARTISTS = [("Artist",), ("Artist", "X"), ("Somebody Else",)]
PROVIDERS = ["spotify", "deezer", "tidal", "youtube"]
ISRCS = [None, "GBAAA1100001", "GBAAA1100002"]


@st.composite
def seen_tracks(draw: st.DrawFn) -> list[SeenTrack]:
    count = draw(st.integers(min_value=0, max_value=12))
    return [
        SeenTrack(
            provider=draw(st.sampled_from(PROVIDERS)),
            provider_track_id=str(index),  # unique: one provider id describes one track
            title=draw(st.sampled_from(TITLES)),
            artists=draw(st.sampled_from(ARTISTS)),
            album=None,
            duration_ms=draw(st.sampled_from([None, 200_000, 201_500, 230_000, 150_000])),
            isrc=draw(st.sampled_from(ISRCS)),
        )
        for index in range(count)
    ]


@settings(max_examples=60, deadline=None)
@given(tracks=seen_tracks())
def test_clusters_partition_the_input(tracks: list[SeenTrack]) -> None:
    clusters = cluster(tracks)
    seen = [member.key for found in clusters for member in found.members]
    assert sorted(seen) == sorted(t.key for t in tracks)
    for found in clusters:
        keys = {member.key for member in found.members}
        assert len(found.joins) == len(found.members) - 1
        assert all({join.a.key, join.b.key} <= keys for join in found.joins)
        versions = {member.version for member in found.members}
        assert len(versions) == 1  # the chaining guard: one version signature per recording


@settings(max_examples=60, deadline=None)
@given(data=st.data(), tracks=seen_tracks())
def test_input_order_does_not_change_the_partition(data: st.DataObject, tracks: list[SeenTrack]) -> None:
    shuffled = data.draw(st.permutations(tracks))
    assert partition(cluster(shuffled)) == partition(cluster(tracks))


@settings(max_examples=60, deadline=None)
@given(tracks=seen_tracks())
def test_a_track_nothing_matches_is_alone(tracks: list[SeenTrack]) -> None:
    loner = SeenTrack("tidal", "loner", "Zzyzx Road Blues", ("Nobody At All",), None, 321_000, "USZZZ9900001")
    clusters = cluster([*tracks, loner])
    assert any(found.members == (loner,) and found.joins == () for found in clusters)
