"""The pure part of transfers: requests, source keys, the shared catalog's misses, parts, the resume
check, quota days, the report."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from pm_contracts.providers import ProviderName
from pm_matching import REVIEW_AT, Decision, ExplicitPreference, Score, TrackInfo, Verdict, decide
from pm_provider_sync.domain.transfers import (
    ApplyRequest,
    SourceTrack,
    Status,
    TransferRequest,
    already_written,
    known_absent,
    marker,
    plan_parts,
    progress,
    report_csv,
    shareable_miss,
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
    episode = SourceTrack("E", ("Show",), provider_ids={"spotify": "e"}, media_type="episode")
    assert SourceTrack.from_json(episode.to_json()) == episode
    local = SourceTrack.from_api({"title": "L", "artists": ["A"], "media_type": "track", "is_local": True})
    assert local.is_local and local.media_type == "track"
    # A row stored before the kind of item was kept reads as a track of unknown kind.
    assert SourceTrack.from_json({"title": "T", "provider_ids": {"spotify": "x"}}).media_type is None


# ---- the shared catalog's misses

SONG = SourceTrack(
    "Teardrop", ("Massive Attack",), "Mezzanine", 330_773, "GBAAA9800006", False, {"spotify": "x"}
)


def _decision(*confidences: float) -> Decision:
    """The matcher's decision over candidates scored ``confidences`` (best first), none chosen."""
    ranked = tuple(
        (i, Score(confidence=c, verdict=Verdict.REJECT, breakdown={}, reasons=()))
        for i, c in enumerate(confidences)
    )
    best = confidences[0] if confidences else 0.0
    return Decision(chosen=None, confidence=best, verdict=Verdict.REJECT, ranked=ranked, reason="no")


def test_a_search_that_found_nothing_near_is_a_shareable_miss():
    nothing = decide(SONG.info(), [])
    unrelated = decide(
        SONG.info(), [TrackInfo(title="Polka Medley", artists=("Die Lustigen",), duration_ms=90_000)]
    )
    assert unrelated.chosen is None and unrelated.confidence < REVIEW_AT
    for decision in (nothing, unrelated, _decision(REVIEW_AT - 0.0001, 0.2)):
        assert shareable_miss(SONG, decision, ExplicitPreference.SOURCE)


def test_a_candidate_a_user_could_pick_or_a_match_is_no_miss():
    found = decide(SONG.info(), [SONG.info()])
    assert found.chosen is not None  # accepted (matched, or there but unavailable to this account)
    assert not shareable_miss(SONG, found, ExplicitPreference.SOURCE)
    # A candidate in the review range, best or not, is the user's question.
    assert not shareable_miss(SONG, _decision(REVIEW_AT), ExplicitPreference.SOURCE)
    assert not shareable_miss(SONG, _decision(0.3, REVIEW_AT + 0.1), ExplicitPreference.SOURCE)


def test_only_the_source_version_of_a_keyed_recording_is_a_shareable_miss():
    nothing = decide(SONG.info(), [])
    # A version chosen for one user's taste says nothing of the recording.
    for preference in (ExplicitPreference.EXPLICIT, ExplicitPreference.CLEAN):
        assert not shareable_miss(SONG, nothing, preference)
    # The catalog keys a miss by the source's provider id: a file's track (no id) has none.
    assert not shareable_miss(
        SourceTrack("Teardrop", ("Massive Attack",), isrc="GBAAA9800006"), nothing, ExplicitPreference.SOURCE
    )
    # Local files and podcast episodes are no recordings the providers' catalogs hold.
    local = SourceTrack("Demo", ("Me",), provider_ids={"spotify": "l"}, is_local=True)
    episode = SourceTrack("Ep. 1", ("Show",), provider_ids={"spotify": "e"}, media_type="episode")
    unknown = SourceTrack("?", ("?",), provider_ids={"spotify": "u"}, media_type="unknown")
    for item in (local, episode, unknown):
        assert not shareable_miss(item, nothing, ExplicitPreference.SOURCE)
    for kind in ("track", "video", None):
        track = SourceTrack("Song", ("A",), provider_ids={"youtube": "v"}, media_type=kind)
        assert shareable_miss(track, nothing, ExplicitPreference.SOURCE)


def test_a_known_absent_track_is_not_matched_by_the_catalog_with_a_clear_reason():
    result = known_absent(ProviderName.DEEZER, datetime(2026, 3, 4, 22, 0, tzinfo=UTC))
    assert (result.status, result.method, result.target_id) == (Status.NOT_MATCHED, "catalog", None)
    assert result.reason == (
        "not on Deezer: nobody's search found it (checked 2026-03-04); pick a track by hand to map it"
    )


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
