"""Placing newly described tracks among stored recordings (pure): attach, make a recording, merge two, the
guard against chaining with stored recordings, and properties of batches placed one after another."""

from __future__ import annotations

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from pm_enrichment.domain.clustering import (
    Placement,
    SeenTrack,
    StoredRecording,
    cluster,
    place,
)

from .test_clustering import partition, seen_tracks, track

R1 = uuid.UUID(int=1)
R2 = uuid.UUID(int=2)


def keys(placement: Placement) -> set[tuple[str, str]]:
    return {t.key for t in placement.new}


def test_a_new_track_attaches_to_the_stored_recording_it_is() -> None:
    stored = StoredRecording(
        R1, (track("spotify", "s1", "Song", isrc="GBAAA1100001"),), frozenset({"GBAAA1100001"})
    )
    new = track("deezer", "d1", "Song", seconds=201, isrc="GBAAA1100001")
    placing = place([new], [stored])
    [placement] = placing.placements
    assert placement.recordings == (R1,)
    assert placement.new == (new,)
    [join] = placement.joins
    assert {join.a.key, join.b.key} == {("spotify", "s1"), ("deezer", "d1")}
    assert join.rule.name == "isrc"
    assert placing.refusals == ()


def test_new_tracks_of_one_song_make_one_recording_and_others_their_own() -> None:
    a = track("spotify", "s1", "Song (feat. X)")
    b = track("tidal", "t1", "Song", ("Artist", "X"), seconds=200.5)
    other = track("deezer", "d9", "Something Else Entirely", ("Another Band",))
    placing = place([other, b, a], [])
    assert {frozenset(keys(p)) for p in placing.placements} == {
        frozenset({a.key, b.key}),
        frozenset({other.key}),
    }
    assert all(p.recordings == () for p in placing.placements)
    together = next(p for p in placing.placements if len(p.new) == 2)
    assert [j.rule.name for j in together.joins] == ["metadata"]


def test_a_track_described_anew_bridges_two_stored_recordings_into_one() -> None:
    # s1 came from a transfer's match (on R1, undescribed until now); R2 holds the same song on Deezer.
    s1 = track("spotify", "s1", "Song", isrc="GBAAA1100001")
    r1 = StoredRecording(R1, (s1,), frozenset({"GBAAA1100001"}))
    r2 = StoredRecording(R2, (track("deezer", "d1", "Song", seconds=201, isrc="GBAAA1100001"),))
    [placement] = place([s1], [r1, r2]).placements
    assert placement.recordings == (R1, R2)
    assert placement.new == ()
    assert len(placement.joins) == 1


def test_a_stored_recording_that_nothing_joins_is_left_alone() -> None:
    r1 = StoredRecording(R1, (track("spotify", "s1", "Song"),))
    placing = place([track("deezer", "d1", "Other Song")], [r1])
    assert [p.recordings for p in placing.placements] == [()]


def test_an_unnamed_remix_fitting_two_stored_remixes_joins_one_and_the_other_is_refused() -> None:
    tiesto = StoredRecording(R1, (track("spotify", "s1", "Song - Tiësto Remix"),))
    avicii = StoredRecording(R2, (track("spotify", "s2", "Song - Avicii Remix"),))
    unnamed = track("deezer", "d1", "Song (Remix)")
    placing = place([unnamed], [tiesto, avicii])
    [placement] = placing.placements
    assert len(placement.recordings) == 1
    [refusal] = placing.refusals
    assert "two ways" in refusal.reason


def test_isrcs_of_undescribed_tracks_guard_a_stored_recording() -> None:
    # R1's only described track has no ISRC, but a transfer brought GBAAA1100001 to it.
    r1 = StoredRecording(R1, (track("spotify", "s1", "Song"),), frozenset({"GBAAA1100001"}))
    other_isrc = track("deezer", "d1", "Song", seconds=200.5, isrc="GBAAA1100002")
    placing = place([other_isrc], [r1])
    [placement] = placing.placements
    assert placement.recordings == ()
    [refusal] = placing.refusals
    assert refusal.reason == "the recordings' ISRCs disagree"


def test_a_recording_without_described_tracks_takes_no_part() -> None:
    bare = StoredRecording(R1, (), frozenset({"GBAAA1100001"}))
    new = track("deezer", "d1", "Song", isrc="GBAAA1100001")
    [placement] = place([new], [bare]).placements
    assert placement.recordings == ()


def test_a_track_given_twice_is_placed_once() -> None:
    song = track("spotify", "s1", "Song")
    [placement] = place([song, song], []).placements
    assert placement.new == (song,)


# ---- properties ------------------------------------------------------------------------------------------


def _apply(recordings: dict[uuid.UUID, list[SeenTrack]], batch: list[SeenTrack], serial: list[int]) -> None:
    """What storage does with a placing: new recordings, attachments, merges into the first."""
    stored = [StoredRecording(rid, tuple(members)) for rid, members in recordings.items()]
    for placement in place(batch, stored).placements:
        if placement.recordings:
            survivor, *merged = placement.recordings
        else:
            serial[0] += 1
            survivor, merged = uuid.UUID(int=100 + serial[0]), []
            recordings[survivor] = []
        for rid in merged:
            recordings[survivor] += recordings.pop(rid)
        recordings[survivor] += list(placement.new)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), tracks=seen_tracks())
def test_batches_placed_one_after_another_partition_every_track_and_keep_the_guard(
    data: st.DataObject, tracks: list[SeenTrack]
) -> None:
    cut = data.draw(st.integers(min_value=0, max_value=len(tracks)))
    recordings: dict[uuid.UUID, list[SeenTrack]] = {}
    serial = [0]
    _apply(recordings, tracks[:cut], serial)
    _apply(recordings, tracks[cut:], serial)
    placed = sorted(t.key for members in recordings.values() for t in members)
    assert placed == sorted(t.key for t in tracks)
    for members in recordings.values():
        assert len({t.version for t in members}) == 1
        assert len({t.isrc for t in members if t.isrc}) <= 1


@settings(max_examples=60, deadline=None)
@given(data=st.data(), tracks=seen_tracks())
def test_one_batch_places_as_clustering_clusters_whatever_the_order(
    data: st.DataObject, tracks: list[SeenTrack]
) -> None:
    shuffled = data.draw(st.permutations(tracks))
    placed = {frozenset(keys(p)) for p in place(shuffled, []).placements}
    assert placed == partition(cluster(tracks))


def test_tracks_an_operator_split_apart_are_never_one_recording_again() -> None:
    spotify = StoredRecording(R1, (track("spotify", "s1", "Song", isrc="GBAAA1100001"),))
    tidal = StoredRecording(R2, (track("tidal", "t1", "Song", seconds=201),))
    # The Deezer track fits both, but an operator split the TIDAL track from the Spotify one.
    new = track("deezer", "d1", "Song", seconds=200.5, isrc="GBAAA1100001")
    apart = frozenset({frozenset({("spotify", "s1"), ("tidal", "t1")})})
    placing = place([new], [spotify, tidal], apart)
    [placement] = placing.placements
    assert len(placement.recordings) == 1  # one of them, never both
    [refusal] = placing.refusals
    assert refusal.reason == "an operator split these tracks apart"
    # Without the split, the new track bridges the two.
    [together] = place([new], [spotify, tidal]).placements
    assert together.recordings == (R1, R2)
