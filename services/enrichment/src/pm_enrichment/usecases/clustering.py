"""Every track the system has seen resolves to one canonical recording (issue 20; docs/catalog.md, "Seen
tracks"). A provider import's tracks, as the provider described them, are kept (``seen_tracks``) and
placed among the recordings by the clustering's rules (domain/clustering.py ``place``): a track new to
the catalog makes a recording, attaches to one, or bridges two into one; every join is logged with the
rule that made it, and every join the guard refused with why.

Shared, like the rest of the catalog: nothing here takes or keeps a user id.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import asyncpg
from loguru import logger

from pm_contracts.library import ImportedTrack
from pm_enrichment.domain.catalog import MAX_ARTISTS, MAX_DURATION_MS, JoinKind, TrackKey
from pm_enrichment.domain.clustering import (
    Join,
    Placement,
    SeenTrack,
    block_keys,
    main_artist_key,
    place,
)
from pm_enrichment.domain.metadata import normalise_track
from pm_enrichment.storage import catalog as catalog_sql
from pm_enrichment.storage import clustering as clustering_sql
from pm_enrichment.storage import splits as splits_sql
from pm_enrichment.storage.catalog import JoinRecord
from pm_enrichment.storage.clustering import SeenRow
from pm_enrichment.usecases.catalog import locked_recordings_of
from pm_platform.db import lock_until_commit

# Held by every writer of placings until its transaction ends: two imports placing tracks of one song
# at once would each make a recording of it. Transfers' matches do not take it (they lock their two
# tracks and recordings); the recordings' row locks and the unique key on a track stand between them.
PLACING_LOCK = "catalog:placing"
# What the catalog clusters: music. An episode is no recording, an unknown item is nothing to compare.
MEDIA_CLUSTERED = frozenset({"track", "video"})


def seen_row(provider: str, imported: ImportedTrack, described_at: datetime) -> SeenRow | None:
    """An imported track as the catalog keeps it, or None when it has nothing to keep: no provider id (a
    local file), not music (an episode), or an id PostgreSQL cannot hold (a NUL character). NUL
    characters leave the description, empty artists are dropped, a duration beyond a day is forgotten."""
    track_id = imported.provider_track_id
    if not track_id or "\x00" in track_id or imported.is_local or imported.media_type not in MEDIA_CLUSTERED:
        return None
    title = imported.title.replace("\x00", "")
    artists = tuple(a for a in (a.replace("\x00", "").strip() for a in imported.artists[:MAX_ARTISTS]) if a)
    album = imported.album.replace("\x00", "") if imported.album else None
    duration = imported.duration_ms
    if duration is not None and not 0 <= duration <= MAX_DURATION_MS:
        duration = None
    track = SeenTrack(provider, track_id, title, artists, album or None, duration, imported.isrc)
    return SeenRow(
        track=track,
        explicit=imported.explicit,
        release_date=imported.release_date,
        title_keys=tuple(sorted(block_keys(track))),
        artist_key=main_artist_key(track),
        normalised=normalise_track(title, artists).to_json(),
        described_at=described_at,
    )


@dataclass(frozen=True)
class SeenRecorded:
    """What :func:`record_seen` did: tracks described for the first time or anew, tracks placed on a
    recording, recordings made and merged away, joins logged and refused."""

    described: int = 0
    placed: int = 0
    created: int = 0
    merged: int = 0
    joined: int = 0
    refused: int = 0


async def record_seen(
    conn: asyncpg.Connection, rows: Sequence[SeenRow], *, job_id: uuid.UUID, seen_at: datetime
) -> SeenRecorded:
    """Keep the tracks' descriptions and place those described for the first time or anew among the
    recordings (docs/catalog.md). Runs in the caller's transaction (the event's). Idempotent: the same
    descriptions again change nothing and cost one statement. ``job_id`` and ``seen_at`` are the join
    log's evidence (the import that read them)."""
    unique = {row.track.key: row for row in rows}  # one description a track: the latest given
    # In key order: two imports of overlapping tracks lock their rows in one order, never a deadlock.
    changed = await clustering_sql.describe(conn, [unique[key] for key in sorted(unique)])
    if not changed:
        return SeenRecorded()
    active = [unique[(key.provider, key.track_id)].track for key in sorted(changed)]
    await lock_until_commit(conn, PLACING_LOCK)
    filed: dict[str, set[str]] = defaultdict(set)
    for track in active:
        for title in block_keys(track):
            filed[title].add(main_artist_key(track))
    near = await clustering_sql.neighbours(conn, {t.isrc for t in active if t.isrc}, filed)
    start = await locked_recordings_of(conn, sorted(near | {TrackKey(*t.key) for t in active}))
    stored = await clustering_sql.stored_recordings(conn, set(start.values()))
    # The pairs an operator split apart, among these tracks: never one recording again.
    involved = {TrackKey(*t.key) for t in active} | {TrackKey(*m.key) for r in stored for m in r.members}
    placing = place(active, stored, await splits_sql.apart(conn, involved))

    born = {id(p): uuid.uuid4() for p in placing.placements if not p.recordings}
    await clustering_sql.create_recordings(
        conn, [(born[id(p)], _describing(p.new)) for p in placing.placements if not p.recordings]
    )
    created_at = await catalog_sql.recordings(conn, {r for p in placing.placements for r in p.recordings})
    # Where each track is before the placing: those looked up, and every described track of their
    # recordings (a join may name any of them).
    before: dict[tuple[str, str], uuid.UUID] = {(k.provider, k.track_id): r for k, r in start.items()}
    before.update({m.key: r.id for r in stored for m in r.members})
    folded: dict[uuid.UUID, uuid.UUID] = {}
    placed: dict[tuple[str, str], tuple[uuid.UUID, int | None]] = {}
    isrcs: list[tuple[uuid.UUID, str, int | None]] = []
    touched: set[uuid.UUID] = set()
    joined = 0
    for placement in placing.placements:
        if placement.recordings:
            survivor, *merged = sorted(placement.recordings, key=lambda r: (created_at[r].created_at, r))
            for folding in merged:
                await catalog_sql.merge_recordings(conn, survivor, folding)
                folded[folding] = survivor
            touched.add(survivor)
        else:
            survivor = born[id(placement)]
        brought: dict[tuple[str, str], int] = {}
        logged: set[uuid.UUID] = set()
        for index, join in enumerate(placement.joins):
            kind, folded_now = _decision(placement, join, index, before, survivor, logged)
            join_id, new = await catalog_sql.record_join(
                conn, _record(join, kind, survivor, folded_now, job_id, seen_at)
            )
            joined += new
            for track in (join.a, join.b):
                brought.setdefault(track.key, join_id)
        for track in placement.new:
            bringing = brought.get(track.key)
            placed[track.key] = (survivor, bringing)
            if track.isrc:
                isrcs.append((survivor, track.isrc, bringing))

    def after(key: tuple[str, str]) -> uuid.UUID | None:
        """The recording a track is on once the placing is applied."""
        if key in placed:
            return placed[key][0]
        recording = before.get(key)
        return folded.get(recording, recording) if recording is not None else None

    # A stored track described anew brings its ISRC to its recording, and the recording is to be enriched
    # again (what it is made of changed).
    for track in active:
        recording = after(track.key)
        if recording is not None and track.key not in placed:
            touched.add(recording)
            if track.isrc:
                isrcs.append((recording, track.isrc, None))
    await clustering_sql.place_tracks(
        conn, [(TrackKey(*key), recording, join_id) for key, (recording, join_id) in placed.items()]
    )
    await clustering_sql.add_isrcs(conn, isrcs)
    touched -= set(folded)
    if touched:
        await catalog_sql.touch(conn, touched)

    refused = 0
    for refusal in placing.refusals:
        ra, rb = after(refusal.a.key), after(refusal.b.key)
        if ra is None or rb is None or ra == rb:
            continue  # joined after all, through other pairs
        record = _record(Join(refusal.a, refusal.b, refusal.rule), "refused", ra, rb, job_id, seen_at)
        _, new = await catalog_sql.record_join(conn, replace(record, reason=refusal.reason))
        refused += new
    outcome = SeenRecorded(
        described=len(changed),
        placed=len(placed),
        created=len(born),
        merged=len(folded),
        joined=joined,
        refused=refused,
    )
    logger.info(
        "catalog: {} tracks described, {} placed ({} new recordings, {} merged away, {} joins, {} refused)",
        outcome.described,
        outcome.placed,
        outcome.created,
        outcome.merged,
        outcome.joined,
        outcome.refused,
    )
    return outcome


