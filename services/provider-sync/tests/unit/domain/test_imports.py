"""The import's pure parts: provider answers made safe for an event (whatever they hold), the digests
that tell what changed, the parts a playlist is sent in, what to send, and how a refusal pauses."""

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from pm_contracts.envelope import Envelope
from pm_contracts.library import (
    MAX_DESCRIPTION,
    MAX_ENTRIES_PER_PART,
    MAX_ID,
    MAX_NAME,
    ImportedPlaylist,
    LibraryImportFinished,
    PlaylistImported,
)
from pm_contracts.provider_links import waiting_for_link
from pm_contracts.providers import ProviderName
from pm_platform.outbox import MAX_EVENT_BYTES
from pm_provider_sync.domain.imports import (
    LIKED_ID,
    MAX_LISTED,
    MAX_PARTS,
    PART_BYTES,
    ProviderStats,
    ReadEntries,
    Remembered,
    Send,
    change_marker,
    clean,
    cut,
    details_digest,
    import_result,
    imported_entry,
    imported_playlist,
    imported_track,
    is_read_only,
    liked_collection,
    listed_ids,
    must_read,
    progress,
    progress_message,
    split_parts,
    usable_id,
    what_to_send,
)
from pm_provider_sync.domain.pauses import QUOTA_RESET_MARGIN, QUOTA_RESET_UNKNOWN, pause_for, waits_in_place
from pm_providers.errors import (
    Forbidden,
    ProviderUnavailable,
    QuotaExceeded,
    RateLimited,
    ReconsentRequired,
    Unauthorized,
)
from pm_providers.models import MediaType, ProviderPlaylist, ProviderTrack

SPOTIFY, DEEZER, YOUTUBE = ProviderName.SPOTIFY, ProviderName.DEEZER, ProviderName.YOUTUBE
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
# What a hostile or broken provider could answer in one text field: long, NULs, lone surrogates, marks,
# control characters (escaped as \u0001: six bytes each), four-byte characters.
HOSTILE = ("\x00\ud800\x01e\u0301😀\udfff" * 3000)[:20_000]


def track(n: int = 0, **fields) -> ProviderTrack:
    values = {
        "provider": SPOTIFY,
        "id": f"track{n}",
        "title": f"Song {n}",
        "artists": ("Artist",),
        "album": "Album",
        "duration_ms": 200_000,
        "isrc": "GBAAA9800006",
        "position": n,
        "added_at": NOW,
    }
    return ProviderTrack(**(values | fields))


def playlist(**fields) -> ProviderPlaylist:
    values = {
        "provider": SPOTIFY,
        "id": "3cEYpjA9oz9GiPac4AsH4n",
        "name": "Trip-hop classics",
        "is_owner": True,
        "snapshot_id": "MTAsZjM5",
    }
    return ProviderPlaylist(**(values | fields))


def hostile_track(n: int = 0) -> ProviderTrack:
    return track(
        n,
        id="x" * 500,
        title=HOSTILE,
        artists=tuple(HOSTILE[:1000] for _ in range(500)),
        album=HOSTILE,
        duration_ms=-5,
        isrc=HOSTILE,
        release_date=date(1998, 4, 20),
        media_type=MediaType.VIDEO,
    )


def hostile_playlist() -> ProviderPlaylist:
    return playlist(
        name=HOSTILE,
        description=HOSTILE * 10,
        owner_id="o" * 300,
        owner_name=HOSTILE,
        image_url="https://i.example/" + "a" * 5000,
        snapshot_id="s" * 1000,
    )


def envelope_bytes(event_type: str, data) -> int:
    """The event's size as the outbox measures it (pm_platform.outbox.add_event)."""
    envelope = Envelope(
        source="/services/provider-sync",
        type=event_type,
        subject=str(uuid.uuid4()),
        schemaversion=1,
        correlationid="c" * 32,
        data=data.model_dump(mode="json"),
    )
    return len(envelope.model_dump_json().encode())


# ---- text and ids ------------------------------------------------------------------------------------


def test_text_loses_what_postgresql_and_utf8_refuse_and_keeps_the_rest():
    assert clean("a\x00b") == "ab"
    assert clean("a\ud800b") == "a\ufffdb"
    assert clean("\ud83d\ude00") == "\ufffd\ufffd"  # JSON joins escaped pairs: these are debris
    assert clean("Björk · Jóga 😀") == "Björk · Jóga 😀"
    clean(HOSTILE).encode("utf-8")  # whatever came in, it encodes


