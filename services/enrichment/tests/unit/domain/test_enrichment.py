"""A recording's enrichment (pure): the rule field by field on real-looking cases, the event it makes, when
it is worth telling, and properties over any tracks (deterministic in any order, never a value nobody
gave, the source always one that gave it)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pm_enrichment.domain.enrichment import (
    MUSICBRAINZ,
    Enrichment,
    MbAnswer,
    MbCandidate,
    Sourced,
    TrackFacts,
    enrich,
    worth_telling,
)
from pm_providers.domain.musicbrainz import MbRecording, MbRelease

ISRC, OTHER_ISRC = "GBAAA9800006", "GBAAA0600001"
MBID = uuid.UUID("2c1e8b3e-3a6f-4b5e-9a8e-6f0c1f1d2a3b")
OTHER_MBID = uuid.UUID("00000000-0000-4000-8000-000000000001")
T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def fact(provider: str, track_id: str | None = None, **values: object) -> TrackFacts:
    return TrackFacts(provider, track_id or f"{provider}-1", **values)  # type: ignore[arg-type]


def keys(*facts: TrackFacts) -> list[tuple[str, str]]:
    return [(f.provider, f.provider_track_id) for f in facts]


def enriched(*facts: TrackFacts, musicbrainz: MbAnswer | None = None) -> Enrichment:
    return enrich(keys(*facts), facts, musicbrainz)


# ---- isrc ------------------------------------------------------------------------------------------------


def test_the_isrc_most_services_give_wins_and_names_the_first_service_in_provider_order():
    e = enriched(
        fact("youtube"),
        fact("tidal", isrc=ISRC),
        fact("deezer", isrc=ISRC),
        fact("spotify", "a", isrc=OTHER_ISRC),
        fact("spotify", "b", isrc=OTHER_ISRC),  # two releases of one service: one service
    )
    assert e.isrc == Sourced(ISRC, "deezer")


def test_an_isrc_written_loosely_is_read_normalised_and_one_that_is_none_is_ignored():
    assert enriched(fact("deezer", isrc="gb-aaa-98-00006")).isrc == Sourced(ISRC, "deezer")
    assert enriched(fact("deezer", isrc="not an isrc")).isrc is None


def test_an_isrc_tie_goes_to_the_most_tracks_then_the_smallest():
    e = enriched(
        fact("spotify", isrc=OTHER_ISRC), fact("deezer", "x", isrc=ISRC), fact("deezer", "y", isrc=ISRC)
    )
    assert e.isrc == Sourced(ISRC, "deezer")
    assert enriched(fact("spotify", isrc=ISRC), fact("deezer", isrc=OTHER_ISRC)).isrc == Sourced(
        OTHER_ISRC, "deezer"
    )


# ---- duration --------------------------------------------------------------------------------------------


def test_the_duration_most_services_agree_on_within_two_seconds_given_to_the_millisecond():
    e = enriched(
        fact("spotify", duration_ms=330_773),
        fact("deezer", duration_ms=331_000),
        fact("tidal", duration_ms=330_000),
        fact("tidal", "single", duration_ms=250_000),  # a radio edit on the same recording, alone
    )
    assert e.duration_ms == Sourced(330_773, "spotify")


def test_whole_seconds_agreeing_beat_a_precise_length_nobody_agrees_with():
    e = enriched(
        fact("spotify", duration_ms=250_123),
        fact("deezer", duration_ms=331_000),
        fact("tidal", duration_ms=331_000),
    )
    assert e.duration_ms == Sourced(331_000, "deezer")


def test_youtube_lengths_count_only_when_no_other_service_gives_one():
    video = fact("youtube", duration_ms=345_000)
    assert enriched(video, fact("deezer", duration_ms=331_000)).duration_ms == Sourced(331_000, "deezer")
    assert enriched(video, fact("deezer")).duration_ms == Sourced(345_000, "youtube")


def test_a_length_of_zero_or_beyond_a_day_is_no_length():
    assert enriched(fact("deezer", duration_ms=0), fact("tidal", duration_ms=86_400_001)).duration_ms is None


# ---- release date ----------------------------------------------------------------------------------------


def test_the_earliest_release_date_wins_and_placeholders_are_ignored():
    e = enriched(
        fact("spotify", release_date=date(2019, 6, 7)),  # the remaster Spotify sells
        fact("deezer", release_date=date(1998, 4, 20)),
        fact("tidal", release_date=date(1, 1, 1)),  # a placeholder
    )
    assert e.release_date == Sourced(date(1998, 4, 20), "deezer")


def answer(*candidates: MbCandidate, isrc: str = ISRC) -> MbAnswer:
    return MbAnswer(isrc, candidates)


def test_musicbrainz_first_release_date_wins_when_earlier_and_a_whole_date():
    spotify = fact("spotify", isrc=ISRC, duration_ms=330_773, release_date=date(2006, 3, 20))
    earlier = answer(MbCandidate(MBID, 330_000, "1998-04-20"))
    assert enriched(spotify, musicbrainz=earlier).release_date == Sourced(date(1998, 4, 20), MUSICBRAINZ)
    later = answer(MbCandidate(MBID, 330_000, "2010-01-01"))
    assert enriched(spotify, musicbrainz=later).release_date == Sourced(date(2006, 3, 20), "spotify")
    partial = answer(MbCandidate(MBID, 330_000, "1998"))  # no day: a day would be invented
    assert enriched(spotify, musicbrainz=partial).release_date == Sourced(date(2006, 3, 20), "spotify")
    same = answer(MbCandidate(MBID, 330_000, "2006-03-20"))  # a tie: the service's own
    assert enriched(spotify, musicbrainz=same).release_date == Sourced(date(2006, 3, 20), "spotify")


# ---- album -----------------------------------------------------------------------------------------------


def test_the_album_most_services_name_case_and_spacing_aside_spelled_as_most_tracks_spell_it():
    e = enriched(
        fact("spotify", album="MEZZANINE"),
        fact("deezer", album="Mezzanine"),
        fact("tidal", album="Mezzanine "),
        fact("youtube", album="Best of Massive Attack"),
    )
    assert e.album == Sourced("Mezzanine", "deezer")


def test_an_album_tie_goes_to_the_earliest_release():
    e = enriched(
        fact("spotify", album="Mezzanine (Remastered 2019)", release_date=date(2019, 6, 7)),
        fact("deezer", album="Mezzanine", release_date=date(1998, 4, 20)),
    )
    assert e.album == Sourced("Mezzanine", "deezer")


def test_musicbrainz_names_the_album_only_when_no_service_does():
    candidate = MbCandidate(
        MBID, None, "1998-04-20", (("Teardrop", "1998-04-27"), ("Mezzanine", "1998-04-20"))
    )
    alone = fact("spotify", isrc=ISRC)
    assert enriched(alone, musicbrainz=answer(candidate)).album == Sourced("Mezzanine", MUSICBRAINZ)
    named = fact("spotify", isrc=ISRC, album="Mezzanine (Deluxe)")
    assert enriched(named, musicbrainz=answer(candidate)).album == Sourced("Mezzanine (Deluxe)", "spotify")


# ---- MusicBrainz -----------------------------------------------------------------------------------------


def test_musicbrainz_fills_the_duration_only_when_no_service_gives_one():
    candidate = MbCandidate(MBID, 331_000, None)
    assert enriched(fact("spotify", isrc=ISRC), musicbrainz=answer(candidate)).duration_ms == Sourced(
        331_000, MUSICBRAINZ
    )
    given_one = fact("spotify", isrc=ISRC, duration_ms=330_773)
    e = enriched(given_one, musicbrainz=answer(candidate))
    assert e.duration_ms == Sourced(330_773, "spotify") and e.musicbrainz_id == MBID


def test_an_answer_for_another_isrc_says_nothing():
    e = enriched(
        fact("spotify", isrc=ISRC),
        musicbrainz=answer(MbCandidate(MBID, 331_000, "1998-04-20"), isrc=OTHER_ISRC),
    )
    assert (e.musicbrainz_id, e.duration_ms, e.release_date) == (None, None, None)


def test_of_several_musicbrainz_recordings_the_closest_length_and_none_too_far_off():
    near, far = MbCandidate(OTHER_MBID, 331_500, None), MbCandidate(MBID, 200_000, None)
    spotify = fact("spotify", isrc=ISRC, duration_ms=330_773)
    assert enriched(spotify, musicbrainz=answer(far, near)).musicbrainz_id == OTHER_MBID
    assert enriched(spotify, musicbrainz=answer(far)).musicbrainz_id is None
    # Without a length to compare: the smallest id.
    assert enriched(fact("deezer", isrc=ISRC), musicbrainz=answer(near, far)).musicbrainz_id == OTHER_MBID


def test_a_candidate_from_a_musicbrainz_answer_keeps_what_the_rule_reads_and_survives_storage():
    recording = MbRecording(
        mbid=str(MBID),
        title="Teardrop",
        length_ms=330_000,
        first_release_date="1998-04-20",
        releases=(MbRelease(mbid=str(OTHER_MBID), title="Mezzanine", date="1998-04-20"),),
    )
    candidate = MbCandidate.from_recording(recording)
    assert candidate == MbCandidate(MBID, 330_000, "1998-04-20", (("Mezzanine", "1998-04-20"),))
    assert MbCandidate.from_json(candidate.to_json()) == candidate
    assert MbCandidate.from_recording(recording.model_copy(update={"mbid": "not-a-uuid"})) is None


# ---- the enrichment as stored and told -----------------------------------------------------------------


def test_the_tracks_are_in_provider_order_each_once_and_unknown_providers_left_out():
    e = enrich([("youtube", "y"), ("deezer", "d"), ("spotify", "s"), ("deezer", "d"), ("napster", "n")], [])
    assert e.tracks == (("spotify", "s"), ("deezer", "d"), ("youtube", "y"))


def test_json_round_trip_and_the_event():
    e = enriched(
        fact("spotify", isrc=ISRC, duration_ms=330_773, release_date=date(2006, 3, 20), album="Mezzanine"),
        musicbrainz=answer(MbCandidate(MBID, 330_000, "1998-04-20")),
    )
    assert Enrichment.from_json(e.to_json()) == e
    event = e.event(MBID, T0)
    assert event is not None
    assert event.model_dump(mode="json") == {
        "recording_id": str(MBID),
        "tracks": [{"provider": "spotify", "provider_track_id": "spotify-1"}],
        "isrc": {"value": ISRC, "source": "spotify"},
        "duration_ms": {"value": 330_773, "source": "spotify"},
        "release_date": {"value": "1998-04-20", "source": "musicbrainz"},
        "album": {"value": "Mezzanine", "source": "spotify"},
        "musicbrainz_id": str(MBID),
        "enriched_at": "2026-12-05T09:00:00Z",
    }
    assert Enrichment().event(MBID, T0) is None  # no track to name


def test_worth_telling_only_news():
    empty = enrich([("spotify", "s")], [])
    known = enriched(fact("spotify", "s", isrc=ISRC))
    more_tracks = enrich([("spotify", "s"), ("deezer", "d")], [fact("spotify", "s", isrc=ISRC)])
    assert not worth_telling(None, empty)  # nobody learns anything
    assert not worth_telling(empty, empty)
    assert worth_telling(None, known) and worth_telling(empty, known)
    assert not worth_telling(known, known)
    assert worth_telling(known, more_tracks)  # a track more: its library learns the enrichment
    assert worth_telling(known, enrich([("spotify", "s")], []))  # taken back
    assert not worth_telling(known, Enrichment())  # no track to name


# ---- properties --------------------------------------------------------------------------------------------

PROVIDERS = ("spotify", "deezer", "tidal", "youtube")
isrcs = st.sampled_from([ISRC, OTHER_ISRC, "USRC17607839", None])
albums = st.sampled_from(["Mezzanine", "mezzanine", "Mezzanine (Deluxe)", "Teardrop", None])
dates = st.one_of(st.none(), st.dates(min_value=date(1870, 1, 1), max_value=date(2030, 12, 31)))
lengths = st.one_of(st.none(), st.integers(min_value=0, max_value=90_000_000))


@st.composite
def track_facts(draw: st.DrawFn) -> list[TrackFacts]:
    count = draw(st.integers(min_value=0, max_value=8))
    facts = {}
    for _ in range(count):
        provider = draw(st.sampled_from(PROVIDERS))
        track_id = draw(st.sampled_from(["a", "b", "c"]))
        facts[(provider, track_id)] = TrackFacts(
            provider,
            track_id,
            isrc=draw(isrcs),
            duration_ms=draw(lengths),
            release_date=draw(dates),
            album=draw(albums),
        )
    return list(facts.values())


mb_answers = st.one_of(
    st.none(),
    st.builds(
        MbAnswer,
        isrc=st.sampled_from([ISRC, OTHER_ISRC]),
        candidates=st.lists(
            st.builds(
                MbCandidate,
                mbid=st.sampled_from([MBID, OTHER_MBID]),
                length_ms=lengths,
                first_release_date=st.sampled_from([None, "1998", "1998-04", "1998-04-20", "2030-01-01"]),
                releases=st.lists(
                    st.tuples(
                        st.sampled_from(["Mezzanine", "Teardrop", " "]), st.sampled_from([None, "1998"])
                    ),
                    max_size=3,
                ).map(tuple),
            ),
            max_size=3,
        ).map(tuple),
    ),
)


@settings(max_examples=300, deadline=None)
@given(facts=track_facts(), musicbrainz=mb_answers, data=st.data())
def test_the_enrichment_does_not_depend_on_the_inputs_order(facts, musicbrainz, data):
    shuffled = data.draw(st.permutations(facts))
    tracks = keys(*facts)
    assert enrich(tracks, facts, musicbrainz) == enrich(
        data.draw(st.permutations(tracks)), shuffled, musicbrainz
    )


def whole_dates(value: str | None) -> tuple[date, ...]:
    return (date.fromisoformat(value),) if value and len(value) == 10 else ()


@settings(max_examples=300, deadline=None)
@given(facts=track_facts(), musicbrainz=mb_answers)
def test_every_value_is_one_its_source_gave(facts, musicbrainz):
    e = enrich(keys(*facts), facts, musicbrainz)
    by = {p: [f for f in facts if f.provider == p] for p in PROVIDERS}
    chosen = [c for c in (musicbrainz.candidates if musicbrainz else ()) if c.mbid == e.musicbrainz_id]

    def given_by(source: str, value: object, read: Callable[[Any], Any]) -> bool:
        if source == MUSICBRAINZ:
            return any(value in read(c) for c in chosen)
        return any(read(f) == value for f in by[source])

    if e.isrc:
        assert given_by(e.isrc.source, e.isrc.value, lambda f: f.isrc)
        assert e.isrc.source != MUSICBRAINZ
    if e.duration_ms:
        assert given_by(
            e.duration_ms.source,
            e.duration_ms.value,
            lambda x: (x.length_ms,) if isinstance(x, MbCandidate) else x.duration_ms,
        )
    if e.release_date:
        assert given_by(
            e.release_date.source,
            e.release_date.value,
            lambda x: whole_dates(x.first_release_date) if isinstance(x, MbCandidate) else x.release_date,
        )
    if e.album:
        assert given_by(
            e.album.source,
            e.album.value,
            lambda x: (
                [t for t, _ in x.releases]
                if isinstance(x, MbCandidate)
                else " ".join((x.album or "").split())
            ),
        )
    if e.musicbrainz_id:
        assert chosen and musicbrainz is not None and e.isrc and musicbrainz.isrc == e.isrc.value
    # Nobody gave anything: nothing is known.
    if not facts:
        assert e.knows_nothing


@settings(max_examples=200, deadline=None)
@given(facts=track_facts(), musicbrainz=mb_answers)
def test_musicbrainz_only_fills_what_no_service_gives_except_the_release_date(facts, musicbrainz):
    e = enrich(keys(*facts), facts, musicbrainz)
    if e.duration_ms and e.duration_ms.source == MUSICBRAINZ:
        assert not any(f.duration_ms and 0 < f.duration_ms <= 86_400_000 for f in facts)
    if e.album and e.album.source == MUSICBRAINZ:
        assert not any(f.album for f in facts)
    if e.release_date and e.release_date.source == MUSICBRAINZ:
        assert all(f.release_date is None or f.release_date > e.release_date.value for f in facts)


@pytest.mark.parametrize("facts", [[], [fact("spotify")]])
def test_nothing_given_nothing_known(facts):
    assert enriched(*facts).knows_nothing
