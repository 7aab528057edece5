"""`python -m bench --only formats` (no stack needed): a playlist of 100,000 entries written and read back in
each writable format (libs/formats), each step run ROUNDS times in a fresh process: its wall time and CPU
time (the run of median wall time), and its peak memory (the process's largest resident set, VmHWM, the
interpreter and its imports included, and how much of it the step added to what the process held before
it). Targets (issue 17): at most 2 s and 100 MB each for M3U8, CSV and JSON (lossless and JSPF); XSPF
reported.

The tracks are generated (every field the format can hold, ids and ISRCs included, texts of realistic
length with some non-Latin ones) a thousand at a time and streamed to the writer; the time spent making
them is measured apart and left out of the write's time (it is reported on its own). The reader's items
are only counted.
"""

from __future__ import annotations

import itertools
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

START, END = "<!-- formats-bench:start -->", "<!-- formats-bench:end -->"
ENTRIES = 100_000
TARGET_S, TARGET_MB = 2.0, 100.0
TARGETED = ("m3u", "exportify", "lossless", "jspf")
# Tracks made at once, their time counted apart: a batch is small next to the writer's memory.
BATCH = 1_000
# Runs of each step, each in a fresh process: one run's time on this VM varies by a quarter.
ROUNDS = 3
# (module, writer, reader, whether the writer takes text, file suffix)
FORMATS: dict[str, tuple[str, str, str, bool, str]] = {
    "m3u": ("m3u", "write_m3u", "read_m3u", True, ".m3u8"),
    "exportify": ("csv_files", "write_exportify", "read_exportify", True, ".csv"),
    "lossless": ("lossless", "write_lossless_one", "read_lossless", True, ".json"),
    "xspf": ("xspf", "write_xspf", "read_xspf", False, ".xspf"),
    "jspf": ("jspf", "write_jspf", "read_jspf", True, ".jspf"),
}


def _tracks(count: int) -> Iterator[Any]:
    from pm_formats import FileTrack

    scripts = ("Teardrop", "Ça plane pour moi", "東京フラッシュ", "Песня", "Don't Stop Me Now")
    for i in range(count):
        yield FileTrack(
            title=f"{scripts[i % len(scripts)]} {i}",
            artists=(f"Artist {i % 997}", f"Guest {i % 13}") if i % 4 == 0 else (f"Artist {i % 997}",),
            album=f"Album {i % 5003}",
            duration_ms=120_000 + (i * 7919) % 240_000,
            isrc=f"GBAAA{i % 100:02d}{i:05d}"[:12],
            explicit=i % 3 == 0,
            provider_ids={"spotify": f"{i:022d}", "deezer": str(3_000_000 + i)},
            added_at=datetime(2026, 1, 1, tzinfo=UTC),
        )


class _TimedTracks:
    """The benchmark's tracks, made ``BATCH`` at a time: ``seconds`` (wall) and ``cpu_seconds`` are the time
    spent making them, so that the write's time is the writer's alone (timing each track instead would add
    its own overhead)."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.seconds = 0.0
        self.cpu_seconds = 0.0

    def __iter__(self) -> Iterator[Any]:
        tracks = _tracks(self.count)
        while True:
            started, cpu_started = time.perf_counter(), time.process_time()
            batch = list(itertools.islice(tracks, BATCH))
            self.seconds += time.perf_counter() - started
            self.cpu_seconds += time.process_time() - cpu_started
            if not batch:
                return
            yield from batch


def _peak_mb() -> float:
    """This process's largest resident set so far, in MB: VmHWM, which starts anew with the process.
    ru_maxrss would be at least what the parent held when it started this one (Linux keeps it across
    exec): `python -m bench`'s 80-odd MB, whatever the step."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(name: str, step: str, path: str, count: int) -> None:
    """One step in this process; prints its seconds and peak megabytes as JSON."""
    import importlib

    from pm_formats import Entry, PlaylistInfo

    module_name, writer_name, reader_name, text, _ = FORMATS[name]
    module = importlib.import_module(f"pm_formats.{module_name}")
    work: Callable[[], int]
    tracks = _TimedTracks(count)
    if step == "write":
        writer = getattr(module, writer_name)

        def work() -> int:
            info = PlaylistInfo("Bench 100k", "every entry of the benchmark")
            if text:
                with open(path, "w", encoding="utf-8", newline="") as out:
                    writer(info, tracks, out)
            else:
                with open(path, "wb") as binary:
                    writer(info, tracks, binary)
            return count
    else:
        reader = getattr(module, reader_name)

        def work() -> int:
            with open(path, "rb") as source:
                return sum(1 for item in reader(source) if isinstance(item, Entry))

    before = _peak_mb()
    started, cpu_started = time.perf_counter(), time.process_time()
    entries = work()
    seconds = time.perf_counter() - started - tracks.seconds
    cpu_seconds = time.process_time() - cpu_started - tracks.cpu_seconds
    peak = _peak_mb()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu_s": cpu_seconds,
                "tracks_made_s": tracks.seconds,
                "peak_mb": peak,
                "grew_mb": peak - before,
                "entries": entries,
            }
        )
    )


