"""A provider's playlist as the library keeps it (pure): which library track a provider track (or a
track a file or a backup describes) is, the entries a re-import (or a sync writing a library playlist)
makes from the entries already there, the ids a restored playlist, its tracks and its entries take, and
the versions a restored backup kept, rebuilt from its entries backwards.

A re-import keeps the ids of the entries that stay, so the version it makes names only what changed
(domain/history.py's ``edits_between``): the k-th entry of a track in the new list is the k-th entry of
that track in the old one, and only the entries beyond the old count are new.
"""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import pairwise
from typing import TypeVar

from pm_contracts.library import (
    MAX_HISTORY_STEPS,
    FileEntry,
    FileTrack,
    ImportedTrack,
    RestoredChange,
    RestoredEntry,
    RestoredPlaylist,
    RestoredStep,
    RestoredTrack,
    RestoredVersion,
)
from pm_contracts.providers import PROVIDERS
from pm_playlist.domain.entries import MAX_ENTRIES, EditRefused, Entries, Entry
from pm_playlist.domain.history import Diff, KeptVersion, Moved, edits_between, needs_snapshot, steps_of
from pm_playlist.domain.playlists import TrackRecord, Version
from pm_playlist.domain.tracks import normalise_isrc, normalise_text


def track_identity(provider: str, track: ImportedTrack) -> str:
    """The library's key of a recording: the provider's id, or for an item without one (a local file) a
    digest of its normalised metadata, so the same local file in two playlists is one track."""
    return _identity(((provider, track.provider_track_id),) if track.provider_track_id else (), track)


def _identity(provider_ids: Sequence[tuple[str, str]], track: ImportedTrack | FileTrack) -> str:
    """``"<provider>:<id>"`` of the first id named, else ``"local:<digest of the metadata>"``."""
    if provider_ids:
        provider, provider_track_id = provider_ids[0]
        return f"{provider}:{provider_track_id}"
    described = "\x1f".join(
        (
            normalise_text(track.title),
            "\x1e".join(normalise_text(a) for a in track.artists),
            normalise_text(track.album or ""),
            str(track.duration_ms or ""),
        )
    )
    return f"local:{hashlib.sha256(described.encode()).hexdigest()[:32]}"


def _record(
    track: ImportedTrack | FileTrack,
    provider_ids: tuple[tuple[str, str], ...],
    release_date: date | None = None,
    available: bool | None = None,
) -> TrackRecord:
    return TrackRecord(
        identity=_identity(provider_ids, track),
        title=track.title,
        artists=tuple(track.artists),
        album=track.album,
        duration_ms=track.duration_ms,
        isrc=normalise_isrc(track.isrc),
        explicit=track.explicit,
        release_date=release_date,
        provider_ids=provider_ids,
        media_type=track.media_type,
        is_local=track.is_local,
        available=available,
    )


def track_record(provider: str | None, track: ImportedTrack) -> TrackRecord:
    """A track as the library writes it, from a provider's description (``provider`` None: one a user
    described, known by its metadata alone unless it names a provider id)."""
    source = provider or "local"
    provider_ids = ((source, track.provider_track_id),) if track.provider_track_id else ()
    return _record(track, provider_ids, track.release_date, track.available)


def file_track_record(track: FileTrack) -> TrackRecord:
    """A track as the library writes it, from a file's description: known by the first provider id the
    file names in ``PROVIDERS`` order (so the same recording named by the same ids in two files, or by
    our own export read back, is one track), else by its metadata like a local file; every id named is
    kept. A file names no release date nor availability; a backup does (``RestoredTrack``)."""
    named = tuple((p.value, track.provider_ids[p]) for p in PROVIDERS if p in track.provider_ids)
    if isinstance(track, RestoredTrack):
        return _record(track, named, track.release_date, track.available)
    return _record(track, named)


