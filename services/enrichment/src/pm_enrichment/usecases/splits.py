"""An operator's split of a wrong join (docs/catalog.md, "Splitting a recording"): some tracks of a
recording are taken out into a new one, and every pair of a moved and a staying track is remembered as
kept apart, so no later import's placing (domain/clustering.py's guard) nor transfer's match
(usecases/catalog.py) joins them again. Both recordings are then due for the enrichment (their
``track.enriched`` tells the libraries which tracks are whose)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from loguru import logger

from pm_enrichment.domain.catalog import TrackKey
from pm_enrichment.storage import catalog as catalog_sql
from pm_enrichment.storage import splits as splits_sql
from pm_enrichment.usecases.clustering import PLACING_LOCK
from pm_platform.db import lock_until_commit
from pm_platform.errors import NotFound, Problem
from pm_platform.service import Runtime


class RecordingNotFound(NotFound):
    code = "recording-not-found"
    title = "No such recording"


class SplitRefused(Problem):
    status, code, title = 422, "split-refused", "The split cannot be made"


@dataclass(frozen=True)
class SplitDone:
    split_id: int
    recording_id: uuid.UUID
    new_recording_id: uuid.UUID
    moved: list[TrackKey]
    staying: list[TrackKey]


async def split_recording(
    rt: Runtime, recording_id: uuid.UUID, tracks: list[TrackKey], reason: str
) -> SplitDone:
    """Take ``tracks`` out of the recording into a new one, remembered. Refused: a recording that does
    not exist or was merged away (404), a track not on it, or a split that would leave either side empty
    (422). Holds the placing lock and the recording's row lock: no import places nor transfer merges it
    meanwhile."""
    async with rt.transaction() as conn:
        await lock_until_commit(conn, PLACING_LOCK)
        await catalog_sql.lock_recordings(conn, [recording_id])
        if not await splits_sql.is_current(conn, recording_id):
            raise RecordingNotFound("no such recording (or it was merged into another)")
        current = await splits_sql.tracks_of(conn, recording_id)
        moved = list(dict.fromkeys(tracks))
        strangers = [str(k) for k in moved if k not in current]
        if strangers:
            raise SplitRefused(f"not tracks of this recording: {', '.join(strangers[:10])}")
        staying = [k for k in current if k not in moved]
        if not moved or not staying:
            raise SplitRefused("a split leaves tracks on both sides: name some, not all, of its tracks")
        new_recording_id = uuid.uuid4()
        split_id = await splits_sql.split(conn, recording_id, new_recording_id, moved, staying, reason)
    logger.info(
        "catalog: recording {} split: {} track(s) out into {} ({})",
        recording_id,
        len(moved),
        new_recording_id,
        reason,
    )
    return SplitDone(split_id, recording_id, new_recording_id, moved, staying)
