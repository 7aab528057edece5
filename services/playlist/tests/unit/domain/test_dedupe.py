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
    assert found(items) == [(2, 1, "title_artists_duration"), (6, 1, "title_artists_duration")]


def test_artists_compare_as_a_set_and_the_first_is_kept():
    items = playlist(
        Track("Under Pressure", ("Queen", "David Bowie"), duration_ms=248_000),
        Track("Under Pressure", ("David Bowie", "Queen"), duration_ms=247_500),
        Track("Under Pressure", ("Queen",), duration_ms=248_000),  # not the same artists
    )
    assert found(items) == [(2, 1, "title_artists_duration")]


def test_no_duplicates_in_a_clean_playlist():
    assert found(playlist(Track("A", ("x",), duration_ms=1), Track("B", ("x",), duration_ms=1))) == []
    assert found(playlist(Track("", (), isrc="not-an-isrc"), Track("", (), isrc="not-an-isrc"))) == []
