"""SQL of the canonical catalog (migrations/0001_catalog.sql, 0002_catalog_misses.sql, docs/catalog.md).

Writers of one provider id (its recording, or a miss of it) hold its advisory lock (TrackKey.lock_name)
and writers of one recording its row lock (:func:`lock_recordings`) until their transaction ends;
usecases/catalog.py takes them.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from pm_enrichment.domain.catalog import Description, JoinKind, Recording, TrackKey

# Services whose catalog their users write (docs/catalog.md, "Seen tracks"): a track of theirs is a
# lookup's answer only when a transfer's match vouched for it (recording_provider_ids.vouched).
USER_UPLOADS = ("youtube",)


async def recordings_of(conn: asyncpg.Connection, keys: Sequence[TrackKey]) -> dict[TrackKey, uuid.UUID]:
    """The recording each of ``keys`` is on; keys not in the catalog are absent."""
    rows = await conn.fetch(
        """SELECT p.provider, p.provider_track_id, p.recording_id
           FROM unnest($1::text[], $2::text[]) AS k (provider, provider_track_id)
           JOIN recording_provider_ids p USING (provider, provider_track_id)""",
        [k.provider for k in keys],
        [k.track_id for k in keys],
    )
    return {TrackKey(r["provider"], r["provider_track_id"]): r["recording_id"] for r in rows}


async def lock_recordings(conn: asyncpg.Connection, ids: Collection[uuid.UUID]) -> None:
    """Hold the rows of these recordings until the transaction ends (in id order, so two writers lock
    alike): nobody else attaches to them, merges them or adds their ISRCs meanwhile."""
    await conn.fetch("SELECT id FROM recordings WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE", list(ids))


async def recordings(conn: asyncpg.Connection, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Recording]:
    """What the join rule needs to know of each recording: the providers it holds ids on, its ISRCs."""
    rows = await conn.fetch(
        """SELECT r.id, r.created_at,
                  ARRAY(SELECT DISTINCT p.provider FROM recording_provider_ids p
                        WHERE p.recording_id = r.id) AS providers,
                  ARRAY(SELECT i.isrc FROM recording_isrcs i WHERE i.recording_id = r.id) AS isrcs
           FROM recordings r WHERE r.id = ANY($1::uuid[])""",
        list(ids),
    )
    return {
        r["id"]: Recording(r["id"], r["created_at"], frozenset(r["providers"]), frozenset(r["isrcs"]))
        for r in rows
    }


async def create_recording(conn: asyncpg.Connection, description: Description) -> uuid.UUID:
    recording_id: uuid.UUID = await conn.fetchval(
        "INSERT INTO recordings (title, artists, duration_ms) VALUES ($1, $2, $3) RETURNING id",
        description.title,
        list(description.artists),
        description.duration_ms,
    )
    return recording_id


@dataclass(frozen=True)
class JoinRecord:
    """One match, as the join log keeps it (catalog_joins)."""

    source: TrackKey
    target: TrackKey
    kind: JoinKind
    recording_id: uuid.UUID
    other_recording_id: uuid.UUID | None
    reason: str
    method: str
    confidence: float
    source_isrc: str | None
    target_isrc: str | None
    job_id: uuid.UUID
    matched_at: datetime
    # Who told the catalog: a transfer's match (method isrc or search), or the clustering of an import's
    # descriptions (method: the clustering's rule, isrc or metadata).
    origin: str = "transfer"


async def record_join(conn: asyncpg.Connection, join: JoinRecord) -> tuple[int, bool]:
    """Log the match, once per (source, target) pair and decision, and a confirmation only of a pair
    never recorded: the id of its record (the pair's latest when nothing was added), and whether it
    was added. The caller holds both tracks' locks: no other writer of the pair meanwhile."""
    row = await conn.fetchrow(
        """WITH added AS (
               INSERT INTO catalog_joins (source_provider, source_track_id, target_provider, target_track_id,
                                          decision, recording_id, other_recording_id, reason, method,
                                          confidence, source_isrc, target_isrc, job_id, matched_at, origin)
               SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::uuid, $7::uuid, $8::text, $9::text,
                      $10::float8, $11::text, $12::text, $13::uuid, $14::timestamptz, $15::text
               WHERE $5 <> 'confirmed' OR NOT EXISTS (
                   SELECT 1 FROM catalog_joins
                   WHERE source_provider = $1 AND source_track_id = $2 AND target_provider = $3
                     AND target_track_id = $4)
               ON CONFLICT (source_provider, source_track_id, target_provider, target_track_id, decision)
                   DO NOTHING
               RETURNING id)
           SELECT id, true AS added FROM added
           UNION ALL
           (SELECT id, false FROM catalog_joins
            WHERE source_provider = $1 AND source_track_id = $2 AND target_provider = $3
              AND target_track_id = $4
            ORDER BY id DESC LIMIT 1)
           LIMIT 1""",
        join.source.provider,
        join.source.track_id,
        join.target.provider,
        join.target.track_id,
        join.kind,
        join.recording_id,
        join.other_recording_id,
        join.reason,
        join.method,
        join.confidence,
        join.source_isrc,
        join.target_isrc,
        join.job_id,
        join.matched_at,
        join.origin,
    )
    assert row is not None  # added, or the pair was recorded before
    return int(row["id"]), bool(row["added"])


async def attach_tracks(
    conn: asyncpg.Connection, recording_id: uuid.UUID, keys: Sequence[TrackKey], join_id: int
) -> None:
    """Put tracks that are in no recording on this one, recorded in the order given. A track already in
    the catalog is a unique violation: the caller holds its lock and has checked."""
    await conn.execute(
        """INSERT INTO recording_provider_ids (provider, provider_track_id, recording_id, join_id)
           SELECT k.provider, k.provider_track_id, $3, $4
           FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k (provider, provider_track_id, n)
           ORDER BY k.n""",
        [k.provider for k in keys],
        [k.track_id for k in keys],
        recording_id,
        join_id,
    )


async def vouch(conn: asyncpg.Connection, keys: Sequence[TrackKey]) -> None:
    """A transfer's match named these tracks, now on one recording: each is a lookup's answer even where
    users write the catalog (USER_UPLOADS)."""
    await conn.execute(
        """UPDATE recording_provider_ids p SET vouched = true
           FROM unnest($1::text[], $2::text[]) AS k (provider, provider_track_id)
           WHERE p.provider = k.provider AND p.provider_track_id = k.provider_track_id AND NOT p.vouched""",
        [k.provider for k in keys],
        [k.track_id for k in keys],
    )


async def add_isrcs(conn: asyncpg.Connection, isrcs: Sequence[tuple[uuid.UUID, str]], join_id: int) -> int:
    """Record (recording, ISRC) pairs not recorded yet; how many were new."""
    status = await conn.execute(
        """INSERT INTO recording_isrcs (recording_id, isrc, join_id)
           SELECT DISTINCT ON (i.recording_id, i.isrc) i.recording_id, i.isrc, $3
           FROM unnest($1::uuid[], $2::text[]) WITH ORDINALITY AS i (recording_id, isrc, n)
           ORDER BY i.recording_id, i.isrc, i.n
           ON CONFLICT (recording_id, isrc) DO NOTHING""",
        [r for r, _ in isrcs],
        [i for _, i in isrcs],
        join_id,
    )
    return int(status.split()[-1])


async def merge_recordings(conn: asyncpg.Connection, survivor: uuid.UUID, merged: uuid.UUID) -> None:
    """Fold ``merged`` into ``survivor``: its tracks and ISRCs move (each keeping its recording order and
    the join that brought it), it is marked ``merged_into`` the survivor, and so is every recording that
    had been merged into it. Both rows must be locked (:func:`lock_recordings`)."""
    await conn.execute(
        "UPDATE recording_provider_ids SET recording_id = $1 WHERE recording_id = $2", survivor, merged
    )
    await conn.execute(
        """UPDATE recording_isrcs m SET recording_id = $1
           WHERE m.recording_id = $2
             AND NOT EXISTS (SELECT 1 FROM recording_isrcs s WHERE s.recording_id = $1 AND s.isrc = m.isrc)""",
        survivor,
        merged,
    )
    await conn.execute("DELETE FROM recording_isrcs WHERE recording_id = $1", merged)
    await conn.execute(
        """UPDATE recordings SET merged_into = $1, updated_at = now()
           WHERE id = $2 OR merged_into = $2""",
        survivor,
        merged,
    )
    # The survivor's next track.enriched names the folded one's tracks: it must be newer than the folded
    # one's last, or a library keeps them on the folded recording (docs/enrichment.md).
    await conn.execute(
        """UPDATE recordings s SET enriched_at = GREATEST(s.enriched_at, m.enriched_at)
           FROM recordings m WHERE s.id = $1 AND m.id = $2""",
        survivor,
        merged,
    )


async def touch(conn: asyncpg.Connection, recording_ids: Collection[uuid.UUID]) -> None:
    await conn.execute(
        "UPDATE recordings SET updated_at = now() WHERE id = ANY($1::uuid[])", list(recording_ids)
    )


# ---- misses ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MissRecord:
    """One miss, as catalog_misses keeps it: nobody's search found ``source`` on ``target``."""

    source: TrackKey
    target: str
    source_isrc: str | None
    description: Description
    searched_at: datetime
    job_id: uuid.UUID


async def known_on(conn: asyncpg.Connection, source: TrackKey, target: str) -> bool:
    """Whether the recording of ``source`` holds a track on ``target`` (the lookup answers it by id)."""
    found: bool = await conn.fetchval(
        """SELECT EXISTS (
               SELECT 1 FROM recording_provider_ids p
               JOIN recording_provider_ids t ON t.recording_id = p.recording_id AND t.provider = $3
               WHERE p.provider = $1 AND p.provider_track_id = $2)""",
        source.provider,
        source.track_id,
        target,
    )
    return found


async def record_miss(conn: asyncpg.Connection, miss: MissRecord) -> bool:
    """Remember the miss, or move a remembered one's ``searched_at`` forward (with the newer search's
    description and job); an older or equal search changes nothing. A ``searched_at`` in the future (a
    producer's clock ahead) counts as now: it cannot keep a miss alive longer. Whether anything changed."""
    status: str = await conn.execute(
        """INSERT INTO catalog_misses AS m (source_provider, source_track_id, target_provider, source_isrc,
                                            title, artists, duration_ms, searched_at, job_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, LEAST($8::timestamptz, now()), $9)
           ON CONFLICT (source_provider, source_track_id, target_provider) DO UPDATE
               SET searched_at = EXCLUDED.searched_at, source_isrc = EXCLUDED.source_isrc,
                   title = EXCLUDED.title, artists = EXCLUDED.artists, duration_ms = EXCLUDED.duration_ms,
                   job_id = EXCLUDED.job_id, recorded_at = now()
               WHERE EXCLUDED.searched_at > m.searched_at""",
        miss.source.provider,
        miss.source.track_id,
        miss.target,
        miss.source_isrc,
        miss.description.title,
        list(miss.description.artists),
        miss.description.duration_ms,
        miss.searched_at,
        miss.job_id,
    )
    return status.split()[-1] != "0"


async def forget_misses(conn: asyncpg.Connection, misses: Sequence[tuple[TrackKey, str]]) -> None:
    """Delete the misses of these (source track, target provider) pairs: a match found the track there."""
    await conn.execute(
        """DELETE FROM catalog_misses m
           USING unnest($1::text[], $2::text[], $3::text[]) AS k (provider, track_id, target)
           WHERE m.source_provider = k.provider AND m.source_track_id = k.track_id
             AND m.target_provider = k.target""",
        [key.provider for key, _ in misses],
        [key.track_id for key, _ in misses],
        [target for _, target in misses],
    )


# ---- the lookup -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LookupRow:
    """The catalog's answer for one key: the target track found through the key's own provider id, or
    else through its ISRC (each with its recording); None where that way found nothing. When neither
    found one: the last search of a miss of the key's provider id on the target younger than the lookup's
    TTL, else None."""

    id_recording: uuid.UUID | None
    id_target: str | None
    isrc_recording: uuid.UUID | None
    isrc_target: str | None
    absent_since: datetime | None


async def lookup(
    conn: asyncpg.Connection,
    target: str,
    keys: Sequence[tuple[TrackKey | None, str | None]],
    miss_ttl: timedelta,
) -> list[LookupRow]:
    """One statement for the whole batch: for each (provider id, ISRC) key, in order, the first recorded
    track on ``target`` of the recording of its provider id (the id itself when its provider is the
    target), and, when that finds none, the first recorded track on ``target`` of the recording that has
    held the key's ISRC the longest among those with one; when neither finds one, the key's provider id's
    miss on ``target`` searched within ``miss_ttl`` (a hit always wins over a miss).

    A track of a service whose catalog its users write (USER_UPLOADS: anyone may upload a video titled
    as any song) answers only when a transfer's match vouched for it: an import's description of it is
    the uploader's, and the clustering's joins of it are kept for the library's insights, never handed
    to a transfer as certain."""
    rows = await conn.fetch(
        """SELECT by_id.recording_id AS id_recording, by_id.target_id AS id_target,
                  by_isrc.recording_id AS isrc_recording, by_isrc.target_id AS isrc_target,
                  miss.searched_at AS absent_since
           FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS k (provider, track_id, isrc, n)
           LEFT JOIN LATERAL (
               SELECT p.recording_id,
                      CASE WHEN k.provider = $1 THEN k.track_id
                           ELSE (SELECT t.provider_track_id FROM recording_provider_ids t
                                 WHERE t.recording_id = p.recording_id AND t.provider = $1
                                   AND (t.vouched OR t.provider <> ALL($6::text[]))
                                 ORDER BY t.seq LIMIT 1)
                      END AS target_id
               FROM recording_provider_ids p
               WHERE p.provider = k.provider AND p.provider_track_id = k.track_id
           ) by_id ON true
           LEFT JOIN LATERAL (
               SELECT i.recording_id, t.provider_track_id AS target_id
               FROM recording_isrcs i
               CROSS JOIN LATERAL (
                   SELECT t.provider_track_id FROM recording_provider_ids t
                   WHERE t.recording_id = i.recording_id AND t.provider = $1
                     AND (t.vouched OR t.provider <> ALL($6::text[]))
                   ORDER BY t.seq LIMIT 1
               ) t
               WHERE i.isrc = k.isrc AND by_id.target_id IS NULL
               ORDER BY i.seq LIMIT 1
           ) by_isrc ON true
           LEFT JOIN LATERAL (
               SELECT m.searched_at FROM catalog_misses m
               WHERE m.source_provider = k.provider AND m.source_track_id = k.track_id
                 AND m.target_provider = $1 AND m.searched_at > now() - $5::interval
                 AND by_id.target_id IS NULL AND by_isrc.target_id IS NULL
           ) miss ON true
           ORDER BY k.n""",
        target,
        [key.provider if key is not None else None for key, _ in keys],
        [key.track_id if key is not None else None for key, _ in keys],
        [isrc for _, isrc in keys],
        miss_ttl,
        list(USER_UPLOADS),
    )
    return [
        LookupRow(r["id_recording"], r["id_target"], r["isrc_recording"], r["isrc_target"], r["absent_since"])
        for r in rows
    ]
