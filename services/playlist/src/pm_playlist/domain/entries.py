"""A playlist's entries and the edits that change them (pure).

Entries are an ordered list: an entry's position is its index, so positions are always dense (0 … n-1)
whatever the edit. Each entry has an id of its own, stable across moves, which edits name: two entries
of one track stay two things to move or remove. An edit is checked whole before anything changes
(:class:`EditRefused`, a 422 for the caller): an edit that cannot apply changes nothing.

Every edit can be written down (:meth:`to_record`) and read back (:func:`edit_from_record`): the
version history (domain/history.py) keeps edits, not copies of the list. ``size`` is how many entries an
edit names: what it costs to keep.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from pm_contracts.library import MAX_PLAYLIST_ENTRIES

# A playlist's size at most (the contracts': an import brings no more).
MAX_ENTRIES = MAX_PLAYLIST_ENTRIES
# The entries one edit may add, remove or move: a whole provider playlist in one request.
MAX_ENTRIES_PER_EDIT = 10_000


class EditRefused(ValueError):
    """An edit that cannot apply to the entries as they are; ``code`` names why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Entry:
    id: uuid.UUID
    track_id: uuid.UUID
    added_at: datetime
    added_by: str | None = None  # a user id, or the provider account that added it

    def __post_init__(self) -> None:
        if self.added_at.tzinfo is None:  # naive and aware times cannot be compared (sorting by date)
            raise ValueError("added_at must carry its time zone")


Entries = tuple[Entry, ...]


def entries_to_records(entries: Sequence[Entry]) -> list[dict[str, Any]]:
    """Entries as the history keeps them (JSON); the entries of one edit share their time, written once."""
    # Keyed with the offset too: equal instants in two zones are equal datetimes, but not one text.
    times: dict[tuple[datetime, timedelta | None], str] = {}

    def written(at: datetime) -> str:
        key = (at, at.utcoffset())
        text = times.get(key)
        if text is None:
            text = times[key] = at.isoformat()
        return text

    return [
        {
            "id": str(e.id),
            "track_id": str(e.track_id),
            "added_at": written(e.added_at),
            "added_by": e.added_by,
        }
        for e in entries
    ]


def entries_from_records(records: Sequence[Mapping[str, Any]]) -> Entries:
    """What :func:`entries_to_records` wrote; a time shared by many entries is read once."""
    times: dict[str, datetime] = {}
    result = []
    for r in records:
        text = r["added_at"]
        added_at = times.get(text)
        if added_at is None:
            added_at = times[text] = datetime.fromisoformat(text)
        result.append(Entry(uuid.UUID(r["id"]), uuid.UUID(r["track_id"]), added_at, r.get("added_by")))
    return tuple(result)


def _index(entries: Sequence[Entry]) -> dict[uuid.UUID, int]:
    return {entry.id: i for i, entry in enumerate(entries)}


