"""Debian packages: install what is missing, refreshing the package lists only when that is needed."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from pm_devstack.errors import DevstackError
from pm_devstack.procs import is_root

APT_LISTS = Path("/var/lib/apt/lists")


def _have_package_lists() -> bool:
    return any(APT_LISTS.glob("*_Packages*"))


def _run(argv: list[str], log_path: Path) -> bool:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        log.write(f"$ {' '.join(argv)}\n".encode())
        log.flush()
        return (
            subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, env=env, check=False).returncode == 0
        )


def install_packages(packages: Sequence[str], *, component: str, log_path: Path) -> None:
    """``apt-get install -y`` the given packages (one call); ``apt-get update`` first only when needed.

    "Needed" means there are no package lists yet, or the install failed with the current lists (a
    stale list can name package versions the mirror no longer has). Requires root.
    """
    if not packages:
        return
    names = " ".join(packages)
    if not is_root():
        raise DevstackError(
            component,
            f"{names} not installed and installing needs root: run `sudo apt-get install -y {names}`",
            log_path,
        )
    install = ["apt-get", "install", "-y", "--no-install-recommends", *packages]
    if _have_package_lists() and _run(install, log_path):
        return
    if not _run(["apt-get", "update"], log_path):
        raise DevstackError(component, "apt-get update failed", log_path)
    if not _run(install, log_path):
        raise DevstackError(component, f"apt-get install {names} failed", log_path)
