"""A playlist's versions, kept compactly, and the difference between two of them (pure).

Every change is a version: version 1 is the playlist as created (or first imported), kept whole; each
later one is the edit that made it from the one before (domain/entries.py). Changes of the whole list
(a re-import, a restore) are kept as the edits between the two lists (:func:`edits_between`), so what
the history holds grows with what changed, not with the playlist's size. A full snapshot is kept again
once the edits since the last one name as many entries as the list holds (replaying them would cost
more than reading a snapshot), or after SNAPSHOT_EVERY versions: a version is at most SNAPSHOT_EVERY - 1
edits from its snapshot. A 10,000-entry playlist edited 1,000 times by small edits keeps about 20
snapshots and 1,000 small edits, not 10 million entries.

Restoring version n is a new version: the edits from the current list to version n's (nothing is
rewritten). A playlist may also begin with versions it had elsewhere (a backup that kept its history,
domain/imports.py's ``restored_versions``): its oldest kept version is kept whole, as version 1 is, and
the versions before it are none of the library's.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from pm_playlist.domain.entries import (
    MAX_ENTRIES_PER_EDIT,
    Batch,
    Edit,
    Entries,
    Entry,
    Insert,
    Move,
    Remove,
    SingleEdit,
)
from pm_playlist.domain.playlists import Playlist, Version
from pm_providers.domain.reorder import longest_increasing

SNAPSHOT_EVERY = 50


@dataclass(frozen=True, slots=True)
class KeptVersion:
    """A version as the history keeps it: its row, the edit that made it from the version before (None:
    the first version kept, or a change of details only), and its entries when it is kept whole."""

    version: Version
    edit: Edit | None
    snapshot: Entries | None


def first_version(playlist: Playlist, entries: Entries, kind: str, author: str | None) -> KeptVersion:
    """Version 1 of a new playlist, kept whole, with its details as made. It is dated ``updated_at``: when
    it was made (a restored playlist keeps the ``created_at`` of its backup)."""
    row = Version(1, kind, author, playlist.updated_at, len(entries), 0, 0, len(entries), playlist.details())
    return KeptVersion(row, None, entries)


def steps_of(edit: Edit) -> int:
    """How many passes over the list replaying ``edit`` takes: a batch's edits, else one."""
    return len(edit.edits) if isinstance(edit, Batch) else 1


def needs_snapshot(
    version: int, edit_size: int, edit_steps: int, since_snapshot: Sequence[tuple[int, int]], entries: int
) -> bool:
    """Whether version ``version``, made by an edit naming ``edit_size`` entries in ``edit_steps`` passes,
    is kept whole: version 1 always; an edit larger than one request may make (a restore, an import:
    replaying it would be refused); else when the edits since the last snapshot (``since_snapshot``: each
    one's size and passes, before this one) and this one name at least as many entries as the list now
    holds, or take SNAPSHOT_EVERY passes — so replaying any version costs at most that many passes."""
    if version == 1 or edit_size > MAX_ENTRIES_PER_EDIT:
        return True
    if sum(steps for _, steps in since_snapshot) + edit_steps >= SNAPSHOT_EVERY:
        return True
    return sum(size for size, _ in since_snapshot) + edit_size >= max(entries, 1)


def known_moves(edit: Edit) -> frozenset[uuid.UUID] | None:
    """The entries ``edit`` moves when the edit itself says (the others keep their relative order): a
    move's entries, none for an insert or a removal; None when only a diff can tell (a reorder, a
    replacement, a batch that moves or reorders). A batch of removals and inserts (the edits between two
    lists: a restore, a re-import) moves the entries it takes out and puts back."""
    if isinstance(edit, Move):
        return frozenset(edit.entry_ids)
    if isinstance(edit, Insert | Remove):
        return frozenset()
    if isinstance(edit, Batch) and all(isinstance(step, Insert | Remove) for step in edit.edits):
        taken_out = {i for step in edit.edits if isinstance(step, Remove) for i in step.entry_ids}
        return frozenset(
            entry.id
            for step in edit.edits
            if isinstance(step, Insert)
            for entry in step.entries
            if entry.id in taken_out
        )
    return None


def replay(snapshot: Entries, edits: Sequence[Edit]) -> Entries:
    """The entries of a version: its nearest snapshot at or before it, and the edits after that, in order."""
    entries = snapshot
    for edit in edits:
        entries = edit.apply(entries)
    return entries


def edits_between(older: Entries, newer: Entries, changes: Diff | None = None) -> Edit | None:
    """The edit that turns ``older`` into ``newer``, naming only what changed (None: nothing did).
    ``changes``: their :func:`diff` when the caller has it already (a restored backup gives each
    version's), else it is found; the edit is then made in O(changes), never a pass over the lists.

    Removed and moved entries are taken out, then the added and moved ones put in at their places in
    ``newer``, left to right, a run of neighbours at a time (each lands where ``newer`` has it, since
    everything before it is in place by then)."""
    if changes is None:
        changes = diff(older, newer)
    if changes.unchanged:
        return None
    moved = sorted(changes.moved, key=lambda m: m.from_position)  # in their order in ``older``
    out = tuple(e.id for _, e in changes.removed) + tuple(m.entry.id for m in moved)
    edits: list[SingleEdit] = [Remove(out)] if out else []
    going_in = sorted([*changes.added, *((m.to_position, m.entry) for m in moved)], key=lambda p: p[0])
    run_start, run = 0, list[Entry]()
    for position, entry in going_in:
        if run and position != run_start + len(run):
            edits.append(Insert(run_start, tuple(run)))
            run = []
        if not run:
            run_start = position
        run.append(entry)
    if run:
        edits.append(Insert(run_start, tuple(run)))
    return edits[0] if len(edits) == 1 else Batch(tuple(edits))


@dataclass(frozen=True, slots=True)
class Moved:
    entry: Entry
    from_position: int
    to_position: int


@dataclass(frozen=True, slots=True)
class Diff:
    """From one version to another: entries added (with their position in the newer), removed (with their
    position in the older), and moved (the fewest entries whose moving explains the new order), each in
    the order of its positions."""

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
    # The entries in a longest run that kept their relative order stay; the others moved.
    staying = {kept[k][1].id for k in longest_increasing([older_index[e.id] for _, e in kept])}
    moved = tuple(Moved(entry, older_index[entry.id], i) for i, entry in kept if entry.id not in staying)
    return Diff(added, removed, moved)
