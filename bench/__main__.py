"""`make bench` (python -m bench): the gateway's cost, measured against a bare aiohttp server.

On the same machine and in the same run:
1. a bare aiohttp "hello" server (bench/hello.py), in a process of its own;
2. a gateway process of the running stack's code and configuration (`make up` must be running: its
   auth, Redis and Kafka are used), on a free port, with the rate limiter ON but its general limit
   raised above the offered load (RATE_LIMIT_GENERAL, below) so every request pays for the limiter
   without being refused;
3. a bench user registered and logged in through that gateway (auth issues a real token). The
   measured requests are authenticated and rate-limited GETs: token verification, the rate-limit
   script (per IP and per user, with the revocation check), X-PM-Identity and the proxy:
   - ``GET /api/v1/library/bench`` to a stand-in service: the bench gateway's PLAYLIST_URL points at
     the bare hello server, so this row differs from the bare row by exactly the gateway's work (the
     figure the target is about);
   - ``GET /api/v1/me`` to auth: the real path, including auth's own session and database work.
The load generator (bench/load.py) runs in another process: closed loop for each target's maximum
rate, then open loop against the gateway at fixed rates for its latency. Figures are printed and
written to docs/benchmarks.md (between the gateway-bench markers).

Then the event backbone (bench/outbox.py): the outbox relay's throughput against a bare aiokafka
producer, and the latency from a commit to a consumer's handler, written between the outbox-bench
markers; last the password policy's worst cost (bench/password_policy.py). ``--only gateway``,
``--only outbox`` or ``--only password-policy`` runs one of them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench import outbox, password_policy
from pm_devstack.stack import Stack

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- gateway-bench:start -->", "<!-- gateway-bench:end -->"
OUTBOX_START, OUTBOX_END = "<!-- outbox-bench:start -->", "<!-- outbox-bench:end -->"
POLICY_START, POLICY_END = "<!-- password-policy-bench:start -->", "<!-- password-policy-bench:end -->"
RATE_LIMIT_GENERAL = "100000/s;burst=100000"
BENCH_IP = "198.18.255.1"  # the bench user's simulated client address (RFC 2544 range; a header only)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(url: str, timeout_s: float = 60.0) -> None:
    async def poll() -> None:
        deadline = time.monotonic() + timeout_s
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    async with session.get(url, timeout=aiohttp.ClientTimeout(total=2)) as r:
                        if r.status == 200:
                            return
                except (aiohttp.ClientError, TimeoutError):
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit(f"bench: {url} did not answer within {timeout_s:.0f}s")
                await asyncio.sleep(0.3)

    asyncio.run(poll())


@contextmanager
def _process(args: list[str], env: dict[str, str], log: Path):
    with log.open("wb") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _login(gateway: str) -> str:
    async def go() -> str:
        email, password = f"bench-{uuid.uuid4().hex[:10]}@example.com", "bench password " + uuid.uuid4().hex
        headers = {"X-Forwarded-For": BENCH_IP}
        async with aiohttp.ClientSession() as session:
            async with session.post(
                f"{gateway}/api/v1/auth/register",
                json={"email": email, "password": password},
                headers=headers,
            ) as r:
                if r.status != 201:
                    raise SystemExit(
                        f"bench: cannot register through the gateway: {r.status} {await r.text()}"
                    )
            async with session.post(
                f"{gateway}/api/v1/auth/login", json={"email": email, "password": password}, headers=headers
            ) as r:
                if r.status != 200:
                    raise SystemExit(f"bench: cannot log in through the gateway: {r.status} {await r.text()}")
                return str((await r.json())["access_token"])

    return asyncio.run(go())


def _load(
    url: str,
    *,
    duration: float,
    concurrency: int | None = None,
    rate: float | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    args = [sys.executable, "-m", "bench.load", url, "--duration", str(duration)]
    args += ["--rate", f"{rate:.1f}"] if rate else ["--concurrency", str(concurrency)]
    for name, value in (headers or {}).items():
        args += ["--header", f"{name}: {value}"]
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _say(name: str, r: dict[str, Any]) -> None:
    print(
        f"  {name:<30} {r['rps']:8.0f} req/s  p50 {r['p50_ms']:6.2f}  p99 {r['p99_ms']:7.2f} ms  "
        f"ok {r['ok']}/{r['requests'] + r['errors']}",
        flush=True,
    )


def _median(results: list[dict[str, Any]], key: str = "rps", *, upper: bool = False) -> dict[str, Any]:
    """The round with the median ``key`` (for an even count the lower middle one, or the upper with
    ``upper``): one noisy round on a shared machine neither makes nor breaks the comparison."""
    ordered = sorted(results, key=lambda r: r[key])
    return ordered[len(ordered) // 2 if upper else (len(ordered) - 1) // 2]


def _column(results: list[dict[str, Any]], key: str, digits: int) -> str:
    return ", ".join(f"{r[key]:.{digits}f}" for r in results)


def _row(name: str, r: dict[str, Any], offered: str) -> str:
    return (
        f"| {name} | {offered} | {r['rps']:.0f} | {r['p50_ms']:.2f} | {r['p95_ms']:.2f} | {r['p99_ms']:.2f} | "
        f"{r['ok']}/{r['requests'] + r['errors']} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument(
        "--only",
        choices=["gateway", "outbox", "password-policy"],
        help="run one of the benchmarks (default: all)",
    )
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    gateway = parser.add_argument_group("gateway")
    gateway.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    gateway.add_argument("--concurrency", type=int, default=32)
    gateway.add_argument(
        "--rounds", type=int, default=3, help="alternating closed-loop rounds (the median is kept)"
    )
    events = parser.add_argument_group("outbox")
    events.add_argument(
        "--events", type=int, default=20_000, help="outbox rows per throughput round (pre-written, not timed)"
    )
    events.add_argument(
        "--outbox-rounds",
        type=int,
        default=3,
        help="relay/bare rounds, alternating order (the median is kept)",
    )
    events.add_argument(
        "--latency-rates",
        default="200,100,50",
        help="offered events/s of the latency phase, comma-separated (the target is about the first)",
    )
    events.add_argument("--latency-duration", type=float, default=25.0, help="seconds per offered rate")
    events.add_argument(
        "--consumer-backlog", type=int, default=2000, help="events the consumer drains alone (its capacity)"
    )
    events.add_argument(
        "--profile", action="store_true", help="cProfile one extra (uncounted) relay drain and print it"
    )
    policy = parser.add_argument_group("password-policy")
    policy.add_argument("--policy-samples", type=int, default=50, help="passwords per input class")
    args = parser.parse_args()
    try:
        rates = [float(r) for r in args.latency_rates.split(",")]
    except ValueError:
        parser.error("--latency-rates takes numbers separated by commas, e.g. 200,50")
    if args.policy_samples < 1:
        parser.error("--policy-samples must be positive")
    if args.outbox_rounds < 1 or args.events < 1 or args.consumer_backlog < 2 or min(rates) <= 0:
        parser.error("--outbox-rounds, --events, --consumer-backlog (≥ 2) and the rates must be positive")
    if args.only in (None, "gateway"):
        _gateway(args)
    if args.only in (None, "outbox"):
        results = outbox.run(
            events=args.events,
            rounds=args.outbox_rounds,
            rates=rates,
            duration_s=args.latency_duration,
            backlog=args.consumer_backlog,
            profile=args.profile,
        )
        if not args.no_write:
            _write_doc(outbox.table(results), OUTBOX_START, OUTBOX_END, "Outbox: the event backbone")
            print(f"bench: written to {DOC.relative_to(ROOT)}")
    if args.only in (None, "password-policy"):
        policy_table = password_policy.table(password_policy.run(args.policy_samples), args.policy_samples)
        print(policy_table)
        if not args.no_write:
            _write_doc(policy_table, POLICY_START, POLICY_END, "The password policy's cost")
            print(f"bench: written to {DOC.relative_to(ROOT)}")


def _gateway(args: argparse.Namespace) -> None:
    stack = Stack.from_env()
    try:
        _wait_http(f"http://127.0.0.1:{stack.spec('auth').port}/health/ready", 5)
    except SystemExit:
        raise SystemExit("bench: the stack's auth service is not ready; run `make up` first") from None
    logs = stack.config.logs_dir
    logs.mkdir(parents=True, exist_ok=True)
    hello_port, gateway_port = _free_port(), _free_port()
    gateway_env = {
        **os.environ,
        **stack.service_env("gateway"),
        "PORT": str(gateway_port),
        "HOST": "127.0.0.1",
        "LOG_LEVEL": "warning",
        "RATE_LIMIT_GENERAL": RATE_LIMIT_GENERAL,
        "PLAYLIST_URL": f"http://127.0.0.1:{hello_port}",
    }
    hello_url = f"http://127.0.0.1:{hello_port}/hello"
    gateway = f"http://127.0.0.1:{gateway_port}"
    with (
        _process(
            [sys.executable, "-m", "bench.hello", str(hello_port)], dict(os.environ), logs / "bench-hello.log"
        ),
        _process([sys.executable, "-m", "pm_gateway", "serve"], gateway_env, logs / "bench-gateway.log"),
    ):
        _wait_http(hello_url)
        _wait_http(f"{gateway}/health/live")
        token = _login(gateway)
        auth = {"Authorization": f"Bearer {token}", "X-Forwarded-For": BENCH_IP}
        stand_in, me = f"{gateway}/api/v1/library/bench", f"{gateway}/api/v1/me"
        print(f"bench: {args.duration:.0f}s per run; closed loop: {args.concurrency} connections", flush=True)
        # Alternating rounds, the median of each: other work on a shared machine hits both alike.
        bares, throughs = [], []
        for _ in range(args.rounds):
            bares.append(_load(hello_url, duration=args.duration, concurrency=args.concurrency))
            _say("bare aiohttp hello", bares[-1])
            throughs.append(
                _load(stand_in, duration=args.duration, concurrency=args.concurrency, headers=auth)
            )
            _say("gateway -> stand-in service", throughs[-1])
        bare, through = _median(bares), _median(throughs)
        target_rate = 0.5 * 0.2 * bare["rps"]  # "p99 under 25 ms at half" the 20%-of-bare target rate
        # The p99 of one 10 s window on a shared VM swings with its neighbours (6 to 50 ms seen for the
        # same build): the median of the rounds, as for the rates.
        at_targets = []
        for _ in range(args.rounds):
            at_targets.append(_load(stand_in, duration=args.duration, rate=target_rate, headers=auth))
            _say(f"  open loop at {target_rate:.0f}/s", at_targets[-1])
        at_target = _median(at_targets, "p99_ms", upper=True)
        half_own = 0.5 * through["rps"]
        at_half = _load(stand_in, duration=args.duration, rate=half_own, headers=auth)
        _say(f"  open loop at {half_own:.0f}/s", at_half)
        to_auth = _load(me, duration=args.duration, concurrency=args.concurrency, headers=auth)
        _say("gateway -> auth GET /me", to_auth)
        auth_half = 0.5 * to_auth["rps"]
        to_auth_half = _load(me, duration=args.duration, rate=auth_half, headers=auth)
        _say(f"  open loop at {auth_half:.0f}/s", to_auth_half)

    ratio = through["rps"] / bare["rps"] if bare["rps"] else 0.0
    verdict_rate = "met" if ratio >= 0.2 else "NOT met"
    verdict_p99 = "met" if at_target["p99_ms"] < 25 else "NOT met"
    print(
        f"bench: medians of {args.rounds} rounds: bare {bare['rps']:.0f} req/s, gateway {through['rps']:.0f} "
        f"req/s; gateway/bare = {ratio:.1%} (target ≥ 20%: {verdict_rate})\n"
        f"bench: p99 at {target_rate:.0f}/s (10% of bare) = {at_target['p99_ms']:.2f} ms "
        f"(target < 25 ms: {verdict_p99})"
    )
    table = "\n".join(
        [
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node() or 'this machine'} "
            f"({os.cpu_count()} cores, Python {platform.python_version()}), `make bench`, {args.duration:.0f} s per row "
            f"after 1 s of warm-up (closed loop and the open loop at 10% of bare: the median of {args.rounds} rounds); the load "
            "generator (a process of its own), the bare server, the gateway, auth and Redis share the cores. "
            f"Both servers are single processes on uvloop; closed-loop rounds: bare "
            f"{_column(bares, 'rps', 0)}, gateway {_column(throughs, 'rps', 0)} req/s; open loop at 10% of bare, p99 of each round: "
            f"{_column(at_targets, 'p99_ms', 1)} ms (the median kept).",
            "",
            "| target | offered load | req/s | p50 ms | p95 ms | p99 ms | ok/sent |",
            "|---|---|---:|---:|---:|---:|---:|",
            _row("bare aiohttp `GET /hello`", bare, f"closed loop, {args.concurrency} connections"),
            _row("gateway → stand-in service", through, f"closed loop, {args.concurrency} connections"),
            _row("gateway → stand-in service", at_target, f"open loop, {target_rate:.0f}/s (10% of bare)"),
            _row("gateway → stand-in service", at_half, f"open loop, {half_own:.0f}/s (50% of its max)"),
            _row("gateway → auth `GET /api/v1/me`", to_auth, f"closed loop, {args.concurrency} connections"),
            _row(
                "gateway → auth `GET /api/v1/me`",
                to_auth_half,
                f"open loop, {auth_half:.0f}/s (50% of its max)",
            ),
            "",
            f"Gateway path / bare server: **{ratio:.1%}** (target ≥ 20%: {verdict_rate}). "
            f"p99 at half the target rate: **{at_target['p99_ms']:.2f} ms** (target < 25 ms: {verdict_p99}).",
        ]
    )
    if not args.no_write:
        _write_doc(table, START, END, "Gateway")
        print(f"bench: written to {DOC.relative_to(ROOT)}")


def _write_doc(table: str, start: str, end: str, heading: str) -> None:
    """Replace what is between the markers; without them, append a section with them."""
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    block = f"{start}\n{table}\n{end}"
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + f"\n\n## {heading} (`make bench`)\n\n" + block + "\n"
    DOC.write_text(text)


if __name__ == "__main__":
    main()
