"""The emulator as tests drive it from their own process: :class:`EmulatorAdmin` holds a started
server's base URL, its state (for checks against the ground truth) and its admin API (``/_admin/…``).
Each test suite's harness adds what it needs on top (accounts, faults, call counts)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import aiohttp
from aiohttp.test_utils import TestServer

from pm_provider_emulator.app import init_app
from pm_provider_emulator.http.context import EMULATOR, Emulator
from pm_provider_emulator.settings import EmulatorSettings

H = TypeVar("H", bound="EmulatorAdmin")


class EmulatorAdmin:
    """An emulator started in this process (its own port and state: the shared dev emulator on 3199 is
    untouched), through one client session."""

    def __init__(self, server: TestServer, session: aiohttp.ClientSession) -> None:
        self.server = server
        self.base = f"http://127.0.0.1:{server.port}"
        self.state: Emulator = server.app[EMULATOR]
        self._session = session

    async def admin(self, method: str, path: str, body: Any = None) -> Any:
        """One admin call's JSON answer; anything but a success fails the test."""
        async with self._session.request(method, f"{self.base}/_admin{path}", json=body) as resp:
            data = await resp.json()
            assert resp.status < 300, (resp.status, data)
            return data


@asynccontextmanager
async def started_emulator(
    settings: EmulatorSettings, harness: Callable[[TestServer, aiohttp.ClientSession], H]
) -> AsyncIterator[H]:
    """An emulator with ``settings`` on a free loopback port, driven through ``harness``, closed after."""
    server = TestServer(init_app(settings), host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            yield harness(server, session)
    finally:
        await server.close()
