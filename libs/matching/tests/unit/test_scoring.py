"""The rules of score(): each test fails if its rule breaks."""

from __future__ import annotations

import json

import pytest

from pm_matching import (
    ACCEPT_AT,
    REVIEW_AT,
    ExplicitPreference,
    Score,
    TrackInfo,
    Verdict,
    score,
)


def track(
    title: str = "Halcyon",
    artists: tuple[str, ...] = ("Ellie Goulding",),
    *,
    album: str | None = "Halcyon",
    seconds: float | None = 204,
    isrc: str | None = None,
    explicit: bool | None = None,
    video: bool = False,
) -> TrackInfo:
    duration = None if seconds is None else int(seconds * 1000)
    return TrackInfo(title, artists, album, duration, isrc, explicit, video)


def verdict(source: TrackInfo, candidate: TrackInfo, **kwargs: object) -> Verdict:
    return score(source, candidate, **kwargs).verdict  # type: ignore[arg-type]


def test_thresholds_are_ordered_in_the_unit_interval() -> None:
    assert 0.0 < REVIEW_AT < ACCEPT_AT < 1.0


def test_the_same_track_is_accepted_with_full_confidence() -> None:
    s = score(track(), track())
    assert s.confidence == 1.0
    assert s.verdict is Verdict.ACCEPT
    assert s.breakdown["title"] == s.breakdown["artists"] == s.breakdown["duration"] == 1.0
    assert "title equal" in s.reasons


def test_a_different_song_by_the_same_artist_is_rejected() -> None:
    s = score(track("Halcyon"), track("Anything Could Happen"))
    assert s.verdict is Verdict.REJECT
    assert any(r.startswith("title differs") for r in s.reasons)


def test_the_same_title_by_another_artist_is_rejected() -> None:
    s = score(track("Halcyon"), track("Halcyon", ("Orbital",)))
    assert s.verdict is Verdict.REJECT
    assert any(r.startswith("artists differ") for r in s.reasons)


# ---- versions ----------------------------------------------------------------------------------------------

VERSIONS = [
    "Halcyon (Live)",
    "Halcyon - Live at the BBC",
    "Halcyon (Robin Schulz Remix)",
    "Halcyon (Acoustic)",
    "Halcyon (Instrumental)",
    "Halcyon (Karaoke Version)",
    "Halcyon (Cover)",
    "Halcyon (Sped Up)",
    "Halcyon (Slowed)",
    "Halcyon (Extended Mix)",
    "Halcyon (Demo)",
    "Halcyon (Taylor's Version)",
    "Halcyon (Spanish Version)",
]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_version_never_matches_the_original_either_way(version: str) -> None:
    original, other = track("Halcyon"), track(version)
    for s in (score(original, other), score(other, original)):
        assert s.verdict is Verdict.REJECT, version
        assert s.breakdown["version"] == 0.0
        assert any("version differs" in r for r in s.reasons)


@pytest.mark.parametrize("version", VERSIONS)
def test_the_same_version_matches(version: str) -> None:
    assert verdict(track(version), track(version)) is Verdict.ACCEPT


def test_versions_written_differently_still_match() -> None:
    assert verdict(track("Halcyon - Live"), track("Halcyon (Live)")) is Verdict.ACCEPT
    assert (
        verdict(track("Halcyon - Robin Schulz Remix"), track("Halcyon [Robin Schulz Remix]"))
        is Verdict.ACCEPT
    )


def test_two_remixers_remixes_are_different_recordings() -> None:
    s = score(track("Applause (Goldhouse Remix)"), track("Applause (Empire Of The Sun Remix)"))
    assert s.verdict is Verdict.REJECT
    assert any(r.startswith("different remix") for r in s.reasons)


def test_two_live_recordings_from_different_venues_are_different() -> None:
    assert (
        verdict(track("Halcyon (Live in Amsterdam)"), track("Halcyon (Live in Stockholm)")) is Verdict.REJECT
    )


def test_a_live_album_makes_its_tracks_live() -> None:
    live = track("Over When It's Over", album="Caught In The Act: Live")
    assert (
        verdict(track("Over When It's Over (Live)", album="Caught in the Act (Live)"), live) is Verdict.ACCEPT
    )
    assert verdict(track("Over When It's Over", album="Chief"), live) is Verdict.REJECT
    # A song whose album is named "Live Your Life" is not live.
    assert verdict(track("Live Your Life", album="Live Your Life"), track("Live Your Life")) is Verdict.ACCEPT


def test_different_part_numbers_do_not_match() -> None:
    assert verdict(track("The Birds, Pt. 1"), track("The Birds Pt. 2")) is Verdict.REJECT
    assert verdict(track("Crack In the Pearl, Pt. II"), track("Crack In the Pearl")) is not Verdict.ACCEPT


