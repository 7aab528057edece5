"""What the deployment checks share: the repository, and helm (built once, cached in the state dir)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pm_devstack.config import find_repo_root
from pm_devstack.tools import install_helm


@pytest.fixture(scope="session")
def root() -> Path:
    return find_repo_root()


@pytest.fixture(scope="session")
def helm() -> Path:
    return install_helm()
