"""Versions kept as edits with few snapshots, replayed exactly; the diff and the edits between two."""

import json
import random
import uuid
from datetime import UTC, datetime

import pytest

from pm_playlist.domain.entries import (
    MAX_ENTRIES_PER_EDIT,
    Batch,
    Entry,
    Insert,
    Move,
    Remove,
    Reorder,
    Replace,
    edit_from_record,
)
from pm_playlist.domain.history import (
    SNAPSHOT_EVERY,
    diff,
    edits_between,
    known_moves,
    needs_snapshot,
    replay,
    steps_of,
)

AT = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def entries(n: int, start: int = 0) -> tuple[Entry, ...]:
    return tuple(Entry(uuid.UUID(int=start + i + 1), uuid.UUID(int=start + i), AT) for i in range(n))


def stored(edit):
    """The edit as the history keeps it: written down as JSON and read back."""
    return edit_from_record(json.loads(json.dumps(edit.to_record())))


ONE = Remove((uuid.UUID(int=1),))


def test_snapshots_only_where_they_pay():
    one = (ONE.size, 1)
    assert needs_snapshot(1, Replace(entries(3)).size, 1, [], 3)
    assert not needs_snapshot(2, *one, [], 1000)
    # Edits naming as many entries as the list holds: reading them back costs a snapshot's worth.
    assert needs_snapshot(3, Reorder(tuple(e.id for e in entries(1000))).size, 1, [one], 1000)
    assert needs_snapshot(5, *one, [(Remove(tuple(e.id for e in entries(999))).size, 1)], 1000)
    assert not needs_snapshot(SNAPSHOT_EVERY, *one, [one] * (SNAPSHOT_EVERY - 2), 1000)
    assert needs_snapshot(SNAPSHOT_EVERY + 1, *one, [one] * (SNAPSHOT_EVERY - 1), 1000)
    # Replaying costs a pass per edit of a batch: those count towards SNAPSHOT_EVERY.
    assert needs_snapshot(4, 10, SNAPSHOT_EVERY - 2, [one, one], 100_000)
    # An edit larger than a request may make (a restore, an import) is never replayed.
    assert needs_snapshot(3, MAX_ENTRIES_PER_EDIT + 1, 2, [one], 100_000)


def _random_edit(rng: random.Random, current, next_id: int):
    kind = rng.choice(["insert", "remove", "move", "move", "reorder", "reimport"])
    if kind == "insert":
        return Insert(rng.randint(0, len(current)), entries(rng.randint(1, 5), start=next_id))
    if kind == "remove":
        return Remove(tuple(e.id for e in rng.sample(current, 3)))
    if kind == "move":
        return Move(tuple(e.id for e in rng.sample(current, 4)), rng.randint(0, len(current) - 4))
    if kind == "reorder" and rng.random() < 0.1:
        order = [e.id for e in current]
        rng.shuffle(order)
        return Reorder(tuple(order))
    # A re-import: a few entries gone, a few new, one moved; told as the edits between the two lists.
    newer = [e for e in current if rng.random() > 0.002]
    newer.insert(rng.randint(0, len(newer)), entries(1, start=next_id + 5)[0])
    newer.insert(rng.randint(0, len(newer)), newer.pop(rng.randrange(len(newer))))
    return edits_between(current, tuple(newer))  # None when the re-import changed nothing


def test_a_long_history_replays_exactly_and_stays_small():
    """1,000 random edits of a 2,000-entry playlist (re-imports and shuffles among them), each kept as
    JSON: every version rebuilt from its nearest snapshot and the stored edits after it equals the list
    as it was; at most SNAPSHOT_EVERY - 1 edits from a snapshot; and what the history keeps is a small
    fraction of 1,000 copies of the list."""
    rng = random.Random(14)
    current = entries(2000)
    states, kept_edits, snapshots, since = {1: current}, {}, {1: current}, []
    for version in range(2, 1002):
        edit = _random_edit(rng, current, 100_000 + 10 * version)
        if edit is None:
            continue
        current = edit.apply(current)
        states[version], kept_edits[version] = current, stored(edit)
        if needs_snapshot(
            version, edit.size, steps_of(edit), [(e.size, steps_of(e)) for e in since], len(current)
        ):
            snapshots[version], since = current, []
        else:
            since.append(edit)
    versions = sorted(states)
    bases = sorted(snapshots)
    for version in versions:
        base = max(v for v in bases if v <= version)
        between = [v for v in versions if base < v <= version]
        assert len(between) < SNAPSHOT_EVERY
        # Replayed: a sample, and every version next to a snapshot (where an off-by-one would show).
        if version % 10 == 0 or version - 1 in snapshots or version + 1 in snapshots:
            assert replay(snapshots[base], [kept_edits[v] for v in between]) == states[version], version
    kept = sum(len(s) for s in snapshots.values()) + sum(e.size for e in kept_edits.values())
    assert kept < 0.1 * 2000 * len(versions), kept