# ---- spellings the same song has -------------------------------------------------------------------------


def test_featured_artists_in_the_title_or_the_credit_are_the_same() -> None:
    source = track("Lean On (feat. MØ & DJ Snake)", ("Major Lazer",))
    assert verdict(source, track("Lean On", ("Major Lazer", "MØ", "DJ Snake"))) is Verdict.ACCEPT
    assert verdict(source, track("Lean On [feat. MØ and DJ Snake]", ("Major Lazer",))) is Verdict.ACCEPT


@pytest.mark.parametrize(
    "credit",
    [
        ("Skrillex & Diplo",),
        ("Skrillex, Diplo",),
        ("Skrillex and Diplo",),
        ("Skrillex x Diplo",),
        ("Skrillex", "Diplo"),
    ],
)
def test_artist_separators(credit: tuple[str, ...]) -> None:
    s = score(track("Where Are Ü Now", ("Skrillex & Diplo",)), track("Where Are Ü Now", credit))
    assert s.verdict is Verdict.ACCEPT
    assert s.breakdown["artists"] == 1.0


def test_one_act_with_an_and_in_its_name() -> None:
    for a, b in [
        ("Simon & Garfunkel", "Simon and Garfunkel"),
        ("Earth, Wind & Fire", "Earth Wind and Fire"),
        ("Florence + The Machine", "Florence and the Machine"),
    ]:
        assert verdict(track("Song", (a,)), track("Song", (b,))) is Verdict.ACCEPT, (a, b)


def test_a_leading_the_and_a_vevo_channel() -> None:
    assert verdict(track("Starboy", ("The Weeknd",)), track("Starboy", ("Weeknd",))) is Verdict.ACCEPT
    assert verdict(track("Starboy", ("The Weeknd",)), track("Starboy", ("TheWeekndVEVO",))) is Verdict.ACCEPT


def test_a_missing_featured_artist_costs_a_little() -> None:
    s = score(track("Song", ("Kenny Chesney", "Willie Nelson")), track("Song", ("Kenny Chesney",)))
    assert s.verdict is Verdict.ACCEPT
    assert s.confidence < 1.0
    assert any(r.startswith("artist credits differ") for r in s.reasons)


@pytest.mark.parametrize(
    "remastered",
    [
        "Halcyon - Remastered 2011",
        "Halcyon (2011 Remaster)",
        "Halcyon - 2011 Digital Remaster",
        "Halcyon (Remastered)",
    ],
)
def test_a_remaster_is_the_same_song(remastered: str) -> None:
    s = score(track("Halcyon"), track(remastered))
    assert s.verdict is Verdict.ACCEPT
    assert (
        s.confidence < score(track(remastered), track(remastered)).confidence
    )  # the same status ranks first


def test_a_radio_edit_is_the_same_song_when_its_duration_agrees() -> None:
    assert (
        verdict(track("Halcyon", seconds=204), track("Halcyon - Radio Edit", seconds=205)) is Verdict.ACCEPT
    )
    # A radio edit a minute shorter is another edit: its duration says so.
    assert (
        verdict(track("Halcyon", seconds=264), track("Halcyon (Radio Edit)", seconds=204))
        is not Verdict.ACCEPT
    )


def test_diacritics_case_and_punctuation_do_not_matter() -> None:
    assert verdict(track("Déjà Vu", ("Beyoncé",)), track("DEJA VU", ("Beyonce",))) is Verdict.ACCEPT
    assert verdict(track("I'm a Machine"), track("Im A Machine!")) is Verdict.ACCEPT


def test_a_youtube_title_names_its_artist() -> None:
    video = track(
        "Ellie Goulding - Halcyon (Official Video)", ("EllieGouldingVEVO",), album=None, seconds=236
    )
    s = score(track(), video)
    assert s.verdict is Verdict.ACCEPT
    assert s.breakdown["title"] == 1.0


# ---- duration ----------------------------------------------------------------------------------------------


def test_duration_tolerance() -> None:
    base = track(seconds=204)
    assert score(base, track(seconds=206)).breakdown["duration"] > 0.97
    assert verdict(base, track(seconds=211)) is Verdict.ACCEPT  # 7 s
    off_14 = score(base, track(seconds=218))
    assert off_14.verdict is Verdict.REVIEW
    assert "duration off by 14 s" in off_14.reasons
    assert verdict(base, track(seconds=320)) is Verdict.REJECT  # almost two minutes


def test_a_missing_duration_is_neutral() -> None:
    s = score(track(seconds=None), track(seconds=204))
    assert s.confidence == 1.0
    assert "duration" not in s.breakdown


