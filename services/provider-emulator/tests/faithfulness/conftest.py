"""The emulator served from this test process, for the providers' real (synchronous) client libraries.

The app is built by ``init_app`` and served by aiohttp's ``TestServer`` on a free loopback port, in a
background thread with its own event loop: the client libraries (spotipy, deezer-python, the Google
API client, tidalapi) block, so they run in the test's thread while the server answers in its own.
State is reset before every test through the admin API, as a test against a running emulator would.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from aiohttp.test_utils import TestServer

from pm_provider_emulator.app import init_app
from pm_provider_emulator.domain.catalog import Catalogs
from pm_provider_emulator.domain.clock import ManualClock
from pm_provider_emulator.settings import EmulatorSettings

START = 1_780_000_000.0


@dataclass
class Emulator:
    """A running emulator: its base URL and a client of its admin API."""

    base: str
    http: requests.Session

    def url(self, host: str) -> str:
        """``http://127.0.0.1:<port>/<host>``: where a client's ``https://<host>`` goes."""
        return f"{self.base}/{host}"

    def admin(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        resp = self.http.request(method, f"{self.base}/_admin{path}", json=body, params=params, timeout=30)
        assert resp.status_code < 300, f"{method} /_admin{path}: {resp.status_code} {resp.text}"
        return resp.json()

    def create_user(self, provider: str, playlists: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        """A user with the given playlists (admin ``library`` specs); returns ``{"user", "tokens"}``."""
        return self.admin(  # type: ignore[no-any-return]
            "POST", "/users", {"provider": provider, "library": {"playlists": playlists}, **extra}
        )

    def library(self, provider: str, user_id: str) -> dict[str, Any]:
        return self.admin("GET", f"/users/{provider}/{user_id}")  # type: ignore[no-any-return]

    def fault(self, provider: str, **config: Any) -> None:
        self.admin("PUT", f"/faults/{provider}", config)

    def config(self, **switches: Any) -> None:
        self.admin("PUT", "/config", switches)

    def calls(self, host: str) -> dict[str, int]:
        return self.admin("GET", "/calls", host=host)["calls"]  # type: ignore[no-any-return]

    def mapping(self, **query: str) -> dict[str, Any]:
        return self.admin("GET", "/catalog/mapping", **query)["recordings"][0]  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def _served(catalogs: Catalogs) -> Iterator[Emulator]:
    settings = EmulatorSettings(clock="manual", clock_start=START)
    app = init_app(settings, catalogs=catalogs, clock=ManualClock(START))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="emulator", daemon=True)
    thread.start()
    server = TestServer(app, host="127.0.0.1")
    asyncio.run_coroutine_threadsafe(server.start_server(), loop).result(timeout=60)
    http = requests.Session()
    try:
        yield Emulator(str(server.make_url("")).rstrip("/"), http)
    finally:
        http.close()
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(timeout=60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


@pytest.fixture
def emulator(_served: Emulator) -> Emulator:
    """The running emulator, reset to its settings (demo users only, no faults, default limits)."""
    _served.admin("POST", "/reset")
    _served.admin("DELETE", "/calls")
    return _served