@pytest.mark.parametrize("seed", range(100))
def test_the_edits_between_two_lists_rebuild_the_newer_and_name_only_changes(seed):
    rng = random.Random(seed)
    older = entries(rng.randint(0, 40))
    newer = [e for e in older if rng.random() > 0.2] + list(entries(rng.randint(0, 5), start=100))
    if rng.random() < 0.3:
        rng.shuffle(newer)
    if newer and rng.random() < 0.5:
        newer.insert(rng.randint(0, len(newer) - 1), newer.pop())
    newer_t = tuple(newer)
    edit = edits_between(older, newer_t)
    if older == newer_t:
        assert edit is None
        return
    assert stored(edit).apply(older) == newer_t
    d = diff(older, newer_t)
    assert edit.size == len(d.removed) + 2 * len(d.moved) + len(d.added)


@pytest.mark.parametrize("seed", range(150))
def test_the_diff_explains_the_newer_list_with_the_fewest_moves(seed):
    """Removing, then taking the moved out and putting them and the added in at their new positions
    rebuilds `newer`; no smaller set of moved entries leaves the rest in their old relative order."""
    rng = random.Random(1000 + seed)
    older = entries(rng.randint(0, 9))
    newer = [e for e in older if rng.random() > 0.2] + list(entries(rng.randint(0, 3), start=100))
    rng.shuffle(newer)
    d = diff(older, tuple(newer))
    assert [e for _, e in d.added] == [e for e in newer if e not in older]
    assert [e for _, e in d.removed] == [e for e in older if e not in newer]
    for m in d.moved:
        assert older[m.from_position] == m.entry and newer[m.to_position] == m.entry
    kept = [e for e in newer if e in older]
    moved = {m.entry for m in d.moved}
    staying = [e for e in kept if e not in moved]
    assert staying == sorted(staying, key=older.index)  # the rest keep their relative order
    # Fewest: the longest run of kept entries in their old order is exactly what stays (brute force).
    best = 0
    for mask in range(1 << len(kept)):
        run = [kept[i] for i in range(len(kept)) if mask >> i & 1]
        if run == sorted(run, key=older.index):
            best = max(best, len(run))
    assert len(staying) == best


def test_the_diff_names_what_was_added_removed_and_moved():
    older = entries(6)  # ids 1..6
    added = entries(1, start=50)[0]  # id 51
    newer = (older[0], older[4], older[1], older[2], added, older[5])  # 4 removed, 5 moved up, 51 added
    d = diff(older, newer)
    assert [(i, e.id.int) for i, e in d.added] == [(4, 51)]
    assert [(i, e.id.int) for i, e in d.removed] == [(3, 4)]
    assert [(m.entry.id.int, m.from_position, m.to_position) for m in d.moved] == [(5, 4, 1)]
    assert diff(older, older).unchanged
    assert not diff(older, newer).unchanged
    assert isinstance(edits_between(older, newer), Batch)


def test_simple_edits_say_what_they_move():
    current = entries(4)
    assert known_moves(Move((current[3].id,), 0)) == {current[3].id}
    assert known_moves(Insert(0, entries(1, start=10))) == frozenset()
    assert known_moves(Remove((current[0].id,))) == frozenset()
    assert known_moves(Reorder(tuple(e.id for e in reversed(current)))) is None
    assert known_moves(Batch((Move((current[3].id,), 0), Remove((current[0].id,))))) is None


@pytest.mark.parametrize("seed", range(30))
def test_the_edits_between_two_lists_say_what_they_move_as_the_diff_does(seed):
    """A restore or a re-import is written without diffing the lists a second time: the entries its
    edit takes out and puts back are the diff's moved ones."""
    rng = random.Random(seed)
    older = entries(rng.randrange(0, 40))
    newer = list(older)
    for _ in range(rng.randrange(1, 8)):
        action = rng.choice(["move", "remove", "add"])
        if action == "move" and newer:
            newer.insert(rng.randrange(len(newer)), newer.pop(rng.randrange(len(newer))))
        elif action == "remove" and newer:
            newer.pop(rng.randrange(len(newer)))
        else:
            newer.insert(rng.randrange(len(newer) + 1), entries(1, start=1000 + rng.randrange(10**6))[0])
    newer_entries = tuple(dict.fromkeys(newer))
    changes, edit = diff(older, newer_entries), edits_between(older, newer_entries)
    assert (edit is None) == changes.unchanged
    assert edit is None or known_moves(edit) == {m.entry.id for m in changes.moved}
