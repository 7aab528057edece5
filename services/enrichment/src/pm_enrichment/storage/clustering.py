"""SQL of the seen tracks and of placing them on recordings (migrations/0003_seen_tracks.sql,
docs/catalog.md "Seen tracks"). The recordings' own SQL (merging, the join log) is storage/catalog.py's;
usecases/clustering.py takes the locks."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from pm_enrichment.domain.catalog import TrackKey
from pm_enrichment.domain.clustering import MAX_BLOCK, SeenTrack, StoredRecording


@dataclass(frozen=True)
class SeenRow:
    """One track as seen_tracks keeps it: the clustering's view, what else its provider said, and the
    keys it is looked up by."""

    track: SeenTrack
    explicit: bool | None
    release_date: date | None
    title_keys: tuple[str, ...]
    artist_key: str
    normalised: dict[str, object]
    described_at: datetime

    def as_json(self) -> dict[str, object]:
        t = self.track
        return {
            "provider": t.provider,
            "provider_track_id": t.provider_track_id,
            "title": t.title,
            "artists": list(t.artists),
            "album": t.album,
            "duration_ms": t.duration_ms,
            "isrc": t.isrc,
            "explicit": self.explicit,
            "release_date": self.release_date.isoformat() if self.release_date else None,
            "title_keys": list(self.title_keys),
            "artist_key": self.artist_key,
            "normalised": self.normalised,
            "described_at": self.described_at.isoformat(),
        }


async def describe(conn: asyncpg.Connection, rows: Sequence[SeenRow]) -> set[TrackKey]:
    """Keep each row's description: insert the tracks never seen, update those whose description changed
    (unless an older import's: ``described_at`` never goes back), or whose reading did (the blocking keys
    or the normalisation: the rules changed since, and the track is placed again by the new ones). The
    keys of the tracks inserted or changed; a description told again adds nothing, and writes nothing.
    ``rows`` name each track once."""
    found = await conn.fetch(
        """INSERT INTO seen_tracks AS s (provider, provider_track_id, title, artists, album, duration_ms, isrc,
                                      explicit, release_date, title_keys, artist_key, normalised,
                                      described_at)
           SELECT r.provider, r.provider_track_id, r.title, r.artists, r.album, r.duration_ms, r.isrc,
                  r.explicit, r.release_date, r.title_keys, r.artist_key, r.normalised, r.described_at
           FROM jsonb_to_recordset($1::jsonb) AS r (
               provider text, provider_track_id text, title text, artists text[], album text,
               duration_ms integer, isrc text, explicit boolean, release_date date, title_keys text[],
               artist_key text, normalised jsonb, described_at timestamptz)
           ON CONFLICT (provider, provider_track_id) DO UPDATE
               SET title = excluded.title, artists = excluded.artists, album = excluded.album,
                   duration_ms = excluded.duration_ms, isrc = excluded.isrc, explicit = excluded.explicit,
                   release_date = excluded.release_date, title_keys = excluded.title_keys,
                   artist_key = excluded.artist_key, normalised = excluded.normalised,
                   described_at = excluded.described_at
               WHERE excluded.described_at >= s.described_at
                 AND (s.title, s.artists, s.album, s.duration_ms, s.isrc, s.explicit, s.release_date,
                      s.title_keys, s.artist_key, s.normalised)
                     IS DISTINCT FROM (excluded.title, excluded.artists, excluded.album, excluded.duration_ms,
                                       excluded.isrc, excluded.explicit, excluded.release_date,
                                       excluded.title_keys, excluded.artist_key, excluded.normalised)
           RETURNING s.provider, s.provider_track_id""",
        json.dumps([row.as_json() for row in rows]),
    )
    return {TrackKey(r["provider"], r["provider_track_id"]) for r in found}


async def neighbours(
    conn: asyncpg.Connection, isrcs: Collection[str], title_keys: Mapping[str, Collection[str]]
) -> set[TrackKey]:
    """The seen tracks worth comparing with tracks of these ISRCs and title keys (each with the folded
    main artists of the tracks filed under it): per ISRC and per title key at most MAX_BLOCK tracks, for
    a title key those of one of the artists first (a title as common as "Intro", or a placeholder ISRC
    on thousands of tracks, must not bring thousands)."""
    rows = await conn.fetch(
        """SELECT n.provider, n.provider_track_id
           FROM unnest($1::text[]) AS k (isrc)
           CROSS JOIN LATERAL (
               SELECT s.provider, s.provider_track_id FROM seen_tracks s
               WHERE s.isrc = k.isrc
               ORDER BY s.provider, s.provider_track_id
               LIMIT $3) n
           UNION
           SELECT n.provider, n.provider_track_id
           FROM jsonb_to_recordset($2::jsonb) AS k (title_key text, artist_keys text[])
           CROSS JOIN LATERAL (
               SELECT s.provider, s.provider_track_id FROM seen_tracks s
               WHERE s.title_keys @> ARRAY[k.title_key]
               ORDER BY (s.artist_key = ANY(k.artist_keys)) DESC, s.provider, s.provider_track_id
               LIMIT $3) n""",
        sorted(isrcs),
        json.dumps([{"title_key": t, "artist_keys": sorted(a)} for t, a in sorted(title_keys.items())]),
        MAX_BLOCK,
    )
    return {TrackKey(r["provider"], r["provider_track_id"]) for r in rows}


async def stored_recordings(conn: asyncpg.Connection, ids: Collection[uuid.UUID]) -> list[StoredRecording]:
    """Each recording with its described tracks and every ISRC it holds."""
    rows = await conn.fetch(
        """SELECT r.id,
                  ARRAY(SELECT i.isrc FROM recording_isrcs i WHERE i.recording_id = r.id) AS isrcs,
                  COALESCE((SELECT jsonb_agg(jsonb_build_object(
                                'provider', s.provider, 'id', s.provider_track_id, 'title', s.title,
                                'artists', s.artists, 'album', s.album, 'duration_ms', s.duration_ms,
                                'isrc', s.isrc) ORDER BY p.seq)
                            FROM recording_provider_ids p
                            JOIN seen_tracks s USING (provider, provider_track_id)
                            WHERE p.recording_id = r.id), '[]'::jsonb) AS members
           FROM recordings r WHERE r.id = ANY($1::uuid[]) AND r.merged_into IS NULL""",
        list(ids),
    )
    return [
        StoredRecording(
            r["id"],
            tuple(
                SeenTrack(
                    m["provider"],
                    m["id"],
                    m["title"],
                    tuple(m["artists"]),
                    m["album"],
                    m["duration_ms"],
                    m["isrc"],
                )
                for m in json.loads(r["members"])
            ),
            frozenset(r["isrcs"]),
        )
        for r in rows
    ]


async def create_recordings(
    conn: asyncpg.Connection, recordings: Sequence[tuple[uuid.UUID, SeenTrack]]
) -> None:
    """New recordings under the given ids, each described by the given track."""
    await conn.execute(
        """INSERT INTO recordings (id, title, artists, duration_ms)
           SELECT r.id, r.title, r.artists, r.duration_ms
           FROM jsonb_to_recordset($1::jsonb) AS r (id uuid, title text, artists text[], duration_ms integer)""",
        json.dumps(
            [
                {"id": str(rid), "title": t.title, "artists": list(t.artists), "duration_ms": t.duration_ms}
                for rid, t in recordings
            ]
        ),
    )


async def place_tracks(
    conn: asyncpg.Connection, placed: Sequence[tuple[TrackKey, uuid.UUID, int | None]]
) -> None:
    """Put tracks that are on no recording on theirs (with the join that brought each, None for a track
    that came alone), in the order given; no transfer vouched for them (storage/catalog.py ``vouch``). A track already in the catalog is a unique violation: a
    concurrent transfer's match placed it meanwhile, and the event is retried."""
    await conn.execute(
        """INSERT INTO recording_provider_ids (provider, provider_track_id, recording_id, join_id, vouched)
           SELECT k.provider, k.provider_track_id, k.recording_id, k.join_id, false
           FROM unnest($1::text[], $2::text[], $3::uuid[], $4::bigint[])
                WITH ORDINALITY AS k (provider, provider_track_id, recording_id, join_id, n)
           ORDER BY k.n""",
        [k.provider for k, _, _ in placed],
        [k.track_id for k, _, _ in placed],
        [r for _, r, _ in placed],
        [j for _, _, j in placed],
    )


async def add_isrcs(conn: asyncpg.Connection, isrcs: Sequence[tuple[uuid.UUID, str, int | None]]) -> None:
    """Record (recording, ISRC) pairs not recorded yet, each with the join that brought it (None: a
    track that came alone)."""
    await conn.execute(
        """INSERT INTO recording_isrcs (recording_id, isrc, join_id)
           SELECT DISTINCT ON (i.recording_id, i.isrc) i.recording_id, i.isrc, i.join_id
           FROM unnest($1::uuid[], $2::text[], $3::bigint[]) WITH ORDINALITY AS i (recording_id, isrc, join_id, n)
           ORDER BY i.recording_id, i.isrc, i.n
           ON CONFLICT (recording_id, isrc) DO NOTHING""",
        [r for r, _, _ in isrcs],
        [i for _, i, _ in isrcs],
        [j for _, _, j in isrcs],
    )
