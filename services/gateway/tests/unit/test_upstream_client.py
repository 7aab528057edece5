"""The proxy's upstream client against servers this test starts on loopback: a real aiohttp server for
what our services do, and raw sockets for what a misbehaving upstream might. Every scenario runs on
both event loops the gateway may use (asyncio's own and uvloop, which the gateway runs on)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import uvloop
from aiohttp import web

from pm_gateway.clients.upstream_client import (
    HIGH_WATER,
    UpstreamBroken,
    UpstreamError,
    UpstreamPool,
    UpstreamUnavailable,
)
from pm_gateway.domain.origins import Origin

LOOPS: dict[str, Callable[[Awaitable[Any]], Any]] = {
    "asyncio": asyncio.run,
    "uvloop": uvloop.run,
}


@pytest.fixture(params=sorted(LOOPS))
def run(request: pytest.FixtureRequest) -> Callable[[Callable[[], Awaitable[Any]]], Any]:
    def runner(scenario: Callable[[], Awaitable[Any]]) -> Any:
        return LOOPS[request.param](asyncio.wait_for(scenario(), 20))

    return runner


class Recorder:
    """An aiohttp upstream that records each request and the connection it came on."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        app = web.Application()
        app.router.add_route("*", "/echo", self.echo)
        app.router.add_get("/chunked", self.chunked)
        app.router.add_get("/big", self.big)
        app.router.add_get("/empty", self.empty)
        self.app = app

    async def echo(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.seen.append(
            {
                "method": request.method,
                "path_qs": request.path_qs,
                "headers": dict(request.headers),
                "body": body,
                "peer": request.transport.get_extra_info("peername") if request.transport else None,
            }
        )
        return web.Response(body=b"echo:" + body, headers={"X-Upstream": "yes"}, content_type="text/plain")

    async def chunked(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json; charset=utf-8"})
        await response.prepare(request)
        for part in (b'{"a":', b" 1", b"}"):
            await response.write(part)
        await response.write_eof()
        return response

    async def big(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        block = bytes(range(256)) * 256  # 64 KiB
        for _ in range(32):  # 2 MiB: well past the reader's high-water mark
            await response.write(block)
        await response.write_eof()
        return response

    async def empty(self, _: web.Request) -> web.Response:
        return web.Response(status=204)


@contextlib.asynccontextmanager
async def aiohttp_upstream() -> AsyncIterator[tuple[Recorder, Origin]]:
    recorder = Recorder()
    runner = web.AppRunner(recorder.app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield recorder, Origin.parse(f"http://127.0.0.1:{port}")
    finally:
        await runner.cleanup()


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def raw_upstream(handler: Handler) -> AsyncIterator[Origin]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield Origin.parse(f"http://127.0.0.1:{port}")
    finally:
        server.close()


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    return await reader.readuntil(b"\r\n\r\n")


def test_origin_parsing() -> None:
    origin = Origin.parse("http://auth:3102/")
    assert (origin.host, origin.port, origin.prefix, origin.host_header) == ("auth", 3102, "", "auth:3102")
    assert Origin.parse("http://svc/base").prefix == "/base"
    assert Origin.parse("http://svc").host_header == "svc"
    assert Origin.parse("http://[::1]:8080").host_header == "[::1]:8080"
    with pytest.raises(ValueError, match="http://"):
        Origin.parse("https://auth:3102")


def test_requests_reuse_one_kept_alive_connection(run) -> None:
    async def scenario() -> None:
        async with aiohttp_upstream() as (recorder, origin):
            pool = UpstreamPool()
            for i in range(3):
                headers = [("X-Correlation-ID", f"c{i}"), ("Accept", "text/plain")]
                async with await pool.request(origin, "GET", f"/echo?i={i}", headers, None, 5) as response:
                    assert response.status == 200
                    assert response.reason == "OK"
                    assert ("X-Upstream", "yes") in response.headers
                    assert response.content_type == "text/plain"
                    assert await response.read() == b"echo:"
            pool.close()
        assert [s["path_qs"] for s in recorder.seen] == ["/echo?i=0", "/echo?i=1", "/echo?i=2"]
        assert len({s["peer"] for s in recorder.seen}) == 1
        assert recorder.seen[0]["headers"]["Host"] == f"127.0.0.1:{origin.port}"
        assert recorder.seen[2]["headers"]["X-Correlation-ID"] == "c2"

    run(scenario)


def test_post_sends_the_body_with_its_length(run) -> None:
    async def scenario() -> None:
        async with aiohttp_upstream() as (recorder, origin):
            pool = UpstreamPool()
            async with await pool.request(origin, "POST", "/echo", [], b'{"x": 1}', 5) as response:
                assert await response.read() == b'echo:{"x": 1}'
                assert response.content_length == len(b'echo:{"x": 1}')
            async with await pool.request(origin, "POST", "/echo", [], None, 5) as response:
                assert await response.read() == b"echo:"
            pool.close()
        assert recorder.seen[0]["headers"]["Content-Length"] == "8"
        assert recorder.seen[1]["headers"]["Content-Length"] == "0"

    run(scenario)


def test_chunked_and_large_streamed_bodies(run) -> None:
    async def scenario() -> None:
        async with aiohttp_upstream() as (_, origin):
            pool = UpstreamPool()
            async with await pool.request(origin, "GET", "/chunked", [], None, 5) as response:
                assert response.content_length is None
                assert response.content_type == "application/json"
                assert await response.read() == b'{"a": 1}'
            async with await pool.request(origin, "GET", "/big", [], None, 5) as response:
                await asyncio.sleep(0.2)  # let the upstream run ahead: reading pauses at the high-water mark
                received = 0
                async for chunk in response.chunks():
                    received += len(chunk)
                assert received == 32 * 64 * 1024
            # Both answers were read to their end: the connection went back to the pool and serves again.
            async with await pool.request(origin, "GET", "/empty", [], None, 5) as response:
                assert response.status == 204
                assert await response.read() == b""
            pool.close()

    run(scenario)


def test_reading_pauses_while_the_client_is_behind(run) -> None:
    async def scenario() -> None:
        async with aiohttp_upstream() as (_, origin):
            pool = UpstreamPool()
            async with await pool.request(origin, "GET", "/big", [], None, 5) as response:
                await asyncio.sleep(0.3)
                conn = response._conn  # what the connection holds while nobody reads
                assert conn.paused
                assert conn.buffered <= HIGH_WATER + 256 * 1024
                assert len(await response.read()) == 32 * 64 * 1024
            pool.close()

    run(scenario)


def test_a_body_without_length_ends_with_the_connection(run) -> None:
    connections = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close")
        await writer.drain()
        writer.close()

    async def scenario() -> None:
        async with raw_upstream(handler) as origin:
            pool = UpstreamPool()
            for _ in range(2):
                async with await pool.request(origin, "GET", "/", [], None, 5) as response:
                    assert await response.read() == b"until close"
            pool.close()
        assert connections == 2

    run(scenario)


def test_head_ends_at_the_headers(run) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
        await writer.drain()
        await reader.read()  # keeps the connection open: the answer must not wait for a body

    async def scenario() -> None:
        async with raw_upstream(handler) as origin:
            pool = UpstreamPool()
            async with await pool.request(origin, "HEAD", "/", [], None, 5) as response:
                assert response.content_length == 5
                assert await response.read() == b""
            pool.close()

    run(scenario)


def test_a_kept_alive_connection_closed_under_a_request_is_retried_only_when_idempotent(run) -> None:
    requests: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Answers the first request of each connection, then closes on the next one unanswered,
        # as an upstream whose keep-alive timer fires just as a request arrives.
        requests.append(await _read_request(reader))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        with contextlib.suppress(asyncio.IncompleteReadError):
            requests.append(await _read_request(reader))
        writer.close()

    async def scenario() -> None:
        async with raw_upstream(handler) as origin:
            pool = UpstreamPool()
            async with await pool.request(origin, "GET", "/", [], None, 5) as response:
                assert await response.read() == b"ok"
            async with await pool.request(origin, "GET", "/", [], None, 5) as response:
                assert await response.read() == b"ok"  # retried on a new connection
            with pytest.raises(UpstreamBroken):
                await pool.request(origin, "POST", "/", [], b"{}", 5)  # might have been processed
            pool.close()

    run(scenario)


def test_no_answer_in_time_is_a_timeout(run) -> None:
    async def handler(reader: asyncio.StreamReader, _: asyncio.StreamWriter) -> None:
        await reader.read()

    async def scenario() -> None:
        async with raw_upstream(handler) as origin:
            pool = UpstreamPool()
            started = time.monotonic()
            with pytest.raises(TimeoutError):
                await pool.request(origin, "GET", "/", [], None, 0.3)
            assert 0.25 < time.monotonic() - started < 3
            pool.close()

    run(scenario)


def test_a_body_slower_than_the_deadline_is_cut(run) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf")
        await writer.drain()
        await reader.read()

    async def scenario() -> None:
        async with raw_upstream(handler) as origin:
            pool = UpstreamPool()
            async with await pool.request(origin, "GET", "/", [], None, 0.3) as response:
                with pytest.raises(TimeoutError):
                    await response.read()
            pool.close()

    run(scenario)


def test_truncated_and_invalid_answers_are_broken(run) -> None:
    answers = iter(
        [
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf",  # then closes
            b"NOT HTTP AT ALL\r\n\r\n",
            b"",  # closes without a word on a new connection
        ]
    )

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(next(answers))
        await writer.drain()
        writer.close()

    async def scenario() -> None:
        async with raw_upstream(handler) as origin:
            pool = UpstreamPool()
            async with await pool.request(origin, "GET", "/", [], None, 5) as response:
                with pytest.raises(UpstreamBroken, match="before its answer was complete"):
                    await response.read()
            with pytest.raises(UpstreamBroken, match="invalid HTTP"):
                await pool.request(origin, "GET", "/", [], None, 5)
            with pytest.raises(UpstreamBroken):
                await pool.request(origin, "GET", "/", [], None, 5)
            pool.close()

    run(scenario)


def test_no_listener_is_unavailable(run) -> None:
    async def scenario() -> None:
        async with raw_upstream(lambda r, w: asyncio.sleep(0)) as origin:
            pass  # closed again: nothing listens on that port now
        with pytest.raises(UpstreamUnavailable, match="cannot connect"):
            await UpstreamPool().request(origin, "GET", "/", [], None, 5)

    run(scenario)


def test_a_header_with_a_line_break_is_never_sent(run) -> None:
    received: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, _: asyncio.StreamWriter) -> None:
        received.append(await reader.read())

    async def scenario() -> None:
        async with raw_upstream(handler) as origin:
            pool = UpstreamPool()
            for name, value in (("X-A", "1\r\nX-Injected: yes"), ("X-A\nB", "1"), ("X-A", "1\r")):
                with pytest.raises(UpstreamError, match="line break"):
                    await pool.request(origin, "GET", "/", [(name, value)], None, 5)
            pool.close()
            await asyncio.sleep(0.05)
        assert received == []  # no connection was even opened

    run(scenario)


def test_an_answer_left_half_read_closes_its_connection(run) -> None:
    async def scenario() -> None:
        async with aiohttp_upstream() as (recorder, origin):
            pool = UpstreamPool()
            async with await pool.request(origin, "GET", "/big", [], None, 5) as response:
                chunks = response.chunks()
                await anext(chunks)
                await chunks.aclose()
            async with await pool.request(origin, "GET", "/echo", [], None, 5) as response:
                assert await response.read() == b"echo:"
            pool.close()
        assert len(recorder.seen) == 1

    run(scenario)


def test_requests_beyond_the_limit_wait_for_a_free_connection(run) -> None:
    async def scenario() -> None:
        async with aiohttp_upstream() as (recorder, origin):
            pool = UpstreamPool(limit_per_origin=1)
            first = await pool.request(origin, "GET", "/echo?n=1", [], None, 5)
            second = asyncio.ensure_future(pool.request(origin, "GET", "/echo?n=2", [], None, 5))
            await asyncio.sleep(0.1)
            assert not second.done()
            with pytest.raises(TimeoutError):  # a waiter's deadline counts while it waits
                await pool.request(origin, "GET", "/echo?n=3", [], None, 0.1)
            async with first:
                await first.read()
            async with await second as response:
                assert await response.read() == b"echo:"
            pool.close()
        assert [s["path_qs"] for s in recorder.seen] == ["/echo?n=1", "/echo?n=2"]
        assert len({s["peer"] for s in recorder.seen}) == 1

    run(scenario)


@pytest.mark.parametrize("together", [True, False], ids=["one-segment", "two-segments"])
def test_interim_answers_are_skipped(run, together: bool) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        interim = (
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
        )
        final = b"HTTP/1.1 201 Created\r\nContent-Length: 7\r\nX-Final: yes\r\n\r\ncreated"
        if together:
            writer.write(interim + final)
        else:
            writer.write(interim)
            await writer.drain()
            await asyncio.sleep(0.05)
            writer.write(final)
        await writer.drain()
        await reader.read()

    async def scenario() -> None:
        async with raw_upstream(handler) as origin:
            pool = UpstreamPool()
            async with await pool.request(origin, "POST", "/", [], b"{}", 5) as response:
                assert (response.status, response.reason) == (201, "Created")
                assert [name for name, _ in response.headers] == ["Content-Length", "X-Final"]
                assert await response.read() == b"created"
            pool.close()

    run(scenario)


def test_an_answer_nobody_asked_for_breaks_the_connection(run) -> None:
    connections = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await _read_request(reader)
        first = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        smuggled = b"HTTP/1.1 404 Evil\r\nSet-Cookie: evil=1\r\nContent-Length: 4\r\n\r\nevil"
        if connections == 1:
            writer.write(first + smuggled)  # a second answer in the same segment
        else:
            writer.write(first)
            await writer.drain()
            await asyncio.sleep(0.1)
            writer.write(smuggled)  # ... or later, on the idle connection
        await writer.drain()
        with contextlib.suppress(ConnectionError):
            await reader.read()

    async def scenario() -> None:
        async with raw_upstream(handler) as origin:
            pool = UpstreamPool()
            for _ in range(3):
                async with await pool.request(origin, "GET", "/", [], None, 5) as response:
                    assert (response.status, response.reason) == (200, "OK")
                    assert response.headers == [("Content-Length", "2")]
                    assert await response.read() == b"ok"
                await asyncio.sleep(0.3)
            pool.close()
        assert connections == 3  # neither connection was reused

    run(scenario)


def test_a_protocol_switch_is_refused(run) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
        await writer.drain()
        await reader.read()

    async def scenario() -> None:
        async with raw_upstream(handler) as origin:
            with pytest.raises(UpstreamBroken, match="switched protocols"):
                await UpstreamPool().request(origin, "GET", "/", [], None, 5)

    run(scenario)
