"""SQL of the recordings' enrichment (migrations/0004_recording_enrichment.sql, docs/enrichment.md).

Two kinds of work, each taken so that several replicas share it without taking one recording twice:

- the fill: :func:`take_due` locks a batch of due recordings (``FOR UPDATE SKIP LOCKED``) until its
  transaction ends, in which :func:`store_enrichments` writes what was computed;
- MusicBrainz lookups: :func:`claim_lookups` claims a batch for a lease (``mb_next_at``) and commits, so
  that no row stays locked while MusicBrainz is asked (a second a lookup); :func:`store_answer`,
  :func:`lookup_failed` and :func:`release_claims` end the claim.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from pm_enrichment.domain.enrichment import Enrichment, MbAnswer, MbCandidate, TrackFacts
from pm_platform.db import from_json_column

# The longest wait between two lookups of a recording that keep failing.
LOOKUP_RETRY_MAX_S = 86_400.0


@dataclass(frozen=True)
class DueRecording:
    """A recording the fill takes: the updated_at it is computed from, the enrichment it held and when
    that was last told, MusicBrainz's answer (for the ISRC last looked up)."""

    id: uuid.UUID
    updated_at: datetime
    previous: Enrichment | None
    enriched_at: datetime | None
    mb_wanted_isrc: str | None
    musicbrainz: MbAnswer | None


async def take_due(conn: asyncpg.Connection, limit: int) -> list[DueRecording]:
    """Lock up to ``limit`` recordings due for the fill, the longest waiting first, until the transaction
    ends; rows another transaction holds (another replica's fill, a catalog writer) are skipped."""
    rows = await conn.fetch(
        """SELECT id, updated_at, enrichment, enriched_at, mb_wanted_isrc, mb_isrc, mb_answer
           FROM recordings
           WHERE merged_into IS NULL AND enriched_from IS DISTINCT FROM updated_at
           ORDER BY updated_at
           LIMIT $1
           FOR UPDATE SKIP LOCKED""",
        limit,
    )
    due = []
    for r in rows:
        stored = from_json_column(r["enrichment"])
        answer = from_json_column(r["mb_answer"])
        due.append(
            DueRecording(
                id=r["id"],
                updated_at=r["updated_at"],
                previous=Enrichment.from_json(stored) if stored is not None else None,
                enriched_at=r["enriched_at"],
                mb_wanted_isrc=r["mb_wanted_isrc"],
                musicbrainz=MbAnswer(r["mb_isrc"], tuple(MbCandidate.from_json(c) for c in answer))
                if r["mb_isrc"] is not None and answer is not None
                else None,
            )
        )
    return due


@dataclass(frozen=True)
class RecordingTracks:
    """A recording's provider tracks, and what the services said of those they described."""

    tracks: list[tuple[str, str]]
    seen: list[TrackFacts]


async def tracks_of(conn: asyncpg.Connection, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, RecordingTracks]:
    """Each recording's tracks and seen tracks (recordings without a track are absent)."""
    rows = await conn.fetch(
        """SELECT p.recording_id, p.provider, p.provider_track_id, s.provider IS NOT NULL AS seen,
                  s.isrc, s.duration_ms, s.release_date, s.album
           FROM recording_provider_ids p
           LEFT JOIN seen_tracks s USING (provider, provider_track_id)
           WHERE p.recording_id = ANY($1::uuid[])""",
        list(ids),
    )
    found: dict[uuid.UUID, RecordingTracks] = defaultdict(lambda: RecordingTracks([], []))
    for r in rows:
        of = found[r["recording_id"]]
        of.tracks.append((r["provider"], r["provider_track_id"]))
        if r["seen"]:
            of.seen.append(
                TrackFacts(
                    provider=r["provider"],
                    provider_track_id=r["provider_track_id"],
                    isrc=r["isrc"],
                    duration_ms=r["duration_ms"],
                    release_date=r["release_date"],
                    album=r["album"],
                )
            )
    return dict(found)


@dataclass(frozen=True)
class Computed:
    """What the fill computed for a recording: its enrichment, from which updated_at, and (when it changed
    and was told) when."""

    id: uuid.UUID
    enrichment: Enrichment
    enriched_from: datetime
    enriched_at: datetime | None


