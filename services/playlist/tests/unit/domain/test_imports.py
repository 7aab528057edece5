"""A re-import keeps the entries that stay, and the library knows a provider's track by its id."""

import uuid
from datetime import UTC, datetime

from pm_contracts.library import ImportedTrack
from pm_playlist.domain.entries import Entry
from pm_playlist.domain.history import edits_between
from pm_playlist.domain.imports import IncomingEntry, reconcile, track_identity

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
