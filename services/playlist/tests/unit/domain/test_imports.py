"""A re-import keeps the entries that stay, and the library knows a provider's track by its id (a
file's track by the first id it names, in PROVIDERS order)."""

import uuid
from datetime import UTC, datetime

from pm_contracts.library import FileEntry, FileTrack, ImportedTrack, RestoredEntry, RestoredTrack
from pm_playlist.domain.entries import Entry
from pm_playlist.domain.history import edits_between
from pm_playlist.domain.imports import (
    IncomingEntry,
    TrackKey,
    derived_playlist_id,
    file_entries,
    file_track_record,
    reconcile,
    restore_target,
    restored_entries,
    restored_track_records,
    track_identity,
    track_record,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
A, B, C = (uuid.UUID(int=i) for i in (1, 2, 3))


def _entries(*tracks):
    return tuple(Entry(uuid.uuid4(), t, T0) for t in tracks)


def _incoming(*tracks):
    return [IncomingEntry(t, datetime(2026, 2, 1, tzinfo=UTC), "provider") for t in tracks]


def test_entries_that_stay_keep_their_id_and_date_and_only_changes_are_edits():
    current = _entries(A, B, C)
    new = reconcile(current, _incoming(C, A, B))
    assert [e.id for e in new] == [current[2].id, current[0].id, current[1].id]
    assert all(e.added_at == T0 for e in new)
    edit = edits_between(current, new)
    assert edit is not None and edit.size <= 2  # one move, not three new entries


def test_the_kth_copy_of_a_track_is_the_kth_copy_it_was():
    current = _entries(A, B, A)
    new = reconcile(current, _incoming(A, A, A, B))
    assert [e.id for e in new[:2]] == [current[0].id, current[2].id]
    assert new[2].id not in {e.id for e in current} and new[2].added_at.month == 2
    assert new[3].id == current[1].id


def test_an_unchanged_reimport_is_no_edit():
    current = _entries(A, B, C)
    assert edits_between(current, reconcile(current, _incoming(A, B, C))) is None


def test_a_track_is_known_by_its_provider_id_or_by_its_metadata():
    named = ImportedTrack(provider_track_id="abc", title="X")
    assert track_identity("spotify", named) == "spotify:abc"
    assert track_identity("deezer", named) == "deezer:abc"
    local = ImportedTrack(title="My Demo", artists=["Me"], duration_ms=1000, is_local=True)
    same = ImportedTrack(title="my demo!", artists=["ME"], duration_ms=1000, is_local=True)
    other = ImportedTrack(title="My Demo", artists=["Me"], duration_ms=2000, is_local=True)
    assert track_identity("spotify", local) == track_identity("youtube", same)
    assert track_identity("spotify", local) != track_identity("spotify", other)
    assert track_identity("spotify", local).startswith("local:")


def test_a_file_track_is_known_by_the_first_provider_id_it_names_and_keeps_them_all():
    track = FileTrack(title="X", provider_ids={"youtube": "y1", "tidal": "t1", "deezer": "d1"})
    record = file_track_record(track)
    assert record.identity == "deezer:d1"
    assert record.provider_ids == (("deezer", "d1"), ("tidal", "t1"), ("youtube", "y1"))
    with_spotify = track.model_copy(update={"provider_ids": {**track.provider_ids, "spotify": "s1"}})
    assert file_track_record(with_spotify).identity == "spotify:s1"


def test_a_file_track_without_ids_is_the_local_track_a_provider_import_would_make():
    described = {
        "title": "My Demo",
        "artists": ["Me"],
        "album": "Tapes",
        "duration_ms": 1000,
        "is_local": True,
    }
    record = file_track_record(FileTrack(**described))
    assert record.provider_ids == () and record.is_local
    assert record.identity == track_identity("spotify", ImportedTrack(**described))
    assert record.identity == track_record(None, ImportedTrack(**described)).identity
    assert record.identity.startswith("local:")


def test_a_file_tracks_isrc_is_normalised_and_a_broken_one_dropped():
    assert file_track_record(FileTrack(title="X", isrc="gb-aaa-98-00004")).isrc == "GBAAA9800004"
    assert file_track_record(FileTrack(title="X", isrc="not an isrc")).isrc is None


def test_a_described_track_keeps_the_identity_it_had():
    named = ImportedTrack(provider_track_id="abc", title="X")
    assert track_record("deezer", named).identity == "deezer:abc"
    assert track_record("deezer", named).provider_ids == (("deezer", "abc"),)
    assert track_record(None, named).identity == "local:abc"


def test_file_entries_keep_the_files_order_and_date_else_when_it_was_read():
    read_at = datetime(2026, 3, 1, tzinfo=UTC)
    entries = [
        FileEntry(track=FileTrack(title="a"), added_at=T0),
        FileEntry(track=FileTrack(title="b")),
        FileEntry(track=FileTrack(title="c"), added_at=datetime(2026, 2, 1, 8, 30)),  # no zone: UTC
    ]
    ids = iter(uuid.UUID(int=100 + i) for i in range(3))
    made = file_entries(entries, [C, A, C], read_at, "user-1", new_id=lambda: next(ids))
    assert [(e.id.int, e.track_id) for e in made] == [(100, C), (101, A), (102, C)]
    assert [e.added_at for e in made] == [T0, read_at, datetime(2026, 2, 1, 8, 30, tzinfo=UTC)]
    assert {e.added_by for e in made} == {"user-1"}


# ---------------------------------------------------------------- a restored backup

USER, OTHER = uuid.UUID(int=10), uuid.UUID(int=11)
JOB = uuid.UUID(int=20)


def test_a_derived_playlist_id_is_the_same_for_the_same_job_and_id_only():
    own = uuid.UUID(int=30)
    assert derived_playlist_id(JOB, own) == derived_playlist_id(JOB, own) != own
    assert derived_playlist_id(JOB, own) != derived_playlist_id(uuid.UUID(int=21), own)
    assert derived_playlist_id(JOB, own) != derived_playlist_id(JOB, uuid.UUID(int=31))


def test_a_restored_playlist_takes_its_own_id_else_the_derived_one_and_never_one_taken():
    own, derived = uuid.UUID(int=30), uuid.UUID(int=31)
    assert restore_target(USER, (own, derived), {}) == own
    assert restore_target(USER, (own, derived), {own: OTHER}) == derived
    assert restore_target(USER, (own, derived), {own: OTHER, derived: OTHER}) is None


def test_a_restore_the_user_has_already_under_either_id_is_not_made_again():
    own, derived = uuid.UUID(int=30), uuid.UUID(int=31)
    assert restore_target(USER, (own, derived), {own: USER}) is None
    assert restore_target(USER, (own, derived), {own: OTHER, derived: USER}) is None
    # The derived id is the user's (an earlier restore), the own one free again: still applied once.
    assert restore_target(USER, (own, derived), {derived: USER}) is None


def _restored(track_id, title="X", **ids):
    return RestoredTrack(track_id=track_id, title=title, artists=["Band"], provider_ids=ids)


def test_a_users_own_track_id_is_that_track_whatever_ids_the_backup_lists():
    mine = uuid.UUID(int=40)
    # Imported from Deezer, it gained a Spotify id: the backup's description would say spotify:s1.
    track = _restored(mine, spotify="s1", deezer="d1")
    records, new_ids = restored_track_records(USER, [track], {mine: TrackKey(USER, "deezer:d1")})
    assert [r.identity for r in records] == ["deezer:d1"]
    assert records[0].provider_ids == (("spotify", "s1"), ("deezer", "d1"))
    assert new_ids == {}


def test_a_free_track_id_is_the_new_tracks_and_one_taken_is_never_asked_for():
    free, taken = uuid.UUID(int=41), uuid.UUID(int=42)
    tracks = [_restored(free, spotify="s1"), _restored(taken, spotify="s2"), _restored(None, "Local")]
    records, new_ids = restored_track_records(USER, tracks, {taken: TrackKey(OTHER, "spotify:s2")})
    assert [r.identity for r in records][:2] == ["spotify:s1", "spotify:s2"]
    assert records[2].identity.startswith("local:")
    assert new_ids == {"spotify:s1": free}


def test_a_track_id_is_asked_for_by_one_identity_only_and_an_identity_asks_for_one_id():
    first, second = uuid.UUID(int=43), uuid.UUID(int=44)
    tracks = [
        _restored(first, spotify="s1"),
        _restored(first, spotify="s2"),  # a broken backup: one id, two recordings
        _restored(second, spotify="s1"),  # two ids of one recording (merged here)
    ]
    _, new_ids = restored_track_records(USER, tracks, {})
    assert new_ids == {"spotify:s1": first}


def test_a_restored_track_keeps_its_release_date_and_availability():
    track = RestoredTrack(title="X", release_date="1998-04-20", available=False, isrc="gb-aaa-98-00004")
    [record], _ = restored_track_records(USER, [track], {})
    assert (record.release_date.isoformat(), record.available, record.isrc) == (
        "1998-04-20",
        False,
        "GBAAA9800004",
    )
    assert file_track_record(FileTrack(title="X")).release_date is None


def test_restored_entries_keep_their_ids_dates_and_authors_in_order():
    ids = [uuid.UUID(int=50 + i) for i in range(3)]
    entries = [
        RestoredEntry(entry_id=ids[0], track=_restored(None), added_at=T0, added_by="someone"),
        RestoredEntry(entry_id=ids[1], track=_restored(None), added_at=datetime(2026, 2, 1, 8, 30)),
        RestoredEntry(entry_id=ids[2], track=_restored(None), added_at=T0),
    ]
    made = restored_entries(entries, [C, A, C])
    assert [(e.id, e.track_id, e.added_by) for e in made] == [
        (ids[0], C, "someone"),
        (ids[1], A, None),
        (ids[2], C, None),
    ]
    assert [e.added_at for e in made] == [T0, datetime(2026, 2, 1, 8, 30, tzinfo=UTC), T0]  # no zone: UTC


def test_an_entry_id_given_twice_is_the_first_entrys_only():
    same = uuid.UUID(int=60)
    entries = [RestoredEntry(entry_id=same, track=_restored(None), added_at=T0) for _ in range(3)]
    fresh = iter(uuid.UUID(int=70 + i) for i in range(2))
    made = restored_entries(entries, [A, B, C], new_id=lambda: next(fresh))
    assert [e.id.int for e in made] == [60, 70, 71]
