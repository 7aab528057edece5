"""The proxy's HTTP/1.1 client to the upstream services: pooled keep-alive connections, llhttp parsing.

Why not aiohttp's client (which the gateway still uses for JWKS and readiness): on the proxy path it
cost ~60 µs of CPU per request against ~15 µs here, a fifth of the gateway's per-request budget
(docs/benchmarks.md). The upstreams are our own services, so this client leaves out what they never
need: TLS, proxies, redirects, cookies, decompression, 1xx and upgrades.

Guarantees:
- One deadline per exchange (connect, request, headers and the whole body), as aiohttp's ``total``
  timeout: past it the connection is aborted and the waiting reader gets ``TimeoutError``.
- Connections are reused only after a complete response that allows keep-alive, and only while idle
  for less than ``idle_timeout_s`` (well under aiohttp servers' 75 s keep-alive). A reused connection
  that the upstream closed before answering is retried once on a new one, for idempotent methods only.
- A streamed body is read with backpressure: reading from the upstream pauses while more than
  ``HIGH_WATER`` bytes wait for the client.
- Interim answers (100 Continue, 103 Early Hints) are skipped; an answer nobody asked for (a second
  one to the same request, or data on an idle connection) breaks the exchange and the connection.
- Errors: ``UpstreamUnavailable`` (no connection could be made, a connect timeout included),
  ``UpstreamBroken`` (the connection failed, or the answer was not valid HTTP/1.1 — an upgrade
  included), ``TimeoutError`` (the deadline passed once connected).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable
from types import TracebackType
from typing import cast

import httptools

from pm_gateway.domain.origins import Origin

HIGH_WATER = 256 * 1024
LOW_WATER = 64 * 1024
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
_NO_BODY_STATUSES = frozenset({204, 304})


class UpstreamError(Exception):
    """The exchange with an upstream failed (see the subclasses)."""


class UpstreamUnavailable(UpstreamError):
    """No connection to the upstream could be made."""


class UpstreamBroken(UpstreamError):
    """The connection failed during the exchange, or the answer was not valid HTTP."""


class _Stale(UpstreamBroken):
    """A reused connection closed before any byte of the answer arrived."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection; one exchange at a time. The parser's callbacks fill the current
    response; ``UpstreamResponse`` reads it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.idle_since = 0.0
        self.reused = False
        self._parser = httptools.HttpResponseParser(self)
        self._head = False
        self._timer: asyncio.TimerHandle | None = None
        self._headers_waiter: asyncio.Future[None] | None = None
        self._data_waiter: asyncio.Future[None] | None = None
        self._reset()

    def _reset(self) -> None:
        self.interim = False
        self.status = 0
        self.reason_parts: list[bytes] = []
        self.headers: list[tuple[str, str]] = []
        self.headers_done = False
        self.complete = False
        self.keep_alive = False
        self.until_close = False
        self.error: BaseException | None = None
        self.received_any = False
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self.paused = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without deriving from it.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.received_any = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:  # failed in on_headers_complete already
            self._fail(UpstreamBroken("the upstream switched protocols; the gateway proxies HTTP/1.1 only"))
        except httptools.HttpParserError as exc:
            self._fail(UpstreamBroken(f"invalid HTTP from the upstream: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.complete or self.error is not None:
            return
        if self.headers_done and self.until_close and exc is None:
            self.on_message_complete()  # a body without length ends where the connection does
        elif not self.received_any and self.reused:
            self._fail(_Stale("the upstream closed a kept-alive connection"))
        else:
            self._fail(UpstreamBroken("the upstream closed the connection before its answer was complete"))

    # llhttp callbacks
    def on_message_begin(self) -> None:
        if self.complete or self.headers_done:
            # A second answer to one request (in the same segment as the first, or later on the idle
            # connection: Go's "unsolicited response on idle channel"): refuse it rather than let it
            # mix into this answer or the next. Raising here makes the parser fail (→ _fail).
            raise UpstreamBroken("the upstream sent more than one answer")

    def on_status(self, status: bytes) -> None:
        self.reason_parts.append(status)

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.headers_done:
            return  # a trailer field after a chunked body: not a header of the answer, never relayed
        # RFC 9110 §5.5: a field value has no leading or trailing whitespace (llhttp keeps the trailing).
        self.headers.append((name.decode("latin-1"), value.strip(b" \t").decode("utf-8", "surrogateescape")))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if status == 101:
            self._fail(UpstreamBroken("the upstream switched protocols; the gateway proxies HTTP/1.1 only"))
            return
        if 100 <= status < 200:
            # An interim answer (100 Continue, 103 Early Hints): not the client's; the final one follows.
            self.interim = True
            self.reason_parts.clear()
            self.headers.clear()
            return
        self.status = status
        self.headers_done = True
        if not self._head and self.status not in _NO_BODY_STATUSES:
            names = {name.lower() for name, _ in self.headers}
            self.until_close = "content-length" not in names and "transfer-encoding" not in names
        _wake(self._headers_waiter)
        if self._head:
            # llhttp cannot be told the request was HEAD: end the exchange here; the connection
            # is not reused (its parser would wait for the announced body).
            self.keep_alive = False
            self._finish()

    def on_body(self, body: bytes) -> None:
        if self.complete:
            return
        self.chunks.append(body)
        self.buffered += len(body)
        if self.buffered > HIGH_WATER and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
        _wake(self._data_waiter)

    def on_message_complete(self) -> None:
        if self.interim:
            self.interim = False
            return
        if self.complete:
            return
        self.keep_alive = not self.until_close and self._parser.should_keep_alive()
        self._finish()

    # the exchange
    def send(self, request: bytes, head: bool, deadline: float) -> None:
        self._reset()
        self._head = head
        self._timer = self.loop.call_at(deadline, self._timed_out)
        assert self.transport is not None
        self.transport.write(request)

    async def wait_headers(self) -> None:
        if not self.headers_done and self.error is None:
            self._headers_waiter = self.loop.create_future()
            try:
                await self._headers_waiter
            finally:
                self._headers_waiter = None
        if self.error is not None:
            raise self.error

    async def next_chunk(self) -> bytes:
        """The next piece of the body; b"" once it is complete."""
        while not self.chunks:
            if self.complete:
                return b""
            if self.error is not None:
                raise self.error
            self._data_waiter = self.loop.create_future()
            try:
                await self._data_waiter
            finally:
                self._data_waiter = None
        chunk = self.chunks.popleft()
        self.buffered -= len(chunk)
        if self.paused and self.buffered <= LOW_WATER and self.transport is not None:
            self.paused = False
            self.transport.resume_reading()
        return chunk

    def _finish(self) -> None:
        self.complete = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        _wake(self._headers_waiter)
        _wake(self._data_waiter)

    def _fail(self, error: BaseException) -> None:
        self.keep_alive = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.abort()
        if self.complete:
            return  # the answer is whole: it stands, only the connection goes
        self.error = error
        _wake(self._headers_waiter)
        _wake(self._data_waiter)

    def _timed_out(self) -> None:
        self._timer = None
        if not self.complete and self.error is None:
            self._fail(TimeoutError("the upstream did not answer in time"))

    @property
    def closed(self) -> bool:
        """Gone, or going: the upstream's FIN arrived, or we aborted it."""
        return self.transport is None or self.transport.is_closing()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()
            self.transport = None


def _wake(waiter: asyncio.Future[None] | None) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(None)


class UpstreamResponse:
    """The answer of one exchange: status and headers at once, the body by ``read()`` or ``chunks()``.
    Use as an async context manager: leaving it returns the connection to the pool when the answer was
    read to its end (and allows keep-alive), and closes it otherwise."""

    def __init__(self, pool: UpstreamPool, origin: Origin, conn: _Connection) -> None:
        self._pool, self._origin, self._conn = pool, origin, conn
        self.status = conn.status
        self.reason = b"".join(conn.reason_parts).decode("latin-1") or None
        self.headers = list(conn.headers)
        self.content_length: int | None = None
        self.content_type = ""
        for name, value in conn.headers:
            lowered = name.lower()
            if lowered == "content-length" and value.strip().isdigit():
                self.content_length = int(value)
            elif lowered == "content-type":
                self.content_type = value.partition(";")[0].strip().lower()

    async def read(self) -> bytes:
        parts = []
        while chunk := await self._conn.next_chunk():
            parts.append(chunk)
        return b"".join(parts)

    async def chunks(self) -> AsyncIterator[bytes]:
        while chunk := await self._conn.next_chunk():
            yield chunk

    async def __aenter__(self) -> UpstreamResponse:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._pool.release(self._origin, self._conn)


class UpstreamPool:
    """Keep-alive connections per upstream, at most ``limit_per_origin`` in use at once (more requests
    wait for a free one, within their deadline)."""

    def __init__(
        self, *, limit_per_origin: int = 256, connect_timeout_s: float = 3.0, idle_timeout_s: float = 30.0
    ):
        self._limit = limit_per_origin
        self._connect_timeout_s = connect_timeout_s
        self._idle_timeout_s = idle_timeout_s
        self._idle: dict[Origin, list[_Connection]] = {}
        self._slots: dict[Origin, asyncio.Semaphore] = {}

    async def request(
        self,
        origin: Origin,
        method: str,
        target: str,
        headers: Iterable[tuple[str, str]],
        body: bytes | None,
        timeout_s: float,
    ) -> UpstreamResponse:
        """Send one request (``target``: the raw path and query) and return once the answer's headers
        are in. The request body is sent whole (the gateway has read and limited it already)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        request = _serialize(origin, method, target, headers, body)
        slots = self._slots.get(origin)
        if slots is None:
            slots = self._slots[origin] = asyncio.Semaphore(self._limit)
        if slots.locked():
            async with asyncio.timeout_at(deadline):
                await slots.acquire()
        else:
            await slots.acquire()
        try:
            conn = self._idle_connection(origin) or await self._connect(loop, origin, deadline)
            try:
                return await self._exchange(origin, conn, method, request, deadline)
            except _Stale:
                if method not in IDEMPOTENT:
                    raise
            conn = await self._connect(loop, origin, deadline)
            return await self._exchange(origin, conn, method, request, deadline)
        except BaseException:
            slots.release()
            raise

    async def _exchange(
        self, origin: Origin, conn: _Connection, method: str, request: bytes, deadline: float
    ) -> UpstreamResponse:
        conn.send(request, method == "HEAD", deadline)
        try:
            await conn.wait_headers()
        except BaseException:
            conn.abort()
            raise
        return UpstreamResponse(self, origin, conn)

    def release(self, origin: Origin, conn: _Connection) -> None:
        self._slots[origin].release()
        if conn.complete and conn.keep_alive and not conn.closed and not conn.chunks:
            conn.idle_since = time.monotonic()
            conn.reused = True
            self._idle.setdefault(origin, []).append(conn)
        else:
            conn.abort()

    def close(self) -> None:
        for connections in self._idle.values():
            for conn in connections:
                conn.abort()
        self._idle.clear()

    def _idle_connection(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            conn = idle.pop()  # the most recently used: the least likely to have been closed
            if not conn.closed and now - conn.idle_since < self._idle_timeout_s:
                return conn
            conn.abort()
        return None

    async def _connect(self, loop: asyncio.AbstractEventLoop, origin: Origin, deadline: float) -> _Connection:
        timeout = min(self._connect_timeout_s, max(0.0, deadline - loop.time()))
        try:
            async with asyncio.timeout(timeout):
                _, conn = await loop.create_connection(lambda: _Connection(loop), origin.host, origin.port)
        except TimeoutError:
            raise UpstreamUnavailable(
                f"no connection to {origin.host}:{origin.port} within {timeout:.1f} s"
            ) from None
        except OSError as exc:
            raise UpstreamUnavailable(f"cannot connect to {origin.host}:{origin.port}: {exc}") from None
        return conn


def _serialize(
    origin: Origin, method: str, target: str, headers: Iterable[tuple[str, str]], body: bytes | None
) -> bytes:
    lines = [f"{method} {origin.prefix}{target} HTTP/1.1", f"Host: {origin.host_header}"]
    lines += [f"{name}: {value}" for name, value in headers]
    if body is not None or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body or b'')}")
    text = "\r\n".join(lines) + "\r\n\r\n"
    # Names and values come from aiohttp's parser or from the gateway itself; a line break in one
    # would still smuggle a header (or a request), so count them rather than trust that.
    if text.count("\n") != len(lines) + 1 or text.count("\r") != len(lines) + 1:
        raise UpstreamError("refusing to send a header containing a line break")
    head = text.encode("utf-8", "surrogateescape")
    return head + body if body else head
