"""The canonical catalog, the shared match cache (docs/catalog.md): it learns from the confident matches
transfers announce (``track.matched``) which tracks of the providers are one recording, and from their
misses (``track.not_found``) which tracks nobody's search found on a provider lately; it answers a
transfer's batched question "which track on the target is each of these?" from what it learned: a
track, "known absent", or nothing.

It is shared by every user and knows no user: nothing here takes or stores a user id.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import asyncpg
from loguru import logger

from pm_contracts.transfers import (
    CatalogHit,
    CatalogLookup,
    CatalogLookupResult,
    TrackMatched,
    TrackNotFound,
)
from pm_enrichment.domain.catalog import (
    Join,
    Recording,
    TrackKey,
    UnstorableTrack,
    describe,
    join_rule,
    lookup_id,
    new_tracks,
    normalised_isrc,
    track_key,
)
from pm_enrichment.settings import enrichment_settings
from pm_enrichment.storage import catalog as catalog_sql
from pm_enrichment.storage import splits as splits_sql
from pm_enrichment.storage.catalog import JoinRecord, LookupRow, MissRecord
from pm_platform.consumers import InvalidEvent
from pm_platform.db import lock_until_commit
from pm_platform.service import Runtime

# Rounds of "read the ids' recordings, lock them, read again" before giving up for a retry: a round
# repeats only when a merge moved one of the ids while this writer waited for its lock.
_LOCK_ROUNDS = 5


class CatalogBusy(Exception):
    """The ids' recordings kept changing under concurrent merges: transient, the event is retried."""


@dataclass(frozen=True)
class MatchRecorded:
    """What :func:`record_match` did: the rule's decision, the recording the source track is on now, the
    join record's id, and whether that record is new (False: this pair was told before)."""

    join: Join
    recording_id: uuid.UUID
    join_id: int
    new: bool


async def record_match(conn: asyncpg.Connection, event: TrackMatched) -> MatchRecorded:
    """Record that the event's source and target tracks are one recording, by the join rule
    (domain/catalog.py): create a recording, attach the unknown track to the known one's, merge two
    recordings, or refuse a merge that something contradicts. The event's ISRCs are recorded on their
    tracks' recordings; the match is logged once per (source, target) pair.

    A miss of either track on the other's provider is forgotten (:func:`record_miss`).

    Runs in the caller's transaction (the event's). Idempotent: the same match again changes nothing.
    Safe under concurrency: the two ids' advisory locks, then their recordings' row locks, are held
    until the transaction ends, so two writers never make two recordings of one id or attach to a
    recording being merged away. A track id the catalog cannot store is an :class:`InvalidEvent`."""
    try:
        source, target = track_key(event.source), track_key(event.target)
    except UnstorableTrack as exc:
        raise InvalidEvent(str(exc)) from None
    keys = [source, target]
    for key in sorted(set(keys)):  # in one order for every writer: no deadlock between two of them
        await lock_until_commit(conn, key.lock_name)
    placed = await locked_recordings_of(conn, keys)
    known = await catalog_sql.recordings(conn, set(placed.values()))
    source_isrc, target_isrc = normalised_isrc(event.source_isrc), normalised_isrc(event.target_isrc)
    join = join_rule(_on(placed, known, source), _on(placed, known, target), source_isrc, target_isrc)
    if join.kind == "merged":
        assert join.recording_id is not None and join.other_id is not None
        if await splits_sql.recordings_apart(conn, join.recording_id, join.other_id):
            # An operator split them (docs/catalog.md, "Splitting a recording"): remembered.
            join = Join("refused", placed[source], placed[target], "an operator split these recordings apart")

    recording_id = join.recording_id
    if recording_id is None:
        recording_id = await catalog_sql.create_recording(conn, describe(event))
    join_id, new = await catalog_sql.record_join(
        conn,
        JoinRecord(
            source=source,
            target=target,
            kind=join.kind,
            recording_id=recording_id,
            other_recording_id=join.other_id,
            reason=join.reason,
            method=event.method,
            confidence=event.confidence,
            source_isrc=source_isrc,
            target_isrc=target_isrc,
            job_id=event.job_id,
            matched_at=event.matched_at,
        ),
    )
    changed: set[uuid.UUID] = set()
    if join.kind == "merged":
        assert join.other_id is not None
        await catalog_sql.merge_recordings(conn, recording_id, join.other_id)
        changed.add(recording_id)
    fresh = new_tracks(keys, set(placed))
    if fresh:
        await catalog_sql.attach_tracks(conn, recording_id, fresh, join_id)
        changed.add(recording_id)
    # Each ISRC describes its own track: on its track's recording (two of them when refused).
    source_on = placed[source] if join.kind == "refused" else recording_id
    target_on = placed[target] if join.kind == "refused" else recording_id
    isrcs = [(r, i) for r, i in ((source_on, source_isrc), (target_on, target_isrc)) if i is not None]
    if isrcs and await catalog_sql.add_isrcs(conn, isrcs, join_id):
        changed.update(r for r, _ in isrcs)
    if changed and join.kind != "created":
        await catalog_sql.touch(conn, changed)
    if join.kind != "refused":
        await catalog_sql.vouch(conn, keys)  # one recording now, by a transfer's matcher
    # A hit always wins: whatever search missed either track on the other's provider was wrong.
    await catalog_sql.forget_misses(conn, [(source, target.provider), (target, source.provider)])

    if join.kind in ("merged", "refused"):
        logger.info(
            "catalog: {} → {} {} ({}; {} by {}, job {})",
            source,
            target,
            join.kind,
            join.reason,
            f"{event.confidence:.2f}",
            event.method,
            event.job_id,
        )
    return MatchRecorded(join, recording_id, join_id, new)


