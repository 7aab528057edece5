"""Request bodies have a deadline and a minimum rate, and the JSON reader bounds nesting and numbers.

A body that is announced but never (or only slowly) sent must not hold a connection: ``read_body`` cuts
it off with a 408 and the connection is closed. A JSON body nested deeper than ``JSON_MAX_DEPTH`` or
holding a number longer than ``JSON_MAX_NUMBER_DIGITS`` is a 400, never a 500.

Timing: the bounds below are small and the overall waits generous; no test asserts a duration, only
that the exchange ended (and how).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import web
from pydantic import BaseModel, ConfigDict

from pm_platform.errors import BadRequest
from pm_platform.http import (
    BODY_LIMITS,
    JSON_MAX_DEPTH,
    JSON_MAX_NUMBER_DIGITS,
    BodyLimits,
    json_nests_deeper_than,
    parse_json,
    read_body,
    read_json,
    standard_middlewares,
)
from pm_platform.metrics import Metrics
from pm_platform.testing import raw_exchange

# Far beyond any bound under test: an exchange still open after this is one the server never ended.
ENDED_WITHIN_S = 20.0


class Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: Any


def make_app(limits: BodyLimits) -> web.Application:
    app = web.Application(middlewares=standard_middlewares(Metrics("test")))
    app[BODY_LIMITS] = limits

    async def echo(request: web.Request) -> web.Response:
        body = await read_body(request, 10_000)
        return web.json_response({"size": len(body)})

    async def doc(request: web.Request) -> web.Response:
        parsed = await read_json(request, Doc)
        return web.json_response({"type": type(parsed.value).__name__})

    app.router.add_post("/echo", echo)
    app.router.add_post("/doc", doc)
    return app


async def _exchange(port: int, head: bytes, sends: list[tuple[float, bytes]]) -> tuple[bytes, str]:
    return await raw_exchange(port, head, sends, wait_s=ENDED_WITHIN_S)


def _head(length: int, path: str = "/echo") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def _status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


@pytest.mark.timeout(60)
async def test_an_announced_body_that_never_arrives_is_a_408_and_the_connection_closes(aiohttp_server):
    server = await aiohttp_server(make_app(BodyLimits(timeout_s=0.5, min_rate=0, grace_s=0.2)))
    response, ended = await _exchange(server.port, _head(100) + b"{", [])
    assert ended, "the server kept the connection open"
    assert _status(response) == 408
    head, _, body = response.partition(b"\r\n\r\n")
    assert b"content-type: application/problem+json" in head.lower()
    assert b"connection: close" in head.lower()
    assert json.loads(body)["type"].endswith("/request-timeout")


@pytest.mark.timeout(60)
async def test_a_body_trickling_below_the_minimum_rate_is_cut_off(aiohttp_server):
    # A byte every 0.1 s: 10 bytes/s against a minimum of 1000, long before the (large) deadline.
    server = await aiohttp_server(make_app(BodyLimits(timeout_s=600, min_rate=1000, grace_s=0.3)))
    response, ended = await _exchange(server.port, _head(5000), [(0.1, b" ")] * 150)
    assert ended, "the server kept reading the trickle"
    # The 408, unless the server reset the connection under the trickle before it could be read.
    assert response or ended == "reset", "closed without an answer"
    if response:
        assert _status(response) == 408


@pytest.mark.timeout(60)
async def test_a_trickle_fast_enough_for_the_rate_is_still_bound_by_the_deadline(aiohttp_server):
    server = await aiohttp_server(make_app(BodyLimits(timeout_s=0.6, min_rate=1, grace_s=0.1)))
    response, ended = await _exchange(server.port, _head(5000), [(0.05, b" " * 10)] * 300)
    assert ended
    assert response or ended == "reset", "closed without an answer"
    if response:
        assert _status(response) == 408


@pytest.mark.timeout(60)
async def test_a_body_sent_normally_passes(aiohttp_server):
    server = await aiohttp_server(make_app(BodyLimits(timeout_s=5, min_rate=100, grace_s=0.5)))
    body = json.dumps({"value": "x" * 3000}).encode()
    # In pieces with short pauses: slower than one write, well above the minimum rate.
    pieces = [(0.01, body[i : i + 500]) for i in range(0, len(body), 500)]
    response, _ = await _exchange(server.port, _head(len(body)).replace(b"HTTP/1.1", b"HTTP/1.0"), pieces)
    assert _status(response) == 200
    assert json.loads(response.partition(b"\r\n\r\n")[2]) == {"size": len(body)}


async def test_the_default_limits_apply_without_configuration(aiohttp_client):
    app = web.Application(middlewares=standard_middlewares(Metrics("test")))

    async def echo(request: web.Request) -> web.Response:
        return web.json_response({"size": len(await read_body(request, 100))})

    app.router.add_post("/echo", echo)
    client = await aiohttp_client(app)
    response = await client.post("/echo", data=b"abc")
    assert response.status == 200 and await response.json() == {"size": 3}


def test_body_limits_default_to_thirty_seconds_and_500_bytes_a_second() -> None:
    assert BodyLimits() == BodyLimits(timeout_s=30.0, min_rate=500, grace_s=5.0)


# JSON ---------------------------------------------------------------------------------------------------


def _nested(depth: int) -> str:
    """``{"value": ...}`` whose whole document is ``depth`` levels deep."""
    return '{"value": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"


async def _post_json(client, text: str | bytes):
    data = text.encode() if isinstance(text, str) else text
    return await client.post("/doc", data=data, headers={"Content-Type": "application/json"})


async def _assert_bad_request(response, mentions: str) -> None:
    assert response.status == 400, await response.text()
    assert response.content_type == "application/problem+json"
    problem = await response.json(content_type=None)
    assert problem["type"].endswith("/bad-request")
    assert mentions in problem["detail"]


async def test_deeply_nested_json_is_a_400(aiohttp_client):
    client = await aiohttp_client(make_app(BodyLimits()))
    for body in ["[" * 8000, "[" * 8000 + "]" * 8000, '{"a":' * 5000, _nested(JSON_MAX_DEPTH + 1)]:
        await _assert_bad_request(await _post_json(client, body), "nested")


async def test_json_at_the_nesting_limit_passes(aiohttp_client):
    client = await aiohttp_client(make_app(BodyLimits()))
    response = await _post_json(client, _nested(JSON_MAX_DEPTH))
    assert response.status == 200 and await response.json() == {"type": "list"}


async def test_brackets_inside_strings_do_not_count_as_nesting(aiohttp_client):
    client = await aiohttp_client(make_app(BodyLimits()))
    for value in ["[" * 500, '\\"' + "{" * 500, "\\\\" + "[" * 500 + '\\"']:
        response = await _post_json(client, '{"value": "' + value + '"}')
        assert response.status == 200, (value[:10], await response.text())
        assert await response.json() == {"type": "str"}


async def test_nesting_is_bounded_in_every_json_encoding(aiohttp_client):
    # json.loads detects UTF-16 and UTF-32; the bound must hold there too.
    client = await aiohttp_client(make_app(BodyLimits()))
    for encoding in ("utf-16", "utf-32", "utf-8-sig"):
        await _assert_bad_request(await _post_json(client, ("[" * 3000).encode(encoding)), "nested")
        ok = await _post_json(client, _nested(3).encode(encoding))
        assert ok.status == 200, (encoding, await ok.text())


async def test_an_integer_of_thousands_of_digits_is_a_400(aiohttp_client):
    client = await aiohttp_client(make_app(BodyLimits()))
    for digits in (5000, 4300, JSON_MAX_NUMBER_DIGITS + 1):
        await _assert_bad_request(await _post_json(client, '{"value": ' + "9" * digits + "}"), "number")
        await _assert_bad_request(await _post_json(client, '{"value": -' + "9" * digits + "}"), "number")
    await _assert_bad_request(await _post_json(client, '{"value": 1.' + "5" * 5000 + "}"), "number")


async def test_ordinary_numbers_pass(aiohttp_client):
    client = await aiohttp_client(make_app(BodyLimits()))
    for number, kind in [("9" * 40, "int"), ("-12", "int"), ("1.5e300", "float"), ("0.1", "float")]:
        response = await _post_json(client, '{"value": ' + number + "}")
        assert response.status == 200 and await response.json() == {"type": kind}, number


async def test_non_finite_numbers_are_a_400(aiohttp_client):
    # Not JSON (RFC 8259), though Python's json reads them: NaN, Infinity, and a float beyond double range.
    client = await aiohttp_client(make_app(BodyLimits()))
    for number in ("NaN", "Infinity", "-Infinity", "1e999"):
        response = await _post_json(client, '{"value": ' + number + "}")
        assert response.status == 400, number


@pytest.mark.timeout(60)
async def test_unfinished_headers_are_bounded_by_the_keepalive_timeout(aiohttp_server):
    # What KEEPALIVE_TIMEOUT_S relies on (the chassis passes it to web.run_app): aiohttp closes a
    # connection whose request line and headers are not complete when that timer fires, even while
    # they trickle in.
    server = await aiohttp_server(make_app(BodyLimits()), keepalive_timeout=0.5)
    response, ended = await _exchange(
        server.port, b"POST /echo HTTP/1.1\r\n", [(0.1, b"X-Slow: 1\r\n")] * 100
    )
    assert ended, "the server kept waiting for the headers"
    assert response == b""


@pytest.mark.parametrize(
    ("text", "deeper_than_2"),
    [
        ("[[1]]", False),
        ("[[[1]]]", True),
        ('{"a": {"b": {}}}', True),
        ('{"a": "[[[[[["}', False),  # brackets in a string are text
        ('["\\"[[[[["]', False),
        ('["\\\\", [[[]]]]', True),
        ('{"a": [1, 2], "c": {"d": 3}}', False),
        ('{"a": [1, 2], "c": [[]]}', True),
        ("[" + "[]," * 50 + "1]", False),  # many brackets, none deep
        ('"[[[[[["', False),
        ("7", False),
    ],
)
def test_nesting_depth_counts_arrays_and_objects_only(text: str, deeper_than_2: bool) -> None:
    assert json_nests_deeper_than(json.loads(text), 2) is deeper_than_2


@pytest.mark.parametrize(
    ("text", "longer_than_5"),
    [
        ("[12345, 1.12345, 1e123]", False),
        ("[123456]", True),
        ("[-123456]", True),
        ("[1.123456]", True),
        ("[1.5e123456]", True),
        ('["1234567890", 1]', False),  # digits in a string are not a number
        ('["\\"1234567890", 1]', False),
    ],
)
def test_number_length_counts_digits_of_numbers_only(text: str, longer_than_5: bool) -> None:
    if longer_than_5:
        with pytest.raises(BadRequest, match="more than 5 digits"):
            parse_json(text.encode(), max_number_digits=5)
    else:
        assert parse_json(text.encode(), max_number_digits=5) == json.loads(text)


def test_a_nesting_past_the_parsers_recursion_is_too_deep_not_an_error() -> None:
    with pytest.raises(BadRequest, match="nested more than 64 levels"):
        parse_json(b"[" * 200_000 + b"]" * 200_000)
    with pytest.raises(BadRequest, match="nested more than 64 levels"):
        parse_json(b"[" * 65 + b"]" * 65)
    assert parse_json(b"[" * 64 + b"]" * 64) is not None


def test_parse_json_reads_what_json_reads_within_the_bounds() -> None:
    document = {"a": [1, -2.5, True, None, 'x[{"y'], "b": {"c": "é"}}
    assert parse_json(json.dumps(document).encode()) == document
    assert parse_json(json.dumps(document, ensure_ascii=False).encode("utf-16")) == document
    with pytest.raises(BadRequest, match="not valid JSON"):
        parse_json(b"")
    with pytest.raises(BadRequest, match="not valid JSON"):
        parse_json(b"\xff\xfe\xfd")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"])
def test_a_long_number_is_refused_whatever_the_encoding(encoding: str) -> None:
    with pytest.raises(BadRequest, match="more than 100 digits"):
        parse_json(json.dumps({"é": [1, 10**101]}, ensure_ascii=False).encode(encoding))
    assert parse_json(json.dumps({"é": [1, 10**99]}, ensure_ascii=False).encode(encoding)) == {
        "é": [1, 10**99]
    }
