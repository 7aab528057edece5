"""Sync's plan for a library playlist: the edit making the entries exactly the list given, or none when
they are already; refused beyond a playlist's size before anything is written."""

import uuid
from datetime import UTC, datetime
from typing import get_args

import pytest

from pm_contracts.playlists import ChangeKind
from pm_playlist.domain.entries import MAX_ENTRIES, EditRefused, Entry
from pm_playlist.usecases.sync import KIND, sync_plan

T0 = datetime(2026, 1, 1, tzinfo=UTC)
A, B, C = (uuid.UUID(int=i) for i in (1, 2, 3))


def _entries(*tracks):
    return tuple(Entry(uuid.uuid4(), t, T0) for t in tracks)


def test_the_plan_makes_the_list_exactly_the_tracks_keeping_the_entries_that_stay():
    current = _entries(A, B, C)
    planned = sync_plan(datetime(2026, 3, 1, tzinfo=UTC))(current, [C, A, A])
    assert planned is not None
    edit, new = planned
    assert [e.track_id for e in new] == [C, A, A]
    assert [new[0].id, new[1].id] == [current[2].id, current[0].id]
    assert edit.apply(current) == new  # the edit recorded replays to the list written


def test_the_same_list_again_is_no_edit():
    current = _entries(A, B, A)
    assert sync_plan(T0)(current, [A, B, A]) is None
    assert sync_plan(T0)((), []) is None


def test_more_tracks_than_a_playlist_holds_are_refused():
    with pytest.raises(EditRefused) as refused:
        sync_plan(T0)((), [A] * (MAX_ENTRIES + 1))
    assert refused.value.code == "playlist-too-large"


def test_the_version_kind_is_one_the_event_contract_knows():
    # record_entries sends the kind as playlist.entries_changed's ``change``: a kind the contract does
    # not list fails every write of it at the event, after the work.
    assert KIND in get_args(ChangeKind)
