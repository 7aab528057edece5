"""The catalog's enrichment as the library keeps and shows it: the newest event per recording wins, a
replay or an older one changes nothing, the tracks whose pages change are exactly those that gained,
lost or show something new, and what cannot be stored is refused before any write."""

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from pm_contracts.enrichment import EnrichedDate, EnrichedDuration, EnrichedText, TrackEnriched
from pm_contracts.transfers import TrackRef
from pm_playlist.domain.api import entry_view
from pm_playlist.domain.enrichment import (
    Enrichment,
    UnstorableEnrichment,
    enrichment_view,
    from_event,
    is_stale,
    shown_changed,
    tracks_to_refresh,
)
from pm_playlist.domain.playlists import EntryView

RECORDING = uuid.UUID("5d1f6e3a-8b0c-4d7e-9f2a-1b3c5d7e9f10")
MBID = uuid.UUID("2c1e8b3e-3a6f-4b5e-9a8e-6f0c1f1d2a3b")
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _event(at: datetime = T0, tracks=(("spotify", "s1"), ("deezer", "d1")), **fields) -> TrackEnriched:
    return TrackEnriched(
        recording_id=RECORDING,
        tracks=[TrackRef(provider=p, provider_track_id=i) for p, i in tracks],
        enriched_at=at,
        **fields,
    )


def test_only_the_known_fields_are_kept_each_with_its_source():
    recording, tracks = from_event(
        _event(
            isrc=EnrichedText(value="GBAAA9800006", source="spotify"),
            duration_ms=EnrichedDuration(value=330773, source="deezer"),
            release_date=EnrichedDate(value=date(1998, 4, 20), source="musicbrainz"),
            musicbrainz_id=MBID,
        )
    )
    assert recording.enriched_at == T0
    assert recording.enrichment == Enrichment(
        RECORDING,
        MBID,
        {
            "isrc": {"value": "GBAAA9800006", "source": "spotify"},
            "duration_ms": {"value": 330773, "source": "deezer"},
            "release_date": {"value": "1998-04-20", "source": "musicbrainz"},
        },
    )
    # Each track once, in one order (every writer locks their rows in the same order).
    assert tracks == [("deezer", "d1"), ("spotify", "s1")]


def test_a_track_named_twice_is_one_track():
    _, tracks = from_event(_event(tracks=[("spotify", "s1"), ("spotify", "s1"), ("deezer", "s1")]))
    assert tracks == [("deezer", "s1"), ("spotify", "s1")]


@pytest.mark.parametrize(
    "event",
    [
        _event(tracks=[("spotify", "ok"), ("deezer", "bad\x00id")]),
        _event(album=EnrichedText(value="Mezz\x00anine", source="deezer")),
        _event(isrc=EnrichedText(value="\x00", source="spotify")),
    ],
)
def test_a_nul_character_cannot_be_stored(event):
    with pytest.raises(UnstorableEnrichment, match="NUL"):
        from_event(event)


def test_only_a_newer_event_changes_anything():
    kept, _ = from_event(_event(T0))
    assert not is_stale(None, kept)
    assert is_stale(kept, from_event(_event(T0))[0])  # the same event again
    assert is_stale(kept, from_event(_event(T0 - timedelta(seconds=1)))[0])  # an older one, late
    assert not is_stale(kept, from_event(_event(T0 + timedelta(microseconds=1)))[0])


def test_a_newer_event_that_only_confirms_shows_nothing_new():
    album = EnrichedText(value="Mezzanine", source="deezer")
    kept, _ = from_event(_event(T0, album=album))
    assert shown_changed(None, kept)
    assert not shown_changed(kept, from_event(_event(T0 + timedelta(days=1), album=album))[0])
    other_source = EnrichedText(value="Mezzanine", source="musicbrainz")
    assert shown_changed(kept, from_event(_event(T0 + timedelta(days=1), album=other_source))[0])
    assert shown_changed(
        kept, from_event(_event(T0 + timedelta(days=1), album=album, musicbrainz_id=MBID))[0]
    )
    assert shown_changed(kept, from_event(_event(T0 + timedelta(days=1)))[0])  # the album is unknown now


def test_the_tracks_to_refresh():
    a, b, c, d = ("spotify", "a"), ("spotify", "b"), ("deezer", "c"), ("tidal", "d")
    # Nothing shown changed: only the tracks that lost the recording or became it.
    assert tracks_to_refresh([a, b, c], dropped=[c], claimed=[a, b, d], changed=False) == {c, d}
    # The fields changed: every track that is the recording now, and those that lost it.
    assert tracks_to_refresh([a, b, c], dropped=[c], claimed=[a, b, d], changed=True) == {a, b, c, d}
    # A track named that another recording's newer event claims is not this recording's: not claimed.
    assert tracks_to_refresh([], dropped=[], claimed=[a], changed=True) == {a}
    assert tracks_to_refresh([a], dropped=[], claimed=[a], changed=False) == set()


def test_the_api_shows_the_known_fields_with_their_sources_or_null():
    assert enrichment_view(None) is None
    shown = enrichment_view(
        Enrichment(
            RECORDING,
            None,
            {
                "album": {"value": "Mezzanine", "source": "deezer"},
                "isrc": {"value": "GBAAA9800006", "source": "musicbrainz"},
                "unknown_field": {"value": "x", "source": "spotify"},  # a field this version does not know
            },
        )
    )
    assert shown == {
        "recording_id": str(RECORDING),
        "musicbrainz_id": None,
        "fields": {
            "isrc": {"value": "GBAAA9800006", "source": "musicbrainz"},
            "album": {"value": "Mezzanine", "source": "deezer"},
        },
    }
    assert list(shown["fields"]) == ["isrc", "album"]


def _entry(enrichment: Enrichment | None) -> EntryView:
    return EntryView(
        position=0,
        id=uuid.uuid4(),
        added_at=T0,
        added_by=None,
        track_id=uuid.uuid4(),
        title="Teardrop",
        artists=["Massive Attack"],
        album=None,
        duration_ms=None,
        isrc="GBAAA9800006",
        explicit=None,
        release_date=None,
        provider_ids={"spotify": "s1"},
        media_type="track",
        is_local=False,
        available=True,
        enrichment=enrichment,
    )


def test_an_entrys_track_shows_the_enrichment_beside_its_own_fields():
    enrichment = Enrichment(
        RECORDING,
        MBID,
        {
            "album": {"value": "Mezzanine", "source": "deezer"},
            "isrc": {"value": "GBAAA9800007", "source": "musicbrainz"},
        },
    )
    track = entry_view(_entry(enrichment))["track"]
    # The provider's own fields stay what the provider said (no album; its own ISRC).
    assert (track["album"], track["isrc"]) == (None, "GBAAA9800006")
    assert track["enrichment"] == {
        "recording_id": str(RECORDING),
        "musicbrainz_id": str(MBID),
        "fields": {
            "isrc": {"value": "GBAAA9800007", "source": "musicbrainz"},
            "album": {"value": "Mezzanine", "source": "deezer"},
        },
    }
    assert entry_view(_entry(None))["track"]["enrichment"] is None
