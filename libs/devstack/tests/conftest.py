"""Shared fixtures. Unit tests (anything not marked ``integration``) may not open network connections."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from pm_devstack.config import StackConfig, find_repo_root
from pm_devstack.stack import Stack


@pytest.fixture(autouse=True)
def _no_network_in_unit_tests(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("integration"):
        return

    def refuse(*args: object, **kwargs: object) -> None:
        raise RuntimeError("unit tests must not use the network; mark the test @pytest.mark.integration")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def repo_root() -> Path:
    return find_repo_root()


@pytest.fixture
def tmp_stack(tmp_path: Path, repo_root: Path) -> Stack:
    """A Stack on the real services.yaml with its state (and so its secrets) in a temp dir."""
    return Stack(StackConfig(repo_root=repo_root, state_dir=tmp_path / "state"))