def _describing(new: Sequence[SeenTrack]) -> SeenTrack:
    """The track whose description a new recording takes: the first by provider and id, so a streaming
    service's before a video's ("youtube" sorts last)."""
    return min(new, key=lambda t: t.key)


def _decision(
    placement: Placement,
    join: Join,
    index: int,
    before: dict[tuple[str, str], uuid.UUID],
    survivor: uuid.UUID,
    logged: set[uuid.UUID],
) -> tuple[JoinKind, uuid.UUID | None]:
    """How the join log names one join of a placement: the first join that reaches a recording folded
    into the survivor is that recording's ``merged`` (naming it), whatever else it joins (a merge is
    mostly a new track bridging two recordings); the first join of a new recording ``created`` it; any
    other ``attached`` a track."""
    for track in (join.a, join.b):
        recording = before.get(track.key)
        if recording is not None and recording != survivor and recording not in logged:
            logged.add(recording)
            return "merged", recording
    if not placement.recordings and index == 0:
        return "created", None
    return "attached", None


def _record(
    join: Join,
    kind: JoinKind,
    recording: uuid.UUID,
    other: uuid.UUID | None,
    job_id: uuid.UUID,
    seen_at: datetime,
) -> JoinRecord:
    assert join.rule.name != "same-id"  # one track is never joined to itself: place() takes each once
    return JoinRecord(
        source=TrackKey(*join.a.key),
        target=TrackKey(*join.b.key),
        kind=kind,
        recording_id=recording,
        other_recording_id=other,
        reason=f"{join.rule.name}: {join.rule.reason}" if join.rule.reason else join.rule.name,
        method=join.rule.name,
        confidence=join.rule.confidence,
        source_isrc=join.a.isrc,
        target_isrc=join.b.isrc,
        job_id=job_id,
        matched_at=seen_at,
        origin="import",
    )
