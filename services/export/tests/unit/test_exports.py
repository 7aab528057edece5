"""The library's answers as a file's tracks and names (domain/exports.py, domain/objects.py)."""

from __future__ import annotations

import pytest

from pm_export.domain.exports import file_track, media_type_of
from pm_export.domain.objects import FileNames, safe_stem


@pytest.mark.parametrize(
    ("track", "kind"),
    [
        ({"media_type": "track", "is_local": False}, "track"),
        ({"media_type": "episode", "is_local": False}, "episode"),
        ({"media_type": "video", "is_local": False}, "track"),
        ({"media_type": "unknown", "is_local": False}, "unknown"),
        ({"media_type": "track", "is_local": True}, "local"),
        ({}, "track"),
    ],
)
def test_the_librarys_kind_of_item_is_the_files(track: dict, kind: str) -> None:
    assert media_type_of(track) == kind


def test_an_entry_is_a_file_track_with_everything_the_library_knows() -> None:
    entry = {
        "added_at": "2026-01-02T03:04:05+00:00",
        "track": {
            "id": "x",
            "title": "Teardrop",
            "artists": ["Massive Attack"],
            "album": "Mezzanine",
            "duration_ms": 330_000,
            "isrc": "GBAAA9800006",
            "explicit": False,
            "provider_ids": {"spotify": "67Hna13dNDkZvBpTXRIaOJ", "deezer": "3135556"},
            "media_type": "episode",
            "is_local": False,
        },
    }
    track = file_track(entry)
    assert (track.title, track.artists, track.isrc, track.media_type) == (
        "Teardrop",
        ("Massive Attack",),
        "GBAAA9800006",
        "episode",
    )
    assert track.provider_ids == {"spotify": "67Hna13dNDkZvBpTXRIaOJ", "deezer": "3135556"}
    assert track.added_at is not None and track.added_at.year == 2026


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        ("Road trip", "Road trip"),
        ("../../etc/passwd", "_.._etc_passwd"),
        ("a/b\\c:d*e?f", "a_b_c_d_e_f"),
        ("CON", "playlist-CON"),
        ("nul.txt", "playlist-nul.txt"),
        ("...", "playlist"),
        ("", "playlist"),
        ("x" * 300, "x" * 80),
        ("Tab\there\x00", "Tab_here_"),
        ("Café", "Café"),
    ],
)
def test_a_playlists_name_is_a_safe_file_name(name: str, stem: str) -> None:
    assert safe_stem(name) == stem


def test_names_in_one_archive_are_distinct_whatever_their_case() -> None:
    names = FileNames()
    assert [names.name(n, ".m3u8") for n in ["Mix", "mix", "MIX", "Other"]] == [
        "Mix.m3u8",
        "mix (2).m3u8",
        "MIX (3).m3u8",
        "Other.m3u8",
    ]
