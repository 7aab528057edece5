"""SQL of an operator's splits and of the pairs they keep apart (migrations/0006_catalog_splits.sql,
docs/catalog.md "Splitting a recording")."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Sequence

import asyncpg

from pm_enrichment.domain.catalog import TrackKey
from pm_enrichment.domain.clustering import Apart


async def is_current(conn: asyncpg.Connection, recording_id: uuid.UUID) -> bool:
    """Whether the recording exists and was not merged into another."""
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM recordings WHERE id = $1 AND merged_into IS NULL)", recording_id
    )
    return found


async def tracks_of(conn: asyncpg.Connection, recording_id: uuid.UUID) -> list[TrackKey]:
    rows = await conn.fetch(
        "SELECT provider, provider_track_id FROM recording_provider_ids WHERE recording_id = $1 ORDER BY seq",
        recording_id,
    )
    return [TrackKey(r["provider"], r["provider_track_id"]) for r in rows]


async def split(
    conn: asyncpg.Connection,
    recording_id: uuid.UUID,
    new_recording_id: uuid.UUID,
    moved: Sequence[TrackKey],
    staying: Sequence[TrackKey],
    reason: str,
) -> int:
    """Make the new recording (described by the first moved track as its provider described it, else as
    the old one is) and move ``moved`` to it, each keeping its join and order; the
    new recording takes the ISRCs its tracks' descriptions carry, the old one loses those none of its
    remaining tracks' descriptions carries (an ISRC only a transfer told stays); every pair of a moved
    and a staying track is kept apart. The split's id. Both recordings' rows must be locked."""
    await conn.execute(
        """INSERT INTO recordings (id, title, artists, duration_ms)
           SELECT $1, COALESCE(s.title, r.title), COALESCE(s.artists, r.artists),
                  COALESCE(s.duration_ms, r.duration_ms)
           FROM recordings r
           LEFT JOIN seen_tracks s ON s.provider = $3 AND s.provider_track_id = $4
           WHERE r.id = $2""",
        new_recording_id,
        recording_id,
        moved[0].provider,
        moved[0].track_id,
    )
    split_id: int = await conn.fetchval(
        """INSERT INTO catalog_splits (recording_id, new_recording_id, tracks, reason)
           VALUES ($1, $2, $3::jsonb, $4) RETURNING id""",
        recording_id,
        new_recording_id,
        json.dumps([[k.provider, k.track_id] for k in moved]),
        reason,
    )
    providers, ids = [k.provider for k in moved], [k.track_id for k in moved]
    await conn.execute(
        """UPDATE recording_provider_ids p SET recording_id = $1
           FROM unnest($2::text[], $3::text[]) AS k (provider, provider_track_id)
           WHERE p.recording_id = $4 AND p.provider = k.provider AND p.provider_track_id = k.provider_track_id""",
        new_recording_id,
        providers,
        ids,
        recording_id,
    )
    await conn.execute(
        """INSERT INTO recording_isrcs (recording_id, isrc, join_id)
           SELECT DISTINCT $1::uuid, s.isrc, NULL::bigint
           FROM unnest($2::text[], $3::text[]) AS k (provider, provider_track_id)
           JOIN seen_tracks s USING (provider, provider_track_id)
           WHERE s.isrc IS NOT NULL
           ON CONFLICT (recording_id, isrc) DO NOTHING""",
        new_recording_id,
        providers,
        ids,
    )
    await conn.execute(
        """DELETE FROM recording_isrcs i
           WHERE i.recording_id = $1
             AND i.isrc IN (SELECT s.isrc FROM unnest($2::text[], $3::text[]) AS k (provider, provider_track_id)
                            JOIN seen_tracks s USING (provider, provider_track_id))
             AND NOT EXISTS (SELECT 1 FROM recording_provider_ids p
                             JOIN seen_tracks s USING (provider, provider_track_id)
                             WHERE p.recording_id = $1 AND s.isrc = i.isrc)""",
        recording_id,
        providers,
        ids,
    )
    pairs = [(a, b) for a in moved for b in staying] + [(b, a) for a in moved for b in staying]
    await conn.execute(
        """INSERT INTO catalog_apart (provider_a, track_a, provider_b, track_b, split_id)
           SELECT a_p, a_t, b_p, b_t, $5 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
                AS k (a_p, a_t, b_p, b_t)
           ON CONFLICT DO NOTHING""",
        [a.provider for a, _ in pairs],
        [a.track_id for a, _ in pairs],
        [b.provider for _, b in pairs],
        [b.track_id for _, b in pairs],
        split_id,
    )
    await conn.execute(
        "UPDATE recordings SET updated_at = now() WHERE id = ANY($1::uuid[])",
        [recording_id, new_recording_id],
    )
    return split_id


async def apart(conn: asyncpg.Connection, keys: Collection[TrackKey]) -> Apart:
    """The pairs kept apart that name one of ``keys`` (as frozensets of two track keys)."""
    rows = await conn.fetch(
        """SELECT ap.provider_a, ap.track_a, ap.provider_b, ap.track_b
           FROM unnest($1::text[], $2::text[]) AS k (provider, provider_track_id)
           JOIN catalog_apart ap ON ap.provider_a = k.provider AND ap.track_a = k.provider_track_id""",
        [k.provider for k in keys],
        [k.track_id for k in keys],
    )
    return frozenset(
        frozenset(((r["provider_a"], r["track_a"]), (r["provider_b"], r["track_b"]))) for r in rows
    )


async def recordings_apart(conn: asyncpg.Connection, a: uuid.UUID, b: uuid.UUID) -> bool:
    """Whether some track of recording ``a`` and some of ``b`` are kept apart."""
    found: bool = await conn.fetchval(
        """SELECT EXISTS (
               SELECT 1 FROM recording_provider_ids pa
               JOIN catalog_apart ap ON ap.provider_a = pa.provider AND ap.track_a = pa.provider_track_id
               JOIN recording_provider_ids pb
                    ON pb.provider = ap.provider_b AND pb.provider_track_id = ap.track_b
               WHERE pa.recording_id = $1 AND pb.recording_id = $2)""",
        a,
        b,
    )
    return found
