"""Redis from the Debian package: an in-memory, non-persistent server for dev and tests."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
from pathlib import Path

from pm_devstack.component import Component
from pm_devstack.config import HOST
from pm_devstack.procs import live_pid, terminate, wait_gone


def redis_command(*parts: str) -> bytes:
    """A RESP-encoded command (enough protocol for PING and SHUTDOWN; no client library needed)."""
    out = [f"*{len(parts)}\r\n".encode()]
    for part in parts:
        data = part.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def render_args(port: int, state_dir: Path, pid_path: Path, log_path: Path) -> list[str]:
    """Command-line configuration: bound to 127.0.0.1, nothing written to disk but pid and log files."""
    return [
        "--port",
        str(port),
        "--bind",
        HOST,
        "--save",
        "",
        "--appendonly",
        "no",
        "--daemonize",
        "yes",
        "--pidfile",
        str(pid_path),
        "--logfile",
        str(log_path),
        "--dir",
        str(state_dir),
    ]


class RedisServer(Component):
    """``redis-server`` on 127.0.0.1:``port``, daemonized, its working dir in ``state_dir``."""

    name = "redis"

    def __init__(
        self, state_dir: Path, port: int, *, log_path: Path | None = None, pid_path: Path | None = None
    ) -> None:
        self.state_dir = state_dir
        self.port = port
        self.log_path = log_path or state_dir / "redis.log"
        self.pid_path = pid_path or state_dir / "redis.pid"

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def _binary(self) -> str | None:
        return shutil.which("redis-server") or (
            "/usr/bin/redis-server" if Path("/usr/bin/redis-server").is_file() else None
        )

    def system_packages(self) -> list[str]:
        return [] if self._binary() else ["redis-server"]

    def pid(self) -> int | None:
        return live_pid(self.pid_path, "redis-server")

    def start(self) -> None:
        if self.is_running():
            return
        self.ensure_ports_free()
        binary = self._binary()
        if binary is None:
            raise self.error("redis-server is not installed")
        for directory in (self.state_dir, self.pid_path.parent, self.log_path.parent):
            directory.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            # --daemonize: the launcher returns once the server has forked; the pid file is its pid.
            result = subprocess.run(
                [binary, *render_args(self.port, self.state_dir, self.pid_path, self.log_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                check=False,
                start_new_session=True,
            )
        if result.returncode != 0:
            raise self.error(f"redis-server exited with {result.returncode}")

    def _ask(self, *command: str, timeout: float = 1.0) -> bytes:
        with socket.create_connection((HOST, self.port), timeout=timeout) as sock:
            sock.sendall(redis_command(*command))
            return sock.recv(64)

    def check_health(self) -> bool:
        with contextlib.suppress(OSError):
            return self._ask("PING").startswith(b"+PONG")
        return False

    def stop(self, timeout: float = 15.0) -> None:
        """``SHUTDOWN NOSAVE``; SIGTERM and then SIGKILL if it is still there."""
        pid = self.pid()
        if pid is None:
            return
        with contextlib.suppress(OSError):
            self._ask("SHUTDOWN", "NOSAVE")  # the server closes the connection instead of answering
        if not wait_gone(pid, timeout):
            terminate(pid, timeout)
        self.pid_path.unlink(missing_ok=True)
