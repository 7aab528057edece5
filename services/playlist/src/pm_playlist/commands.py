"""The playlist service's own commands (``python -m pm_playlist <command>``).

``explain-checks [--generate]``: the query plans of the hot storage calls (the real SQL, through
pm_platform.explain) over the database of DATABASE_URL; exits 1 naming every sequential scan of a big
table. ``--generate`` first fills an empty database with a large library (storage/sample_data.py: a
million entries); without it the checks read whatever is there (a production database: nothing is
written). `make explain-checks` runs it with ``--generate`` on a throwaway database.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg

from pm_platform.explain import ExplainingConnection, big_tables, sequential_scans
from pm_platform.settings import InfraSettings
from pm_playlist.domain.enrichment import Enrichment, RecordingEnrichment
from pm_playlist.domain.entries import Entry, Move
from pm_playlist.domain.listing import ListQuery
from pm_playlist.domain.playlists import TrackRecord
from pm_playlist.storage import enrichment, entries, history, insights, playlists, sample_data, tracks
from pm_playlist.storage.entries import StoredEntries

# A table is big from this many rows: below it a sequential scan is the planner's right choice.
BIG_TABLE_ROWS = 10_000


def hot_calls(
    user_id: uuid.UUID, playlist_id: uuid.UUID, track_id: uuid.UUID, entry_ids: list[uuid.UUID]
) -> dict[str, Callable[[Any], Awaitable[Any]]]:
    """Every storage call on a request's or an import's path, with real arguments."""
    now = datetime.now(UTC)
    stored = StoredEntries(
        tuple(Entry(i, track_id, now) for i in entry_ids), tuple(range(1, len(entry_ids) + 1))
    )
    moved = Move((entry_ids[-1],), 0).apply(stored.entries)
    record = TrackRecord(identity="spotify:explain", title="Explain", artists=("Explain",))
    recording = RecordingEnrichment(Enrichment(uuid.UUID(int=1), None, {}), now)
    named = [("deezer", "1"), ("spotify", "1:4")]
    calls: dict[str, Callable[[Any], Awaitable[Any]]] = {
        "get_playlist": lambda c: playlists.get_playlist(c, user_id, playlist_id, lock=True),
        "find_by_origin": lambda c: playlists.find_by_origin(c, user_id, "spotify", "sp1:2"),
        "not_listed_any_more": lambda c: playlists.not_listed_any_more(c, user_id, "spotify", ["a"]),
        "touch_playlists_holding": lambda c: playlists.touch_playlists_holding(c, [track_id]),
        "load_entries": lambda c: entries.load_entries(c, playlist_id),
        "entries_page (deep)": lambda c: entries.entries_page(c, playlist_id, 9_900, 100),
        "write_changes (move)": lambda c: entries.write_changes(c, playlist_id, stored, moved),
        "write_changes (remove)": lambda c: entries.write_changes(c, playlist_id, stored, stored.entries[1:]),
        "upsert_tracks": lambda c: tracks.upsert_tracks(c, user_id, [record]),
        "upsert_tracks (fill)": lambda c: tracks.upsert_tracks(c, user_id, [record], known="fill"),
        "owner_of": lambda c: playlists.owner_of(c, playlist_id),
        "owned_tracks": lambda c: tracks.owned_tracks(c, user_id, [track_id]),
        "track_keys": lambda c: tracks.track_keys(c, [track_id]),
        "load_tracks": lambda c: tracks.load_tracks(c, [track_id]),
        "list_versions": lambda c: history.list_versions(c, playlist_id, None, 50),
        "sizes_since_snapshot": lambda c: history.sizes_since_snapshot(c, playlist_id),
        "version_entries": lambda c: history.version_entries(c, playlist_id, 2),
        # version_entries stops once the explained snapshot query finds nothing: its later query too.
        "edits_after (replay)": lambda c: history.edits_after(c, playlist_id, 1, 40),
        "delete_playlist": lambda c: playlists.delete_playlist(c, playlist_id),
        "enrichments_of": lambda c: enrichment.enrichments_of(c, [track_id]),
        "kept_recording": lambda c: enrichment.kept_recording(c, recording.recording_id),
        "save_recording": lambda c: enrichment.save_recording(c, recording),
        "named_tracks": lambda c: enrichment.named_tracks(c, recording.recording_id),
        "drop_tracks": lambda c: enrichment.drop_tracks(c, recording.recording_id, named),
        "claim_tracks": lambda c: enrichment.claim_tracks(c, recording.recording_id, named, now),
        "touch_playlists_showing": lambda c: enrichment.touch_playlists_showing(c, named),
        "library_tracks (library)": lambda c: insights.library_tracks(c, user_id),
        "library_tracks (playlist)": lambda c: insights.library_tracks(c, user_id, playlist_id),
        "playlist_names": lambda c: insights.playlist_names(c, user_id),
        "owns_playlist": lambda c: insights.owns_playlist(c, user_id, playlist_id),
    }
    queries = {sort: ListQuery(sort=sort) for sort in ("name", "-name", "created", "-updated")}
    queries["spotify, name filter"] = ListQuery(provider="spotify", name="list")
    for label, query in queries.items():
        calls[f"list_playlists ({label})"] = _listing(user_id, query)
    return calls


def _listing(user_id: uuid.UUID, query: ListQuery) -> Callable[[Any], Awaitable[Any]]:
    return lambda c: playlists.list_playlists(c, user_id, query)


async def run_checks(dsn: str, generate: bool) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        if generate:
            if not await sample_data.is_empty(conn):
                raise SystemExit("explain-checks: --generate needs an empty library; this database holds one")
            shape = sample_data.SampleShape()
            started = time.monotonic()
            await sample_data.generate(conn, shape)
            print(
                f"explain-checks: generated {shape.entries:,} entries in {time.monotonic() - started:.1f} s"
            )
        big = await big_tables(conn, BIG_TABLE_ROWS)
        explaining = ExplainingConnection(conn)
        calls = hot_calls(*await sample_data.subjects(conn))
        for label, call in calls.items():
            explaining.label = label
            await call(explaining)
        print(
            f"explain-checks: {len(explaining.plans)} statements of {len(calls)} storage calls explained; "
            f"big tables (≥ {BIG_TABLE_ROWS:,} rows): {', '.join(sorted(big)) or 'none'}"
        )
        return sequential_scans(explaining.plans, big)
    finally:
        await conn.close()


def explain_checks(settings: InfraSettings, argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m pm_playlist explain-checks")
    parser.add_argument(
        "--generate", action="store_true", help="fill an empty database with a large library first"
    )
    args = parser.parse_args(argv)
    problems = asyncio.run(run_checks(settings.database_url.get_secret_value(), args.generate))
    for problem in problems:
        print(f"explain-checks: {problem}")
    print(
        f"explain-checks: {'FAILED' if problems else 'passed'}: {len(problems)} sequential scan(s) of a big table"
    )
    return 1 if problems else 0
