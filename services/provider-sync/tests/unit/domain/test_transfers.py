"""The pure part of transfers: requests, source keys, parts, the resume check, quota days, the report."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
from pydantic import ValidationError

from pm_provider_sync.domain.transfers import (
    ApplyRequest,
    SourceTrack,
    TransferRequest,
    already_written,
    marker,
    plan_parts,
    progress,
    report_csv,
    source_key,
    transferable,
    youtube_days,
)

PLAYLIST = "6f1c1e1e-5a8b-4c1f-9a55-7d0c0c7e2b11"


@pytest.mark.parametrize(
    "body",
    [
        {"source": {"provider": "spotify"}, "target": {"provider": "deezer"}},
        {"source": {"playlists": [PLAYLIST]}, "target": {"provider": "tidal", "name": "Mine"}},
        {
            "source": {"playlists": [PLAYLIST]},
            "target": {"provider": "deezer", "mode": "append", "playlist_id": "9"},
        },
        {
            "source": {"provider": "spotify", "collections": "liked"},
            "target": {"provider": "youtube"},
            "dry_run": True,
        },
    ],
)
def test_good_requests(body):
    TransferRequest.model_validate(body)


@pytest.mark.parametrize(
    "body",
    [
        {"source": {}, "target": {"provider": "deezer"}},  # neither playlists nor provider
        {"source": {"provider": "spotify", "playlists": [PLAYLIST]}, "target": {"provider": "deezer"}},
        {"source": {"playlists": [PLAYLIST, PLAYLIST]}, "target": {"provider": "deezer"}},
        {"source": {"playlists": []}, "target": {"provider": "deezer"}},
        {"source": {"provider": "spotify"}, "target": {"provider": "deezer", "mode": "replace"}},
        {"source": {"provider": "spotify"}, "target": {"provider": "deezer", "playlist_id": "1"}},
        {"source": {"provider": "spotify"}, "target": {"provider": "deezer", "name": "one name for many"}},
        {"source": {"provider": "spotify"}, "target": {"provider": "napster"}},
        {"source": {"provider": "spotify"}, "target": {"provider": "deezer"}, "explicit": "maybe"},
        {"source": {"provider": "spotify"}, "target": {"provider": "deezer"}, "surprise": True},
        {
            "source": {"playlists": [PLAYLIST]},
            "target": {"provider": "deezer", "mode": "append", "playlist_id": "a\nb"},
        },
    ],
)
def test_bad_requests(body):
    with pytest.raises(ValidationError):
        TransferRequest.model_validate(body)


def test_a_choice_is_a_target_id_or_a_skip():
    ApplyRequest.model_validate({"choices": [{"playlist": 0, "position": 3, "target_id": "42"}]})
    ApplyRequest.model_validate({"choices": [{"playlist": 0, "position": 3, "skip": True}]})
    for bad in (
        {"playlist": 0, "position": 3},
        {"playlist": 0, "position": 3, "target_id": "4", "skip": True},
    ):
        with pytest.raises(ValidationError):
            ApplyRequest.model_validate({"choices": [bad]})


def test_source_keys_prefer_a_provider_id_then_the_isrc_then_the_text():
    with_ids = SourceTrack("Song", ("A",), provider_ids={"deezer": "9", "spotify": "abc"})
    assert source_key(with_ids) == "spotify:abc"  # the fixed provider order, whatever the dict's order
    assert source_key(SourceTrack("Song", ("A",), isrc="gbaaa9800006")) == "isrc:GBAAA9800006"
    by_text = source_key(SourceTrack("Sóng!", ("The A",)))
    assert by_text.startswith("text:") and by_text == source_key(SourceTrack("song", ("the a",)))
    assert by_text != source_key(SourceTrack("Song 2", ("A",)))
    assert not transferable(SourceTrack("  ", ()))


def test_the_source_track_round_trips_through_its_stored_form():
    track = SourceTrack("T", ("A", "B"), "Al", 1000, "GBAAA9800006", True, {"spotify": "x"})
    assert SourceTrack.from_json(track.to_json()) == track


def test_a_playlist_longer_than_the_target_allows_is_split_into_numbered_parts():
    ids = [str(i) for i in range(25)]
    assert [(p.part, p.name, len(p.track_ids)) for p in plan_parts("Road", ids, 10, None)] == [
        (1, "Road (1/3)", 10),
        (2, "Road (2/3)", 10),
        (3, "Road (3/3)", 5),
    ]
    assert [i for p in plan_parts("Road", ids, 10, None) for i in p.track_ids] == ids
    assert [p.name for p in plan_parts("Road", ids, None, None)] == ["Road"]
    assert [p.name for p in plan_parts("Road", ids[:10], 10, None)] == ["Road"]
    long = plan_parts("x" * 200, ids, 10, 20)
    assert all(len(p.name) <= 20 and p.name.endswith(f"({p.part}/3)") for p in long)
    assert plan_parts("   ", [], None, None)[0].name == "Transferred playlist"


def test_a_part_resumes_after_what_the_target_already_holds():
    ids = ["a", "b", "c", "d"]
    assert already_written([], 0, ids) == 0
    assert already_written(["a", "b"], 0, ids) == 2
    assert already_written(["x", "y", "a"], 2, ids) == 1  # append: the target's own entries stay first
    assert already_written(["a", "b", "c", "d"], 0, ids) == 4
    assert already_written(["a", "b", "b"], 0, ids) is None  # a batch written twice: rewrite
    assert already_written(["b"], 0, ids) is None  # something else there
    assert already_written(["a"] * 5, 0, ids) is None  # more than the part holds
    assert already_written(["x"], 2, ids) is None  # fewer than the base: changed meanwhile


def test_the_marker_names_job_playlist_and_part():
    job = uuid.UUID(PLAYLIST)
    assert marker(job, 2, 3) != marker(job, 2, 4) != marker(job, 3, 3)
    assert job.hex[:16] in marker(job, 0, 1)


def test_youtube_days_follow_its_write_quota():
    assert youtube_days(0, 0, 10_000, 100, 50) == 0
    assert youtube_days(200, 0, 10_000, 100, 50) == 1
    assert youtube_days(201, 0, 10_000, 100, 50) == 2
    assert youtube_days(1_000, 0, 10_000, 100, 50) == 5
    assert youtube_days(10, 250, 10_000, 100, 50) == 3


def test_progress_runs_through_the_stages():
    points = [
        progress("reading", 0, 2),
        progress("reading", 2, 2),
        progress("matching", 5, 10),
        progress("writing", 1, 1),
    ]
    assert points == sorted(points) and points[0] == 0 and points[-1] < 1


def test_the_report_csv_defuses_formulas_and_keeps_every_row():
    rows = [
        {
            "playlist_name": '=HYPERLINK("x")',
            "position": 3,
            "status": "not_matched",
            "source": {
                "title": "+1",
                "artists": ["-A", "B"],
                "album": None,
                "duration_ms": 1000,
                "isrc": None,
            },
            "reason": "@no",
            "candidates": [{"id": "9", "title": "T", "artists": ["A"], "confidence": 0.5}],
        },
        {
            "playlist_name": "Mix",
            "position": 4,
            "status": "review",
            "source": {"title": "Song", "artists": [], "album": "Al", "duration_ms": None, "isrc": "X"},
            "reason": None,
            "candidates": [],
        },
    ]
    parsed = list(csv.DictReader(io.StringIO(report_csv(rows))))
    assert len(parsed) == 2
    first = parsed[0]
    assert first["playlist"].startswith("'=") and first["title"] == "'+1" and first["artists"] == "'-A; B"
    assert (
        first["reason"] == "'@no" and first["best_candidate_id"] == "9" and first["best_confidence"] == "0.5"
    )
    assert parsed[1]["best_candidate_id"] == "" and parsed[1]["status"] == "review"
