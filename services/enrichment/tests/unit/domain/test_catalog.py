"""The canonical catalog's pure decisions: the join rule, and what is fit to store and to look up."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from pm_contracts.transfers import MAX_TEXT, TrackMatched, TrackRef
from pm_enrichment.domain.catalog import (
    MAX_DURATION_MS,
    Recording,
    TrackKey,
    UnstorableTrack,
    describe,
    join_rule,
    lookup_id,
    new_tracks,
    normalised_isrc,
    track_key,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def recording(*providers: str, isrcs: tuple[str, ...] = (), age_s: int = 0) -> Recording:
    return Recording(uuid.uuid4(), T0 - timedelta(seconds=age_s), frozenset(providers), frozenset(isrcs))


def matched(**changes) -> TrackMatched:
    values = {
        "job_id": uuid.uuid4(),
        "source": TrackRef(provider="spotify", provider_track_id="s1"),
        "target": TrackRef(provider="deezer", provider_track_id="d1"),
        "title": "Teardrop",
        "artists": ["Massive Attack"],
        "duration_ms": 330_773,
        "method": "search",
        "confidence": 0.97,
        "matched_at": T0,
    }
    return TrackMatched.model_validate(values | changes)


# ---- the join rule


def test_two_unknown_tracks_make_a_recording():
    join = join_rule(None, None)
    assert (join.kind, join.recording_id, join.other_id) == ("created", None, None)


def test_an_unknown_track_joins_the_known_ones_recording_from_either_side():
    known = recording("spotify")
    assert (join_rule(known, None).kind, join_rule(known, None).recording_id) == ("attached", known.id)
    assert (join_rule(None, known).kind, join_rule(None, known).recording_id) == ("attached", known.id)


def test_attaching_a_second_track_of_a_provider_is_no_conflict():
    """An album's and a single's release of one recording: the match compared the two tracks directly."""
    known = recording("spotify", "deezer", isrcs=("GBAAA9800006",))
    join = join_rule(known, None, "GBAAA9800006", "USXXX0000001")
    assert (join.kind, join.recording_id) == ("attached", known.id)


def test_two_tracks_of_one_recording_confirm_it():
    known = recording("spotify", "deezer")
    join = join_rule(known, known)
    assert (join.kind, join.recording_id, join.other_id) == ("confirmed", known.id, None)


def test_two_recordings_without_conflict_merge_into_the_older():
    older, newer = recording("spotify", "deezer", age_s=60), recording("tidal", "youtube")
    for source, target in ((older, newer), (newer, older)):
        join = join_rule(source, target)
        assert (join.kind, join.recording_id, join.other_id) == ("merged", older.id, newer.id)


def test_of_two_recordings_made_at_once_the_smaller_id_survives():
    a, b = recording("spotify"), recording("deezer")
    b = Recording(b.id, a.created_at, b.providers, b.isrcs)
    survivor = min(a.id, b.id)
    assert join_rule(a, b).recording_id == survivor == join_rule(b, a).recording_id


def test_two_recordings_holding_tracks_of_one_provider_are_not_merged():
    source, target = recording("spotify", "deezer"), recording("tidal", "deezer")
    join = join_rule(source, target)
    assert (join.kind, join.recording_id, join.other_id) == ("refused", source.id, target.id)
    assert "deezer" in join.reason


def test_two_recordings_whose_isrcs_disagree_are_not_merged():
    source = recording("spotify", isrcs=("GBAAA9800006",))
    target = recording("tidal", isrcs=("USXXX0000001",))
    assert join_rule(source, target).kind == "refused"
    assert "ISRC" in join_rule(source, target).reason


def test_the_matchs_own_isrcs_count():
    source, target = recording("spotify", isrcs=("GBAAA9800006",)), recording("tidal")
    # The target track's ISRC, told by the match, disagrees with the source recording's.
    assert join_rule(source, target, None, "USXXX0000001").kind == "refused"
    # ... or agrees.
    assert join_rule(source, target, None, "GBAAA9800006").kind == "merged"
    # An ISRC shared among several is agreement.
    target = recording("tidal", isrcs=("USXXX0000001",))
    assert join_rule(source, target, "USXXX0000001", None).kind == "merged"


def test_isrcs_on_one_side_only_do_not_stop_a_merge():
    assert join_rule(recording("spotify", isrcs=("GBAAA9800006",)), recording("tidal")).kind == "merged"
    assert join_rule(recording("spotify"), recording("tidal")).kind == "merged"


def test_new_tracks_in_order_each_once():
    a, b = TrackKey("spotify", "a"), TrackKey("deezer", "b")
    assert new_tracks([a, b], set()) == [a, b]
    assert new_tracks([a, b], {a}) == [b]
    assert new_tracks([a, a], set()) == [a]
    assert new_tracks([a, b], {a, b}) == []


# ---- what is fit to store


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("GBAAA9800006", "GBAAA9800006"),
        (" gb-aaa-98-00006 ", "GBAAA9800006"),
        ("GB AAA 98 00006", "GBAAA9800006"),
        ("GB.AAA.98.00006", "GBAAA9800006"),
        ("GBAAA980000", None),  # too short
        ("GBAAA98000061", None),  # too long
        ("G1AAA9800006", None),  # the country is letters
        ("GBAAA98O0006", None),  # the designation is digits
        ("GBAAA9800006\x00", "GBAAA9800006"),  # what is no letter or digit goes, NUL too
        ("", None),
        (None, None),
        ("\uff27\uff22AAA9800006", None),  # full-width letters are no ISRC
    ],
)
def test_isrcs_are_normalised_or_ignored(raw, kept):
    assert normalised_isrc(raw) == kept


def test_a_track_id_with_a_nul_cannot_be_stored():
    with pytest.raises(UnstorableTrack):
        track_key(TrackRef(provider="spotify", provider_track_id="a\x00b"))
    assert track_key(TrackRef(provider="spotify", provider_track_id="a b")) == TrackKey("spotify", "a b")


def test_a_lookup_id_needs_a_provider_and_a_storable_id():
    assert lookup_id("spotify", "x") == TrackKey("spotify", "x")
    assert lookup_id(None, "x") is None
    assert lookup_id("spotify", None) is None
    assert lookup_id("spotify", "") is None
    assert lookup_id("spotify", "x\x00") is None


def test_the_description_is_made_fit_to_store():
    event = matched(
        title="Tear\x00drop",
        artists=["Massive\x00 Attack", "", "  ", "x" * 10_000],
        duration_ms=MAX_DURATION_MS + 1,
    )
    description = describe(event)
    assert description.title == "Teardrop"
    assert description.artists == ("Massive Attack", "x" * MAX_TEXT)
    assert description.duration_ms is None
    assert describe(matched()).duration_ms == 330_773
    assert describe(matched(duration_ms=10**30)).duration_ms is None
