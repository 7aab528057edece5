"""pm_devstack.tools: helm is taken from the cache when there, and a missing Go toolchain is an error."""

from __future__ import annotations

from pathlib import Path

import pytest

from pm_devstack import tools
from pm_devstack.config import StackConfig
from pm_devstack.errors import DevstackError


def _config(tmp_path: Path) -> StackConfig:
    return StackConfig(repo_root=tmp_path, state_dir=tmp_path / "state")


def test_helm_is_cached_under_the_state_dir(tmp_path: Path) -> None:
    path = tools.helm_path(_config(tmp_path))
    assert path == tmp_path / "state" / "tools" / f"helm-{tools.HELM_VERSION}" / "helm"


def test_a_cached_helm_is_used_without_building(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config(tmp_path)
    cached = tools.helm_path(config)
    cached.parent.mkdir(parents=True)
    cached.write_text("#!/bin/sh\n")
    cached.chmod(0o755)

    def no_build(*args: object, **kwargs: object) -> None:
        raise AssertionError("built although cached")

    monkeypatch.setattr("pm_devstack.tools.subprocess.run", no_build)
    assert tools.install_helm(config) == cached


def test_without_go_install_fails_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pm_devstack.tools.shutil.which", lambda name: None)
    with pytest.raises(DevstackError, match=r"Go toolchain \(go\)"):
        tools.install_helm(_config(tmp_path))
    assert not (tmp_path / "state" / "tools" / f"helm-{tools.HELM_VERSION}").exists()


def test_a_failed_build_leaves_nothing_that_looks_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Failed:
        returncode = 1
        stdout = ""
        stderr = "go: module lookup disabled\n"

    monkeypatch.setattr("pm_devstack.tools.shutil.which", lambda name: "/usr/bin/go")
    monkeypatch.setattr("pm_devstack.tools.subprocess.run", lambda *a, **k: Failed())
    with pytest.raises(DevstackError, match="module lookup disabled"):
        tools.install_helm(_config(tmp_path))
    assert list((tmp_path / "state" / "tools").iterdir()) == []
