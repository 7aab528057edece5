"""`python -m bench --only formats` (no stack needed): a playlist of 100,000 entries written and read back in
each writable format (libs/formats), each step in a fresh process: its wall time, and its peak memory
(the process's largest resident set, the interpreter and its imports included, and how much of it the
step added to what the process held before it). Targets (issue 17): at most 2 s and 100 MB each for M3U8, CSV and JSON;
XSPF and JSPF reported.

The tracks are generated (every field the format can hold, ids and ISRCs included, texts of realistic
length with some non-Latin ones) and streamed to the writer; the reader's items are only counted.
"""

from __future__ import annotations

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
TARGETED = ("m3u", "exportify", "lossless")
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


def _child(name: str, step: str, path: str, count: int) -> None:
    """One step in this process; prints its seconds and peak megabytes as JSON."""
    import importlib

    from pm_formats import Entry, PlaylistInfo

    module_name, writer_name, reader_name, text, _ = FORMATS[name]
    module = importlib.import_module(f"pm_formats.{module_name}")
    work: Callable[[], int]
    if step == "write":
        writer = getattr(module, writer_name)

        def work() -> int:
            info = PlaylistInfo("Bench 100k", "every entry of the benchmark")
            if text:
                with open(path, "w", encoding="utf-8", newline="") as out:
                    writer(info, _tracks(count), out)
            else:
                with open(path, "wb") as binary:
                    writer(info, _tracks(count), binary)
            return count
    else:
        reader = getattr(module, reader_name)

        def work() -> int:
            with open(path, "rb") as source:
                return sum(1 for item in reader(source) if isinstance(item, Entry))

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    entries = work()
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_mb": peak / 1024,
                "grew_mb": (peak - before) / 1024,
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


def run(count: int = ENTRIES) -> str:
    rows = []
    with tempfile.TemporaryDirectory(prefix="pm-formats-bench-") as scratch:
        for name, (_, _, _, _, suffix) in FORMATS.items():
            path = Path(scratch) / f"bench{suffix}"
            written = _step(name, "write", path, count)
            read = _step(name, "read", path, count)
            if read["entries"] != count:
                raise SystemExit(f"bench: {name} read back {read['entries']} of {count} entries")
            rows.append((name, path.stat().st_size, written, read))
            print(
                f"  {name:<10} write {written['seconds']:.2f} s {written['peak_mb']:.1f} MB, "
                f"read {read['seconds']:.2f} s {read['peak_mb']:.1f} MB",
                flush=True,
            )
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node() or 'this machine'} "
        f"({os.cpu_count()} cores, Python {platform.python_version()}): a playlist of {count:,} entries, each "
        "step in a fresh process; peak memory is the process's largest resident set (the interpreter and its "
        f"imports included; in brackets what the step added to it). Targets: ≤ {TARGET_S:g} s and ≤ {TARGET_MB:g} MB a step for M3U8, CSV (Exportify) and JSON "
        "(lossless).",
        "",
        "| format | file | write | write peak | read | read peak | target |",
        "|---|---:|---:|---:|---:|---:|---|",
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
            f"| {name} | {size / 1e6:.1f} MB | {written['seconds']:.2f} s | {written['peak_mb']:.0f} MB "
            f"(+{written['grew_mb']:.0f}) | {read['seconds']:.2f} s | {read['peak_mb']:.0f} MB "
            f"(+{read['grew_mb']:.0f}) | {verdict} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) == 5:
        _child(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        print(run(int(sys.argv[1]) if len(sys.argv) > 1 else ENTRIES))
