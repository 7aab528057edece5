"""decide(): choosing among a track's search results, hard negatives included."""

from __future__ import annotations

from pm_matching import ExplicitPreference, TrackInfo, Verdict, decide


def track(
    title: str,
    artists: tuple[str, ...] = ("Avicii",),
    *,
    album: str | None = None,
    seconds: int | None = 157,
    explicit: bool | None = None,
    isrc: str | None = None,
) -> TrackInfo:
    return TrackInfo(title, artists, album, None if seconds is None else seconds * 1000, isrc, explicit)


def test_no_candidates() -> None:
    d = decide(track("SOS"), [])
    assert (d.chosen, d.confidence, d.verdict, d.ranked, d.reason) == (
        None,
        0.0,
        Verdict.REJECT,
        (),
        "no candidates",
    )


def test_the_song_among_its_remixes_live_and_other_songs() -> None:
    source = track("Wake Me Up", album="True", seconds=247)
    candidates = [
        track("Wake Me Up (Avicii Speed Remix)", seconds=247),
        track("Wake Me Up - Live", seconds=250),
        track("Wake Me Up", album="True", seconds=247),
        track("Hey Brother", album="True", seconds=255),
    ]
    d = decide(source, candidates)
    assert d.chosen == 2
    assert d.verdict is Verdict.ACCEPT
    assert d.reason == ""
    assert d.ranked[0][0] == 2
    assert len(d.ranked) == 4
    assert all(s.verdict is Verdict.REJECT for i, s in d.ranked if i != 2)


def test_album_track_and_single_are_both_acceptable_the_closest_wins() -> None:
    source = track("Levels", album="Levels", seconds=202)
    album, single = track("Levels", album="True", seconds=205), track("Levels", album="Levels", seconds=202)
    d = decide(source, [album, single])
    assert d.chosen == 1
    assert all(s.verdict is Verdict.ACCEPT for _, s in d.ranked)


def test_only_a_remix_is_not_chosen_and_says_why() -> None:
    d = decide(track("Levels"), [track("Levels (Skrillex Remix)")])
    assert d.chosen is None
    assert d.verdict is Verdict.REJECT
    assert d.reason == "best is a different version: remix"


def test_only_a_live_recording_says_live() -> None:
    d = decide(track("Levels"), [track("Levels (Live at Ultra)")])
    assert d.reason == "best is a different version: live"


def test_nothing_alike_is_below_the_review_threshold() -> None:
    d = decide(track("Levels"), [track("Something Else", ("Someone",))])
    assert (d.chosen, d.verdict, d.reason) == (None, Verdict.REJECT, "below the review threshold")


def test_review_is_not_chosen() -> None:
    d = decide(track("Levels", seconds=202), [track("Levels", seconds=218)])
    assert d.chosen is None
    assert d.verdict is Verdict.REVIEW
    assert d.reason.startswith("needs review: duration off by 16 s")


def test_ties_prefer_the_wanted_flag_then_the_closest_duration_then_the_first() -> None:
    source = track("SOS", explicit=True, seconds=157)
    clean = track("SOS", explicit=False, seconds=157)
    explicit_far = track("SOS", explicit=True, seconds=159)
    explicit_near = track("SOS", explicit=True, seconds=157)
    assert decide(source, [clean, explicit_far]).chosen == 1
    assert decide(source, [explicit_far, explicit_near]).chosen == 1
    assert decide(source, [explicit_near, explicit_near]).chosen == 0
    # The preference, not the source, says which edit is wanted.
    assert decide(source, [explicit_near, clean], preference=ExplicitPreference.CLEAN).chosen == 1


def test_the_candidate_that_agrees_literally_wins_a_tie() -> None:
    source = track("SOS", album="SOS", isrc="SE5BU1900001")
    featuring = track("SOS (feat. Aloe Blacc)", ("Avicii",), album="TIM")
    plain = track("SOS", album="SOS")
    assert decide(source, [featuring, plain]).chosen == 1
    by_isrc = track("SOS", album="TIM", isrc="SE5BU1900001")
    assert decide(source, [track("SOS", album="TIM"), by_isrc]).chosen == 1
    assert decide(track("SOS", album="SOS"), [track("SOS", album="TIM"), plain], isrc_hits={0}).chosen == 0


def test_the_recording_goes_before_its_music_video() -> None:
    source = track("Levels", seconds=202)
    video = TrackInfo("Avicii - Levels (Official Video)", ("AviciiVEVO",), None, 230_000, video=True)
    audio = TrackInfo("Levels", ("Avicii - Topic",), None, 203_000)
    d = decide(source, [video, audio])
    assert d.chosen == 1
    assert decide(source, [video]).chosen == 0  # alone, the video is the song
