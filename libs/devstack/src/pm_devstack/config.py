"""Where the stack lives and which ports it uses, read from the environment when asked (never at import)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pm_devstack.errors import DevstackError

HOST = "127.0.0.1"

DEFAULT_PG_PORT = 15432
DEFAULT_REDIS_PORT = 16379
DEFAULT_KAFKA_PORT = 19092
DEFAULT_KAFKA_CONTROLLER_PORT = 19093
DEFAULT_S3_PORT = 18333
# Where the infrastructure runs: native processes (the default) or containers (pm_devstack.containers).
INFRA_MODES = ("native", "containers")

S3_BUCKET = "playlist-exports"
S3_REGION = "us-east-1"
DATABASE_NAME = "playlistmgr"
PG_SUPERUSER = "postgres"

# The one file every other part of the tree follows (see its header comment).
SERVICES_FILE = Path("proto") / "services.yaml"


def find_repo_root(environ: Mapping[str, str] | None = None) -> Path:
    """The workspace root: ``PM_REPO_ROOT`` if set, else the first ancestor holding proto/services.yaml.

    Searches upward from this package's location first (the workspace installs it editable, so that is
    inside the repo) and then from the working directory.
    """
    env = os.environ if environ is None else environ
    if env.get("PM_REPO_ROOT"):
        return Path(env["PM_REPO_ROOT"]).resolve()
    for start in (Path(__file__).resolve().parent, Path.cwd().resolve()):
        for candidate in (start, *start.parents):
            if (candidate / SERVICES_FILE).is_file():
                return candidate
    raise DevstackError(
        "config", "cannot find the repository root (no proto/services.yaml above here); set PM_REPO_ROOT"
    )


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise DevstackError("config", f"{name}={raw!r} is not a port number") from None
    if not 1 <= value <= 65535:
        raise DevstackError("config", f"{name}={value} is outside 1..65535")
    return value


def infra_mode(env: Mapping[str, str]) -> str:
    """``PM_INFRA``: ``native`` (the default) or ``containers``."""
    mode = env.get("PM_INFRA", "").strip() or "native"
    if mode not in INFRA_MODES:
        raise DevstackError("config", f"PM_INFRA={mode!r}: expected one of {', '.join(INFRA_MODES)}")
    return mode


@dataclass(frozen=True)
class StackConfig:
    """Locations and infrastructure ports of one native stack."""

    repo_root: Path
    state_dir: Path
    pg_port: int = DEFAULT_PG_PORT
    redis_port: int = DEFAULT_REDIS_PORT
    kafka_port: int = DEFAULT_KAFKA_PORT
    kafka_controller_port: int = DEFAULT_KAFKA_CONTROLLER_PORT
    s3_port: int = DEFAULT_S3_PORT
    infra: str = "native"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, repo_root: Path | None = None) -> StackConfig:
        """Build from ``PM_*`` variables (``PM_STATE_DIR``, ``PM_PG_PORT``, ``PM_INFRA``, ...), defaults
        otherwise."""
        env = os.environ if environ is None else environ
        root = repo_root if repo_root is not None else find_repo_root(env)
        state = Path(env["PM_STATE_DIR"]).resolve() if env.get("PM_STATE_DIR") else root / ".state"
        return cls(
            repo_root=root,
            state_dir=state,
            pg_port=_port(env, "PM_PG_PORT", DEFAULT_PG_PORT),
            redis_port=_port(env, "PM_REDIS_PORT", DEFAULT_REDIS_PORT),
            kafka_port=_port(env, "PM_KAFKA_PORT", DEFAULT_KAFKA_PORT),
            kafka_controller_port=_port(env, "PM_KAFKA_CONTROLLER_PORT", DEFAULT_KAFKA_CONTROLLER_PORT),
            s3_port=_port(env, "PM_S3_PORT", DEFAULT_S3_PORT),
            infra=infra_mode(env),
        )

    @property
    def services_file(self) -> Path:
        return self.repo_root / SERVICES_FILE

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def run_dir(self) -> Path:
        return self.state_dir / "run"

    @property
    def env_file(self) -> Path:
        return self.state_dir / "env"

    def log_path(self, name: str) -> Path:
        return self.logs_dir / f"{name}.log"

    def pid_path(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"