def _step(name: str, step: str, path: Path, count: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.formats", name, step, str(path), str(count)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"bench: {step} {name} failed: {done.stderr.strip()[-500:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of median wall time, with the largest peak memory of all the runs."""
    typical = dict(sorted(runs, key=lambda run: run["seconds"])[len(runs) // 2])
    typical["peak_mb"] = max(run["peak_mb"] for run in runs)
    typical["grew_mb"] = max(run["grew_mb"] for run in runs)
    return typical


def run(count: int = ENTRIES, rounds: int = ROUNDS) -> str:
    rows = []
    with tempfile.TemporaryDirectory(prefix="pm-formats-bench-") as scratch:
        for name, (_, _, _, _, suffix) in FORMATS.items():
            path = Path(scratch) / f"bench{suffix}"
            written = _median([_step(name, "write", path, count) for _ in range(rounds)])
            read = _median([_step(name, "read", path, count) for _ in range(rounds)])
            if read["entries"] != count:
                raise SystemExit(f"bench: {name} read back {read['entries']} of {count} entries")
            rows.append((name, path.stat().st_size, written, read))
            print(
                f"  {name:<10} write {written['seconds']:.2f} s (cpu {written['cpu_s']:.2f}) "
                f"{written['peak_mb']:.1f} MB (+{written['tracks_made_s']:.2f} s making the tracks), "
                f"read {read['seconds']:.2f} s (cpu {read['cpu_s']:.2f}) {read['peak_mb']:.1f} MB",
                flush=True,
            )
    made = [written["tracks_made_s"] for _, _, written, _ in rows]
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node() or 'this machine'} "
        f"({os.cpu_count()} cores, Python {platform.python_version()}): a playlist of {count:,} entries; each "
        f"step run {rounds} times, each time in a fresh process, and the run of median wall time shown (wall "
        "time is the targets' measure; beside it the process's CPU time, which others' work on the machine "
        "does not inflate). Peak memory: the step's process's largest resident set (VmHWM: the interpreter "
        "and its imports included), the largest of the runs; in brackets what the step added to it. A write's "
        f"time is the writer's alone: the tracks are made {BATCH:,} at a time as it asks for them, and the "
        f"{min(made):.2f} to {max(made):.2f} s spent making them is left out. Targets: ≤ {TARGET_S:g} s and "
        f"≤ {TARGET_MB:g} MB a step for M3U8, CSV (Exportify) and JSON (lossless and JSPF); XSPF is reported.",
        "",
        "| format | file | write | write CPU | write peak | read | read CPU | read peak | target |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, size, written, read in rows:
        if name in TARGETED:
            ok = (
                max(written["seconds"], read["seconds"]) <= TARGET_S
                and max(written["peak_mb"], read["peak_mb"]) <= TARGET_MB
            )
            verdict = "met" if ok else "**not met**"
        else:
            verdict = "reported"
        lines.append(
            f"| {name} | {size / 1e6:.1f} MB | {written['seconds']:.2f} s | {written['cpu_s']:.2f} s "
            f"| {written['peak_mb']:.0f} MB (+{written['grew_mb']:.0f}) | {read['seconds']:.2f} s "
            f"| {read['cpu_s']:.2f} s | {read['peak_mb']:.0f} MB (+{read['grew_mb']:.0f}) | {verdict} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) == 5:
        _child(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        print(run(int(sys.argv[1]) if len(sys.argv) > 1 else ENTRIES))