def file_entries(
    entries: Sequence[FileEntry],
    track_ids: Sequence[uuid.UUID],
    read_at: datetime,
    added_by: str | None,
    new_id: Callable[[], uuid.UUID] = uuid.uuid4,
) -> Entries:
    """A file's entries in the file's order, each of the library track resolved for it: added when the
    file says, else when it was read; a time without its zone (a CSV's) is taken as UTC."""
    return tuple(
        Entry(new_id(), track_id, aware(entry.added_at or read_at), added_by)
        for entry, track_id in zip(entries, track_ids, strict=True)
    )


def aware(at: datetime) -> datetime:
    """The time, taken as UTC when it has no zone (a CSV's)."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class IncomingEntry:
    """An entry as the provider lists it, its track already resolved to the library's id."""

    track_id: uuid.UUID
    added_at: datetime
    added_by: str | None


def reconcile(
    current: Entries, incoming: Sequence[IncomingEntry], new_id: Callable[[], uuid.UUID] = uuid.uuid4
) -> Entries:
    """The entries after a re-import: the provider's order; entries that stay keep their id and date."""
    kept: defaultdict[uuid.UUID, list[Entry]] = defaultdict(list)
    for entry in reversed(current):
        kept[entry.track_id].append(entry)  # reversed: pop() gives the earliest first
    result: list[Entry] = []
    for item in incoming:
        same_track = kept.get(item.track_id)
        # An entry that stays is the entry it was (its id and date): the version names only what changed.
        result.append(
            same_track.pop() if same_track else Entry(new_id(), item.track_id, item.added_at, item.added_by)
        )
    return tuple(result)


def synced_entries(
    current: Entries,
    track_ids: Sequence[uuid.UUID],
    at: datetime,
    new_id: Callable[[], uuid.UUID] = uuid.uuid4,
) -> Entries:
    """The entries that make a playlist exactly ``track_ids``, in that order (provider-sync writing the
    other end of a link into the library), as a re-import makes them (:func:`reconcile`): the k-th
    entry of a track stays the k-th entry of it (its id, date and author), the others are new, added
    ``at``. Their ``added_by`` is None, as an import's when the provider names no one: the sync copies
    the list, it knows no account that added a track (the version names the sync as its author).
    EditRefused beyond ``MAX_ENTRIES``."""
    if len(track_ids) > MAX_ENTRIES:
        raise EditRefused("playlist-too-large", f"a playlist holds at most {MAX_ENTRIES} entries")
    return reconcile(current, [IncomingEntry(t, at, None) for t in track_ids], new_id)


# ---------------------------------------------------------------- a restored backup


@dataclass(frozen=True, slots=True)
class TrackKey:
    """What the library holds under a track id (any user's): whose track it is, and its identity."""

    user_id: uuid.UUID
    identity: str


def derived_playlist_id(job_id: uuid.UUID, playlist_id: uuid.UUID) -> uuid.UUID:
    """The id a restored playlist takes when its own is another user's: the same for every part and
    every replay of that restore."""
    return uuid.uuid5(job_id, str(playlist_id))


def restore_target(
    user_id: uuid.UUID, candidates: Sequence[uuid.UUID], owners: Mapping[uuid.UUID, uuid.UUID]
) -> uuid.UUID | None:
    """The id a restored playlist takes: the first of ``candidates`` (its own id, then the derived one)
    that no playlist has (``owners``: the owner of each one taken). None when one of them is the user's
    already (the restore was applied: a replay changes nothing), or when every one is another user's."""
    if any(owners.get(c) == user_id for c in candidates):
        return None
    return next((c for c in candidates if c not in owners), None)


def restored_track_records(
    user_id: uuid.UUID, tracks: Sequence[RestoredTrack], known: Mapping[uuid.UUID, TrackKey]
) -> tuple[list[TrackRecord], dict[str, uuid.UUID]]:
    """The records to write for a backup's tracks, and the id each identity takes if it is new.

    A ``track_id`` that is one of the user's tracks (``known``: what the library holds under the ids the
    backup names) is that track: its record takes the track's identity, so writing it finds that row
    whatever ids the backup lists. Otherwise the track is known by its description
    (``file_track_record``); if it is new, it takes the backup's id when no track has it (any user's),
    each id given to one identity only."""
    records: list[TrackRecord] = []
    new_ids: dict[str, uuid.UUID] = {}
    claimed: set[uuid.UUID] = set()
    for track in tracks:
        record = file_track_record(track)
        key = known.get(track.track_id) if track.track_id is not None else None
        if key is not None and key.user_id == user_id:
            record = dataclasses.replace(record, identity=key.identity)
        elif (
            track.track_id is not None
            and key is None
            and track.track_id not in claimed
            and record.identity not in new_ids
        ):
            new_ids[record.identity] = track.track_id
            claimed.add(track.track_id)
        records.append(record)
    return records, new_ids