def _named(entries: Sequence[Entry], ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """The ids an edit names, each once and each present; else EditRefused."""
    if not ids:
        raise EditRefused("empty-edit", "the edit names no entry")
    if len(ids) > MAX_ENTRIES_PER_EDIT:
        raise EditRefused("edit-too-large", f"one edit may name at most {MAX_ENTRIES_PER_EDIT} entries")
    named = set(ids)
    if len(named) != len(ids):
        raise EditRefused("duplicate-entry", "the edit names an entry twice")
    missing = named - set(_index(entries))
    if missing:
        raise EditRefused("unknown-entry", f"{len(missing)} of the entries named are not in the playlist")
    return named


@dataclass(frozen=True, slots=True)
class Insert:
    """New entries, in their order, so that the first ends up at ``position`` (0 … len: at the end)."""

    kind: ClassVar[str] = "insert"
    position: int
    entries: Entries

    def apply(self, current: Entries) -> Entries:
        if not self.entries:
            raise EditRefused("empty-edit", "nothing to add")
        if len(self.entries) > MAX_ENTRIES_PER_EDIT:
            raise EditRefused("edit-too-large", f"one edit may add at most {MAX_ENTRIES_PER_EDIT} entries")
        if len(current) + len(self.entries) > MAX_ENTRIES:
            raise EditRefused("playlist-too-large", f"a playlist holds at most {MAX_ENTRIES} entries")
        if not 0 <= self.position <= len(current):
            raise EditRefused("position-out-of-range", f"the position must be 0 to {len(current)}")
        new_ids = {entry.id for entry in self.entries}
        if len(new_ids) != len(self.entries) or new_ids & set(_index(current)):
            raise EditRefused("duplicate-entry", "an added entry's id is already used")
        return current[: self.position] + self.entries + current[self.position :]

    @property
    def size(self) -> int:
        return len(self.entries)

    def to_record(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "position": self.position,
            "entries": entries_to_records(self.entries),
        }


@dataclass(frozen=True, slots=True)
class Remove:
    kind: ClassVar[str] = "remove"
    entry_ids: tuple[uuid.UUID, ...]

    def apply(self, current: Entries) -> Entries:
        named = _named(current, self.entry_ids)
        return tuple(entry for entry in current if entry.id not in named)

    @property
    def size(self) -> int:
        return len(self.entry_ids)

    def to_record(self) -> dict[str, Any]:
        return {"kind": self.kind, "entry_ids": [str(i) for i in self.entry_ids]}


@dataclass(frozen=True, slots=True)
class Move:
    """The named entries taken out and put back together, in the order they had in the playlist (not the
    order they are named in), so that the first of them is at ``to`` in the result: ``to`` counts the
    positions of the entries left once they are out (0 … len - their number)."""

    kind: ClassVar[str] = "move"
    entry_ids: tuple[uuid.UUID, ...]
    to: int

    def apply(self, current: Entries) -> Entries:
        named = _named(current, self.entry_ids)
        moving = tuple(entry for entry in current if entry.id in named)
        rest = tuple(entry for entry in current if entry.id not in named)
        if not 0 <= self.to <= len(rest):
            raise EditRefused("position-out-of-range", f"the position must be 0 to {len(rest)}")
        return rest[: self.to] + moving + rest[self.to :]

    @property
    def size(self) -> int:
        return len(self.entry_ids)

    def to_record(self) -> dict[str, Any]:
        return {"kind": self.kind, "entry_ids": [str(i) for i in self.entry_ids], "to": self.to}


@dataclass(frozen=True, slots=True)
class Reorder:
    """Every entry, in a new order (sorting, reordering by an explicit list): ids only, no copies."""

    kind: ClassVar[str] = "reorder"
    entry_ids: tuple[uuid.UUID, ...]

    def apply(self, current: Entries) -> Entries:
        index = _index(current)
        if len(self.entry_ids) != len(current) or set(self.entry_ids) != set(index):
            raise EditRefused("not-a-reordering", "a new order must name every entry of the playlist once")
        return tuple(current[index[i]] for i in self.entry_ids)

    @property
    def size(self) -> int:
        return len(self.entry_ids)

    def to_record(self) -> dict[str, Any]:
        return {"kind": self.kind, "entry_ids": [str(i) for i in self.entry_ids]}


@dataclass(frozen=True, slots=True)
class Replace:
    """The whole list at once (a playlist's first version). Changes to an existing list are better told
    as the edits between the two (:func:`pm_playlist.domain.history.edits_between`): smaller to keep."""

    kind: ClassVar[str] = "replace"
    entries: Entries

    def apply(self, current: Entries) -> Entries:
        if len(self.entries) > MAX_ENTRIES:
            raise EditRefused("playlist-too-large", f"a playlist holds at most {MAX_ENTRIES} entries")
        if len({entry.id for entry in self.entries}) != len(self.entries):
            raise EditRefused("duplicate-entry", "an entry id is used twice")
        return self.entries

    @property
    def size(self) -> int:
        return len(self.entries)

    def to_record(self) -> dict[str, Any]:
        return {"kind": self.kind, "entries": entries_to_records(self.entries)}


@dataclass(frozen=True, slots=True)
class Batch:
    """Several edits as one version: applied in order, all or none (each works on a new tuple, so a
    refusal halfway leaves the entries as they were)."""

    kind: ClassVar[str] = "batch"
    edits: tuple[SingleEdit, ...]

    def apply(self, current: Entries) -> Entries:
        if not self.edits:
            raise EditRefused("empty-edit", "the batch holds no edit")
        if self.size > MAX_ENTRIES_PER_EDIT:
            raise EditRefused("edit-too-large", f"one edit may name at most {MAX_ENTRIES_PER_EDIT} entries")
        edits, i = self.edits, 0
        while i < len(edits):
            run_end = i
            while run_end < len(edits) and isinstance(edits[run_end], Insert):
                run_end += 1
            if run_end - i > 1:
                current = _insert_all(current, edits[i:run_end])  # type: ignore[arg-type]  # Inserts, checked
                i = run_end
            else:
                current = edits[i].apply(current)
                i += 1
        return current

    @property
    def size(self) -> int:
        return sum(edit.size for edit in self.edits)

    def to_record(self) -> dict[str, Any]:
        return {"kind": self.kind, "edits": [edit.to_record() for edit in self.edits]}


def _insert_all(current: Entries, inserts: Sequence[Insert]) -> Entries:
    """Inserts applied one after another — in one pass over the list when each lands after the entries
    the one before put in (the edits between two lists, history.edits_between, are so: a restore or a
    re-import of 10,000 entries with scattered changes is hundreds of them), else one at a time. Either
    way the same result, and the same refusal."""
    length, grown, landed = len(current), 0, 0
    for insert in inserts:
        if not insert.entries or not landed <= insert.position <= length + grown:
            return _one_at_a_time(current, inserts)
        landed = insert.position + len(insert.entries)
        grown += len(insert.entries)
    new_ids = {entry.id for insert in inserts for entry in insert.entries}
    if length + grown > MAX_ENTRIES or len(new_ids) != grown or not new_ids.isdisjoint(_index(current)):
        return _one_at_a_time(current, inserts)
    result: list[Entry] = []
    taken = 0
    for insert in inserts:
        kept = insert.position - len(result)  # entries of ``current`` before this insert's place
        result += current[taken : taken + kept]
        taken += kept
        result += insert.entries
    result += current[taken:]
    return tuple(result)


def _one_at_a_time(current: Entries, inserts: Sequence[Insert]) -> Entries:
    for insert in inserts:
        current = insert.apply(current)
    return current


SingleEdit = Insert | Remove | Move | Reorder | Replace
Edit = SingleEdit | Batch


def edit_from_record(record: Mapping[str, Any]) -> Edit:
    """The edit :meth:`to_record` wrote (ValueError for anything else)."""
    try:
        return _edit_from_record(record)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not an edit: {exc}") from None


def _edit_from_record(record: Mapping[str, Any]) -> Edit:
    kind = record.get("kind")
    if kind == Batch.kind:
        edits = tuple(_edit_from_record(edit) for edit in record["edits"])
        if any(isinstance(edit, Batch) for edit in edits):
            raise ValueError("not an edit: a batch in a batch")
        return Batch(edits)  # type: ignore[arg-type]  # checked just above
    if kind == Insert.kind:
        return Insert(int(record["position"]), entries_from_records(record["entries"]))
    if kind == Remove.kind:
        return Remove(tuple(uuid.UUID(i) for i in record["entry_ids"]))
    if kind == Move.kind:
        return Move(tuple(uuid.UUID(i) for i in record["entry_ids"]), int(record["to"]))
    if kind == Reorder.kind:
        return Reorder(tuple(uuid.UUID(i) for i in record["entry_ids"]))
    if kind == Replace.kind:
        return Replace(entries_from_records(record["entries"]))
    raise ValueError(f"not an edit: {kind!r}")
