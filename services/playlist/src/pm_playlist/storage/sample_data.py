"""A large library generated in SQL, for the query checks (`make explain-checks`): many users, each
with playlists of their own tracks, one playlist of 10,000 entries, and a history of versions.

Only into an empty schema (the checks refuse a database that holds a library): never into real data.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True)
class SampleShape:
    users: int = 1_000
    playlists_per_user: int = 10
    entries_per_playlist: int = 100
    tracks_per_user: int = 400
    versions_per_playlist: int = 10
    enriched_every: int = 4

    @property
    def entries(self) -> int:
        return self.users * self.playlists_per_user * self.entries_per_playlist + 10_000


async def is_empty(conn: asyncpg.Connection) -> bool:
    return not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM playlists)")


async def generate(conn: asyncpg.Connection, shape: SampleShape) -> None:
    """Fill the empty schema (ids derived from numbers, so a rerun makes the same library), then ANALYZE."""
    await conn.execute(
        """INSERT INTO tracks (id, user_id, identity, title, artists, duration_ms, isrc, provider_ids)
           SELECT md5('t' || u || ':' || t)::uuid, md5('u' || u)::uuid, 'spotify:' || u || ':' || t,
                  'Song ' || t, ARRAY['Artist ' || (t % 97)], 120000 + t, NULL,
                  jsonb_build_object('spotify', u || ':' || t)
           FROM generate_series(1, $1) AS u, generate_series(1, $2) AS t""",
        shape.users,
        shape.tracks_per_user,
    )
    await conn.execute(
        """INSERT INTO playlists (id, user_id, name, origin_provider, origin_playlist_id, change_marker,
                                  version, entry_count, created_at, updated_at)
           SELECT md5('p' || u || ':' || p)::uuid, md5('u' || u)::uuid, 'Playlist ' || p,
                  CASE WHEN p % 2 = 0 THEN 'spotify' END, CASE WHEN p % 2 = 0 THEN 'sp' || u || ':' || p END,
                  CASE WHEN p % 2 = 0 THEN 'm1' END, $3, $4,
                  now() - make_interval(days => p), now() - make_interval(hours => p)
           FROM generate_series(1, $1) AS u, generate_series(1, $2) AS p""",
        shape.users,
        shape.playlists_per_user,
        shape.versions_per_playlist,
        shape.entries_per_playlist,
    )
    await conn.execute(
        """INSERT INTO entries (playlist_id, sort_key, id, track_id, added_at)
           SELECT md5('p' || u || ':' || p)::uuid, e::bigint << 20, md5('e' || u || ':' || p || ':' || e)::uuid,
                  md5('t' || u || ':' || (1 + (p * 7919 + e) % $4))::uuid, now()
           FROM generate_series(1, $1) AS u, generate_series(1, $2) AS p, generate_series(1, $3) AS e""",
        shape.users,
        shape.playlists_per_user,
        shape.entries_per_playlist,
        shape.tracks_per_user,
    )
    # The big one: user 1's playlist of 10,000 entries.
    await conn.execute(
        """INSERT INTO playlists (id, user_id, name, version, entry_count)
           VALUES (md5('big')::uuid, md5('u1')::uuid, 'Big', 1, 10000)"""
    )
    await conn.execute(
        """INSERT INTO entries (playlist_id, sort_key, id, track_id, added_at)
           SELECT md5('big')::uuid, e::bigint << 20, md5('big:' || e)::uuid,
                  md5('t1:' || (1 + e % $1))::uuid, now()
           FROM generate_series(1, 10000) AS e""",
        shape.tracks_per_user,
    )
    await conn.execute(
        """INSERT INTO playlist_versions (playlist_id, version, kind, author, edit, added, removed, moved,
                                          entry_count, edit_size)
           SELECT p.id, v, 'move', p.user_id::text, '\\x00'::bytea, 0, 0, 1, p.entry_count, 1
           FROM playlists p, generate_series(1, $1) AS v""",
        shape.versions_per_playlist,
    )
    await conn.execute(
        """INSERT INTO playlist_snapshots (playlist_id, version, entries)
           SELECT id, 1, '\\x00'::bytea FROM playlists"""
    )
    # The catalog's enrichments of one track in ``enriched_every`` of each user's (a recording each).
    await conn.execute(
        """INSERT INTO recording_enrichments (recording_id, enriched_at, musicbrainz_id, fields)
           SELECT md5('r' || u || ':' || t)::uuid, now(), NULL,
                  jsonb_build_object('isrc', jsonb_build_object('value', 'GBAAA' || lpad(t::text, 7, '0'),
                                                                'source', 'musicbrainz'))
           FROM generate_series(1, $1) AS u, generate_series($3::int, $2::int, $3::int) AS t""",
        shape.users,
        shape.tracks_per_user,
        shape.enriched_every,
    )
    await conn.execute(
        """INSERT INTO enriched_tracks (provider, provider_track_id, recording_id, named_at)
           SELECT 'spotify', u || ':' || t, md5('r' || u || ':' || t)::uuid, now()
           FROM generate_series(1, $1) AS u, generate_series($3::int, $2::int, $3::int) AS t""",
        shape.users,
        shape.tracks_per_user,
        shape.enriched_every,
    )
    await conn.execute("ANALYZE")


async def subjects(conn: asyncpg.Connection) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID, list[uuid.UUID]]:
    """A user, their largest playlist, its first track and a few of its entries, from the data."""
    row = await conn.fetchrow("SELECT id, user_id FROM playlists ORDER BY entry_count DESC, id LIMIT 1")
    if row is None:
        raise SystemExit("explain-checks: the database holds no playlist (use --generate on an empty one)")
    found = await conn.fetch(
        "SELECT id, track_id FROM entries WHERE playlist_id = $1 ORDER BY sort_key LIMIT 3", row["id"]
    )
    return row["user_id"], row["id"], found[0]["track_id"], [r["id"] for r in found]
