"""Command-line tools the checks need and no package ships, built once and cached in the state dir.

helm is built from source with ``go install`` (about two minutes cold) into ``<state>/tools/helm-<version>/``,
beside the stack's other installs (``<state>/kafka/libs``), and reused from there afterwards. promtool comes
from Debian's ``prometheus`` package (apt, about 15 s); nginx is unpacked from Debian's packages into
``<state>/tools/nginx`` without installing them (so nothing starts a server).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from pm_devstack.apt import install_packages
from pm_devstack.config import StackConfig
from pm_devstack.errors import DevstackError

HELM_VERSION = "v3.22.0"
HELM_MODULE = "helm.sh/helm/v3/cmd/helm"
# helm built by `go install` lacks the release build's ldflags and so assumes Kubernetes 1.20 wherever no
# cluster is asked; every offline `helm lint` / `helm template` names the version it targets.
KUBE_VERSION = "1.32.0"
# The chart and the release name every rendering uses (kustomize bases, the chart run as pods).
CHART = Path("helm") / "playlist-manager"
RELEASE = "pm"


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
        _move_into_place(staging, final_dir, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _move_into_place(built: Path, final: Path, target: Path) -> None:
    """Rename the finished ``built`` directory to ``final`` (holding ``target``); a concurrent install
    that won the rename is as good."""
    if final.exists():
        return
    try:
        built.rename(final)
    except OSError:
        if not target.is_file():
            raise


def console_script(name: str) -> str:
    """A console script installed beside this interpreter (the workspace venv), else found on PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.is_file() else shutil.which(name)
    if found is None:
        raise DevstackError(name, "not installed: run `uv sync --all-packages` (root dev dependency group)")
    return found


# ---- promtool and nginx (Debian packages) ---------------------------------------------------------------------

PROMTOOL_PACKAGE = "prometheus"  # Debian's package brings promtool; its install does not start the server
NGINX_PACKAGES = ("nginx", "nginx-common")


def install_promtool(config: StackConfig | None = None) -> Path:
    """``promtool`` (``promtool check rules``, ``promtool test rules``), apt-installed from Debian's
    ``prometheus`` package when missing; returns its path. Needs root the first time (CI runs as root)."""
    found = shutil.which("promtool")
    if found is None:
        config = config or StackConfig.from_env()
        install_packages([PROMTOOL_PACKAGE], component="promtool", log_path=config.log_path("apt"))
        found = shutil.which("promtool")
        if found is None:
            raise DevstackError("promtool", f"apt-get install {PROMTOOL_PACKAGE} did not provide promtool")
    return Path(found)


def nginx_path(config: StackConfig | None = None) -> Path:
    """Where the unpacked nginx binary is cached (whether or not it is there yet)."""
    return tools_dir(config) / "nginx" / "usr" / "sbin" / "nginx"


def install_nginx(config: StackConfig | None = None, *, timeout: float = 300) -> Path:
    """An ``nginx`` binary for ``nginx -t``: one on PATH, else Debian's packages downloaded with
    ``apt-get download`` and unpacked (``dpkg -x``) into ``<state>/tools/nginx`` — never installed, so no
    server is started and no port taken. Returns its path."""
    found = shutil.which("nginx")
    if found is not None:
        return Path(found)
    config = config or StackConfig.from_env()
    target = nginx_path(config)
    if target.is_file() and os.access(target, os.X_OK):
        return target
    root = target.parents[2]
    staging = root.with_name(f".{root.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    debs = staging / "debs"
    debs.mkdir()
    try:
        download = ["apt-get", "download", *NGINX_PACKAGES]
        result = subprocess.run(download, cwd=debs, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            # No package lists yet: refresh them once (root), then try again.
            subprocess.run(["apt-get", "update"], capture_output=True, timeout=timeout, check=False)
            result = subprocess.run(download, cwd=debs, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise DevstackError("nginx", f"apt-get download failed: {result.stderr.strip()[-300:]}")
        tree = staging / "tree"
        for deb in sorted(debs.glob("*.deb")):
            subprocess.run(["dpkg", "-x", str(deb), str(tree)], check=True, timeout=timeout)
        if not (tree / "usr" / "sbin" / "nginx").is_file():
            raise DevstackError("nginx", "the nginx package did not contain usr/sbin/nginx")
        _move_into_place(tree, root, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def helm_template(
    helm: Path, root: Path, values: Sequence[Path], extra: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """``helm template`` of the chart with the ``values`` files in order (and ``extra`` arguments), for
    Kubernetes ``KUBE_VERSION``, offline: the rendered objects, empty documents dropped."""
    result = subprocess.run(
        [
            *(str(helm), "template", RELEASE, str(CHART)),
            *(arg for path in values for arg in ("-f", str(path))),
            *extra,
            *("--kube-version", KUBE_VERSION),
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        names = ", ".join(Path(v).name for v in values)
        raise DevstackError("helm", f"helm template ({names}) failed: {result.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]
