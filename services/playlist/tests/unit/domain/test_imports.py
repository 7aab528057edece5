"""A re-import keeps the entries that stay, and the library knows a provider's track by its id (a
file's track by the first id it names, in PROVIDERS order)."""

import uuid
from datetime import UTC, datetime

from pm_contracts.library import FileEntry, FileTrack, ImportedTrack
from pm_playlist.domain.entries import Entry
from pm_playlist.domain.history import edits_between
from pm_playlist.domain.imports import (
    IncomingEntry,
    file_entries,
    file_track_record,
    reconcile,
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
