"""Duplicates: the same ISRC, or the same normalised title and artists within 2 s; which rule matched."""

import uuid
from datetime import UTC, datetime

from pm_playlist.domain.dedupe import find_duplicates
from pm_playlist.domain.entries import Entry
from pm_playlist.domain.tracks import Track

AT = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def playlist(*tracks: Track) -> list[tuple[Entry, Track]]:
    return [(Entry(uuid.UUID(int=i + 1), uuid.UUID(int=100 + i), AT), t) for i, t in enumerate(tracks)]


def found(items) -> list[tuple[int, int, str]]:
    return [(d.entry_id.int, d.kept_entry_id.int, d.rule) for d in find_duplicates(items)]


def test_the_same_isrc_is_one_recording_whatever_the_metadata():
    items = playlist(
        Track("Halo", ("Beyoncé",), isrc="USSM10804556", duration_ms=261_000),
        Track("Halo - Single Version", ("Beyonce",), isrc="us-sm1-08-04556", duration_ms=200_000),
    )
    assert found(items) == [(2, 1, "isrc")]


def test_the_same_title_and_artists_within_two_seconds():
    items = playlist(
        Track("Don't Stop Me Now", ("Queen",), duration_ms=209_000),
        Track("DON\u2019T STOP ME NOW!", ("queen",), duration_ms=210_900),  # 1.9 s apart, another spelling
        Track("Don't Stop Me Now", ("Queen",), duration_ms=215_000),  # 6 s: another recording
        Track("Don't Stop Me Now (Live)", ("Queen",), duration_ms=209_000),  # live: another recording
        Track("Don't Stop Me Now", ("Queen",), duration_ms=None),  # unknown duration: not claimed
        Track("Dont Stop Me Now", ("Queen",), duration_ms=208_000),
    )
    assert found(items) == [(2, 1, "title-artists-duration"), (6, 1, "title-artists-duration")]


def test_artists_compare_as_a_set_and_the_first_is_kept():
    items = playlist(
        Track("Under Pressure", ("Queen", "David Bowie"), duration_ms=248_000),
        Track("Under Pressure", ("David Bowie", "Queen"), duration_ms=247_500),
        Track("Under Pressure", ("Queen",), duration_ms=248_000),  # not the same artists
    )
    assert found(items) == [(2, 1, "title-artists-duration")]


def test_no_duplicates_in_a_clean_playlist():
    assert found(playlist(Track("A", ("x",), duration_ms=1), Track("B", ("x",), duration_ms=1))) == []
    assert found(playlist(Track("", (), isrc="not-an-isrc"), Track("", (), isrc="not-an-isrc"))) == []


def test_a_duplicate_brings_its_own_isrc_and_duration_to_its_group():
    items = playlist(
        Track("Song", ("X",), isrc="USAAA0000001", duration_ms=None),
        Track("Other title", ("Y",), isrc="USAAA0000001", duration_ms=200_000),  # B: A's ISRC
        Track("Other title", ("Y",), duration_ms=200_500),  # C: B's name and duration
        Track("Song", ("X",), isrc="USAAA0000002", duration_ms=100_000),  # D: A's name, no known duration
        Track("Third", ("Z",), isrc="USAAA0000002", duration_ms=1),  # E: D's ISRC
    )
    assert found(items) == [(2, 1, "isrc"), (3, 1, "title-artists-duration"), (5, 4, "isrc")]


def test_two_seconds_exactly_is_within_and_one_more_millisecond_is_not():
    assert found(
        playlist(Track("A", ("x",), duration_ms=100_000), Track("A", ("x",), duration_ms=102_000))
    ) == [(2, 1, "title-artists-duration")]
    assert (
        found(playlist(Track("A", ("x",), duration_ms=100_000), Track("A", ("x",), duration_ms=102_001)))
        == []
    )


def test_ten_thousand_entries_of_one_name_stay_fast_enough_to_run_here():
    """Same title and artists, durations 3 s apart: no duplicates, and no quadratic scan (a 10,000-entry
    check would take seconds if each compared with every earlier one)."""
    items = playlist(*(Track("Intro", ("Various",), duration_ms=3_000 * i) for i in range(10_000)))
    assert found(items) == []


def test_the_same_track_twice_is_a_duplicate_even_without_isrc_or_duration():
    """A local file or a YouTube video: no ISRC, maybe no duration; twice in the list is twice."""
    track_id = uuid.uuid4()
    bare = Track(title="Demo", artists=())
    entries = [(Entry(uuid.uuid4(), track_id, AT), bare) for _ in range(3)]
    found = find_duplicates(entries)
    assert [(d.entry_id, d.kept_entry_id, d.rule) for d in found] == [
        (entries[1][0].id, entries[0][0].id, "same-track"),
        (entries[2][0].id, entries[0][0].id, "same-track"),
    ]