def restored_entries(
    entries: Sequence[RestoredEntry],
    track_ids: Sequence[uuid.UUID],
    new_id: Callable[[], uuid.UUID] = uuid.uuid4,
) -> Entries:
    """A backup's entries in its order, each of the library track resolved for it, with the id, date
    and author the backup gives; an id given twice (a broken or edited backup) is one entry's only, the
    others take new ones (edits name entries by id)."""
    seen: set[uuid.UUID] = set()
    result: list[Entry] = []
    for entry, track_id in zip(entries, track_ids, strict=True):
        entry_id = entry.entry_id if entry.entry_id not in seen else new_id()
        seen.add(entry_id)
        result.append(Entry(entry_id, track_id, aware(entry.added_at), entry.added_by))
    return tuple(result)


# ---------------------------------------------------------------- a restored backup's history


# The entries a restored history's rebuild may pass over in all (each version that changed entries is a
# pass over its list): a 10,000-entry playlist with 2,000 such versions, about two seconds.
MAX_REBUILD_WORK = 20_000_000


class HistoryRefused(ValueError):
    """A backup's history that does not hold together (cut short, edited, another playlist's): the
    playlist is restored without it."""


@dataclass(frozen=True, slots=True)
class KeptChanges:
    """A version a backup kept, and its changes from the version before it."""

    version: RestoredVersion
    changes: tuple[RestoredChange, ...]


@dataclass(frozen=True, slots=True)
class RestoredHistory:
    """A backup's history, checked (:func:`restored_history`): its kept versions oldest first, each with
    its changes from the one before (the oldest with none), the entries of the oldest (by id), and the
    entries only older versions hold — each once, its track as the current entries describe it when
    one of them names that track too."""

    versions: tuple[KeptChanges, ...]
    oldest: tuple[uuid.UUID, ...]
    older_entries: tuple[RestoredEntry, ...]

    @property
    def newest(self) -> RestoredVersion:
        return self.versions[-1].version