def _on(
    placed: dict[TrackKey, uuid.UUID], known: dict[uuid.UUID, Recording], key: TrackKey
) -> Recording | None:
    recording_id = placed.get(key)
    return known[recording_id] if recording_id is not None else None


async def locked_recordings_of(conn: asyncpg.Connection, keys: list[TrackKey]) -> dict[TrackKey, uuid.UUID]:
    """The recording each key is on, with those recordings' rows locked. The ids' own locks keep
    anyone from adding them, but a merge holding only the recordings' locks may move them: read, lock
    what was read, read again until the reading holds still."""
    placed = await catalog_sql.recordings_of(conn, keys)
    locked: set[uuid.UUID] = set()
    for _ in range(_LOCK_ROUNDS):
        wanted = set(placed.values()) - locked
        if not wanted:
            return placed
        await catalog_sql.lock_recordings(conn, wanted)
        locked |= wanted
        placed = await catalog_sql.recordings_of(conn, keys)
    raise CatalogBusy(f"the recordings of {', '.join(map(str, keys))} kept changing")


async def record_miss(conn: asyncpg.Connection, event: TrackNotFound) -> bool:
    """Remember that a transfer's ISRC lookup and search found nothing for the event's source track on its
    target provider, so the lookup answers it "known absent" for a while. Whether the catalog changed.

    A hit always wins: the miss of a track whose recording holds a track on the target is ignored (a
    match arrived first, or another transfer found it), and a later match deletes it
    (:func:`record_match`). Runs in the caller's transaction (the event's). Idempotent: the same miss
    again, or an older one, changes nothing; a newer one only moves ``searched_at`` forward. Holds the
    source track's advisory lock until the transaction ends, as a match of it does: a match and a miss of
    one track never interleave. A track id the catalog cannot store is an :class:`InvalidEvent`."""
    try:
        source = track_key(event.source)
    except UnstorableTrack as exc:
        raise InvalidEvent(str(exc)) from None
    target = event.target.value
    if source.provider == target:
        raise InvalidEvent(f"a {target} track cannot be missing on {target}")
    await lock_until_commit(conn, source.lock_name)
    if await catalog_sql.known_on(conn, source, target):
        return False
    return await catalog_sql.record_miss(
        conn,
        MissRecord(
            source=source,
            target=target,
            source_isrc=normalised_isrc(event.source_isrc),
            description=describe(event),
            searched_at=event.searched_at,
            job_id=event.job_id,
        ),
    )


async def lookup(
    conn: asyncpg.Connection, query: CatalogLookup, *, miss_ttl: timedelta
) -> CatalogLookupResult:
    """The target's track for each source track, in order (None where the catalog knows none), in one
    statement for the whole batch. Through the track's own provider id first (``via="id"``: the same
    recording, certain; a track of the target provider answers itself), else through its ISRC
    (``via="isrc"``: a hint). Of several tracks on the target, the first recorded; of several
    recordings holding the ISRC, the one that held it first. Beside it, ``absent``: where no track
    answers, when a transfer last searched the target for the track's own provider id in vain, if within
    ``miss_ttl``. Reads only: any connection will do."""
    if not query.tracks:
        return CatalogLookupResult(hits=[], absent=[])
    keys = [
        (
            lookup_id(k.provider.value if k.provider is not None else None, k.provider_track_id),
            normalised_isrc(k.isrc),
        )
        for k in query.tracks
    ]
    rows = await catalog_sql.lookup(conn, query.target.value, keys, miss_ttl)
    return CatalogLookupResult(hits=[_hit(row) for row in rows], absent=[row.absent_since for row in rows])


def _hit(row: LookupRow) -> CatalogHit | None:
    if row.id_recording is not None and row.id_target is not None:
        return CatalogHit(recording_id=row.id_recording, provider_track_id=row.id_target, via="id")
    if row.isrc_recording is not None and row.isrc_target is not None:
        return CatalogHit(recording_id=row.isrc_recording, provider_track_id=row.isrc_target, via="isrc")
    return None


async def answer_lookup(rt: Runtime, query: CatalogLookup) -> CatalogLookupResult:
    """:func:`lookup` on a connection of the service's pool (the internal endpoint's), misses answered
    for CATALOG_MISS_TTL_DAYS."""
    miss_ttl = timedelta(days=enrichment_settings(rt.settings).catalog_miss_ttl_days)
    async with rt.pool.acquire() as conn:
        return await lookup(conn, query, miss_ttl=miss_ttl)
