"""Port bookkeeping: static collision checks over the whole plan, and "is someone listening here?"."""

from __future__ import annotations

import contextlib
import random
import re
import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping

from pm_devstack.config import HOST


def find_collisions(owners: Iterable[tuple[str, int]]) -> dict[int, list[str]]:
    """Ports claimed by more than one owner, e.g. ``{3101: ["gateway", "postgres"]}``.

    ``owners`` is (owner label, port) pairs, so one component may claim several ports.
    """
    claimed: dict[int, list[str]] = {}
    for owner, port in owners:
        claimed.setdefault(port, []).append(owner)
    return {port: names for port, names in sorted(claimed.items()) if len(names) > 1}


def describe_collisions(collisions: Mapping[int, list[str]]) -> str:
    return "; ".join(
        f"port {port} is configured for {' and '.join(names)}" for port, names in collisions.items()
    )


def port_in_use(port: int, host: str = HOST) -> bool:
    """True when binding ``host:port`` fails, i.e. something (on any address) already listens there.

    SO_REUSEADDR so that sockets lingering in TIME_WAIT after a stop do not count as "taken".
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def can_connect(port: int, host: str = HOST, timeout: float = 0.5) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def port_owner(port: int) -> str | None:
    """Best effort "pid 123 (java)" for the process listening on ``port``, via ``ss``; None if unknown."""
    try:
        out = subprocess.run(
            ["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True, timeout=5, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'\(\("([^"]+)",pid=(\d+)', out)
    return f"pid {match.group(2)} ({match.group(1)})" if match else None


def free_port_block(offsets: Iterable[int] = (0,), start: int = 21000, stop: int = 25000) -> int:
    """A base port ``p`` in [start, stop) with ``p + o`` free for every offset: ports for a private server.

    E.g. ``free_port_block((0, 1))`` for a test Kafka (broker ``p``, controller ``p + 1``). Random, so
    parallel test runs rarely race for the same block; still only "free when checked".
    """
    wanted = tuple(offsets)
    candidates = list(range(start, stop))
    random.shuffle(candidates)
    for base in candidates:
        if not any(port_in_use(base + offset) for offset in wanted):
            return base
    raise RuntimeError(f"no free port block in {start}..{stop}")


def http_ok(port: int, path: str, host: str = HOST, timeout: float = 2.0) -> bool:
    """True when ``GET http://host:port/path`` answers 200; never raises."""
    with (
        contextlib.suppress(OSError, urllib.error.URLError),
        urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=timeout) as response,
    ):
        return bool(response.status == 200)
    return False