def restored_history(
    playlist: RestoredPlaylist, entries: Sequence[RestoredEntry], steps: Sequence[RestoredStep]
) -> RestoredHistory:
    """The history a backup kept (``steps``: its newest version first, each followed by its changes from
    the version before), every kept version's list rebuilt backwards from the current one (``entries``):
    from version v's, its added and moved entries taken out, then its removed and moved ones put in at
    their positions in v - 1, in ascending order.

    HistoryRefused unless it holds together: versions consecutive, the newest numbered
    ``playlist.version`` (when given) and holding the current entries; every change where it says (an
    added or moved entry at its position in v), positions in range; each rebuilt list as long as its
    version says and holding each entry once, its counts of added and removed entries those its version
    gives; an entry named again (the same id) the same entry. The oldest kept version's changes, if a
    backup gives any, are ignored. O(entries) per version that changed entries, at most MAX_REBUILD_WORK in
    all; O(1) per version of details only."""
    if len(steps) > MAX_HISTORY_STEPS:
        raise HistoryRefused(f"{len(steps)} steps, more than a backup keeps ({MAX_HISTORY_STEPS})")
    newest_first = _grouped(steps)
    newest = newest_first[0].version
    if playlist.version is not None and newest.version != playlist.version:
        raise HistoryRefused(f"the newest version is {newest.version}, the playlist is at {playlist.version}")
    for age, kept in enumerate(newest_first):
        if kept.version.version != newest.version - age:
            raise HistoryRefused(f"version {kept.version.version} follows {newest.version - age + 1}")
    if newest.entry_count != len(entries):
        raise HistoryRefused(
            f"version {newest.version} holds {newest.entry_count} entries, not {len(entries)}"
        )
    known: dict[uuid.UUID, RestoredEntry] = {}
    for entry in entries:
        if entry.entry_id in known:
            raise HistoryRefused(f"entry {entry.entry_id} is in the playlist twice")
        known[entry.entry_id] = entry
    tracks = {e.track.track_id: e.track for e in entries if e.track.track_id is not None}
    older: dict[uuid.UUID, RestoredEntry] = {}
    ids = tuple(e.entry_id for e in entries)
    work = 0
    for kept, before in pairwise(newest_first):
        for change in kept.changes:
            _one_entry(known, older, tracks, change.entry)
        counted = (_count(kept.changes, "added"), _count(kept.changes, "removed"))
        if counted != (kept.version.added, kept.version.removed):
            raise HistoryRefused(f"version {kept.version.version}'s changes are not its counts")
        if not kept.changes:  # its details only: the same list (its count is checked below)
            if len(ids) != before.version.entry_count:
                raise HistoryRefused(f"version {before.version.version} holds {len(ids)} entries")
            continue
        # Each version that changed entries costs a pass over its list here and when it is written.
        work += len(ids)
        if work > MAX_REBUILD_WORK:
            raise HistoryRefused(f"more than {MAX_REBUILD_WORK} entries to rebuild")
        ids = _replaced(ids, _itself, _here(kept.changes), _before(kept.changes))
        if len(ids) != before.version.entry_count or len(set(ids)) != len(ids):
            raise HistoryRefused(
                f"version {before.version.version} rebuilt holds {len(ids)} entries "
                f"({len(set(ids))} different), not {before.version.entry_count}"
            )
    oldest = KeptChanges(newest_first[-1].version, ())
    return RestoredHistory((oldest, *reversed(newest_first[:-1])), ids, tuple(older.values()))


def restored_versions(history: RestoredHistory, entries: Mapping[uuid.UUID, Entry]) -> Iterator[KeptVersion]:
    """The versions of a checked history as the library keeps them, oldest first, each as the backup
    lists it (kind, author, time, counts, details): the oldest kept whole; each later one the edit from
    the one before (``edits_between``, given the backup's changes; None when only its details changed),
    kept whole again where ``needs_snapshot`` says, as if it had been recorded then. ``entries``: every
    entry the history names, by id (the library's, its track resolved). Lazy, one version's list in
    memory at a time; each version costs a copy of its list and its changes, never a diff."""
    first, *later = history.versions
    older = tuple(entries[i] for i in history.oldest)
    yield KeptVersion(_row(first.version), None, older)
    since_snapshot: list[tuple[int, int]] = []
    for kept in later:
        if not kept.changes:  # its details only
            yield KeptVersion(_row(kept.version), None, None)
            continue
        changes = _diff(kept.changes, entries)
        arriving = [*changes.added, *((m.to_position, m.entry) for m in changes.moved)]
        newer = _replaced(older, _id, _before(kept.changes), arriving)
        edit = edits_between(older, newer, changes)
        snapshot = None
        if edit is not None:
            size, passes = edit.size, steps_of(edit)
            if needs_snapshot(kept.version.version, size, passes, since_snapshot, len(newer)):
                snapshot, since_snapshot = newer, []
            else:
                since_snapshot.append((size, passes))
        yield KeptVersion(_row(kept.version), edit, snapshot)
        older = newer


def _grouped(steps: Sequence[RestoredStep]) -> list[KeptChanges]:
    """The steps as kept versions with their changes, newest first."""
    grouped: list[tuple[RestoredVersion, list[RestoredChange]]] = []
    for step in steps:
        if step.version is not None:
            grouped.append((step.version, []))
        elif not grouped:
            raise HistoryRefused("the history begins with a change, not a version")
        elif step.change is not None:
            grouped[-1][1].append(step.change)
    if not grouped:
        raise HistoryRefused("the history holds no version")
    return [KeptChanges(version, tuple(changes)) for version, changes in grouped]


