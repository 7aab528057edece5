"""Process helpers: pid files, liveness that survives pid reuse, detached spawning, stopping with a deadline."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Coroutine, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def read_pid(pid_path: Path) -> int | None:
    """The first line of a pid file as an int, or None when missing or unreadable."""
    try:
        first = pid_path.read_text().split("\n", 1)[0].strip()
        return int(first) if first else None
    except (OSError, ValueError):
        return None


def write_pid(pid_path: Path, pid: int) -> None:
    pid_path.parent.mkdir(parents=True, exist_ok=True)
    pid_path.write_text(f"{pid}\n")


def pid_alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie.

    Reaps it first when it is our own exited child: a component started by this very process (as in
    tests) would otherwise linger as a zombie and look alive forever.
    """
    with contextlib.suppress(ChildProcessError, OSError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by another user (postgres runs as "postgres")
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    # Field 3 (after the parenthesised command name, which may contain spaces) is the state.
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def live_pid(pid_path: Path, marker: str) -> int | None:
    """The pid from ``pid_path`` if that process is alive and its command line contains ``marker``.

    The marker check keeps a stale pid file (after a reboot, say) from pointing at an unrelated process
    that happens to have reused the number.
    """
    pid = read_pid(pid_path)
    if pid is None or not pid_alive(pid):
        return None
    return pid if marker in cmdline(pid) else None


def spawn(
    argv: Sequence[str],
    *,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    pid_path: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` detached (own session, so Ctrl-C in the terminal does not reach it).

    stdout and stderr are appended to ``log_path``; the pid goes to ``pid_path`` when given.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )
    if pid_path is not None:
        write_pid(pid_path, proc.pid)
    return proc


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def _signal(pid: int, sig: signal.Signals, group: bool) -> None:
    with contextlib.suppress(ProcessLookupError):
        # A process we started with start_new_session leads its own group: signal the whole group so
        # helper children (if any) go too. Never signal a group we do not lead.
        if group and os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)


def terminate(pid: int, timeout: float, *, sig: signal.Signals = signal.SIGTERM, group: bool = True) -> bool:
    """Send ``sig``, wait up to ``timeout`` s, then SIGKILL. Returns True if it stopped without SIGKILL."""
    if not pid_alive(pid):
        return True
    _signal(pid, sig, group)
    if wait_gone(pid, timeout):
        return True
    _signal(pid, signal.SIGKILL, group)
    wait_gone(pid, 5)
    return False


def is_root() -> bool:
    return os.geteuid() == 0


def run_blocking(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion and return its result, blocking the caller.

    Works from plain code and from inside a running event loop (an async test calling
    ``KafkaServer.wait_healthy``): there it runs on a private loop in a helper thread, because
    ``asyncio.run`` refuses to nest. Async callers that must not block should use ``asyncio.to_thread``.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()
