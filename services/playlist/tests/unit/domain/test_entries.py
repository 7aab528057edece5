"""Edits of a playlist's entries: positions stay dense, an edit that cannot apply changes nothing."""

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pm_playlist.domain.entries import (
    MAX_ENTRIES,
    MAX_ENTRIES_PER_EDIT,
    Batch,
    EditRefused,
    Entry,
    Insert,
    Move,
    Remove,
    Reorder,
    Replace,
    edit_from_record,
    entries_from_records,
    entries_to_records,
)

AT = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def entries(n: int, start: int = 0) -> tuple[Entry, ...]:
    return tuple(
        Entry(uuid.UUID(int=start + i + 1), uuid.UUID(int=1000 + start + i), AT, "u") for i in range(n)
    )


def ids(items) -> list[int]:
    return [e.id.int for e in items]


E = entries(5)  # ids 1..5


def test_insert_anywhere_including_the_end():
    new = entries(2, start=10)  # ids 11, 12
    assert ids(Insert(0, new).apply(E)) == [11, 12, 1, 2, 3, 4, 5]
    assert ids(Insert(2, new).apply(E)) == [1, 2, 11, 12, 3, 4, 5]
    assert ids(Insert(5, new).apply(E)) == [1, 2, 3, 4, 5, 11, 12]


def test_remove_and_move_keep_positions_dense():
    assert ids(Remove((E[1].id, E[3].id)).apply(E)) == [1, 3, 5]
    # The moved entries keep their order and start at `to` of the result.
    assert ids(Move((E[3].id, E[0].id), 0).apply(E)) == [1, 4, 2, 3, 5]
    assert ids(Move((E[0].id,), 4).apply(E)) == [2, 3, 4, 5, 1]
    assert ids(Move((E[4].id, E[3].id), 1).apply(E)) == [1, 4, 5, 2, 3]


def test_reorder_names_every_entry_once():
    order = tuple(e.id for e in reversed(E))
    assert ids(Reorder(order).apply(E)) == [5, 4, 3, 2, 1]
    with pytest.raises(EditRefused) as refused:
        Reorder(order[:-1]).apply(E)
    assert refused.value.code == "not-a-reordering"
    with pytest.raises(EditRefused) as refused:
        Reorder((*order[:-1], order[0])).apply(E)
    assert refused.value.code == "not-a-reordering"


@pytest.mark.parametrize(
    ("edit", "code"),
    [
        (Insert(6, entries(1, start=10)), "position-out-of-range"),
        (Insert(-1, entries(1, start=10)), "position-out-of-range"),
        (Insert(0, ()), "empty-edit"),
        (Insert(0, entries(1)), "duplicate-entry"),  # id 1 is in the playlist already
        (Move((E[0].id,), 5), "position-out-of-range"),  # past the end: 4 is the last place
        (Move((E[0].id, E[1].id), 4), "position-out-of-range"),  # two moved: 3 is the last place
        (Move((E[0].id, E[0].id), 0), "duplicate-entry"),
        (Move((uuid.UUID(int=99),), 0), "unknown-entry"),  # another playlist's entry, say
        (Remove(()), "empty-edit"),
        (Remove((E[0].id, uuid.UUID(int=99))), "unknown-entry"),  # halfway wrong: nothing is removed
        (Replace((E[0], E[0])), "duplicate-entry"),
    ],
)
def test_an_edit_that_cannot_apply_is_refused_whole(edit, code):
    with pytest.raises(EditRefused) as refused:
        edit.apply(E)
    assert refused.value.code == code


def test_absurd_sizes_are_refused():
    with pytest.raises(EditRefused) as refused:
        Insert(0, entries(MAX_ENTRIES_PER_EDIT + 1, start=10)).apply(E)
    assert refused.value.code == "edit-too-large"
    with pytest.raises(EditRefused) as refused:
        Remove(tuple(uuid.UUID(int=i) for i in range(MAX_ENTRIES_PER_EDIT + 1))).apply(E)
    assert refused.value.code == "edit-too-large"


@pytest.mark.parametrize(
    "edit",
    [
        Insert(1, entries(2, start=10)),
        Remove((E[2].id,)),
        Move((E[2].id, E[4].id), 0),
        Reorder(tuple(e.id for e in reversed(E))),
        Replace(entries(3, start=20)),
    ],
)
def test_every_edit_is_written_down_and_read_back(edit):
    assert edit_from_record(edit.to_record()) == edit
    assert edit_from_record(edit.to_record()).apply(E) == edit.apply(E)


