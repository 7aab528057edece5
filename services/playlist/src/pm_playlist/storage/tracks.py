"""SQL for the ``tracks`` table: one row per recording and user, found by its identity
(domain/imports.py's ``track_identity``)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import asyncpg

from pm_contracts.providers import ProviderName, is_provider
from pm_playlist.domain.imports import TrackKey
from pm_playlist.domain.playlists import TrackRecord
from pm_playlist.domain.tracks import Track


@dataclass(frozen=True, slots=True)
class TrackUpsert:
    ids: dict[str, uuid.UUID]  # identity → track id
    changed: list[uuid.UUID]  # existing tracks whose metadata changed


# What writing a track the library already has does to it (``upsert_tracks``'s ``known``).
Known = Literal["refresh", "fill", "keep"]
_ON_CONFLICT: dict[Known, str] = {
    # A provider's description: the newer metadata (the provider fixed a title), and any id it lacked.
    "refresh": """DO UPDATE SET
               title = EXCLUDED.title, artists = EXCLUDED.artists, album = EXCLUDED.album,
               duration_ms = EXCLUDED.duration_ms, isrc = COALESCE(EXCLUDED.isrc, tracks.isrc),
               explicit = EXCLUDED.explicit, release_date = COALESCE(EXCLUDED.release_date, tracks.release_date),
               provider_ids = tracks.provider_ids || EXCLUDED.provider_ids,
               media_type = EXCLUDED.media_type, is_local = EXCLUDED.is_local, available = EXCLUDED.available
           WHERE (tracks.title, tracks.artists, tracks.album, tracks.duration_ms, tracks.explicit,
                  tracks.media_type, tracks.is_local, tracks.available)
                 IS DISTINCT FROM
                 (EXCLUDED.title, EXCLUDED.artists, EXCLUDED.album, EXCLUDED.duration_ms, EXCLUDED.explicit,
                  EXCLUDED.media_type, EXCLUDED.is_local, EXCLUDED.available)
              OR (EXCLUDED.isrc IS NOT NULL AND tracks.isrc IS DISTINCT FROM EXCLUDED.isrc)
              OR (EXCLUDED.release_date IS NOT NULL AND tracks.release_date IS DISTINCT FROM EXCLUDED.release_date)
              OR NOT (tracks.provider_ids @> EXCLUDED.provider_ids)""",
    # A file's description: a file knows less than a provider (an M3U line has no album), so the
    # metadata stays; the provider ids and the ISRC the track lacked are added (an id it has stays).
    "fill": """DO UPDATE SET
               provider_ids = EXCLUDED.provider_ids || tracks.provider_ids,
               isrc = COALESCE(tracks.isrc, EXCLUDED.isrc)
           WHERE EXCLUDED.provider_ids || tracks.provider_ids <> tracks.provider_ids
              OR (tracks.isrc IS NULL AND EXCLUDED.isrc IS NOT NULL)""",
    # A user's description: it is that track, unchanged (the row is still locked, as the others lock it).
    "keep": "DO UPDATE SET title = tracks.title WHERE false",
}


async def upsert_tracks(
    conn: asyncpg.Connection,
    user_id: uuid.UUID,
    tracks: list[TrackRecord],
    *,
    known: Known = "refresh",
    new_ids: Mapping[str, uuid.UUID] | None = None,
) -> TrackUpsert:
    """Write the user's tracks: new ones are added; known ones are changed as ``known`` says —
    ``refresh`` (a provider's description): they take the newer metadata and gain any provider id they
    lacked; ``fill`` (a file's): they keep their metadata and gain the provider ids and ISRC they lacked;
    ``keep`` (a user's): they stay as they are. A new track takes the id ``new_ids`` gives its identity
    (a restore's: the id its backup knew, which the caller found free), else a random one.

    Rows are written in the order of their identity, so two writers of the same tracks never wait for
    each other in a circle (a deadlock)."""
    # One statement may touch a row only once.
    unique = sorted({t.identity: t for t in tracks}.values(), key=lambda t: t.identity)
    if not unique:
        return TrackUpsert({}, [])
    rows = await conn.fetch(
        f"""INSERT INTO tracks (id, user_id, identity, title, artists, album, duration_ms, isrc, explicit,
                               release_date, provider_ids, media_type, is_local, available)
           SELECT COALESCE(t.id, gen_random_uuid()), $1, t.identity, t.title,
                  ARRAY(SELECT jsonb_array_elements_text(t.artists)), t.album, t.duration_ms, t.isrc,
                  t.explicit, t.release_date, t.provider_ids, t.media_type, t.is_local, t.available
           FROM unnest($2::text[], $3::text[], $4::jsonb[], $5::text[], $6::int[], $7::text[], $8::bool[],
                       $9::date[], $10::jsonb[], $11::text[], $12::bool[], $13::bool[], $14::uuid[])
                AS t(identity, title, artists, album, duration_ms, isrc, explicit, release_date,
                     provider_ids, media_type, is_local, available, id)
           ON CONFLICT (user_id, identity) {_ON_CONFLICT[known]}
           RETURNING id, identity, (xmax = 0) AS inserted""",
        user_id,
        [t.identity for t in unique],
        [t.title for t in unique],
        [json.dumps(list(t.artists)) for t in unique],
        [t.album for t in unique],
        [t.duration_ms for t in unique],
        [t.isrc for t in unique],
        [t.explicit for t in unique],
        [t.release_date for t in unique],
        [json.dumps(dict(t.provider_ids)) for t in unique],
        [t.media_type for t in unique],
        [t.is_local for t in unique],
        [t.available for t in unique],
        [(new_ids or {}).get(t.identity) for t in unique],
    )
    ids = {r["identity"]: r["id"] for r in rows}
    changed = [r["id"] for r in rows if not r["inserted"]]
    missing = [t.identity for t in unique if t.identity not in ids]  # known and unchanged
    if missing:
        for r in await conn.fetch(
            "SELECT id, identity FROM tracks WHERE user_id = $1 AND identity = ANY($2::text[])",
            user_id,
            missing,
        ):
            ids[r["identity"]] = r["id"]
    return TrackUpsert(ids, changed)


async def owned_tracks(
    conn: asyncpg.Connection, user_id: uuid.UUID, track_ids: list[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of these ids are tracks of the user (an entry may only name the user's own tracks)."""
    rows = await conn.fetch(
        "SELECT id FROM tracks WHERE user_id = $1 AND id = ANY($2::uuid[])", user_id, track_ids
    )
    return {r["id"] for r in rows}


async def track_keys(conn: asyncpg.Connection, track_ids: list[uuid.UUID]) -> dict[uuid.UUID, TrackKey]:
    """What the library holds under these ids, any user's (a restore's backup names ids: one of the
    user's is that track, one of another user's is taken and never touched). Ids of no track are absent."""
    rows = await conn.fetch(
        "SELECT id, user_id, identity FROM tracks WHERE id = ANY($1::uuid[])", list(set(track_ids))
    )
    return {r["id"]: TrackKey(r["user_id"], r["identity"]) for r in rows}


async def load_tracks(conn: asyncpg.Connection, track_ids: list[uuid.UUID]) -> dict[uuid.UUID, Track]:
    """The domain's view of these tracks (for deduplication and sorting)."""
    rows = await conn.fetch(
        """SELECT id, title, artists, album, duration_ms, isrc, explicit, release_date, provider_ids
           FROM tracks WHERE id = ANY($1::uuid[])""",
        list(set(track_ids)),
    )
    return {
        r["id"]: Track(
            title=r["title"],
            artists=tuple(r["artists"]),
            album=r["album"],
            duration_ms=r["duration_ms"],
            isrc=r["isrc"],
            explicit=r["explicit"],
            release_date=r["release_date"],
            provider_ids={
                ProviderName(p): i for p, i in json.loads(r["provider_ids"]).items() if is_provider(p)
            },
        )
        for r in rows
    }
