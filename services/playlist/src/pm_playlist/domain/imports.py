"""A provider's playlist as the library keeps it (pure): which library track a provider track (or a
track a file or a backup describes) is, the entries a re-import makes from the entries already there,
and the ids a restored playlist, its tracks and its entries take.

A re-import keeps the ids of the entries that stay, so the version it makes names only what changed
(domain/history.py's ``edits_between``): the k-th entry of a track in the new list is the k-th entry of
that track in the old one, and only the entries beyond the old count are new.
"""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from pm_contracts.library import FileEntry, FileTrack, ImportedTrack, RestoredEntry, RestoredTrack
from pm_contracts.providers import PROVIDERS
from pm_playlist.domain.entries import Entries, Entry
from pm_playlist.domain.playlists import TrackRecord
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
