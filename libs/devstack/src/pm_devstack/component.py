"""The small interface every part of the stack implements (servers and services alike)."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from pm_devstack.errors import DevstackError
from pm_devstack.ports import port_in_use, port_owner
from pm_devstack.procs import terminate


@dataclass(frozen=True)
class Status:
    name: str
    running: bool
    pid: int | None
    port: int
    healthy: bool

    def line(self) -> str:
        state = "running" if self.running else "stopped"
        pid = str(self.pid) if self.pid is not None else "-"
        health = "healthy" if self.healthy else ("unhealthy" if self.running else "-")
        return f"{self.name:<18} {state:<8} pid {pid:<8} port {self.port:<6} {health}"


class Component(ABC):
    """One process of the stack.

    Contract: ``install`` and ``start`` are idempotent (no-ops when done / already running); ``start``
    returns once the process is launched, ``wait_healthy`` blocks until it answers; ``stop`` always
    leaves the process gone (clean shutdown first, SIGKILL after a deadline).
    """

    name: str
    port: int
    log_path: Path
    # How long "no process" must last during startup before it counts as a crash: daemons (redis,
    # postgres) write their pid file a moment after the launcher returns.
    startup_grace: float = 3.0

    def system_packages(self) -> list[str]:
        """Debian packages this component needs that are not installed (installed together, once)."""
        return []

    def install(self) -> None:  # noqa: B027 - an optional hook; most components fetch nothing
        """Fetch what is missing other than Debian packages (jars, binaries). May take a while."""

    def listen_ports(self) -> list[int]:
        """Every TCP port the component opens, for collision checks."""
        return [self.port]

    @abstractmethod
    def pid(self) -> int | None:
        """The pid of the running main process, None when not running."""

    def is_running(self) -> bool:
        return self.pid() is not None

    def is_stale(self) -> bool:
        """Whether the running process was started from other code or configuration than there is now
        (``up`` restarts it). Servers run fixed binaries: never."""
        return False

    @abstractmethod
    def start(self) -> None:
        """Launch the process if it is not running. Does not wait for health."""

    @abstractmethod
    def check_health(self) -> bool:
        """One quick probe; never raises."""

    @abstractmethod
    def stop(self, timeout: float = 30.0) -> None:
        """Stop cleanly, kill after ``timeout`` seconds. No-op when not running."""

    def status(self) -> Status:
        pid = self.pid()
        return Status(self.name, pid is not None, pid, self.port, pid is not None and self.check_health())

    def error(self, message: str) -> DevstackError:
        return DevstackError(self.name, message, self.log_path)

    def ensure_ports_free(self) -> None:
        """Refuse to start when another process already holds one of our ports (called when not running)."""
        for port in self.listen_ports():
            if port_in_use(port):
                owner = port_owner(port)
                by = f" by {owner}" if owner else ""
                raise self.error(f"port {port} is already taken{by}; stop it or choose another port")

    def wait_healthy(self, timeout: float = 60.0, interval: float = 0.2) -> float:
        """Poll ``check_health`` until it passes; returns the seconds waited. Blocks.

        Fails fast when the process is gone (for ``startup_grace`` s) instead of waiting out the timeout.
        """
        started = time.monotonic()
        deadline = started + timeout
        missing_since: float | None = None
        while True:
            if self.check_health():
                return time.monotonic() - started
            now = time.monotonic()
            if self.is_running():
                missing_since = None
            elif missing_since is None:
                missing_since = now
            elif now - missing_since >= self.startup_grace:
                raise self.error("exited during startup")
            if now >= deadline:
                raise self.error(f"not healthy after {timeout:.0f} s")
            time.sleep(interval)


class ProcessComponent(Component):
    """A component whose process this stack launched and tracks by pid file: stopping is SIGTERM
    (the process shuts down cleanly) and SIGKILL after ``timeout``."""

    pid_path: Path

    def stop(self, timeout: float = 30.0) -> None:
        pid = self.pid()
        if pid is not None:
            terminate(pid, timeout)
        self.pid_path.unlink(missing_ok=True)