def test_a_video_may_run_longer() -> None:
    assert verdict(track(seconds=204), track(seconds=240, video=True)) is Verdict.ACCEPT
    assert verdict(track(seconds=204), track("Halcyon (Official Video)", seconds=240)) is Verdict.ACCEPT
    assert verdict(track(seconds=204), track(seconds=240)) is not Verdict.ACCEPT


# ---- ISRC --------------------------------------------------------------------------------------------------


def test_an_isrc_hit_lifts_a_compatible_candidate() -> None:
    # A title a store spells rather differently: alone, not enough; with the same ISRC, accepted.
    source, candidate = track("Halcyon Day", isrc="GBUM71204567"), track("Halcyon", isrc="GB-UM7-12-04567")
    assert verdict(track("Halcyon Day"), track("Halcyon")) is not Verdict.ACCEPT
    with_isrc = score(source, candidate)
    assert with_isrc.verdict is Verdict.ACCEPT
    assert with_isrc.breakdown["isrc"] == 1.0
    assert "ISRC equal" in with_isrc.reasons
    assert verdict(track("Halcyon Day"), track("Halcyon"), isrc_hit=True) is Verdict.ACCEPT


def test_an_isrc_hit_of_another_version_is_rejected() -> None:
    s = score(track("Halcyon"), track("Halcyon (Live)"), isrc_hit=True)
    assert s.verdict is Verdict.REJECT
    assert s.breakdown["isrc"] == 1.0


def test_an_isrc_hit_off_by_more_than_ten_seconds_is_not_accepted() -> None:
    assert verdict(track(seconds=204), track(seconds=216), isrc_hit=True) is Verdict.REVIEW
    assert verdict(track(seconds=204), track(seconds=212), isrc_hit=True) is Verdict.ACCEPT


def test_an_isrc_hit_with_another_title_or_artist_is_not_accepted() -> None:
    assert verdict(track("Halcyon"), track("Anything Could Happen"), isrc_hit=True) is Verdict.REJECT
    assert verdict(track(), track(artists=("Orbital",)), isrc_hit=True) is Verdict.REJECT


# ---- explicit and clean ------------------------------------------------------------------------------------


def test_the_source_preference_wants_the_source_flag() -> None:
    explicit, clean = track(explicit=True), track(explicit=False)
    right = score(explicit, track(explicit=True))
    wrong = score(explicit, clean)
    assert right.verdict is Verdict.ACCEPT
    assert wrong.verdict is Verdict.REVIEW  # alone, the other edit is for a person to confirm
    assert wrong.confidence < right.confidence
    assert wrong.breakdown["explicit"] == 0.0
    assert any(r.startswith("explicit differs") for r in wrong.reasons)
    assert verdict(clean, explicit) is Verdict.REVIEW


def test_explicit_and_clean_preferences() -> None:
    clean_source = track(explicit=False)
    assert (
        verdict(clean_source, track(explicit=True), preference=ExplicitPreference.EXPLICIT) is Verdict.ACCEPT
    )
    assert (
        verdict(clean_source, track(explicit=False), preference=ExplicitPreference.EXPLICIT) is Verdict.REVIEW
    )
    explicit_source = track(explicit=True)
    assert (
        verdict(explicit_source, track(explicit=False), preference=ExplicitPreference.CLEAN) is Verdict.ACCEPT
    )
    assert (
        verdict(explicit_source, track(explicit=True), preference=ExplicitPreference.CLEAN) is Verdict.REVIEW
    )


def test_unknown_flags_are_neutral_and_title_markers_count() -> None:
    assert score(track(explicit=None), track(explicit=True)).confidence == 1.0
    assert score(track(explicit=True), track(explicit=None)).confidence == 1.0
    assert verdict(track(explicit=True), track("Halcyon [Clean]")) is Verdict.REVIEW
    assert verdict(track(explicit=False), track("Halcyon (Album Version (Edited))")) is Verdict.ACCEPT


# ---- the answer --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "candidate",
    [track(), track("Halcyon (Live)"), track(seconds=230), track(explicit=False), track("Other Song")],
)
def test_every_score_is_explained_and_json_able(candidate: TrackInfo) -> None:
    s = score(track(explicit=True), candidate)
    assert isinstance(s, Score)
    assert 0.0 <= s.confidence <= 1.0
    assert s.reasons
    assert all(isinstance(r, str) and r for r in s.reasons)
    json.dumps(s.breakdown)
    assert {"title", "artists", "version", "penalty"} <= s.breakdown.keys()
    assert s.verdict is (
        Verdict.ACCEPT
        if s.confidence >= ACCEPT_AT
        else Verdict.REVIEW
        if s.confidence >= REVIEW_AT
        else Verdict.REJECT
    )
