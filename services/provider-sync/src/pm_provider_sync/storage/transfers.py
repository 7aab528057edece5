"""SQL for transfers: their source playlists, per-track results, target parts, and users' own mappings."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from pm_platform.db import from_json_column
from pm_provider_sync.domain.transfers import PlannedPart, SourceTrack, Status, TrackResult


async def planned(conn: asyncpg.Connection, job_id: uuid.UUID) -> list[asyncpg.Record]:
    """The job's source playlists in order (empty before it has read them)."""
    return list(
        await conn.fetch(
            """SELECT playlist_index, source_playlist_id, name, entries FROM transfer_playlists
               WHERE job_id = $1 ORDER BY playlist_index""",
            job_id,
        )
    )


async def add_source(
    conn: asyncpg.Connection,
    job_id: uuid.UUID,
    user_id: uuid.UUID,
    playlist_index: int,
    source_playlist_id: uuid.UUID,
    name: str,
    tracks: Sequence[tuple[SourceTrack, str]],
) -> None:
    """One source playlist and its tracks (with their keys), every track pending."""
    await conn.execute(
        """INSERT INTO transfer_playlists (job_id, playlist_index, user_id, source_playlist_id, name, entries)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING""",
        job_id,
        playlist_index,
        user_id,
        source_playlist_id,
        name,
        len(tracks),
    )
    await conn.copy_records_to_table(
        "transfer_tracks",
        records=[
            (job_id, playlist_index, position, user_id, json.dumps(track.to_json()), key)
            for position, (track, key) in enumerate(tracks)
        ],
        columns=["job_id", "playlist_index", "position", "user_id", "source", "source_key"],
    )


async def copy_results(conn: asyncpg.Connection, from_job: uuid.UUID, to_job: uuid.UUID) -> None:
    """A dry run's sources and results, copied to the job that applies them."""
    await conn.execute(
        """INSERT INTO transfer_playlists (job_id, playlist_index, user_id, source_playlist_id, name, entries)
           SELECT $2, playlist_index, user_id, source_playlist_id, name, entries
           FROM transfer_playlists WHERE job_id = $1""",
        from_job,
        to_job,
    )
    await conn.execute(
        """INSERT INTO transfer_tracks (job_id, playlist_index, position, user_id, source, source_key,
                                        status, target_id, method, confidence, breakdown, reason, candidates)
           SELECT $2, playlist_index, position, user_id, source, source_key,
                  status, target_id, method, confidence, breakdown, reason, candidates
           FROM transfer_tracks WHERE job_id = $1""",
        from_job,
        to_job,
    )


async def pending_page(conn: asyncpg.Connection, job_id: uuid.UUID, limit: int) -> list[asyncpg.Record]:
    """The next tracks to match, in source order."""
    return list(
        await conn.fetch(
            """SELECT playlist_index, position, source, source_key FROM transfer_tracks
               WHERE job_id = $1 AND status = 'pending'
               ORDER BY playlist_index, position LIMIT $2""",
            job_id,
            limit,
        )
    )


async def pending_count(conn: asyncpg.Connection, job_id: uuid.UUID) -> int:
    """Tracks still to match (the partial index on pending rows serves it)."""
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM transfer_tracks WHERE job_id = $1 AND status = 'pending'", job_id
        )
    )


async def save_results(
    conn: asyncpg.Connection, job_id: uuid.UUID, results: Sequence[tuple[int, int, TrackResult]]
) -> None:
    await conn.executemany(
        """UPDATE transfer_tracks SET status = $4, target_id = $5, method = $6, confidence = $7,
                  breakdown = $8, reason = $9, candidates = $10
           WHERE job_id = $1 AND playlist_index = $2 AND position = $3""",
        [
            (
                job_id,
                index,
                position,
                r.status.value,
                r.target_id,
                r.method,
                r.confidence,
                json.dumps(r.breakdown) if r.breakdown is not None else None,
                r.reason,
                json.dumps(r.candidates) if r.candidates is not None else None,
            )
            for index, position, r in results
        ],
    )


async def counts(conn: asyncpg.Connection, job_id: uuid.UUID) -> dict[str, int]:
    rows = await conn.fetch(
        "SELECT status, count(*) AS n FROM transfer_tracks WHERE job_id = $1 GROUP BY status", job_id
    )
    return {row["status"]: row["n"] for row in rows}


