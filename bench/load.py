"""A bounded HTTP load generator (`python -m bench.load ...`), run in a process of its own.

Closed loop (``--concurrency N``): N workers, each sending its next request when the previous one
answered: the maximum rate. Open loop (``--rate R``): requests start on a fixed schedule whatever the
answers, and latency counts from the scheduled start, so a stall shows in the percentiles instead of
silently lowering the rate (no coordinated omission). Both stop after ``--duration`` seconds (after
``--warmup`` seconds not counted) and print one JSON line. Only loopback URLs are accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from urllib.parse import urlsplit

import aiohttp
import uvloop

MAX_IN_FLIGHT = 2000


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


class Recorder:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.errors = 0
        self.counting = False  # requests started during the warm-up are not counted

    def record(self, started: float, status: int | None, counted: bool) -> None:
        if not counted:
            return
        if status is None:
            self.errors += 1
            return
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.latencies.append(time.perf_counter() - started)


async def _one(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str], recorder: Recorder, started: float
) -> None:
    counted = recorder.counting
    try:
        async with session.get(url, headers=headers) as response:
            await response.read()
            recorder.record(started, response.status, counted)
    except (aiohttp.ClientError, TimeoutError):
        recorder.record(started, None, counted)


async def closed_loop(
    url: str, headers: dict[str, str], concurrency: int, warmup: float, duration: float
) -> tuple[Recorder, float]:
    recorder = Recorder()
    stop_at = time.perf_counter() + warmup + duration
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=10)) as session:

        async def worker() -> None:
            while time.perf_counter() < stop_at:
                await _one(session, url, headers, recorder, time.perf_counter())

        async def start_counting() -> float:
            await asyncio.sleep(warmup)
            recorder.counting = True
            return time.perf_counter()

        counting = asyncio.create_task(start_counting())
        await asyncio.gather(*[worker() for _ in range(concurrency)])
        elapsed = time.perf_counter() - await counting
    return recorder, elapsed


async def open_loop(
    url: str, headers: dict[str, str], rate: float, warmup: float, duration: float
) -> tuple[Recorder, float]:
    recorder = Recorder()
    interval = 1.0 / rate
    connector = aiohttp.TCPConnector(limit=MAX_IN_FLIGHT)
    tasks: set[asyncio.Task[None]] = set()
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=10)) as session:
        begin = time.perf_counter()
        n = 0
        count_from = begin + warmup
        end = count_from + duration
        while True:
            scheduled = begin + n * interval
            if scheduled >= end:
                break
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            recorder.counting = scheduled >= count_from
            if len(tasks) < MAX_IN_FLIGHT:
                task = asyncio.create_task(_one(session, url, headers, recorder, scheduled))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            else:
                recorder.record(scheduled, None, recorder.counting)
            n += 1
        if tasks:
            await asyncio.gather(*tasks)
    return recorder, duration


def summary(recorder: Recorder, elapsed: float) -> dict[str, object]:
    latencies = sorted(recorder.latencies)
    ok = sum(n for s, n in recorder.statuses.items() if s < 400)
    return {
        "requests": len(latencies),
        "ok": ok,
        "statuses": {str(s): n for s, n in sorted(recorder.statuses.items())},
        "errors": recorder.errors,
        "rps": len(latencies) / elapsed if elapsed > 0 else 0.0,
        "p50_ms": _percentile(latencies, 0.50) * 1000,
        "p95_ms": _percentile(latencies, 0.95) * 1000,
        "p99_ms": _percentile(latencies, 0.99) * 1000,
        "max_ms": (latencies[-1] * 1000) if latencies else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.load")
    parser.add_argument("url")
    parser.add_argument("--header", action="append", default=[], help="Name: value")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rate", type=float, help="open loop at this many requests per second")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    args = parser.parse_args()
    host = urlsplit(args.url).hostname or ""
    if not (host == "localhost" or host.startswith("127.") or host == "::1"):
        parser.error("only loopback targets are allowed")
    if not 0 < args.duration <= 120:
        parser.error("--duration must be in (0, 120]")
    headers = dict(h.split(": ", 1) for h in args.header)
    uvloop.install()  # the generator's own overhead is shared CPU: keep it small
    if args.rate:
        recorder, elapsed = asyncio.run(open_loop(args.url, headers, args.rate, args.warmup, args.duration))
    else:
        recorder, elapsed = asyncio.run(
            closed_loop(args.url, headers, args.concurrency, args.warmup, args.duration)
        )
    print(json.dumps(summary(recorder, elapsed)))


if __name__ == "__main__":
    main()
