"""Sorting: stable, unknown values last in either direction, the result an ids-only reorder."""

import uuid
from datetime import UTC, date, datetime

from pm_playlist.domain.entries import Entry
from pm_playlist.domain.ordering import sorted_order
from pm_playlist.domain.tracks import Track


def item(n: int, title: str, artist: str | None, released: date | None, day: int) -> tuple[Entry, Track]:
    entry = Entry(uuid.UUID(int=n), uuid.UUID(int=100 + n), datetime(2026, 1, day, tzinfo=UTC))
    return entry, Track(title, (artist,) if artist else (), release_date=released)


ITEMS = [
    item(1, "Zebra", "Björk", date(2001, 1, 1), 5),
    item(2, "apple", "abba", None, 3),
    item(3, "Mango", None, date(1999, 1, 1), 4),
    item(4, "Éclair", "bjork", date(2010, 1, 1), 1),
]


def order(by, descending=False) -> list[int]:
    return [i.int for i in sorted_order(ITEMS, by, descending).entry_ids]


def test_sort_by_each_key():
    assert order("title") == [2, 4, 3, 1]  # accents and case do not count
    assert order("artist") == [2, 1, 4, 3]  # Björk and bjork tie: playlist order; no artist last
    assert order("added_at") == [4, 2, 3, 1]
    assert order("release_date") == [3, 1, 4, 2]


def test_descending_keeps_ties_stable_and_unknowns_last():
    assert order("artist", descending=True) == [1, 4, 2, 3]
    assert order("release_date", descending=True) == [4, 1, 3, 2]


def test_the_order_applies_as_a_reorder():
    reorder = sorted_order(ITEMS, "title")
    assert [e.id.int for e in reorder.apply(tuple(e for e, _ in ITEMS))] == [2, 4, 3, 1]


def test_a_name_of_punctuation_only_is_a_name():
    items = [item(1, "?", "!!!", None, 1), item(2, "b", "b", None, 2), item(3, "a", None, None, 3)]
    assert [i.int for i in sorted_order(items, "artist").entry_ids] == [1, 2, 3]
    assert [i.int for i in sorted_order(items, "title").entry_ids] == [1, 3, 2]
