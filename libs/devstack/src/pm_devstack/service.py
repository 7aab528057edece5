"""One Playlist Manager service run as ``<python> -m <package> serve`` with its stack environment."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

from pm_devstack.component import ProcessComponent
from pm_devstack.ports import http_ok
from pm_devstack.procs import live_pid, spawn
from pm_devstack.services_file import ServiceSpec

READY_PATH = "/health/ready"
# Dev helpers (the provider emulator) may not use the platform chassis; a plain /health will do for them.
DEV_READY_PATHS = (READY_PATH, "/health")


def package_importable(package: str) -> bool:
    """Whether ``package`` is installed in this interpreter (the one services are started with)."""
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


class ServiceProcess(ProcessComponent):
    """A service process: detached, logging to ``log_path``, healthy when ``GET /health/ready`` is 200."""

    def __init__(
        self,
        spec: ServiceSpec,
        env: Mapping[str, str],
        *,
        cwd: Path,
        log_path: Path,
        pid_path: Path,
        python: str | None = None,
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.port = spec.port
        self.env = dict(env)
        self.cwd = cwd
        self.log_path = log_path
        self.pid_path = pid_path
        self.python = python or sys.executable
        self.ready_paths = DEV_READY_PATHS if spec.dev else (READY_PATH,)

    def _argv(self, command: str) -> list[str]:
        return [self.python, "-m", self.spec.package, command]

    def _process_env(self) -> dict[str, str]:
        # Inherit PATH, HOME, locale...; the stack's values win over anything set in the caller's shell.
        return {**os.environ, **self.env}

    def install(self) -> None:
        if not package_importable(self.spec.package):
            raise self.error(
                f"package {self.spec.package} is not importable (service not written yet, "
                "or run `uv sync --all-packages`)"
            )

    def pid(self) -> int | None:
        return live_pid(self.pid_path, f"-m {self.spec.package} serve")

    @property
    def fingerprint_path(self) -> Path:
        return self.pid_path.with_suffix(".code")

    def _code_files(self) -> Iterator[Path]:
        yield self.cwd / "uv.lock"
        roots = [*sorted((self.cwd / "libs").glob("*/src")), self.cwd / "services" / self.name / "src"]
        for root in roots:
            for path in sorted(root.rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    yield path

    def fingerprint(self) -> str:
        """What the process runs: its own code and every lib's (services import libs, never each other),
        the lock file, and the service's environment."""
        digest = hashlib.sha256()
        for key, value in sorted(self.env.items()):
            digest.update(f"{key}={value}\0".encode())
        for path in self._code_files():
            if path.exists():
                digest.update(str(path.relative_to(self.cwd)).encode() + b"\0" + path.read_bytes())
        return digest.hexdigest()

    def is_stale(self) -> bool:
        try:
            started_from = self.fingerprint_path.read_text().strip()
        except OSError:
            return True  # started by an older devstack, or by hand: its code is unknown
        return started_from != self.fingerprint()

    def start(self) -> None:
        if self.is_running():
            return
        self.install()
        self.ensure_ports_free()
        fingerprint = self.fingerprint()
        spawn(
            self._argv("serve"),
            log_path=self.log_path,
            env=self._process_env(),
            cwd=self.cwd,
            pid_path=self.pid_path,
        )
        self.fingerprint_path.write_text(fingerprint + "\n")

    def check_health(self) -> bool:
        return any(http_ok(self.port, path) for path in self.ready_paths)

    def migrate(self, timeout: float = 300.0) -> None:
        """Run ``<python> -m <package> migrate`` in the foreground with the service's env; output to its log."""
        self.install()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"$ {' '.join(self._argv('migrate'))}\n".encode())
            log.flush()
            try:
                result = subprocess.run(
                    self._argv("migrate"),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=self._process_env(),
                    cwd=self.cwd,
                    timeout=timeout,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                raise self.error(f"migrate did not finish in {timeout:.0f} s") from None
        if result.returncode != 0:
            raise self.error(f"migrate failed (exit {result.returncode})")
