"""The library's insights, pure: duplicate groups from the catalog's recordings, availability answers,
statistics."""

from __future__ import annotations

import uuid
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from pm_playlist.domain.insights import (
    TOP_ARTISTS,
    LibraryTrack,
    availability,
    duplicates,
    statistics,
)

P1, P2 = uuid.UUID(int=101), uuid.UUID(int=102)
R1, R2 = uuid.UUID(int=201), uuid.UUID(int=202)


def track(n: int, title: str = "Song", **more: object) -> LibraryTrack:
    values: dict[str, object] = {
        "id": uuid.UUID(int=n),
        "title": title,
        "artists": ("Artist",),
        "duration_ms": 200_000,
        "isrc": None,
        "release_date": None,
        "provider_ids": {"spotify": f"s{n}"},
        "playlists": {P1: 1},
    }
    return LibraryTrack(**(values | more))  # type: ignore[arg-type]


def test_tracks_on_one_recording_are_a_group_and_a_lone_track_is_none() -> None:
    a = track(1, "Teardrop", provider_ids={"spotify": "s1"})
    b = track(2, "Teardrop (Remastered)", provider_ids={"deezer": "d1"}, playlists={P2: 2})
    alone = track(3, "Angel")
    unknown = track(4, "Teardrop", provider_ids={})
    groups = duplicates([b, alone, a, unknown], {a.id: R1, b.id: R1, alone.id: R2})
    assert [(g.recording_id, [t.id for t in g.tracks]) for g in groups] == [(R1, [a.id, b.id])]


def test_groups_come_in_title_order() -> None:
    tracks = [track(n, title) for n, title in enumerate(["b", "B", "a", "A"], start=1)]
    groups = duplicates(tracks, {tracks[0].id: R1, tracks[1].id: R1, tracks[2].id: R2, tracks[3].id: R2})
    assert [g.recording_id for g in groups] == [R2, R1]


def test_availability_answers() -> None:
    on_deezer = track(1, provider_ids={"deezer": "d1"})
    elsewhere = track(2)
    assert availability(on_deezer, "deezer", None, False) == "on-service"
    assert availability(elsewhere, "deezer", "id", False) == "matched"
    assert availability(elsewhere, "deezer", "isrc", False) == "isrc"
    assert availability(elsewhere, "deezer", None, True) == "absent"
    assert availability(elsewhere, "deezer", None, False) == "unknown"


def test_the_lookup_key_prefers_another_provider_than_the_target() -> None:
    both = track(1, provider_ids={"youtube": "y1", "deezer": "d1"})
    assert both.lookup_key("deezer") == ("youtube", "y1")
    assert both.lookup_key() == ("deezer", "d1")
    assert track(2, provider_ids={}).lookup_key() is None


def test_statistics_count_artists_decades_durations_and_isrcs() -> None:
    tracks = [
        track(
            1, artists=("Massive Attack", "Horace Andy"), release_date=date(1998, 4, 20), isrc="GBAAA9800006"
        ),
        track(2, artists=("massive attack",), release_date=date(1991, 1, 1), duration_ms=None),
        track(3, artists=("Portishead", "Portishead"), release_date=date(2008, 4, 28)),
        track(4, artists=(" ",), release_date=None),
    ]
    stats = statistics(tracks)
    assert stats.tracks == 4
    assert stats.per_artist == [("Massive Attack", 2), ("Horace Andy", 1), ("Portishead", 1)]
    assert stats.artists == 3
    assert stats.per_decade == {"1990s": 2, "2000s": 1, "unknown": 1}
    assert (stats.total_duration_ms, stats.with_duration) == (600_000, 3)
    assert (stats.with_isrc, stats.isrc_share) == (1, 0.25)
    assert statistics([]).isrc_share == 0.0


def test_statistics_list_at_most_the_top_artists() -> None:
    tracks = [track(n, artists=(f"Band {n:03}",)) for n in range(TOP_ARTISTS + 10)]
    stats = statistics(tracks)
    assert len(stats.per_artist) == TOP_ARTISTS and stats.artists == TOP_ARTISTS + 10


@settings(max_examples=50, deadline=None)
@given(data=st.data(), size=st.integers(min_value=0, max_value=12))
def test_duplicates_do_not_depend_on_the_order_and_never_hold_a_track_twice(
    data: st.DataObject, size: int
) -> None:
    tracks = [track(n, data.draw(st.sampled_from(["a", "b", "c"]))) for n in range(1, size + 1)]
    recording_of = {t.id: data.draw(st.sampled_from([R1, R2, None])) for t in tracks}
    known = {k: v for k, v in recording_of.items() if v is not None}
    groups = duplicates(tracks, known)
    assert groups == duplicates(data.draw(st.permutations(tracks)), known)
    seen = [t.id for g in groups for t in g.tracks]
    assert len(seen) == len(set(seen))
    assert all(len(g.tracks) > 1 and all(known[t.id] == g.recording_id for t in g.tracks) for g in groups)
