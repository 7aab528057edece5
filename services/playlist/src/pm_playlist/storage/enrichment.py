"""SQL for the catalog's enrichments (migrations/0002_track_enrichment.sql): a row per recording with
its enrichment as the newest event told it, a row per provider track naming its recording, and the
join that finds a library track's enrichment through its provider ids when the track is read.

The enrichments are shared by every user (the catalog names no user) and never written into the
``tracks`` rows: a track's enrichment is looked up by its provider ids (a primary-key probe each), so
an event writes a few rows however many libraries hold the recording.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import asyncpg

from pm_platform.db import from_json_column
from pm_playlist.domain.enrichment import Enrichment, RecordingEnrichment, TrackKey

# The enrichment of the track ``t`` (a row of ``tracks``), one row or none: through each of its
# provider ids, the recording that provider track is; several (two ids, two recordings): the newest.
ENRICHMENT_JOIN = """LEFT JOIN LATERAL (
        SELECT r.recording_id, r.musicbrainz_id, r.fields
        FROM jsonb_each_text(t.provider_ids) AS named (provider, provider_track_id)
        JOIN enriched_tracks et
          ON et.provider = named.provider AND et.provider_track_id = named.provider_track_id
        JOIN recording_enrichments r ON r.recording_id = et.recording_id
        ORDER BY r.enriched_at DESC, r.recording_id
        LIMIT 1
    ) AS en ON true"""
# What ENRICHMENT_JOIN adds to a row (NULL: no enrichment): read back by ``enrichment_of_row``.
ENRICHMENT_COLUMNS = """en.recording_id AS enrichment_recording_id,
           en.musicbrainz_id AS enrichment_musicbrainz_id, en.fields AS enrichment_fields"""
_COLUMNS = ("enrichment_recording_id", "enrichment_musicbrainz_id", "enrichment_fields")


def enrichment_of_row(values: dict[str, Any]) -> Enrichment | None:
    """Takes ENRICHMENT_COLUMNS out of ``values`` (a row as a dict) and returns the enrichment they
    hold, or None."""
    recording_id, musicbrainz_id, fields = (values.pop(name) for name in _COLUMNS)
    if recording_id is None:
        return None
    return Enrichment(recording_id, musicbrainz_id, from_json_column(fields))


async def enrichments_of(conn: asyncpg.Connection, track_ids: list[uuid.UUID]) -> dict[uuid.UUID, Enrichment]:
    """The enrichment of each of these tracks that has one (ids of tracks without one are absent)."""
    rows = await conn.fetch(
        f"""SELECT t.id, {ENRICHMENT_COLUMNS}
            FROM tracks t {ENRICHMENT_JOIN}
            WHERE t.id = ANY($1::uuid[]) AND en.recording_id IS NOT NULL""",
        list(set(track_ids)),
    )
    found = {}
    for row in rows:
        values = dict(row)
        enrichment = enrichment_of_row(values)
        if enrichment is not None:
            found[values["id"]] = enrichment
    return found


async def kept_recording(conn: asyncpg.Connection, recording_id: uuid.UUID) -> RecordingEnrichment | None:
    """The recording's enrichment as the newest event applied told it, or None before any."""
    row = await conn.fetchrow(
        """SELECT recording_id, enriched_at, musicbrainz_id, fields FROM recording_enrichments
           WHERE recording_id = $1""",
        recording_id,
    )
    if row is None:
        return None
    enrichment = Enrichment(row["recording_id"], row["musicbrainz_id"], from_json_column(row["fields"]))
    return RecordingEnrichment(enrichment, row["enriched_at"])


async def save_recording(conn: asyncpg.Connection, recording: RecordingEnrichment) -> None:
    """Keep ``recording`` as the recording's enrichment (the caller has checked it is newer)."""
    enrichment = recording.enrichment
    await conn.execute(
        """INSERT INTO recording_enrichments (recording_id, enriched_at, musicbrainz_id, fields)
           VALUES ($1, $2, $3, $4::jsonb)
           ON CONFLICT (recording_id) DO UPDATE SET
               enriched_at = EXCLUDED.enriched_at, musicbrainz_id = EXCLUDED.musicbrainz_id,
               fields = EXCLUDED.fields""",
        enrichment.recording_id,
        recording.enriched_at,
        enrichment.musicbrainz_id,
        json.dumps(_plain(enrichment.fields)),
    )


def _plain(fields: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: dict(value) for name, value in fields.items()}


async def named_tracks(conn: asyncpg.Connection, recording_id: uuid.UUID) -> list[TrackKey]:
    """The provider tracks that are the recording now."""
    rows = await conn.fetch(
        "SELECT provider, provider_track_id FROM enriched_tracks WHERE recording_id = $1", recording_id
    )
    return [(r["provider"], r["provider_track_id"]) for r in rows]


async def drop_tracks(
    conn: asyncpg.Connection, recording_id: uuid.UUID, keep: list[TrackKey]
) -> list[TrackKey]:
    """The recording's tracks not in ``keep`` are no longer it (its newer event does not name them).
    Returns them."""
    rows = await conn.fetch(
        """DELETE FROM enriched_tracks
           WHERE recording_id = $1
             AND (provider, provider_track_id) NOT IN (SELECT * FROM unnest($2::text[], $3::text[]))
           RETURNING provider, provider_track_id""",
        recording_id,
        [p for p, _ in keep],
        [i for _, i in keep],
    )
    return [(r["provider"], r["provider_track_id"]) for r in rows]


async def claim_tracks(
    conn: asyncpg.Connection, recording_id: uuid.UUID, tracks: list[TrackKey], named_at: datetime
) -> list[TrackKey]:
    """The tracks (each once, in one order) are the recording, unless a newer event of another
    recording named one of them (it stays that recording's). Returns those that are the recording now."""
    rows = await conn.fetch(
        """INSERT INTO enriched_tracks (provider, provider_track_id, recording_id, named_at)
           SELECT t.provider, t.provider_track_id, $1, $4
           FROM unnest($2::text[], $3::text[]) AS t(provider, provider_track_id)
           ON CONFLICT (provider, provider_track_id) DO UPDATE SET
               recording_id = EXCLUDED.recording_id, named_at = EXCLUDED.named_at
           WHERE enriched_tracks.named_at < EXCLUDED.named_at
              OR enriched_tracks.recording_id = EXCLUDED.recording_id
           RETURNING provider, provider_track_id""",
        recording_id,
        [p for p, _ in tracks],
        [i for _, i in tracks],
        named_at,
    )
    return [(r["provider"], r["provider_track_id"]) for r in rows]


async def touch_playlists_showing(
    conn: asyncpg.Connection, tracks: list[TrackKey]
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """What these provider tracks show changed: every playlist, any user's, holding a library track
    whose provider ids include one of them gets a new track revision (its ETag changes; its history
    does not). The playlists are locked in the order of their ids, so two such writers never wait for
    each other in a circle. Returns (user id, playlist id) of each."""
    if not tracks:
        return []
    rows = await conn.fetch(
        """WITH locked AS (
               SELECT id FROM playlists
               WHERE id = ANY(ARRAY(SELECT DISTINCT e.playlist_id
                                    FROM tracks t JOIN entries e ON e.track_id = t.id
                                    WHERE t.provider_ids @> ANY($1::jsonb[])))
               ORDER BY id FOR UPDATE
           )
           UPDATE playlists SET track_revision = track_revision + 1
           WHERE id = ANY(ARRAY(SELECT id FROM locked))
           RETURNING user_id, id""",
        [json.dumps({provider: track_id}) for provider, track_id in tracks],
    )
    return [(r["user_id"], r["id"]) for r in rows]