def _one_entry(
    known: dict[uuid.UUID, RestoredEntry],
    older: dict[uuid.UUID, RestoredEntry],
    tracks: Mapping[uuid.UUID, RestoredTrack],
    entry: RestoredEntry,
) -> None:
    """Learn an entry a change names: one seen already must be that entry (its track, date and author);
    a new one is one only older versions hold."""
    seen = known.get(entry.entry_id)
    if seen is None:
        track_id = entry.track.track_id
        if track_id is not None and track_id in tracks:
            entry = entry.model_copy(update={"track": tracks[track_id]})
        known[entry.entry_id] = older[entry.entry_id] = entry
    elif (seen.track.track_id, aware(seen.added_at), seen.added_by) != (
        entry.track.track_id,
        aware(entry.added_at),
        entry.added_by,
    ):
        raise HistoryRefused(f"entry {entry.entry_id} is named as two different entries")


def _count(changes: Sequence[RestoredChange], kind: str) -> int:
    return sum(1 for c in changes if c.change == kind)


def _here(changes: Sequence[RestoredChange]) -> list[tuple[int, uuid.UUID]]:
    """The added and moved entries, at their positions in the version they made."""
    return [(c.position, c.entry.entry_id) for c in changes if c.change != "removed"]


def _before(changes: Sequence[RestoredChange]) -> list[tuple[int, uuid.UUID]]:
    """The removed and moved entries, at their positions in the version before."""
    return [
        (c.from_position if c.from_position is not None else c.position, c.entry.entry_id)
        for c in changes
        if c.change != "added"
    ]


def _diff(changes: Sequence[RestoredChange], entries: Mapping[uuid.UUID, Entry]) -> Diff:
    """A version's changes as :func:`~pm_playlist.domain.history.diff` tells them, each in the order of
    its positions."""
    added = sorted(
        ((c.position, entries[c.entry.entry_id]) for c in changes if c.change == "added"), key=_first
    )
    removed = sorted(
        ((c.position, entries[c.entry.entry_id]) for c in changes if c.change == "removed"), key=_first
    )
    moved = sorted(
        (
            Moved(entries[c.entry.entry_id], c.from_position, c.position)
            for c in changes
            if c.from_position is not None
        ),
        key=lambda m: m.to_position,
    )
    return Diff(tuple(added), tuple(removed), tuple(moved))


T = TypeVar("T")


def _first(placed: tuple[int, object]) -> int:
    return placed[0]


def _itself(entry_id: uuid.UUID) -> uuid.UUID:
    return entry_id


def _id(entry: Entry) -> uuid.UUID:
    return entry.id


def _replaced(
    items: tuple[T, ...],
    id_of: Callable[[T], uuid.UUID],
    leaving: Sequence[tuple[int, uuid.UUID]],
    arriving: Sequence[tuple[int, T]],
) -> tuple[T, ...]:
    """``items`` without those ``leaving`` (each named by its position in ``items`` and its id), with
    those ``arriving`` put in at their positions in the result, in ascending order (each lands at its
    place: every item before it is in place by then). By positions, never by a pass comparing ids.
    HistoryRefused when an entry is not where it is said to be, or a position is out of range."""
    gone = sorted(position for position, _ in leaving)
    for position, entry_id in leaving:
        if position >= len(items) or id_of(items[position]) != entry_id:
            raise HistoryRefused(f"entry {entry_id} is not at position {position}")
    if len(set(gone)) != len(gone):
        raise HistoryRefused("an entry leaves a version twice")
    staying: list[T] = []
    start = 0
    for position in gone:
        staying += items[start:position]
        start = position + 1
    staying += items[start:]
    result: list[T] = []
    taken = 0
    for position, item in sorted(arriving, key=_first):
        between = position - len(result)
        if between < 0 or taken + between > len(staying):
            raise HistoryRefused(f"position {position} is out of range")
        result += staying[taken : taken + between]
        taken += between
        result.append(item)
    result += staying[taken:]
    return tuple(result)


def _row(version: RestoredVersion) -> Version:
    return Version(
        version.version,
        version.kind,
        version.author,
        aware(version.created_at),
        version.added,
        version.removed,
        version.moved,
        version.entry_count,
        version.details,
    )
