"""Command-line tools the checks need and no package ships, built once and cached in the state dir.

helm is built from source with ``go install`` (about two minutes cold) into ``<state>/tools/helm-<version>/``,
beside the stack's other installs (``<state>/kafka/libs``), and reused from there afterwards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from pm_devstack.config import StackConfig
from pm_devstack.errors import DevstackError

HELM_VERSION = "v3.22.0"
HELM_MODULE = "helm.sh/helm/v3/cmd/helm"
# helm built by `go install` lacks the release build's ldflags and so assumes Kubernetes 1.20 wherever no
# cluster is asked; every offline `helm lint` / `helm template` names the version it targets.
KUBE_VERSION = "1.32.0"


def tools_dir(config: StackConfig | None = None) -> Path:
    """``<state>/tools``: the cache of built tools (``PM_STATE_DIR`` moves it with the rest of the state)."""
    return (config or StackConfig.from_env()).state_dir / "tools"


def helm_path(config: StackConfig | None = None, version: str = HELM_VERSION) -> Path:
    """Where helm ``version`` is cached (whether or not it is there yet)."""
    return tools_dir(config) / f"helm-{version}" / "helm"


def install_helm(
    config: StackConfig | None = None, version: str = HELM_VERSION, *, timeout: float = 900
) -> Path:
    """The cached helm binary, built first with ``go install`` when missing; returns its path.

    Idempotent and safe to interrupt: the build lands in a sibling staging directory that is renamed into
    place only once the binary exists, so a half-finished build never looks installed. Blocks for the
    build (minutes on a cold Go cache; needs the Go toolchain and the module proxy). Two concurrent first
    installs both build; the second rename loses harmlessly.
    """
    target = helm_path(config, version)
    if target.is_file() and os.access(target, os.X_OK):
        return target
    go = shutil.which("go")
    if go is None:
        raise DevstackError("helm", "the Go toolchain (go) is not installed; it builds helm")
    final_dir = target.parent
    staging = final_dir.with_name(f".{final_dir.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    env = {
        **os.environ,
        "GOBIN": str(staging),
        "GOFLAGS": " ".join(filter(None, [os.environ.get("GOFLAGS", ""), "-buildvcs=false"])),
        "CGO_ENABLED": "0",
        "GOTOOLCHAIN": "local",
    }
    try:
        result = subprocess.run(
            [go, "install", f"{HELM_MODULE}@{version}"],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        built = staging / "helm"
        if result.returncode != 0 or not built.is_file():
            tail = (result.stderr or result.stdout).strip().splitlines()[-5:]
            raise DevstackError("helm", f"go install {HELM_MODULE}@{version} failed: {' | '.join(tail)}")
        if not final_dir.exists():
            try:
                staging.rename(final_dir)
            except OSError:
                if not target.is_file():  # not a concurrent install that won the rename
                    raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
