import pytest

from pm_provider_emulator.domain.playlist_ops import (
    PositionError,
    insert_at,
    move_range,
    move_to,
    remove_indexes,
)

L = list("ABCDEFGHIJ")


def test_move_range_follows_spotify_semantics():
    # Spotify docs: range_start 9, insert_before 0 moves the last item first
    assert move_range(L, 9, 1, 0) == list("JABCDEFGHI")
    # move the first two after the fifth item
    assert move_range(L, 0, 2, 5) == list("CDEABFGHIJ")
    assert move_range(L, 2, 3, 10) == list("ABFGHIJCDE")
    assert move_range(L, 2, 2, 3) == L  # into itself: no change
    with pytest.raises(PositionError):
        move_range(L, 9, 2, 0)


def test_insert_move_remove():
    assert insert_at(L[:2], ["X"], 1) == ["A", "X", "B"]
    assert insert_at(L[:2], ["X"], None) == ["A", "B", "X"]
    with pytest.raises(PositionError):
        insert_at(L[:2], ["X"], 3)
    assert move_to(L[:3], 0, 2) == ["B", "C", "A"]
    assert remove_indexes(L[:3], {0, 2}) == ["B"]
