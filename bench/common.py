"""What the benchmarks share: processes of their own, waiting for a server, a user logged in through a
gateway, the load generator in a process of its own, and how a result is printed and kept."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from pm_devstack.stack import Stack

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
BENCH_IP = "198.18.255.1"  # the bench user's simulated client address (RFC 2544 range; a header only)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout_s: float = 60.0) -> None:
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
def process(args: list[str], env: dict[str, str], log: Path):
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


def login(gateway: str) -> str:
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


def load(
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


def say(name: str, r: dict[str, Any]) -> None:
    print(
        f"  {name:<30} {r['rps']:8.0f} req/s  p50 {r['p50_ms']:6.2f}  p99 {r['p99_ms']:7.2f} ms  "
        f"ok {r['ok']}/{r['requests'] + r['errors']}",
        flush=True,
    )


def median(results: list[dict[str, Any]], key: str = "rps", *, upper: bool = False) -> dict[str, Any]:
    """The round with the median ``key`` (for an even count the lower middle one, or the upper with
    ``upper``): one noisy round on a shared machine neither makes nor breaks the comparison."""
    ordered = sorted(results, key=lambda r: r[key])
    return ordered[len(ordered) // 2 if upper else (len(ordered) - 1) // 2]


def column(results: list[dict[str, Any]], key: str, digits: int) -> str:
    return ", ".join(f"{r[key]:.{digits}f}" for r in results)


def row(name: str, r: dict[str, Any], offered: str) -> str:
    return (
        f"| {name} | {offered} | {r['rps']:.0f} | {r['p50_ms']:.2f} | {r['p95_ms']:.2f} | {r['p99_ms']:.2f} | "
        f"{r['ok']}/{r['requests'] + r['errors']} |"
    )


def write_doc(table: str, start: str, end: str, heading: str) -> None:
    """Replace what is between the markers; without them, append a section with them."""
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    block = f"{start}\n{table}\n{end}"
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + f"\n\n## {heading} (`make bench`)\n\n" + block + "\n"
    DOC.write_text(text)


# The bench gateway's general rate limit: above any offered load, so every request pays for the limiter
# without being refused.
RATE_LIMIT_GENERAL = "100000/s;burst=100000"


@dataclass(frozen=True)
class BenchServers:
    hello_url: str  # the bare aiohttp server's GET /hello
    gateway: str  # the bench gateway's base URL
    token: str  # a bench user's access token, issued through it


@contextmanager
def bench_servers(stack: Stack, needs: str, playlist_url: str) -> Iterator[BenchServers]:
    """A bare "hello" server and a gateway process of the stack's code and configuration (rate limiter
    on, limit raised), each in a process of its own on a free port, with PLAYLIST_URL ``playlist_url``;
    a bench user registered and logged in through that gateway. ``needs``: the stack service that must
    be ready (`make up`)."""
    try:
        wait_http(f"http://127.0.0.1:{stack.spec(needs).port}/health/ready", 5)
    except SystemExit:
        raise SystemExit(f"bench: the stack's {needs} service is not ready; run `make up` first") from None
    logs = stack.config.logs_dir
    logs.mkdir(parents=True, exist_ok=True)
    hello_port, gateway_port = free_port(), free_port()
    gateway_env = {
        **os.environ,
        **stack.service_env("gateway"),
        "PORT": str(gateway_port),
        "HOST": "127.0.0.1",
        "LOG_LEVEL": "warning",
        "RATE_LIMIT_GENERAL": RATE_LIMIT_GENERAL,
        "PLAYLIST_URL": playlist_url.format(hello_port=hello_port),
    }
    hello_url, gateway = f"http://127.0.0.1:{hello_port}/hello", f"http://127.0.0.1:{gateway_port}"
    with (
        process(
            [sys.executable, "-m", "bench.hello", str(hello_port)], dict(os.environ), logs / "bench-hello.log"
        ),
        process([sys.executable, "-m", "pm_gateway", "serve"], gateway_env, logs / "bench-gateway.log"),
    ):
        wait_http(hello_url)
        wait_http(f"{gateway}/health/live")
        yield BenchServers(hello_url, gateway, login(gateway))
