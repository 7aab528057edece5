"""A service built by the chassis cuts off a request body that does not arrive in time (BODY_TIMEOUT_S,
MIN_BODY_RATE from its settings), and answers deeply nested JSON with a 400: every service reads bodies
through pm_platform.http, so each one (the gateway included) is bounded the same way."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses

import pytest
from aiohttp import web
from pydantic import BaseModel

from pm_platform.http import read_json
from pm_platform.service import Runtime
from pm_platform.testing import running_service
from pm_playlist.app import definition

pytestmark = pytest.mark.integration


class Note(BaseModel):
    text: object


def _with_a_body_route(app: web.Application, rt: Runtime) -> None:
    original = definition().routes
    if original is not None:
        original(app, rt)

    async def note(request: web.Request) -> web.Response:
        parsed = await read_json(request, Note)
        return web.json_response({"ok": parsed.text is not None})

    app.router.add_post("/test-notes", note)


async def _slow_post(port: int) -> bytes:
    """Announce 100 bytes, send one, and read whatever comes until the server closes (at most 30 s)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"POST /test-notes HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100\r\n\r\n{"
    )
    received = b""
    try:
        async with asyncio.timeout(30):
            while chunk := await reader.read(65536):
                received += chunk
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return received


@pytest.mark.timeout(120)
async def test_a_service_cuts_off_a_slow_body_and_refuses_deep_json(service_env_factory):
    env = await service_env_factory("playlist") | {"BODY_TIMEOUT_S": "0.5", "MIN_BODY_RATE": "0"}
    service = dataclasses.replace(definition(), routes=_with_a_body_route)
    async with running_service(service, env, broker="memory") as (client, _):
        answer = await _slow_post(client.port)
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
        assert b"application/problem+json" in answer

        deep = await client.post("/test-notes", data="[" * 8000, headers={"Content-Type": "application/json"})
        assert deep.status == 400 and deep.content_type == "application/problem+json"
        fine = await client.post("/test-notes", json={"text": [[1], {"a": 2}]})
        assert fine.status == 200
