"""Requests aiohttp's parser refuses are answered as problems by every service the chassis builds, and
every answer says ``Server: playlist-manager``.

The answers come from a hook on aiohttp internals (pm_platform.malformed's docstring lists them): these
tests are what fails when an aiohttp upgrade changes one of them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from pm_platform.correlation import CORRELATION_HEADER
from pm_platform.errors import PROBLEM_CONTENT_TYPE
from pm_platform.http import SERVER_NAME
from pm_platform.malformed import answer_malformed_requests, refusal_problem
from pm_platform.service import create_app
from pm_platform.settings import InfraSettings, load_settings
from pm_platform.testing import raw_exchange, unreachable_infra_env
from pm_playlist.app import definition

ENV = unreachable_infra_env()
# In every request below, where the parser stops: it must never come back in the answer.
MARKER = b"leak-marker"
BARE_CR = b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-A: leak-marker\rb\r\n\r\n"
REFUSED = [
    pytest.param(BARE_CR, id="bare-cr-in-header"),
    pytest.param(b"GET /leak-marker\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n", id="invalid-utf8-path"),
    pytest.param(b"GET /?q=leak-marker\xc3\x28 HTTP/1.1\r\nHost: x\r\n\r\n", id="invalid-utf8-query"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: x\r\nX-leak-marker\xff: v\r\n\r\n", id="invalid-header-name"),
    pytest.param(b"G\x01T /leak-marker HTTP/1.1\r\nHost: x\r\n\r\n", id="invalid-method"),
    pytest.param(
        b"POST /leak-marker HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"0\r\n\r\n",
        id="content-length-and-transfer-encoding",
    ),
]
WAIT_S = 10.0


def parse(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value for name, _, value in (line.partition(": ") for line in lines)}
    return int(status_line.split(" ")[1]), headers, body


def assert_problem_that_echoes_nothing(answer: bytes, status: int) -> dict[str, str]:
    got, headers, body = parse(answer)
    assert got == status, answer
    assert headers["content-type"] == PROBLEM_CONTENT_TYPE, answer
    assert headers["server"] == SERVER_NAME
    problem = json.loads(body)
    assert problem["status"] == status
    assert problem["type"] == refusal_problem(status).to_dict()["type"]
    assert problem["correlation_id"] == headers[CORRELATION_HEADER.lower()]
    assert "instance" not in problem
    assert MARKER not in answer
    assert b"aiohttp" not in answer and b"Python" not in answer and b"Traceback" not in answer
    return headers


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("HOST", "PORT", "BODY_TIMEOUT_S", "MIN_BODY_RATE", "KEEPALIVE_TIMEOUT_S", "ENVIRONMENT"):
        monkeypatch.delenv(key, raising=False)
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
async def playlist_server(environ: None) -> AsyncIterator[TestServer]:
    """The playlist service's app as the chassis builds it (create_app), served without its resources
    (database, Redis, Kafka): nothing under test here needs them."""
    app = create_app(definition(), load_settings(InfraSettings))
    app.cleanup_ctx.clear()
    server = TestServer(app)
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


@pytest.mark.parametrize("raw", REFUSED)
async def test_a_service_answers_what_the_parser_refuses_as_a_problem_that_echoes_nothing(
    playlist_server: TestServer, raw: bytes
) -> None:
    answer, ended = await raw_exchange(playlist_server.port, raw, host=playlist_server.host, wait_s=WAIT_S)
    assert ended, "the connection must be closed after a refused request"
    assert_problem_that_echoes_nothing(answer, 400)


async def test_every_answer_of_a_service_says_server_playlist_manager(playlist_server: TestServer) -> None:
    request = b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    for path, status in ((b"/health/live", 200), (b"/nowhere", 404)):
        answer, _ = await raw_exchange(playlist_server.port, request % path, host=playlist_server.host)
        got, headers, _ = parse(answer)
        assert (got, headers["server"]) == (status, SERVER_NAME), answer


async def test_the_hook_is_installed_on_the_server_every_runner_makes() -> None:
    """aiohttp internals 1 and 2: the runner's server (what run_app and the test server serve) makes
    handlers that answer as problems, here without any socket."""
    app = web.Application()
    answer_malformed_requests(app)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        assert runner.server is not None
        handler = runner.server()
        assert isinstance(handler, web.RequestHandler)
        assert type(handler) is not web.RequestHandler, "the handler is aiohttp's own: the hook did not take"
    finally:
        await runner.cleanup()


async def test_errors_that_escape_every_middleware_are_a_500_that_reveals_nothing(
    aiohttp_server,
) -> None:
    """aiohttp internal 3 for its other caller: an exception no middleware caught (here: there is none)."""
    app = web.Application()

    async def boom(_: web.Request) -> web.Response:
        raise RuntimeError("database password is leak-marker")

    app.router.add_get("/boom", boom)
    answer_malformed_requests(app)
    server = await aiohttp_server(app)
    request = b"GET /boom HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\n\r\n"
    answer, ended = await raw_exchange(server.port, request, host=server.host, wait_s=WAIT_S)
    assert ended
    assert_problem_that_echoes_nothing(answer, 500)


async def test_a_service_adds_its_own_headers_to_those_answers(aiohttp_server) -> None:
    app = web.Application()
    answer_malformed_requests(app)  # the chassis
    answer_malformed_requests(app, lambda response: response.headers.update({"X-Frame-Options": "DENY"}))
    answer_malformed_requests(app, lambda response: response.headers.update({"Server": "overridden"}))
    server = await aiohttp_server(app)
    answer, _ = await raw_exchange(server.port, BARE_CR, host=server.host, wait_s=WAIT_S)
    _, headers, _ = parse(answer)
    assert headers["x-frame-options"] == "DENY"
    assert headers["server"] == "overridden"  # the service's headers come last


async def test_a_failing_decoration_still_leaves_an_answer(aiohttp_server) -> None:
    """A service's header code that raises must not turn a 400 into a silently closed connection."""

    def broken(response: web.StreamResponse) -> None:
        raise RuntimeError("a bug in a service's headers")

    app = web.Application()
    answer_malformed_requests(app, broken)
    answer_malformed_requests(app, lambda response: response.headers.update({"X-Frame-Options": "DENY"}))
    server = await aiohttp_server(app)
    answer, _ = await raw_exchange(server.port, BARE_CR, host=server.host, wait_s=WAIT_S)
    status, headers, _ = parse(answer)
    assert status == 400
    assert headers["content-type"] == PROBLEM_CONTENT_TYPE
    assert headers["x-frame-options"] == "DENY"  # the other decorations still apply


async def test_headers_cannot_be_added_once_the_app_has_started(aiohttp_server) -> None:
    app = web.Application()
    await aiohttp_server(app)
    with pytest.raises(RuntimeError, match="started"):
        answer_malformed_requests(app)


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, "bad-request"), (500, "internal-error"), (504, "gateway-timeout"), (599, "http-error")],
)
def test_the_problem_keeps_aiohttps_status_and_nothing_else(status: int, code: str) -> None:
    problem = refusal_problem(status)
    assert (problem.status, problem.code) == (status, code)
