"""The enrichment pipeline, measured (`python -m bench --only enrichment`, with `make up` running): a library
of ``--enrichment-songs`` (5,000) songs imported from Spotify and from Deezer (10,000 tracks), as
provider-sync describes them, through an enrichment service of this code (in-process: a scratch database,
the stack's Redis, the provider emulator's MusicBrainz at its real 1 call/s, FastStream's in-memory broker
in place of Kafka).

1. **Placing**: the imports' parts (2,000 tracks an event) through the service's dispatcher, as its
   consumer takes them: tracks placed on recordings per second.
2. **Fill**: the worker's first stage until nothing is due — every recording's ISRC, duration, release
   date and album from its services' descriptions, and its ``track.enriched``: recordings and tracks
   enriched per second (no network).
3. **MusicBrainz** (the stack's own enrichment stopped meanwhile: it calls MusicBrainz too): the lookup
   stage for ``--enrichment-mb-seconds`` (60): ISRCs asked, calls the emulator
   counted, recordings (and tracks) enriched by MusicBrainz per second, and the time the whole library's
   lookups take at that pace.
4. **A second identical library** (the songs of step 3, into a second scratch database, the same Redis
   cache): its lookups answered from the cache — MusicBrainz calls (target: none) and the hit ratio.

Figures are printed and written to docs/benchmarks.md between the enrichment-bench markers.
"""

from __future__ import annotations

import asyncio
import platform
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import write_doc
from bench.transfers import _calls
from pm_contracts.library import ImportedEntry, ImportedPlaylist, ImportedTrack, PlaylistImported
from pm_contracts.registry import event_spec, event_type_of
from pm_devstack.scratch import create_scratch_database, drop_databases
from pm_devstack.stack import Stack
from pm_enrichment.app import definition
from pm_enrichment.usecases.enrichment import WORKER
from pm_platform.consumers import Outcome
from pm_platform.service import Runtime
from pm_platform.testing import envelope_of, running_service
from pm_provider_emulator.storage.catalog_files import load_catalogs

START, END = "<!-- enrichment-bench:start -->", "<!-- enrichment-bench:end -->"
MUSICBRAINZ = "musicbrainz.org"
PART = 2_000


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def library(songs: int) -> tuple[list[ImportedTrack], list[ImportedTrack]]:
    """The first ``songs`` Spotify catalog tracks that Deezer has too, each described as its service does,
    and their Deezer twins."""
    catalogs = load_catalogs()
    spotify: list[ImportedTrack] = []
    deezer: list[ImportedTrack] = []
    for s in catalogs.spotify.values():
        d = catalogs.deezer_by_src.get(s.id)
        if d is None:
            continue
        spotify.append(
            ImportedTrack(
                provider_track_id=s.id,
                title=s.name,
                artists=list(s.artists),
                album=s.album_name,
                duration_ms=s.duration_ms,
                isrc=s.isrc,
                explicit=s.explicit,
                release_date=_date(s.release_date),
            )
        )
        deezer.append(
            ImportedTrack(
                provider_track_id=str(d.id),
                title=d.title,
                artists=list(d.artists),
                album=d.album_title,
                duration_ms=d.duration * 1000,
                isrc=d.isrc,
                explicit=d.explicit,
                release_date=_date(d.release_date),
            )
        )
        if len(spotify) == songs:
            break
    return spotify, deezer