def test_text_is_cut_to_its_field_without_splitting_a_character():
    assert cut(None, 10) is None
    assert cut("x" * 600, MAX_NAME) == "x" * MAX_NAME
    family = "👩\u200d👩\u200d👧"
    assert not cut("ab" + family, 4).endswith("\u200d")  # no joiner left dangling
    assert cut("e\u0301" * 3, 2) == "é" * 2  # NFC: a letter keeps its mark
    assert len(cut(HOSTILE, MAX_NAME)) <= MAX_NAME


def test_ids_are_never_cut():
    assert usable_id("3cEYpjA9oz9GiPac4AsH4n") == "3cEYpjA9oz9GiPac4AsH4n"
    assert usable_id("x" * (MAX_ID + 1)) is None
    assert usable_id("") is None and usable_id("\x00") is None and usable_id(None) is None


def test_a_long_change_marker_keeps_telling_versions_apart():
    assert change_marker("MTAsZjM5") == "MTAsZjM5"
    long_a, long_b = "a" * 300 + "1", "a" * 300 + "2"
    assert change_marker(long_a) != change_marker(long_b)
    assert change_marker(long_a) == change_marker(long_a)
    assert len(change_marker(long_a)) <= MAX_ID
    assert change_marker(None) is None and change_marker("") is None


# ---- the contract's values ---------------------------------------------------------------------------


def test_a_track_as_sent():
    sent = imported_track(
        track(1, explicit=True, available=False, release_date=date(1998, 4, 20), is_local=False)
    )
    assert sent.model_dump() == {
        "provider_track_id": "track1",
        "title": "Song 1",
        "artists": ["Artist"],
        "album": "Album",
        "duration_ms": 200_000,
        "isrc": "GBAAA9800006",
        "explicit": True,
        "release_date": date(1998, 4, 20),
        "media_type": "track",
        "is_local": False,
        "available": False,
    }
    assert imported_entry(track(1)).added_at == NOW


def test_a_hostile_track_still_fits_the_contract_and_stays_small():
    sent = imported_entry(hostile_track())
    track_ = sent.track
    assert track_.provider_track_id is None and track_.isrc is None and track_.duration_ms is None
    assert len(track_.title) <= MAX_NAME and len(track_.album or "") <= MAX_NAME
    assert len(track_.artists) > 0 and sum(len(a) for a in track_.artists) <= 1_000
    assert track_.media_type == "video" and track_.release_date == date(1998, 4, 20)
    assert len(sent.model_dump_json().encode()) < 25_000


def test_a_playlist_as_sent():
    sent = imported_playlist(
        playlist(description="Bristol", public=True, collaborative=False, owner_id="me", owner_name="Me")
    )
    assert sent == ImportedPlaylist(
        provider_playlist_id="3cEYpjA9oz9GiPac4AsH4n",
        name="Trip-hop classics",
        description="Bristol",
        public=True,
        collaborative=False,
        owner_id="me",
        owner_name="Me",
        change_marker="MTAsZjM5",
    )
    assert imported_playlist(playlist(id="p" * 300)) is None  # no id to send it under


def test_a_hostile_playlist_still_fits_the_contract():
    sent = imported_playlist(hostile_playlist())
    assert sent is not None
    assert len(sent.name) <= MAX_NAME and len(sent.description or "") <= MAX_DESCRIPTION
    assert sent.owner_id is None and sent.cover_url is None
    assert sent.change_marker is not None and sent.change_marker.startswith("sha256:")


@pytest.mark.parametrize(
    ("is_owner", "collaborative", "read_only"),
    [
        (True, False, False),
        (False, False, True),
        (False, None, True),
        (False, True, False),
        (None, None, False),
    ],
)
def test_followed_playlists_are_read_only_unless_collaborative(is_owner, collaborative, read_only):
    assert is_read_only(playlist(is_owner=is_owner, collaborative=collaborative)) is read_only
    assert imported_playlist(playlist(is_owner=is_owner, collaborative=collaborative)).read_only is read_only