async def store_enrichments(conn: asyncpg.Connection, computed: Sequence[Computed]) -> None:
    """Store each enrichment (the recordings are locked by :func:`take_due`). The ISRC to look up at
    MusicBrainz follows the enrichment's; when it changes, the lookup starts afresh (no claim, no
    failures counted)."""
    await conn.executemany(
        """UPDATE recordings SET
               enrichment = $2::jsonb,
               enriched_from = $3,
               enriched_at = coalesce($4, enriched_at),
               musicbrainz_id = $5,
               mb_attempts = CASE WHEN mb_wanted_isrc IS DISTINCT FROM $6 THEN 0 ELSE mb_attempts END,
               mb_next_at = CASE WHEN mb_wanted_isrc IS DISTINCT FROM $6 THEN NULL ELSE mb_next_at END,
               mb_wanted_isrc = $6
           WHERE id = $1""",
        [
            (
                c.id,
                json.dumps(c.enrichment.to_json()),
                c.enriched_from,
                c.enriched_at,
                c.enrichment.musicbrainz_id,
                c.enrichment.isrc.value if c.enrichment.isrc else None,
            )
            for c in computed
        ],
    )


async def claim_lookups(
    conn: asyncpg.Connection, now: datetime, limit: int, lease_until: datetime
) -> list[tuple[uuid.UUID, str]]:
    """Claim up to ``limit`` recordings whose ISRC MusicBrainz has not been asked about (and not claimed,
    nor backing off, at ``now``) until ``lease_until``: (recording, ISRC), new ones first. Commits with
    the caller's transaction; a claim that is never ended expires at ``lease_until``."""
    rows = await conn.fetch(
        """WITH due AS (
               SELECT id FROM recordings
               WHERE merged_into IS NULL AND mb_wanted_isrc IS NOT NULL
                 AND mb_wanted_isrc IS DISTINCT FROM mb_isrc
                 AND (mb_next_at IS NULL OR mb_next_at <= $1)
               ORDER BY mb_next_at NULLS FIRST, id
               LIMIT $2
               FOR UPDATE SKIP LOCKED)
           UPDATE recordings r SET mb_next_at = $3 FROM due WHERE r.id = due.id
           RETURNING r.id, r.mb_wanted_isrc""",
        now,
        limit,
        lease_until,
    )
    return [(r["id"], r["mb_wanted_isrc"]) for r in rows]


async def _lock_wanting(conn: asyncpg.Connection, ids: Sequence[uuid.UUID], isrc: str) -> list[uuid.UUID]:
    """Lock, in id order (as every catalog writer does), the recordings of ``ids`` that still want
    ``isrc`` looked up; the others moved on to another ISRC (or were merged) meanwhile."""
    rows = await conn.fetch(
        """SELECT id FROM recordings
           WHERE id = ANY($1::uuid[]) AND mb_wanted_isrc = $2 AND merged_into IS NULL
           ORDER BY id FOR UPDATE""",
        list(ids),
        isrc,
    )
    return [r["id"] for r in rows]


async def store_answer(conn: asyncpg.Connection, ids: Sequence[uuid.UUID], answer: MbAnswer) -> int:
    """Keep MusicBrainz's answer on the recordings of ``ids`` that still want its ISRC, end their claim,
    and make them due for the fill (which recomputes their enrichment with it). Returns how many."""
    wanting = await _lock_wanting(conn, ids, answer.isrc)
    await conn.execute(
        """UPDATE recordings SET mb_isrc = $2, mb_answer = $3::jsonb, mb_attempts = 0, mb_next_at = NULL,
                  enriched_from = NULL
           WHERE id = ANY($1::uuid[])""",
        wanting,
        answer.isrc,
        json.dumps([c.to_json() for c in answer.candidates]),
    )
    return len(wanting)


async def lookup_failed(
    conn: asyncpg.Connection, ids: Sequence[uuid.UUID], isrc: str, now: datetime, retry_s: float
) -> None:
    """Count a failed lookup of ``isrc`` for the recordings of ``ids`` that still want it: they wait
    ``retry_s`` doubled for each failure in a row before it (up to LOOKUP_RETRY_MAX_S), then are due
    again."""
    wanting = await _lock_wanting(conn, ids, isrc)
    await conn.execute(
        """UPDATE recordings SET
               mb_next_at = $2::timestamptz
                   + make_interval(secs => least($4::float8, $3::float8 * power(2, least(mb_attempts, 30)))),
               mb_attempts = mb_attempts + 1
           WHERE id = ANY($1::uuid[])""",
        wanting,
        now,
        retry_s,
        max(LOOKUP_RETRY_MAX_S, retry_s),
    )


async def release_claims(
    conn: asyncpg.Connection, ids: Sequence[uuid.UUID], isrc: str, due_at: datetime
) -> None:
    """End the claim of recordings not looked up (the worker stopped early): due again at ``due_at``,
    with no failure counted."""
    wanting = await _lock_wanting(conn, ids, isrc)
    await conn.execute("UPDATE recordings SET mb_next_at = $2 WHERE id = ANY($1::uuid[])", wanting, due_at)
