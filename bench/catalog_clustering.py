"""`python -m bench --only catalog-clustering` (no stack needed): the canonical catalog's clustering
(services/enrichment, ``domain/clustering.py``) on every track of the provider emulator's catalogs, scored
against the emulator's truth.

The catalogs are loaded in-process as the emulator loads them at start-up (``load_catalogs``, the
committed services/provider-emulator/data/catalog). Every Spotify, Deezer, TIDAL and YouTube track becomes
a ``SeenTrack`` as that provider's API describes it (Deezer's full track with its contributors and ISRC,
TIDAL's title with its version, YouTube's channel as the artist); the truth is each track's ``rec``, the
recording the emulator's ``/_admin/catalog/mapping`` answers from.

Pairwise figures: precision = pairs of tracks put in one cluster that are one recording / all pairs put
in one cluster; recall = truly-same pairs put in one cluster / all truly-same pairs. Targets (issue 20):
precision ≥ 99.5 %, recall ≥ 98 %. Time is one clustering with the matcher's caches cleared first (every
title parsed for the first time); peak memory is tracemalloc's peak over a second, identical run (tracing
slows it, so it is not timed). Examples of false and missed joins are printed with their titles.
"""

from __future__ import annotations

import random
import time
import tracemalloc
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from pm_enrichment.domain.clustering import (
    MAX_BLOCK,
    Cluster,
    Join,
    SeenTrack,
    StoredRecording,
    block_keys,
    cluster,
    main_artist_key,
    place,
    same_recording,
)
from pm_matching import clear_caches
from pm_provider_emulator.domain.catalog import Catalogs
from pm_provider_emulator.storage.catalog_files import load_catalogs

PRECISION_TARGET, RECALL_TARGET = 0.995, 0.98
EXAMPLES = 10
SEED = "pm-clustering-bench-v1"


def seen_tracks(catalogs: Catalogs) -> tuple[list[SeenTrack], dict[tuple[str, str], int]]:
    """Every track of every provider as a SeenTrack, and the recording each truly is."""
    tracks: list[SeenTrack] = []
    truth: dict[tuple[str, str], int] = {}

    def add(track: SeenTrack, rec: int) -> None:
        tracks.append(track)
        truth[track.key] = rec

    for s in catalogs.spotify.values():
        add(SeenTrack("spotify", s.id, s.name, s.artists, s.album_name, s.duration_ms, s.isrc), s.rec)
    for d in catalogs.deezer.values():
        add(
            SeenTrack("deezer", str(d.id), d.title, d.artists, d.album_title, d.duration * 1000, d.isrc),
            d.rec,
        )
    for t in catalogs.tidal.values():
        # TIDAL gives the version apart ("Radio Edit"); pm_providers' adapter puts it back in brackets.
        title = (
            t.title if not t.version or t.version.lower() in t.title.lower() else f"{t.title} ({t.version})"
        )
        add(SeenTrack("tidal", t.id, title, t.artists, t.album_title, t.duration * 1000, t.isrc), t.rec)
    for v in catalogs.youtube.values():
        channel = v.channel_title.removesuffix(" - Topic").strip()
        add(SeenTrack("youtube", v.id, v.title, (channel,), None, v.duration * 1000), v.rec)
    return tracks, truth


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


@dataclass
class Result:
    tracks: int
    recordings: int
    clusters: int
    predicted_pairs: int
    true_pairs: int
    correct_pairs: int
    seconds: float
    peak_mb: float
    rules: Counter[str]
    false_joins: list[str]
    missed_joins: list[str]

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0


def _describe(track: SeenTrack) -> str:
    seconds = f"{track.duration_ms / 1000:.0f} s" if track.duration_ms else "?"
    return f"{track} {track.title!r} by {', '.join(track.artists)} ({seconds}, {track.isrc or 'no ISRC'})"


def _sample(rng: random.Random, examples: list[str]) -> list[str]:
    """At most EXAMPLES of them, the same every run, and how many there were."""
    return [*rng.sample(examples, min(EXAMPLES, len(examples))), f"({len(examples)} in all)"]


def evaluate(
    tracks: Sequence[SeenTrack],
    truth: dict[tuple[str, str], int],
    clusters: list[Cluster],
    seconds: float,
    peak_mb: float,
) -> Result:
    rng = random.Random(SEED)
    by_rec: dict[int, list[SeenTrack]] = defaultdict(list)
    for track in tracks:
        by_rec[truth[track.key]].append(track)
    cluster_of: dict[tuple[str, str], int] = {}
    predicted = correct = 0
    rules: Counter[str] = Counter()
    false_joins: list[str] = []
    for index, found in enumerate(clusters):
        for member in found.members:
            cluster_of[member.key] = index
        rules.update(join.rule.name for join in found.joins)
        recs = Counter(truth[m.key] for m in found.members)
        predicted += _pairs(len(found.members))
        correct += sum(_pairs(k) for k in recs.values())
        if len(recs) > 1:
            first = next(m for m in found.members if truth[m.key] == recs.most_common()[0][0])
            other = next(m for m in found.members if truth[m.key] != truth[first.key])
            path = " → ".join(f"{j.rule.name}({j.a}, {j.b})" for j in found.explain(first, other))
            false_joins.append(f"{_describe(first)}\n      vs {_describe(other)}\n      via {path}")
    missed: list[str] = []
    for members in by_rec.values():
        split = defaultdict(list)
        for m in members:
            split[cluster_of[m.key]].append(m)
        if len(split) > 1:
            parts = list(split.values())
            a, b = parts[0][0], parts[1][0]
            rule = same_recording(a, b)
            why = f"{rule.name} accepts the pair, refused by a guard" if rule else "no rule accepts the pair"
            missed.append(f"{_describe(a)}\n      vs {_describe(b)}\n      {why}")
    return Result(
        tracks=len(tracks),
        recordings=len(by_rec),
        clusters=len(clusters),
        predicted_pairs=predicted,
        true_pairs=sum(_pairs(len(m)) for m in by_rec.values()),
        correct_pairs=correct,
        seconds=seconds,
        peak_mb=peak_mb,
        rules=rules,
        false_joins=_sample(rng, false_joins),
        missed_joins=_sample(rng, missed),
    )


