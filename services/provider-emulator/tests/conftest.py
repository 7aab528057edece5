"""Shared fixtures: the catalogs are loaded once per session (about a second)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from pm_provider_emulator.app import init_app
from pm_provider_emulator.domain.catalog import Catalogs
from pm_provider_emulator.domain.clock import ManualClock
from pm_provider_emulator.http.context import EMULATOR, Emulator
from pm_provider_emulator.settings import EmulatorSettings
from pm_provider_emulator.storage.catalog_files import load_catalogs

FIXTURES = Path(__file__).parent / "fixtures"
START = 1_780_000_000.0


@pytest.fixture(scope="session")
def catalogs() -> Catalogs:
    return load_catalogs()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def make_client(catalogs: Catalogs, clock: ManualClock) -> AsyncIterator[Callable[..., Any]]:
    """``await make_client(**settings)`` -> a TestClient on a fresh emulator (closed at teardown)."""
    clients: list[TestClient[Any, Any]] = []

    async def factory(**overrides: Any) -> TestClient[Any, Any]:
        settings = EmulatorSettings(**{"rate_limits": False, **overrides})
        app = init_app(settings, catalogs=catalogs, clock=clock)
        client: TestClient[Any, Any] = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return client

    yield factory
    for c in clients:
        await c.close()


@pytest.fixture
async def client(make_client: Callable[..., Any]) -> TestClient[Any, Any]:
    client: TestClient[Any, Any] = await make_client()
    return client


def emulator_of(client: TestClient[Any, Any]) -> Emulator:
    return client.app[EMULATOR]
