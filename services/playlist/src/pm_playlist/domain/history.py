"""A playlist's versions, kept compactly, and the difference between two of them (pure).

Every change is a version: version 1 is the playlist as created (or imported), each later one the edit
that made it from the one before (domain/entries.py). The history keeps the edits, not copies of the
list, and a full snapshot only where one pays: at every edit that replaces the whole list (an import
that changed it, a restore) and after SNAPSHOT_EVERY versions without one. So a version is at most
SNAPSHOT_EVERY - 1 edits away from a snapshot, and a 10,000-entry playlist edited 1,000 times keeps
about 20 snapshots and 1,000 small edits, not 10 million entries.

Restoring version n is a new version: a ``Replace`` with the entries of version n (the history goes on;
nothing is rewritten).
"""

from __future__ import annotations

import uuid
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

from pm_playlist.domain.entries import Edit, Entries, Entry, Replace

SNAPSHOT_EVERY = 50


def needs_snapshot(version: int, edit: Edit, last_snapshot: int) -> bool:
    """Whether version ``version``, made by ``edit``, is kept whole (``last_snapshot``: the newest
    version kept whole before it; version 1 always is)."""
    return version == 1 or isinstance(edit, Replace) or version - last_snapshot >= SNAPSHOT_EVERY


def replay(snapshot: Entries, edits: Sequence[Edit]) -> Entries:
    """The entries of a version: its nearest snapshot at or before it, and the edits after that, in order."""
    entries = snapshot
    for edit in edits:
        entries = edit.apply(entries)
    return entries


@dataclass(frozen=True, slots=True)
class Moved:
    entry: Entry
    from_position: int
    to_position: int


@dataclass(frozen=True, slots=True)
class Diff:
    """From one version to another: entries added (with their position in the newer), removed (with their
    position in the older), and moved (the fewest entries whose moving explains the new order)."""

    added: tuple[tuple[int, Entry], ...]
    removed: tuple[tuple[int, Entry], ...]
    moved: tuple[Moved, ...]

    @property
    def unchanged(self) -> bool:
        return not (self.added or self.removed or self.moved)


def diff(older: Entries, newer: Entries) -> Diff:
    """What changed from ``older`` to ``newer`` (entries compared by id). Moves: the entries kept in both
    that are not in a longest run in the same relative order (O(n log n))."""
    older_index = {entry.id: i for i, entry in enumerate(older)}
    newer_ids = {entry.id for entry in newer}
    added = tuple((i, entry) for i, entry in enumerate(newer) if entry.id not in older_index)
    removed = tuple((i, entry) for i, entry in enumerate(older) if entry.id not in newer_ids)
    kept = [(i, entry) for i, entry in enumerate(newer) if entry.id in older_index]
    staying = _longest_increasing({entry.id: older_index[entry.id] for _, entry in kept}, kept)
    moved = tuple(Moved(entry, older_index[entry.id], i) for i, entry in kept if entry.id not in staying)
    return Diff(added, removed, moved)


def _longest_increasing(older_index: dict[uuid.UUID, int], kept: list[tuple[int, Entry]]) -> set[uuid.UUID]:
    """The ids of one longest subsequence of ``kept`` (newer order) whose older positions increase."""
    tails: list[int] = []  # the smallest older position ending a run of each length
    tail_at: list[int] = []  # index into kept of that run's last element
    previous = [-1] * len(kept)
    for k, (_, entry) in enumerate(kept):
        position = older_index[entry.id]
        length = bisect_left(tails, position)
        if length == len(tails):
            tails.append(position)
            tail_at.append(k)
        else:
            tails[length] = position
            tail_at[length] = k
        previous[k] = tail_at[length - 1] if length > 0 else -1
    staying: set[uuid.UUID] = set()
    k = tail_at[-1] if tail_at else -1
    while k != -1:
        staying.add(kept[k][1].id)
        k = previous[k]
    return staying