async def method_counts(conn: asyncpg.Connection, job_id: uuid.UUID) -> dict[str, int]:
    rows = await conn.fetch(
        """SELECT method, count(*) AS n FROM transfer_tracks
           WHERE job_id = $1 AND status = 'matched' GROUP BY method""",
        job_id,
    )
    return {row["method"]: row["n"] for row in rows}


async def matched_ids(conn: asyncpg.Connection, job_id: uuid.UUID, playlist_index: int) -> list[str]:
    """The target ids of one source playlist's matched tracks, in source order (what its parts hold)."""
    rows = await conn.fetch(
        """SELECT target_id FROM transfer_tracks
           WHERE job_id = $1 AND playlist_index = $2 AND status = 'matched'
           ORDER BY position""",
        job_id,
        playlist_index,
    )
    return [row["target_id"] for row in rows]


async def tracks(
    conn: asyncpg.Connection,
    job_id: uuid.UUID,
    statuses: Sequence[str] | None,
    offset: int,
    limit: int,
) -> list[dict[str, Any]]:
    """The per-track results of a job, in source order (only ``statuses`` when given)."""
    rows = await conn.fetch(
        """SELECT t.playlist_index, t.position, p.name AS playlist_name, t.source, t.status, t.target_id,
                  t.method, t.confidence, t.breakdown, t.reason, t.candidates
           FROM transfer_tracks t
           JOIN transfer_playlists p USING (job_id, playlist_index)
           WHERE t.job_id = $1 AND ($2::text[] IS NULL OR t.status = ANY($2::text[]))
           ORDER BY t.playlist_index, t.position OFFSET $3 LIMIT $4""",
        job_id,
        list(statuses) if statuses is not None else None,
        offset,
        limit,
    )
    return [_track_row(row) for row in rows]


def _track_row(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "playlist": row["playlist_index"],
        "playlist_name": row["playlist_name"],
        "position": row["position"],
        "source": from_json_column(row["source"]),
        "status": row["status"],
        "target_id": row["target_id"],
        "method": row["method"],
        "confidence": round(row["confidence"], 4) if row["confidence"] is not None else None,
        "breakdown": from_json_column(row["breakdown"]),
        "reason": row["reason"],
        "candidates": from_json_column(row["candidates"]) or [],
    }


async def apply_choices(
    conn: asyncpg.Connection, job_id: uuid.UUID, choices: Sequence[tuple[int, int, str | None]]
) -> dict[tuple[int, int], str]:
    """The user's picks (target id, or None: skip) on the job's tracks, in one statement; the source key
    of each track picked (a pick naming no track of the job is not in it)."""
    rows = await conn.fetch(
        """UPDATE transfer_tracks t
           SET status = CASE WHEN c.target_id IS NULL THEN 'skipped' ELSE 'matched' END,
               target_id = c.target_id, method = 'mapping',
               confidence = CASE WHEN c.target_id IS NULL THEN NULL ELSE 1.0 END,
               reason = CASE WHEN c.target_id IS NULL THEN 'left out by the user' END
           FROM unnest($2::int[], $3::int[], $4::text[]) AS c(playlist_index, position, target_id)
           WHERE t.job_id = $1 AND t.playlist_index = c.playlist_index AND t.position = c.position
           RETURNING t.playlist_index, t.position, t.source_key""",
        job_id,
        [c[0] for c in choices],
        [c[1] for c in choices],
        [c[2] for c in choices],
    )
    return {(row["playlist_index"], row["position"]): row["source_key"] for row in rows}


async def applying_job(conn: asyncpg.Connection, kind: str, dry_run: uuid.UUID) -> uuid.UUID | None:
    """The job that applies this dry run, if it was applied."""
    found = await conn.fetchval(
        "SELECT id FROM jobs WHERE kind = $1 AND params->>'from_job' = $2 ORDER BY created_at LIMIT 1",
        kind,
        str(dry_run),
    )
    return found if isinstance(found, uuid.UUID) else None