def test_a_record_that_is_no_edit_is_refused():
    with pytest.raises(ValueError, match="not an edit"):
        edit_from_record({"kind": "drop-table"})


def test_a_playlist_cannot_outgrow_its_bound():
    big = entries(MAX_ENTRIES - 1, start=1_000_000)
    assert len(Insert(0, entries(1)).apply(big)) == MAX_ENTRIES
    with pytest.raises(EditRefused) as refused:
        Insert(0, entries(2)).apply(big)
    assert refused.value.code == "playlist-too-large"


def test_a_batch_applies_whole_or_not_at_all():
    batch = Batch((Remove((E[0].id,)), Move((E[4].id,), 0)))
    assert ids(batch.apply(E)) == [5, 2, 3, 4]
    halfway_wrong = Batch((Remove((E[0].id,)), Move((E[0].id,), 0)))  # the second names a removed entry
    with pytest.raises(EditRefused) as refused:
        halfway_wrong.apply(E)
    assert refused.value.code == "unknown-entry"
    assert ids(E) == [1, 2, 3, 4, 5]  # nothing changed (tuples: nothing can)
    assert edit_from_record(batch.to_record()) == batch
    with pytest.raises(EditRefused):
        Batch(()).apply(E)


def test_times_without_a_zone_are_refused():
    with pytest.raises(ValueError, match="time zone"):
        Entry(uuid.UUID(int=1), uuid.UUID(int=2), datetime(2026, 12, 3, 12, 0))


@pytest.mark.parametrize(
    "record",
    [
        {"kind": "insert"},
        {"kind": "move", "entry_ids": ["x"], "to": 0},
        {"kind": "batch", "edits": [{"kind": "batch", "edits": []}]},
        {"kind": "remove", "entry_ids": None},
    ],
)
def test_a_broken_record_is_a_value_error(record):
    with pytest.raises(ValueError, match=r"not an edit|badly formed"):
        edit_from_record(record)


def _outcome(apply, current):
    try:
        return ids(apply(current))
    except EditRefused as exc:
        return exc.code


@settings(max_examples=400)
@given(
    size=st.integers(0, 20),
    # Each insert: how far after the previous one's entries it lands (negative: before them), and how
    # many entries it adds; ``reuse``: the last insert's ids are the playlist's (1) or the first's (2).
    inserts=st.lists(
        st.tuples(st.just(0) | st.integers(0, 2) | st.integers(-2, 6), st.integers(1, 3) | st.integers(0, 3)),
        min_size=2,
        max_size=8,
    ),
    reuse=st.sampled_from([0, 0, 0, 1, 2]),
)
def test_a_batch_of_inserts_applies_as_one_insert_after_another(size, inserts, reuse):
    """Batch applies a run of inserts in one pass when they land left to right: the same entries in the
    same order, or the same refusal, as applying them one by one (positions out of range, ids used
    twice or already in the playlist, empty inserts, out-of-order positions included)."""
    current = entries(size)
    edits, landed = [], 0
    for n, (gap, count) in enumerate(inserts):
        position = max(0, landed + gap)
        first = 100 + 10 * n
        if n == len(inserts) - 1 and reuse:
            first = 0 if reuse == 1 else 100
        edits.append(Insert(position, entries(count, start=first)))
        landed = position + count

    def one_by_one(entries_now):
        for edit in edits:
            entries_now = edit.apply(entries_now)
        return entries_now

    assert _outcome(Batch(tuple(edits)).apply, current) == _outcome(one_by_one, current)


def test_entries_written_and_read_back_keep_their_times_and_zones():
    paris = timezone(timedelta(hours=1))
    same_instant = (AT, AT.astimezone(paris))  # equal datetimes, two texts
    written = entries_to_records(
        [
            Entry(uuid.UUID(int=i + 1), uuid.UUID(int=100 + i), at, "u")
            for i, at in enumerate(same_instant * 2)
        ]
    )
    assert [r["added_at"] for r in written] == [t.isoformat() for t in same_instant * 2]
    read = entries_from_records(written)
    assert [e.added_at.utcoffset() for e in read] == [t.utcoffset() for t in same_instant * 2]
    assert entries_to_records(read) == written
