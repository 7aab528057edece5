"""SQL for sync links, their pairs of tracks and their runs (migrations/0004_sync.sql)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from pm_provider_sync.domain.sync import LinkRequest

ACTIVE_STATES = ["queued", "running", "paused"]


async def insert_link(
    conn: asyncpg.Connection,
    link_id: uuid.UUID,
    user_id: uuid.UUID,
    request: LinkRequest,
    now: datetime,
    next_run_at: datetime | None,
    library_origin: str | None = None,
) -> asyncpg.Record | None:
    """The new link, or None when the user links these two playlists already (either way round)."""
    try:
        return await conn.fetchrow(
            """INSERT INTO sync_links (id, user_id, a_provider, a_playlist_id, b_provider, b_playlist_id,
                                       direction, every_minutes, max_removal_share, next_run_at,
                                       created_at, updated_at, library_origin)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12)
               ON CONFLICT (user_id, a_provider, a_playlist_id, b_provider, b_playlist_id) DO NOTHING
               RETURNING *""",
            link_id,
            user_id,
            request.a.name,
            request.a.playlist_id,
            request.b.name,
            request.b.playlist_id,
            request.direction,
            request.every_minutes,
            request.max_removal_share,
            next_run_at,
            now,
            library_origin,
        )
    except asyncpg.UniqueViolationError:  # the same ends the other way round (sync_links_same_ends)
        return None


async def count_links(conn: asyncpg.Connection, user_id: uuid.UUID) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM sync_links WHERE user_id = $1", user_id))


async def library_linked(conn: asyncpg.Connection, user_id: uuid.UUID, provider: str) -> set[str]:
    """The user's playlists on ``provider`` that a library playlist a link joins was imported from."""
    rows = await conn.fetch(
        "SELECT library_origin FROM sync_links WHERE user_id = $1 AND library_origin LIKE $2",
        user_id,
        f"{provider}:%",
    )
    return {str(r["library_origin"]).partition(":")[2] for r in rows}


async def links_with_library_playlist(
    conn: asyncpg.Connection, user_id: uuid.UUID, playlist_id: str
) -> list[uuid.UUID]:
    rows = await conn.fetch(
        """SELECT id FROM sync_links WHERE user_id = $1
           AND ((a_provider = 'library' AND a_playlist_id = $2) OR (b_provider = 'library' AND b_playlist_id = $2))""",
        user_id,
        playlist_id,
    )
    return [r["id"] for r in rows]


async def user_link(
    conn: asyncpg.Connection, user_id: uuid.UUID, link_id: uuid.UUID
) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM sync_links WHERE id = $1 AND user_id = $2", link_id, user_id)


