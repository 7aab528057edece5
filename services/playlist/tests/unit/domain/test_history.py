"""Versions kept as edits with few snapshots, replayed exactly; the diff between any two."""

import random
import uuid
from datetime import UTC, datetime

from pm_playlist.domain.entries import Entry, Insert, Move, Remove, Reorder, Replace
from pm_playlist.domain.history import SNAPSHOT_EVERY, diff, needs_snapshot, replay

AT = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def entries(n: int, start: int = 0) -> tuple[Entry, ...]:
    return tuple(Entry(uuid.UUID(int=start + i + 1), uuid.UUID(int=start + i), AT) for i in range(n))


def test_snapshots_only_where_they_pay():
    assert needs_snapshot(1, Insert(0, entries(1)), 0)
    assert needs_snapshot(7, Replace(entries(1)), 1)
    assert not needs_snapshot(2, Remove((uuid.UUID(int=1),)), 1)
    assert not needs_snapshot(SNAPSHOT_EVERY, Remove((uuid.UUID(int=1),)), 1)
    assert needs_snapshot(SNAPSHOT_EVERY + 1, Remove((uuid.UUID(int=1),)), 1)


def test_a_long_history_replays_exactly_from_its_snapshots():
    """1,000 random edits of a 2,000-entry playlist: every version rebuilt from its nearest snapshot
    and the edits after it equals the list as it was; snapshots stay about one in SNAPSHOT_EVERY."""
    rng = random.Random(14)
    current = entries(2000)
    states, edits, snapshots = {1: current}, {}, {1: current}
    last_snapshot, next_id = 1, 100_000
    for version in range(2, 1002):
        kind = rng.choice(["insert", "remove", "move", "reorder"] if version % 300 else ["replace"])
        if kind == "insert":
            edit = Insert(rng.randint(0, len(current)), entries(rng.randint(1, 5), start=next_id))
            next_id += 10
        elif kind == "remove":
            edit = Remove(tuple(e.id for e in rng.sample(current, 3)))
        elif kind == "move":
            chosen = rng.sample(current, 4)
            edit = Move(tuple(e.id for e in chosen), rng.randint(0, len(current) - 4))
        elif kind == "reorder":
            order = [e.id for e in current]
            rng.shuffle(order)
            edit = Reorder(tuple(order))
        else:
            edit = Replace(tuple(rng.sample(current, len(current) // 2)))
        current = edit.apply(current)
        states[version], edits[version] = current, edit
        if needs_snapshot(version, edit, last_snapshot):
            snapshots[version], last_snapshot = current, version
    assert len(snapshots) <= 1 + 1000 // SNAPSHOT_EVERY + 1000 // 300
    for version in (2, 49, 50, 51, 299, 300, 301, 777, 1001):
        base = max(v for v in snapshots if v <= version)
        rebuilt = replay(snapshots[base], [edits[v] for v in range(base + 1, version + 1)])
        assert rebuilt == states[version], version


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


def test_a_diff_reports_the_fewest_moves():
    older = entries(5)
    newer = (older[4], *older[:4])  # the last one moved to the top: one move, not four
    assert [m.entry.id.int for m in diff(older, newer).moved] == [5]