async def skip_repeats(conn: asyncpg.Connection, job_id: uuid.UUID, reason: str) -> int:
    """Matched tracks whose target track an earlier position of the same playlist has: skipped."""
    result = await conn.execute(
        """UPDATE transfer_tracks t SET status = 'skipped', reason = $2
           FROM (SELECT playlist_index, position,
                        row_number() OVER (PARTITION BY playlist_index, target_id ORDER BY position) AS n
                 FROM transfer_tracks WHERE job_id = $1 AND status = 'matched') r
           WHERE t.job_id = $1 AND t.playlist_index = r.playlist_index AND t.position = r.position
             AND r.n > 1""",
        job_id,
        reason,
    )
    return int(result.split()[-1])


async def unwritten(
    conn: asyncpg.Connection,
    job_id: uuid.UUID,
    playlist_index: int,
    target_ids: Sequence[str],
    status: Status,
    reason: str,
) -> None:
    """Matched tracks of one playlist that are not written after all (the target holds them already, or
    dropped them when they were added): reported with ``status`` and ``reason``, never written again."""
    await conn.execute(
        """UPDATE transfer_tracks SET status = $4, reason = $5
           WHERE job_id = $1 AND playlist_index = $2 AND status = 'matched' AND target_id = ANY($3::text[])""",
        job_id,
        playlist_index,
        list(target_ids),
        status.value,
        reason,
    )


# ---- a user's own mappings ----------------------------------------------------------------------------


async def mappings(
    conn: asyncpg.Connection, user_id: uuid.UUID, target: str, keys: Sequence[str]
) -> dict[str, str | None]:
    """The user's choices for these source keys on ``target`` (None: never match it)."""
    rows = await conn.fetch(
        """SELECT source_key, target_id FROM track_mappings
           WHERE user_id = $1 AND target_provider = $2 AND source_key = ANY($3::text[])""",
        user_id,
        target,
        list(keys),
    )
    return {row["source_key"]: row["target_id"] for row in rows}


async def remember_mappings(
    conn: asyncpg.Connection,
    user_id: uuid.UUID,
    target: str,
    chosen: Sequence[tuple[str, str | None]],
    at: datetime,
) -> None:
    await conn.executemany(
        """INSERT INTO track_mappings (user_id, source_key, target_provider, target_id, chosen_at)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (user_id, source_key, target_provider)
           DO UPDATE SET target_id = EXCLUDED.target_id, chosen_at = EXCLUDED.chosen_at""",
        [(user_id, key, target, target_id, at) for key, target_id in chosen],
    )


# ---- target parts -------------------------------------------------------------------------------------


async def parts(conn: asyncpg.Connection, job_id: uuid.UUID, playlist_index: int) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            """SELECT part, name, track_ids, creating, target_playlist_id, base_count, written, verified
               FROM transfer_parts WHERE job_id = $1 AND playlist_index = $2 ORDER BY part""",
            job_id,
            playlist_index,
        )
    )


async def all_parts(conn: asyncpg.Connection, job_id: uuid.UUID) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            """SELECT playlist_index, part, name, target_playlist_id, jsonb_array_length(track_ids) AS tracks,
                      written, verified
               FROM transfer_parts WHERE job_id = $1 ORDER BY playlist_index, part""",
            job_id,
        )
    )


async def add_parts(
    conn: asyncpg.Connection,
    job_id: uuid.UUID,
    user_id: uuid.UUID,
    playlist_index: int,
    planned_parts: Sequence[PlannedPart],
    target_playlist_id: str | None,
) -> None:
    await conn.executemany(
        """INSERT INTO transfer_parts (job_id, playlist_index, part, user_id, name, track_ids,
                                       target_playlist_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING""",
        [
            (job_id, playlist_index, p.part, user_id, p.name, json.dumps(p.track_ids), target_playlist_id)
            for p in planned_parts
        ],
    )


async def update_part(
    conn: asyncpg.Connection, job_id: uuid.UUID, playlist_index: int, part: int, **fields: Any
) -> None:
    allowed = {"creating", "target_playlist_id", "base_count", "written", "verified", "track_ids"}
    assert fields and set(fields) <= allowed, fields
    names = list(fields)
    sets = ", ".join(f"{name} = ${n + 4}" for n, name in enumerate(names))
    await conn.execute(
        f"UPDATE transfer_parts SET {sets} WHERE job_id = $1 AND playlist_index = $2 AND part = $3",
        job_id,
        playlist_index,
        part,
        *[fields[name] for name in names],
    )