async def link(conn: asyncpg.Connection, link_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM sync_links WHERE id = $1", link_id)


async def link_for_update(conn: asyncpg.Connection, link_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM sync_links WHERE id = $1 FOR UPDATE", link_id)


async def list_links(conn: asyncpg.Connection, user_id: uuid.UUID) -> list[asyncpg.Record]:
    return list(
        await conn.fetch("SELECT * FROM sync_links WHERE user_id = $1 ORDER BY created_at, id", user_id)
    )


async def change_link(
    conn: asyncpg.Connection, link_id: uuid.UUID, values: dict[str, Any], now: datetime
) -> asyncpg.Record:
    names = sorted(values)
    assignments = ", ".join(f"{name} = ${i + 2}" for i, name in enumerate(names))
    row = await conn.fetchrow(
        f"UPDATE sync_links SET {assignments}, updated_at = ${len(names) + 2} WHERE id = $1 RETURNING *",
        link_id,
        *(values[name] for name in names),
        now,
    )
    assert row is not None
    return row


async def delete_link(conn: asyncpg.Connection, user_id: uuid.UUID, link_id: uuid.UUID) -> bool:
    status = await conn.execute("DELETE FROM sync_links WHERE id = $1 AND user_id = $2", link_id, user_id)
    return bool(status.endswith(" 1"))


async def record_synced(
    conn: asyncpg.Connection,
    link_id: uuid.UUID,
    base: Sequence[str],
    a_marker: str | None,
    b_marker: str | None,
    now: datetime,
) -> None:
    await conn.execute(
        """UPDATE sync_links SET base = $2::jsonb, a_marker = $3, b_marker = $4, last_synced_at = $5,
                  failures = 0, last_error = NULL, updated_at = $5
           WHERE id = $1""",
        link_id,
        json.dumps(list(base)),
        a_marker,
        b_marker,
        now,
    )


async def record_failure(
    conn: asyncpg.Connection, link_id: uuid.UUID, message: str, next_run_at: datetime | None, now: datetime
) -> None:
    await conn.execute(
        """UPDATE sync_links SET failures = failures + 1, last_error = $2,
                  next_run_at = CASE WHEN every_minutes IS NULL THEN NULL ELSE $3::timestamptz END, updated_at = $4
           WHERE id = $1""",
        link_id,
        message,
        next_run_at,
        now,
    )


async def restore_base(
    conn: asyncpg.Connection,
    link_id: uuid.UUID,
    base: Any,
    a_marker: str | None,
    b_marker: str | None,
    now: datetime,
) -> None:
    """After an undo: the base before the undone run, and the link paused (the owner decides what next)."""
    await conn.execute(
        """UPDATE sync_links SET base = $2::jsonb, a_marker = $3, b_marker = $4, paused = true, updated_at = $5
           WHERE id = $1""",
        link_id,
        json.dumps(base) if base is not None else None,
        a_marker,
        b_marker,
        now,
    )


async def due_links(conn: asyncpg.Connection, now: datetime, limit: int) -> list[asyncpg.Record]:
    """Links whose scheduled run is due, locked for this transaction; those another replica holds are
    skipped, so each due link is taken by one replica once."""
    return list(
        await conn.fetch(
            """SELECT * FROM sync_links
               WHERE NOT paused AND next_run_at IS NOT NULL AND next_run_at <= $1
               ORDER BY next_run_at LIMIT $2 FOR UPDATE SKIP LOCKED""",
            now,
            limit,
        )
    )


# ---- pairs -----------------------------------------------------------------------------------------------


async def pairs(conn: asyncpg.Connection, link_id: uuid.UUID) -> dict[str, str]:
    rows = await conn.fetch("SELECT a_id, b_id FROM sync_pairs WHERE link_id = $1", link_id)
    return {r["a_id"]: r["b_id"] for r in rows}


async def add_pairs(
    conn: asyncpg.Connection, link_id: uuid.UUID, user_id: uuid.UUID, found: Sequence[tuple[str, str]]
) -> None:
    if found:
        await conn.executemany(
            """INSERT INTO sync_pairs (link_id, user_id, a_id, b_id) VALUES ($1, $2, $3, $4)
               ON CONFLICT (link_id, a_id) DO NOTHING""",
            [(link_id, user_id, a, b) for a, b in found],
        )


# ---- runs ------------------------------------------------------------------------------------------------


async def insert_run(
    conn: asyncpg.Connection,
    run_id: uuid.UUID,
    link: asyncpg.Record,
    kind: str,
    now: datetime,
    undo_of: uuid.UUID | None = None,
) -> None:
    await conn.execute(
        """INSERT INTO sync_runs (id, link_id, user_id, kind, undo_of, base_before, created_at)
           VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)""",
        run_id,
        link["id"],
        link["user_id"],
        kind,
        undo_of,
        link["base"],
        now,
    )


async def active_run(conn: asyncpg.Connection, link_id: uuid.UUID) -> uuid.UUID | None:
    """The link's run (or undo) that is queued, running or paused, if any."""
    found: uuid.UUID | None = await conn.fetchval(
        """SELECT r.id FROM sync_runs r JOIN jobs j ON j.id = r.id
           WHERE r.link_id = $1 AND j.state = ANY($2::text[]) ORDER BY r.created_at LIMIT 1""",
        link_id,
        ACTIVE_STATES,
    )
    return found


async def user_run(conn: asyncpg.Connection, user_id: uuid.UUID, run_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM sync_runs WHERE id = $1 AND user_id = $2", run_id, user_id)


async def run(conn: asyncpg.Connection, run_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM sync_runs WHERE id = $1", run_id)


async def undo_of(conn: asyncpg.Connection, run_id: uuid.UUID) -> uuid.UUID | None:
    """The run's latest undo."""
    found: uuid.UUID | None = await conn.fetchval(
        "SELECT id FROM sync_runs WHERE undo_of = $1 ORDER BY created_at DESC LIMIT 1", run_id
    )
    return found


async def list_runs(conn: asyncpg.Connection, link_id: uuid.UUID, limit: int) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            "SELECT * FROM sync_runs WHERE link_id = $1 ORDER BY created_at DESC, id LIMIT $2", link_id, limit
        )
    )


async def save_before(
    conn: asyncpg.Connection,
    run_id: uuid.UUID,
    before_a: Sequence[str | None],
    before_b: Sequence[str | None],
) -> None:
    """The ends as the run found them, kept from its first attempt (a resumed run must not overwrite
    them with what it had half written)."""
    await conn.execute(
        """UPDATE sync_runs SET before_a = $2::jsonb, before_b = $3::jsonb
           WHERE id = $1 AND before_a IS NULL""",
        run_id,
        json.dumps(list(before_a)),
        json.dumps(list(before_b)),
    )


async def save_report(conn: asyncpg.Connection, run_id: uuid.UUID, report: dict[str, Any]) -> None:
    await conn.execute("UPDATE sync_runs SET report = $2::jsonb WHERE id = $1", run_id, json.dumps(report))


async def confirm(conn: asyncpg.Connection, run_id: uuid.UUID) -> None:
    await conn.execute("UPDATE sync_runs SET confirmed = true WHERE id = $1", run_id)


async def braked(conn: asyncpg.Connection, run_id: uuid.UUID, removals: dict[str, int]) -> None:
    """The brake stopped the run over these removals per end: a confirmation covers them, no more."""
    await conn.execute(
        "UPDATE sync_runs SET braked = $2::jsonb, confirmed = false WHERE id = $1",
        run_id,
        json.dumps(removals),
    )


async def start_writing(conn: asyncpg.Connection, run_id: uuid.UUID) -> None:
    await conn.execute("UPDATE sync_runs SET writing = true WHERE id = $1", run_id)


async def save_after(
    conn: asyncpg.Connection, run_id: uuid.UUID, after_a: Sequence[str | None], after_b: Sequence[str | None]
) -> None:
    await conn.execute(
        "UPDATE sync_runs SET after_a = $2::jsonb, after_b = $3::jsonb WHERE id = $1",
        run_id,
        json.dumps(list(after_a)),
        json.dumps(list(after_b)),
    )


async def later_change(conn: asyncpg.Connection, link_id: uuid.UUID, after: datetime) -> bool:
    """Whether a run of the link made after ``after`` changed the playlists."""
    return bool(
        await conn.fetchval(
            """SELECT EXISTS (SELECT 1 FROM sync_runs WHERE link_id = $1 AND kind = 'sync' AND created_at > $2
                              AND (report->>'changed')::boolean)""",
            link_id,
            after,
        )
    )


async def mark_synced(conn: asyncpg.Connection, link_id: uuid.UUID, now: datetime) -> None:
    """A run that found nothing changed succeeded too: the failures in a row end."""
    await conn.execute(
        """UPDATE sync_links SET last_synced_at = $2, failures = 0, last_error = NULL, updated_at = $2
           WHERE id = $1""",
        link_id,
        now,
    )


# ---- misses ----------------------------------------------------------------------------------------------


async def recent_misses(
    conn: asyncpg.Connection, link_id: uuid.UUID, since: datetime
) -> set[tuple[str, str]]:
    """(side, track id) of the tracks the link's runs looked for on the other end since ``since`` and did
    not find."""
    rows = await conn.fetch(
        "SELECT side, track_id FROM sync_misses WHERE link_id = $1 AND missed_at >= $2", link_id, since
    )
    return {(r["side"], r["track_id"]) for r in rows}


async def add_misses(
    conn: asyncpg.Connection,
    link_id: uuid.UUID,
    user_id: uuid.UUID,
    missed: Sequence[tuple[str, str]],
    now: datetime,
) -> None:
    if missed:
        await conn.executemany(
            """INSERT INTO sync_misses (link_id, user_id, side, track_id, missed_at) VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (link_id, side, track_id) DO UPDATE SET missed_at = EXCLUDED.missed_at""",
            [(link_id, user_id, side, track, now) for side, track in missed],
        )