# The order imports arrive in the incremental run, and their batch (a part of an import's event).
PROVIDER_ORDER = ("spotify", "deezer", "tidal", "youtube")
BATCH = 2000


def placed_in_batches(tracks: Sequence[SeenTrack]) -> list[Cluster]:
    """What the enrichment service ends with when the providers' libraries arrive one after another in
    parts of BATCH tracks (usecases/clustering.py): each part placed with ``place()`` among the recordings
    its tracks' blocking keys reach, as storage/clustering.py's ``neighbours`` finds them (per ISRC and
    per title key at most MAX_BLOCK tracks, for a title key those of the part's artists first)."""
    ordered = sorted(tracks, key=lambda t: PROVIDER_ORDER.index(t.provider))
    members: dict[int, list[SeenTrack]] = {}
    joins: dict[int, list[Join]] = defaultdict(list)
    on: dict[tuple[str, str], int] = {}
    by_isrc: dict[str, list[SeenTrack]] = defaultdict(list)
    by_title: dict[str, list[SeenTrack]] = defaultdict(list)
    serial = 0
    for start in range(0, len(ordered), BATCH):
        part = ordered[start : start + BATCH]
        near: set[int] = set()
        artists: dict[str, set[str]] = defaultdict(set)
        for track in part:
            if track.isrc:
                near.update(on[t.key] for t in sorted(by_isrc[track.isrc], key=lambda t: t.key)[:MAX_BLOCK])
            for key in block_keys(track):
                artists[key].add(main_artist_key(track))
        for key, wanted in artists.items():
            filed = sorted(by_title[key], key=lambda t: (main_artist_key(t) not in wanted, t.key))
            near.update(on[t.key] for t in filed[:MAX_BLOCK])
        stored = [
            StoredRecording(
                uuid.UUID(int=r), tuple(members[r]), frozenset(t.isrc for t in members[r] if t.isrc)
            )
            for r in near
        ]
        for placement in place(part, stored).placements:
            if placement.recordings:
                survivor, *merged = sorted(r.int for r in placement.recordings)
            else:
                serial += 1
                survivor, merged = serial, []
                members[survivor] = []
            for other in merged:
                for track in members.pop(other):
                    on[track.key] = survivor
                    members[survivor].append(track)
                joins[survivor] += joins.pop(other, [])
            for track in placement.new:
                on[track.key] = survivor
                members[survivor].append(track)
            joins[survivor] += placement.joins
        for track in part:
            if track.isrc:
                by_isrc[track.isrc].append(track)
            for key in block_keys(track):
                by_title[key].append(track)
    return [Cluster(tuple(group), tuple(joins[r])) for r, group in members.items()]


def _report(title: str, result: Result) -> list[str]:
    verdict_p = "met" if result.precision >= PRECISION_TARGET else "NOT met"
    verdict_r = "met" if result.recall >= RECALL_TARGET else "NOT met"
    memory = f", peak {result.peak_mb:.1f} MB traced" if result.peak_mb else ""
    return [
        title,
        f"{result.tracks:,} tracks ({result.recordings:,} recordings in truth) → {result.clusters:,} clusters "
        f"in {result.seconds:.2f} s{memory}",
        f"pairs: {result.predicted_pairs:,} joined, {result.true_pairs:,} truly same, "
        f"{result.correct_pairs:,} right",
        f"precision {result.precision:.4%} (target ≥ {PRECISION_TARGET:.1%}: {verdict_p}), "
        f"recall {result.recall:.4%} (target ≥ {RECALL_TARGET:.0%}: {verdict_r})",
        "joins by rule: " + ", ".join(f"{name} {count:,}" for name, count in sorted(result.rules.items())),
        "false joins (a sample):",
        *(f"  - {line}" for line in result.false_joins),
        "missed joins (a sample):",
        *(f"  - {line}" for line in result.missed_joins),
    ]


def run() -> str:
    started = time.perf_counter()
    catalogs = load_catalogs()
    tracks, truth = seen_tracks(catalogs)
    print(f"  loaded {len(tracks):,} tracks in {time.perf_counter() - started:.1f} s", flush=True)
    clear_caches()
    started = time.perf_counter()
    clusters = cluster(tracks)
    seconds = time.perf_counter() - started
    clear_caches()
    tracemalloc.start()
    cluster(tracks)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    result = evaluate(tracks, truth, clusters, seconds, peak / 2**20)
    clear_caches()
    started = time.perf_counter()
    placed = placed_in_batches(tracks)
    incremental = evaluate(tracks, truth, placed, time.perf_counter() - started, 0.0)
    lines = [
        *_report("all at once (cluster):", result),
        *_report(
            f"incremental, as the service places imports ({BATCH:,} a part, {', '.join(PROVIDER_ORDER)}):",
            incremental,
        ),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