def events(provider: str, tracks: list[ImportedTrack]) -> list[PlaylistImported]:
    job, user = uuid.uuid4(), uuid.uuid4()
    parts = -(-len(tracks) // PART)
    return [
        PlaylistImported(
            user_id=user,
            job_id=job,
            provider=provider,
            playlist=ImportedPlaylist(provider_playlist_id=f"bench-{provider}", name="Bench"),
            part=n + 1,
            parts=parts,
            entries=[ImportedEntry(track=t) for t in tracks[n * PART : (n + 1) * PART]],
            read_at=datetime.now(UTC),
        )
        for n in range(parts)
    ]


@asynccontextmanager
async def enrichment_service(stack: Stack, cache_prefix: str) -> AsyncIterator[Runtime]:
    """An enrichment service of this code on a scratch database, its worker idle until driven."""
    name, dsn = await asyncio.to_thread(create_scratch_database, stack, "enrichment", "pm_bench")
    env = dict(stack.service_env("enrichment"))
    # The stack's public identity keys as a plain variable: the key file is the running service's.
    keys_file = env.pop("IDENTITY_PUBLIC_KEYS_FILE")
    env |= {
        "DATABASE_URL": dsn,
        "IDENTITY_PUBLIC_KEYS": (await asyncio.to_thread(Path(keys_file).read_text)).strip(),
        "KAFKA_TOPIC_PREFIX": f"bench-{uuid.uuid4().hex[:8]}.",
        "PROVIDER_REDIS_PREFIX": cache_prefix,
        "ENRICHMENT_INTERVAL_S": "3600",
        "LOG_LEVEL": "WARNING",
    }
    try:
        async with running_service(definition(), env, broker="memory") as (_, rt):
            yield rt
    finally:
        await drop_databases(stack.admin_dsn(), [name])


async def place(rt: Runtime, parts: list[PlaylistImported]) -> None:
    assert rt.dispatcher is not None
    for event in parts:
        event_type = event_type_of(type(event))
        topic, _ = event_spec(event_type)
        outcome = await rt.dispatcher.dispatch(envelope_of(event_type, event), rt.bus.topic(topic.name))
        if outcome is not Outcome.HANDLED:
            raise SystemExit(f"bench: an import part was {outcome.value}")


async def fill_all(rt: Runtime) -> tuple[int, int]:
    """The fill until nothing is due: recordings taken, events emitted."""
    taken = told = 0
    while (done := await rt[WORKER].fill_due()).taken:
        taken, told = taken + done.taken, told + done.told
    return taken, told


async def count(rt: Runtime, sql: str) -> int:
    async with rt.pool.acquire() as conn:
        return int(await conn.fetchval(sql))


async def measure(stack: Stack, songs: int, mb_seconds: float) -> dict[str, Any]:
    emulator = f"http://127.0.0.1:{stack.spec('provider-emulator').port}"
    spotify, deezer = library(songs)
    tracks = len(spotify) + len(deezer)
    cache = f"bench-enrichment:{uuid.uuid4().hex[:8]}"
    figures: dict[str, Any] = {"songs": len(spotify), "tracks": tracks}
    async with aiohttp.ClientSession() as session, enrichment_service(stack, cache) as rt:
        parts = events("spotify", spotify) + events("deezer", deezer)
        started = time.perf_counter()
        await place(rt, parts)
        figures["place_s"], figures["parts"] = time.perf_counter() - started, len(parts)
        figures["recordings"] = await count(rt, "SELECT count(*) FROM recordings WHERE merged_into IS NULL")

        started = time.perf_counter()
        figures["filled"], figures["told"] = await fill_all(rt)
        figures["fill_s"] = time.perf_counter() - started
        figures["with_isrc"] = await count(rt, "SELECT count(DISTINCT mb_wanted_isrc) FROM recordings")

        before = sum((await _calls(session, emulator, MUSICBRAINZ)).values())
        started = time.perf_counter()
        asked = answered = 0
        while time.perf_counter() - started < mb_seconds:
            done = await rt[WORKER].look_up_due()
            asked, answered = asked + done.isrcs, answered + done.answered
            if done.error is not None or not done.claimed:
                break
        figures["mb_s"] = time.perf_counter() - started
        figures["mb_calls"] = sum((await _calls(session, emulator, MUSICBRAINZ)).values()) - before
        figures["mb_isrcs"], figures["mb_answered"] = asked, answered
        refilled, _ = await fill_all(rt)
        figures["mb_refilled"] = refilled
        looked = {
            r["mb_isrc"]
            for r in await rt.pool.fetch("SELECT mb_isrc FROM recordings WHERE mb_isrc IS NOT NULL")
        }

    # The same songs again, in a second catalog that shares the first's MusicBrainz cache.
    again = [(s, d) for s, d in zip(spotify, deezer, strict=True) if s.isrc in looked]
    async with aiohttp.ClientSession() as session, enrichment_service(stack, cache) as rt:
        await place(rt, events("spotify", [s for s, _ in again]) + events("deezer", [d for _, d in again]))
        await fill_all(rt)
        before = sum((await _calls(session, emulator, MUSICBRAINZ)).values())
        started = time.perf_counter()
        asked = answered = 0
        while (done := await rt[WORKER].look_up_due()).claimed:
            asked, answered = asked + done.isrcs, answered + done.answered
        figures["again_s"] = time.perf_counter() - started
        figures["again_calls"] = sum((await _calls(session, emulator, MUSICBRAINZ)).values()) - before
        figures["again_isrcs"], figures["again_answered"] = asked, answered
    return figures


def report(f: dict[str, Any]) -> str:
    mb_rate = f["mb_answered"] / f["mb_s"] if f["mb_s"] else 0.0
    per_recording = f["tracks"] / f["recordings"]
    isrcs_per_s = f["mb_isrcs"] / f["mb_s"] if f["mb_s"] else 0.0
    whole_h = f["with_isrc"] / isrcs_per_s / 3600 if isrcs_per_s else 0.0
    hits = f["again_isrcs"] - f["again_calls"]
    hit_ratio = hits / f["again_isrcs"] if f["again_isrcs"] else 1.0
    return "\n".join(
        [
            f"Measured {datetime.now(UTC):%Y-%m-%d} on {platform.node()} ({platform.machine()}), "
            f"`python -m bench --only enrichment`: {f['songs']:,} songs imported from Spotify and Deezer "
            f"({f['tracks']:,} tracks), the emulator's MusicBrainz at 1 call/s.",
            "",
            "| stage | work | time | rate |",
            "|---|---|---|---|",
            f"| placing (the imports' {f['parts']} parts) | {f['tracks']:,} tracks → "
            f"{f['recordings']:,} recordings | {f['place_s']:.1f} s | {f['tracks'] / f['place_s']:,.0f} tracks/s |",
            f"| fill from the services' descriptions | {f['filled']:,} recordings, {f['told']:,} "
            f"`track.enriched` | {f['fill_s']:.1f} s | {f['filled'] / f['fill_s']:,.0f} recordings/s "
            f"({f['filled'] * per_recording / f['fill_s']:,.0f} tracks/s) |",
            f"| MusicBrainz lookups (time-boxed) | {f['mb_isrcs']:,} ISRCs asked, {f['mb_calls']:,} calls, "
            f"{f['mb_answered']:,} recordings answered (re-filled {f['mb_refilled']:,}) | {f['mb_s']:.1f} s | "
            f"{mb_rate:.2f} recordings/s ({mb_rate * per_recording:.2f} tracks/s) |",
            f"| a second identical library's lookups | {f['again_isrcs']:,} ISRCs asked, "
            f"**{f['again_calls']} MusicBrainz calls** | {f['again_s']:.1f} s | cache hit ratio "
            f"{hit_ratio:.0%} |",
            "",
            f"The whole library's {f['with_isrc']:,} distinct ISRCs take about {whole_h:.1f} h of MusicBrainz "
            "at that pace; everything else is enriched in the fill's time.",
        ]
    )


@contextmanager
def stack_enrichment_stopped() -> Iterator[None]:
    """The stack's own enrichment service stopped meanwhile: its worker calls the emulator's MusicBrainz
    too, from the same address, and two clients at one call a second each would be refused half their
    calls (MusicBrainz's limit is per address; one deployment shares one pace through Redis)."""
    devstack = [sys.executable, "-m", "pm_devstack"]
    subprocess.run([*devstack, "stop", "enrichment"], check=True, capture_output=True)
    try:
        yield
    finally:
        subprocess.run([*devstack, "restart", "enrichment"], check=True, capture_output=True)


def run(songs: int = 5_000, mb_seconds: float = 60.0, write: bool = True) -> str:
    stack = Stack.from_env()
    with stack_enrichment_stopped():
        figures = asyncio.run(measure(stack, songs, mb_seconds))
    table = report(figures)
    print(table)
    if write:
        write_doc(table, START, END, "The enrichment pipeline: placing, the fill, MusicBrainz")
    return table


if __name__ == "__main__":
    run()
