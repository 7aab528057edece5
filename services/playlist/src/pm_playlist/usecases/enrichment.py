"""The catalog's enrichments applied to the library (events of pm.enrichment).

Each event is a recording's whole enrichment: it is kept once for every library (storage/enrichment.py)
and shown beside the providers' own fields of each track whose provider ids include one of the
recording's tracks; nothing of a track's own is overwritten. The newest event per recording wins: a
replayed or older one changes nothing. Tracks the newest event no longer names (an operator's split
moved them to another recording) no longer show this recording's enrichment. Every playlist whose page
shows something else afterwards gets a new ETag, and the cache hears of it after the commit.
"""

from __future__ import annotations

import asyncpg
from loguru import logger

from pm_contracts.enrichment import TrackEnriched
from pm_platform.consumers import InvalidEvent
from pm_platform.db import lock_until_commit
from pm_playlist.domain.enrichment import (
    UnstorableEnrichment,
    from_event,
    is_stale,
    shown_changed,
    tracks_to_refresh,
)
from pm_playlist.storage import enrichment as sql
from pm_playlist.usecases.changes import Committed


async def apply_enrichment(conn: asyncpg.Connection, event: TrackEnriched) -> Committed:
    """Keep the event's enrichment of its recording if it is newer than the one kept, in the caller's
    transaction (the event's). Idempotent: the same event again, or an older one, changes nothing.
    Writers of one recording are serialised by its advisory lock (held until the transaction ends);
    provider tracks are written in one order. An event that cannot be stored (a NUL character) is an
    :class:`InvalidEvent` (dead-lettered)."""
    try:
        incoming, tracks = from_event(event)
    except UnstorableEnrichment as exc:
        raise InvalidEvent(str(exc)) from None
    committed = Committed()
    await lock_until_commit(conn, f"recording-enrichment:{event.recording_id}")
    kept = await sql.kept_recording(conn, event.recording_id)
    if is_stale(kept, incoming):
        logger.info(
            "an enrichment of recording {} not newer than the one kept is ignored", event.recording_id
        )
        return committed
    await sql.save_recording(conn, incoming)
    named_before = await sql.named_tracks(conn, event.recording_id)
    dropped = await sql.drop_tracks(conn, event.recording_id, tracks)
    claimed = await sql.claim_tracks(conn, event.recording_id, tracks, event.enriched_at)
    refresh = tracks_to_refresh(named_before, dropped, claimed, shown_changed(kept, incoming))
    for user_id, playlist_id in await sql.touch_playlists_showing(conn, sorted(refresh)):
        committed.forget(user_id, playlist_id)
    return committed