def test_the_liked_collection_has_one_id_everywhere():
    spotify = liked_collection(SPOTIFY)
    assert (spotify.provider_playlist_id, spotify.collection, spotify.name) == (
        LIKED_ID,
        "liked",
        "Liked Songs",
    )
    assert spotify.change_marker is None  # no marker: its entries are compared
    loved = playlist(provider=DEEZER, id="13000000001", name="Loved Tracks", is_liked_collection=True)
    deezer = liked_collection(DEEZER, loved.model_copy(update={"snapshot_id": "7978d560"}))
    assert (deezer.provider_playlist_id, deezer.collection, deezer.name) == (
        LIKED_ID,
        "liked",
        "Loved Tracks",
    )
    assert deezer.change_marker == "7978d560" and not deezer.read_only


# ---- digests and parts -----------------------------------------------------------------------------------


def test_the_details_digest_ignores_the_marker_and_sees_everything_else():
    base = imported_playlist(playlist())
    assert details_digest(base) == details_digest(base.model_copy(update={"change_marker": "other"}))
    for change in ({"name": "Renamed"}, {"description": "x"}, {"public": True}, {"read_only": True}):
        assert details_digest(base) != details_digest(base.model_copy(update=change)), change


def read(tracks) -> ReadEntries:
    entries = ReadEntries()
    for t in tracks:
        assert entries.add(t)
    return entries


def test_the_entries_digest_sees_order_and_content():
    a, b = track(1), track(2)
    assert read([a, b]).digest == read([a, b]).digest
    assert read([a, b]).digest != read([b, a]).digest
    assert read([a, b]).digest != read([a, b.model_copy(update={"title": "Other"})]).digest
    assert read([]).digest != read([a]).digest


def test_parts_hold_at_most_the_contracts_entries_in_order():
    entries = read(track(n) for n in range(2 * MAX_ENTRIES_PER_PART + 500))
    parts = entries.parts()
    assert [len(p) for p in parts] == [MAX_ENTRIES_PER_PART, MAX_ENTRIES_PER_PART, 500]
    assert [e for p in parts for e in p] == entries.entries
    assert read([]).parts() == [[]]  # an empty playlist is one empty part


def test_parts_are_cut_by_their_encoded_size_too():
    entries = [imported_entry(track(n)) for n in range(10)]
    sizes = [100] * 10
    parts = split_parts(entries, sizes, max_entries=100, max_bytes=350)  # 3 entries and 2 commas fit
    assert [len(p) for p in parts] == [3, 3, 3, 1]
    assert split_parts(entries[:2], [500, 10], max_bytes=100) == [[entries[0]], [entries[1]]]


def test_a_part_of_hostile_entries_with_hostile_details_is_still_one_sendable_event():
    entries = read(hostile_track(n) for n in range(300))
    parts = entries.parts()
    assert len(parts) > 1  # the bytes decide, not the count
    details = imported_playlist(hostile_playlist())
    for number, part in enumerate(parts, start=1):
        event = PlaylistImported(
            user_id=uuid.uuid4(),
            job_id=uuid.uuid4(),
            provider=SPOTIFY,
            playlist=details,
            part=number,
            parts=len(parts),
            entries=part,
            read_at=NOW,
        )
        assert envelope_bytes("library.playlist_imported", event) <= MAX_EVENT_BYTES
    assert PART_BYTES < MAX_EVENT_BYTES


def test_a_playlist_too_large_for_the_contracts_parts_is_not_split():
    entries = ReadEntries(max_entries=3)
    assert [entries.add(track(n)) for n in range(4)] == [True, True, True, False]
    assert entries.too_many and entries.parts() is None
    assert PlaylistImported.model_fields["parts"].metadata[-1].le == MAX_PARTS


def test_the_end_event_lists_every_playlist_an_import_reads():
    ids = [f"{n:040d}" for n in range(MAX_LISTED)] + [LIKED_ID]
    end = LibraryImportFinished(
        user_id=uuid.uuid4(),
        job_id=uuid.uuid4(),
        provider=SPOTIFY,
        provider_playlist_ids=ids,
        finished_at=NOW,
    )
    assert envelope_bytes("library.import_finished", end) <= MAX_EVENT_BYTES
    assert listed_ids(["a", "b", "a", LIKED_ID]) == ["a", "b", LIKED_ID]


# ---- what to send ------------------------------------------------------------------------------------

SENT = Remembered(change_marker="v1", details_digest="d1", entries_digest="e1")


