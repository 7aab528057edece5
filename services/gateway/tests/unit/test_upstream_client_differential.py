"""The proxy's own HTTP/1.1 client (UpstreamPool) against aiohttp's client, on the same canned answers.

A raw TCP server on loopback answers every request of a case with the same byte-exact HTTP/1.1
response, written in the pieces the case says. The same requests go through UpstreamPool and through
an aiohttp.ClientSession configured as the gateway's own (auto_decompress=False), each against a fresh
server: the two must agree on the status, the reason, every header in order (trailers are not headers),
the body, whether and where the exchange fails, and how many connections they opened. Each case also
states what the right answer is, so the two cannot agree on a wrong one. Every case runs on both event
loops the gateway may use (asyncio's own and uvloop).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
import uvloop

from pm_gateway.clients.upstream_client import UpstreamError, UpstreamPool
from pm_gateway.domain.origins import Origin

LOOPS: dict[str, Callable[[Awaitable[Any]], Any]] = {"asyncio": asyncio.run, "uvloop": uvloop.run}
TARGET = "/resource?x=1"
DEADLINE_S = 30.0  # a safety net against a hang, never a timing assertion


@pytest.fixture(params=sorted(LOOPS))
def run(request: pytest.FixtureRequest) -> Callable[[Callable[[], Awaitable[Any]]], Any]:
    def runner(scenario: Callable[[], Awaitable[Any]]) -> Any:
        return LOOPS[request.param](asyncio.wait_for(scenario(), DEADLINE_S))

    return runner


# The canned answers -------------------------------------------------------------------------------


def head(status_line: str, *headers: tuple[str, str]) -> bytes:
    lines = [status_line, *(f"{name}: {value}" for name, value in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def with_length(status_line: str, body: bytes, *headers: tuple[str, str]) -> bytes:
    return head(status_line, *headers, ("Content-Length", str(len(body)))) + body


def chunk(data: bytes, extension: str = "") -> bytes:
    return f"{len(data):x}{extension}\r\n".encode() + data + b"\r\n"


JSON = ("Content-Type", "application/json; charset=utf-8")
COOKIES = (("Set-Cookie", "session=abc; Path=/; HttpOnly"), ("Set-Cookie", "theme=dark; Max-Age=60"))
CUSTOM = (("X-Custom", "one"), ("X-Custom", "two, three"), ("ETag", '"v1"'))
BODY = b'{"ok": true, "items": [1, 2, 3]}'
BIG_BLOCK = bytes(range(256)) * 256  # 64 KiB
BIG = BIG_BLOCK * 128  # 8 MiB

CHUNKED_HEAD = head(
    "HTTP/1.1 200 OK", JSON, *COOKIES, ("Transfer-Encoding", "chunked"), ("Trailer", "X-Checksum")
)
CHUNKS = [
    chunk(b'{"ok": ', ";ext=1"),
    chunk(b"true, ", ';name="quoted value"'),
    chunk(b'"items": [1, 2, 3]}', ";a;b=c"),
    b"0\r\nX-Checksum: abc\r\nX-Other-Trailer: 1\r\n\r\n",
]


def _pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@dataclass(frozen=True)
class Case:
    name: str
    pieces: tuple[bytes, ...]  # what the server writes for each request, one write (and drain) each
    status: int | None  # the right answer's status; None: the exchange must fail
    body: bytes = b""
    fail_stage: str | None = None  # "headers" or "body" when the exchange must fail
    method: str = "GET"
    requests: int = 1
    close_after: bool = False  # the server closes the connection after each answer
    connections: int | None = None  # how many connections the requests must take
    same_connections: bool = True  # whether the two clients must open as many connections
    yield_between: bool = False  # let the loop run between writes, so each piece arrives alone


CASES = [
    Case(
        "content-length",
        (with_length("HTTP/1.1 200 OK", BODY, JSON, *COOKIES, *CUSTOM),),
        status=200,
        body=BODY,
        requests=2,
        connections=1,
    ),
    Case(
        "chunked-with-extensions-and-trailers",
        (CHUNKED_HEAD, *CHUNKS),
        status=200,
        body=BODY,
        requests=2,
        connections=1,
        yield_between=True,
    ),
    Case(
        "chunked-in-one-segment",
        (CHUNKED_HEAD + b"".join(CHUNKS),),
        status=200,
        body=BODY,
        requests=2,
        connections=1,
    ),
    Case(
        "keep-alive-reuse",
        (with_length("HTTP/1.1 200 OK", b"again", ("Content-Type", "text/plain")),),
        status=200,
        body=b"again",
        requests=3,
        connections=1,
    ),
    Case(
        "connection-close",
        (with_length("HTTP/1.1 200 OK", b"bye", ("Connection", "close"), ("Content-Type", "text/plain")),),
        status=200,
        body=b"bye",
        requests=2,
        close_after=True,
        connections=2,
    ),
    Case(
        "http-1.0-without-keep-alive",
        (with_length("HTTP/1.0 200 OK", b"old", ("Content-Type", "text/plain")),),
        status=200,
        body=b"old",
        requests=2,
        connections=2,  # the server would answer on the same connection: neither may reuse it
    ),
    Case(
        "no-length-until-close",
        (head("HTTP/1.1 200 OK", ("Content-Type", "text/plain")) + b"until the connection closes",),
        status=200,
        body=b"until the connection closes",
        requests=2,
        close_after=True,
        connections=2,
    ),
    Case(
        "204-no-content",
        (head("HTTP/1.1 204 No Content", ("X-Custom", "yes"), *COOKIES),),
        status=204,
        requests=2,
        connections=1,
    ),
    Case(
        "304-with-content-length",
        (head("HTTP/1.1 304 Not Modified", ("ETag", '"v1"'), ("Content-Length", "1234")),),
        status=304,
        requests=2,
        connections=1,
    ),
    Case(
        # The pool ends a HEAD at the headers and does not reuse the connection (its parser cannot be
        # told the request was HEAD); aiohttp reuses it. Both are right; only the answers must agree.
        "head-announces-a-length",
        (head("HTTP/1.1 200 OK", JSON, ("Content-Length", "5"), ("X-Custom", "head")),),
        status=200,
        method="HEAD",
        requests=2,
        same_connections=False,
    ),
    Case(
        "early-hints-then-the-answer",
        (
            head("HTTP/1.1 103 Early Hints", ("Link", "</a.css>; rel=preload")),
            with_length("HTTP/1.1 200 OK", BODY, JSON, ("X-Final", "yes")),
        ),
        status=200,
        body=BODY,
        requests=2,
        connections=1,
        yield_between=True,
    ),
    Case(
        "large-content-length-body",
        (
            head(
                "HTTP/1.1 200 OK",
                ("Content-Type", "application/octet-stream"),
                ("Content-Length", str(len(BIG))),
            ),
            *_pieces(BIG, 64 * 1024),
        ),
        status=200,
        body=BIG,
        requests=2,
        connections=1,
    ),
    Case(
        "large-chunked-body",
        (
            head(
                "HTTP/1.1 200 OK",
                ("Content-Type", "application/octet-stream"),
                ("Transfer-Encoding", "chunked"),
            ),
            *(chunk(piece) for piece in _pieces(BIG, 100_000)),
            b"0\r\n\r\n",
        ),
        status=200,
        body=BIG,
        requests=2,
        connections=1,
    ),
    Case(
        "closes-before-the-announced-length",
        (head("HTTP/1.1 200 OK", ("Content-Length", "1000")) + b"0123456789",),
        status=None,
        fail_stage="body",
        close_after=True,
        connections=1,
    ),
    Case(
        "closes-in-the-middle-of-a-chunk",
        (CHUNKED_HEAD + b"10\r\nonly-part",),
        status=None,
        fail_stage="body",
        close_after=True,
        connections=1,
    ),
    # aiohttp retries an idempotent request once when ANY connection closes without an answer; the
    # pool only when a kept-alive connection does (its module docstring): both fail, on one connection
    # (the pool) or two (aiohttp).
    Case(
        "closes-before-answering",
        (),
        status=None,
        fail_stage="headers",
        close_after=True,
        connections=1,
        same_connections=False,
    ),
    Case(
        "closes-in-the-middle-of-the-headers",
        (b"HTTP/1.1 200 OK\r\nContent-Len",),
        status=None,
        fail_stage="headers",
        close_after=True,
        connections=1,
        same_connections=False,
    ),
    Case(
        # RFC 9110 §5.5: a field value has no leading or trailing whitespace.
        "header-values-with-surrounding-whitespace",
        (
            head(
                "HTTP/1.1 200 OK",
                ("X-Padded", "  value \t "),
                ("Content-Type", "text/plain "),
                ("Content-Length", "2"),
            )
            + b"ok",
        ),
        status=200,
        body=b"ok",
        requests=2,
        connections=1,
    ),
    Case(
        "content-length-byte-by-byte",
        tuple(_pieces(with_length("HTTP/1.1 201 Created", BODY, JSON, *COOKIES, *CUSTOM), 1)),
        status=201,
        body=BODY,
        requests=2,
        connections=1,
        yield_between=True,
    ),
    Case(
        "chunked-byte-by-byte",
        tuple(_pieces(CHUNKED_HEAD + b"".join(CHUNKS), 1)),
        status=200,
        body=BODY,
        requests=2,
        connections=1,
        yield_between=True,
    ),
]


# The upstream -------------------------------------------------------------------------------------


@dataclass
class Upstream:
    """Answers every request of ``case`` with its pieces; counts connections and requests."""

    case: Case
    connections: int = 0
    requests: int = 0
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.append(task)
        self._writers.append(writer)
        self.connections += 1
        with contextlib.suppress(ConnectionError):
            try:
                while True:
                    try:
                        await reader.readuntil(b"\r\n\r\n")  # neither client sends a body here
                    except asyncio.IncompleteReadError:
                        return
                    self.requests += 1
                    for piece in self.case.pieces:
                        writer.write(piece)
                        await writer.drain()
                        if self.case.yield_between:
                            await asyncio.sleep(0)  # lets the client read this piece alone
                    if self.case.close_after:
                        return
            finally:
                writer.close()

    async def stop(self, server: asyncio.Server) -> None:
        server.close()
        for writer in self._writers:
            writer.transport.abort()
        await asyncio.gather(*self._tasks, return_exceptions=True)


# The two clients ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]  # lower-cased names, in order, repeated ones included
    body: bytes | str  # the bytes, or "<n> bytes, sha256 <hex>" when large

    @classmethod
    def of(cls, status: int, reason: str | None, headers: list[tuple[str, str]], body: bytes) -> Answer:
        summary: bytes | str = body
        if len(body) > 4096:
            summary = f"{len(body)} bytes, sha256 {hashlib.sha256(body).hexdigest()}"
        return cls(status, reason or "", tuple((name.lower(), value) for name, value in headers), summary)


@dataclass(frozen=True)
class Failure:
    stage: str  # "headers": no answer at all; "body": the status and headers came, the body broke off
    error: str = field(compare=False)


Outcome = Answer | Failure


async def through_pool(origin: Origin, case: Case) -> list[Outcome]:
    pool = UpstreamPool()
    outcomes: list[Outcome] = []
    try:
        for _ in range(case.requests):
            try:
                response = await pool.request(
                    origin, case.method, TARGET, [("Accept", "*/*")], None, DEADLINE_S
                )
            except UpstreamError as exc:
                outcomes.append(Failure("headers", repr(exc)))
                continue
            async with response:
                try:
                    body = await response.read()
                except UpstreamError as exc:
                    outcomes.append(Failure("body", repr(exc)))
                    continue
            outcomes.append(Answer.of(response.status, response.reason, response.headers, body))
    finally:
        pool.close()
    return outcomes


async def through_aiohttp(origin: Origin, case: Case) -> list[Outcome]:
    # Configured as the gateway's own session (for JWKS and readiness): no decompression, no cookies.
    connector = aiohttp.TCPConnector(limit=512, limit_per_host=256, keepalive_timeout=30)
    outcomes: list[Outcome] = []
    async with aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=DEADLINE_S),
        raise_for_status=False,
        auto_decompress=False,
        cookie_jar=aiohttp.DummyCookieJar(),
    ) as session:
        url = f"http://{origin.host_header}{TARGET}"
        for _ in range(case.requests):
            try:
                response = await session.request(case.method, url, headers={"Accept": "*/*"})
            except aiohttp.ClientError as exc:
                outcomes.append(Failure("headers", repr(exc)))
                continue
            async with response:
                try:
                    body = await response.read()
                except aiohttp.ClientError as exc:
                    outcomes.append(Failure("body", repr(exc)))
                    continue
            headers = [
                (name.decode("latin-1"), value.decode("utf-8", "surrogateescape"))
                for name, value in response.raw_headers
            ]
            outcomes.append(Answer.of(response.status, response.reason, headers, body))
    return outcomes


Client = Callable[[Origin, Case], Awaitable[list[Outcome]]]


async def exchange(client: Client, case: Case) -> tuple[list[Outcome], Upstream]:
    upstream = Upstream(case)
    server = await asyncio.start_server(upstream.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        outcomes = await client(Origin.parse(f"http://127.0.0.1:{port}"), case)
    finally:
        await upstream.stop(server)
    return outcomes, upstream


def _sent_headers(case: Case) -> list[tuple[str, str]]:
    """The header lines of the final answer the server sends, lower-cased names (not the trailers)."""
    data = b"".join(case.pieces)
    while True:
        head_bytes, _, data = data.partition(b"\r\n\r\n")
        lines = head_bytes.decode("latin-1").split("\r\n")
        if not lines[0].split(" ")[1].startswith("1"):  # skip interim answers
            break
    return [(name.lower(), value.strip()) for name, _, value in (line.partition(":") for line in lines[1:])]


# The tests ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_the_pool_and_aiohttp_agree(run, case: Case) -> None:
    async def scenario() -> tuple[tuple[list[Outcome], Upstream], tuple[list[Outcome], Upstream]]:
        return await exchange(through_pool, case), await exchange(through_aiohttp, case)

    (pool_outcomes, pool_upstream), (aiohttp_outcomes, aiohttp_upstream) = run(scenario)

    assert pool_outcomes == aiohttp_outcomes
    assert len(pool_outcomes) == case.requests
    if case.status is None:
        assert case.fail_stage is not None
        assert pool_outcomes == [Failure(case.fail_stage, "")] * case.requests
    else:
        sent = tuple(_sent_headers(case))
        body = Answer.of(0, None, [], case.body).body
        for outcome in pool_outcomes:
            assert isinstance(outcome, Answer), outcome
            assert (outcome.status, outcome.headers, outcome.body) == (case.status, sent, body)
    if case.same_connections:
        assert pool_upstream.connections == aiohttp_upstream.connections
        assert pool_upstream.requests == aiohttp_upstream.requests
    if case.connections is not None:
        assert pool_upstream.connections == case.connections
    # Every request reached the server once: the pool retried none behind the caller's back.
    assert pool_upstream.requests == case.requests


@pytest.mark.parametrize(
    "answer",
    [
        with_length("HTTP/1.1 200 OK", b"ok") + b"EXTRA",
        with_length("HTTP/1.1 204 No Content", b"EXTRA"),  # a 204 has no body: these bytes are not it
        with_length("HTTP/1.1 200 OK", b"ok") + with_length("HTTP/1.1 404 Evil", b"EXTRA", *COOKIES),
    ],
    ids=["garbage", "204-with-a-body", "a-second-answer"],
)
def test_bytes_after_a_complete_answer_are_never_delivered(run, answer: bytes) -> None:
    # Here the clients differ by design: the pool keeps the complete answer and drops the connection
    # (see its module docstring); aiohttp fails the exchange. Neither may deliver the extra bytes (as
    # a body, a header or the answer to the next request), nor reuse the connection.
    case = Case("after-the-answer", (answer,), status=200, requests=2)

    async def scenario() -> tuple[tuple[list[Outcome], Upstream], tuple[list[Outcome], Upstream]]:
        return await exchange(through_pool, case), await exchange(through_aiohttp, case)

    (pool_outcomes, pool_upstream), (aiohttp_outcomes, aiohttp_upstream) = run(scenario)

    for outcome in [*pool_outcomes, *aiohttp_outcomes]:
        assert "EXTRA" not in repr(outcome) or isinstance(outcome, Failure)
        if isinstance(outcome, Answer):
            assert outcome.body == (b"" if outcome.status == 204 else b"ok")
            assert ("set-cookie", COOKIES[0][1]) not in outcome.headers
    assert all(isinstance(outcome, Answer) for outcome in pool_outcomes), pool_outcomes
    assert pool_upstream.connections == aiohttp_upstream.connections == 2


def test_the_cases_cover_what_the_proxy_relies_on() -> None:
    names = {case.name for case in CASES}
    assert len(names) == len(CASES)
    statuses = {case.status for case in CASES}
    assert {200, 204, 304, None} <= statuses
    assert {case.fail_stage for case in CASES} >= {"headers", "body"}
    assert any(case.method == "HEAD" for case in CASES)
    assert any(len(case.body) >= 8 << 20 for case in CASES)