@pytest.mark.parametrize(
    ("previous", "marker", "read"),
    [
        (None, "v1", True),  # never imported
        (SENT, "v2", True),  # the provider says it changed
        (SENT, None, True),  # no marker (the liked songs, YouTube): read and compare
        (Remembered(None, "d1", "e1"), None, True),
        (SENT, "v1", False),  # the marker imported: no call
    ],
)
def test_reading_only_what_may_have_changed(previous, marker, read):
    assert must_read(previous, marker) is read


@pytest.mark.parametrize(
    ("previous", "details", "entries", "send"),
    [
        (None, "d1", "e1", Send.ENTRIES),
        (None, "d1", None, Send.DETAILS),  # unreadable: its details all the same
        (SENT, "d1", "e1", Send.NOTHING),  # the same marker, or read and the same
        (SENT, "d2", "e1", Send.DETAILS),  # renamed only
        (SENT, "d1", "e2", Send.ENTRIES),
        (SENT, "d2", "e2", Send.ENTRIES),  # the parts carry the details too
        (SENT, "d1", None, Send.NOTHING),  # now unreadable, details unchanged
        (SENT, "d2", None, Send.DETAILS),
        (Remembered("v1", "d1", None), "d1", "e1", Send.ENTRIES),  # readable again
    ],
)
def test_sending_only_what_changed(previous, details, entries, send):
    assert what_to_send(previous, details, entries) is send


# ---- pausing -------------------------------------------------------------------------------------------


def test_a_revoked_link_pauses_until_the_user_links_again():
    for error in (ReconsentRequired("invalid_grant"), Unauthorized("no linked account")):
        pause = pause_for(SPOTIFY, error, NOW)
        assert (pause.waiting_for, pause.code, pause.resume_at) == (
            waiting_for_link("spotify"),
            "reconsent-required",
            None,
        )
        assert "Spotify" in pause.message


def test_a_used_up_quota_pauses_until_it_resets():
    resets = NOW + timedelta(hours=20)
    pause = pause_for(YOUTUBE, QuotaExceeded("daily units", resets_at=resets), NOW)
    assert (pause.waiting_for, pause.code) == ("provider-quota:youtube", "provider-quota")
    assert pause.resume_at == resets + QUOTA_RESET_MARGIN
    assert "2026-12-04 08:00:02 UTC" in pause.message
    unknown = pause_for(DEEZER, QuotaExceeded("code 4"), NOW)
    assert unknown.resume_at == NOW + QUOTA_RESET_UNKNOWN + QUOTA_RESET_MARGIN
    past = pause_for(YOUTUBE, QuotaExceeded("daily units", resets_at=NOW - timedelta(hours=1)), NOW)
    assert past.resume_at == NOW + QUOTA_RESET_MARGIN


def test_a_long_retry_after_pauses_a_short_one_is_waited():
    long = RateLimited("slow down", retry_after=3600)
    short = RateLimited("slow down", retry_after=30)
    assert waits_in_place(short) and not waits_in_place(long)
    pause = pause_for(SPOTIFY, long, NOW)
    assert (pause.waiting_for, pause.resume_at) == ("provider-rate-limit:spotify", NOW + timedelta(hours=1))


def test_other_refusals_do_not_pause():
    assert pause_for(SPOTIFY, ProviderUnavailable("503"), NOW) is None
    assert pause_for(SPOTIFY, Forbidden("scope"), NOW) is None


# ---- progress and result ---------------------------------------------------------------------------------


def test_progress_goes_by_providers_then_by_playlists():
    assert progress(0, 2, 0, 10) == 0
    assert progress(0, 2, 5, 10) == 0.25
    assert progress(1, 2, 0, 0) == 0.5
    assert progress(2, 2, 0, 0) == 1
    assert progress_message(SPOTIFY, 12, 40) == "spotify: 12 of 40 playlists"


def test_the_result_has_each_provider_and_the_totals():
    spotify = ProviderStats(playlists_seen=12, imported=10, unchanged=2, tracks_read=500, calls=25)
    deezer = ProviderStats(playlists_seen=3, imported=1, unchanged=1, skipped=1, tracks_read=20, calls=4)
    result = import_result({"spotify": spotify.to_dict(), "deezer": deezer.to_dict()})
    assert result["providers"]["spotify"]["calls"] == 25
    assert (result["playlists_seen"], result["imported"], result["unchanged"], result["skipped"]) == (
        15,
        11,
        3,
        1,
    )
    assert (result["tracks_read"], result["calls"]) == (520, 29)
