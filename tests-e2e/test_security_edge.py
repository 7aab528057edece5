"""Attacks below the application, end to end on the running stack (docs/security.md: Request limits,
Listening address, The client's address, Parser errors, CORS).

How connections, requests and bodies are received, where the processes listen and whose address the
gateway believes. Each test repeats an attack of the outside test of the stack: one that found a
weakness (slow bodies on the gateway and on a service reached directly, every interface listened on,
X-Forwarded-For choosing the rate-limit bucket, deeply nested JSON and huge numbers, aiohttp's parser
errors leaking its name and echoing the request), or one that held and must keep holding (request
smuggling with Content-Length and Transfer-Encoding, dot segments towards internal routes, CORS
preflights from foreign origins). Raw sockets where an HTTP client would refuse to send the attack.
"""

import ipaddress
import json
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest

from pm_contracts.services import service_names
from pm_devstack.stack import Stack
from pm_platform.testing import raw_exchange, simulated_client_ip

LOOPBACK = "127.0.0.1"
# Bounds the wait for a server that never answers or never closes: the test then fails on what it got.
# The body limits cut a slow body after 5 s (MIN_BODY_RATE's grace), 30 s at most (BODY_TIMEOUT_S).
ANSWER_WAIT_S = 60


async def _exchange(port: int, request: bytes, trickle: bytes = b"") -> tuple[bytes, str]:
    """Send ``request`` to the port on loopback, then ``trickle`` one byte a second; returns what the
    server answered and whether it closed the connection (within ANSWER_WAIT_S)."""
    sends = [(1.0, bytes([byte])) for byte in trickle]
    return await raw_exchange(port, request, sends, host=LOOPBACK, wait_s=ANSWER_WAIT_S)


def _answers(raw: bytes) -> list[tuple[int, dict[str, str], bytes]]:
    """The HTTP/1.x answers in ``raw`` (Content-Length framed, as the stack answers errors)."""
    answers = []
    while raw:
        head, _, rest = raw.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", len(rest)))
        answers.append((int(status_line.split()[1]), headers, rest[:length]))
        raw = rest[length:]
    return answers


def _gateway_port(gateway_url: str) -> int:
    port = urlsplit(gateway_url).port
    assert port is not None
    return port


def _login_head(content_length: int, ip: str) -> bytes:
    return (
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {content_length}\r\nX-Forwarded-For: {ip}\r\n\r\n"
    ).encode()


# ---- slow bodies -------------------------------------------------------------------------------------


@pytest.mark.parametrize("service", ["gateway", "auth"])
async def test_a_body_trickling_in_is_cut_off(stack: Stack, service):
    """Content-Length 100, then a byte a second: 408 and the connection closed, on the gateway and on a
    service reached directly (every service reads bodies through the chassis' one reader)."""
    answer, closed = await _exchange(
        stack.spec(service).port, _login_head(100, simulated_client_ip()) + b"{", trickle=b'"email"' * 8
    )
    assert closed, answer
    [(status, headers, body)] = _answers(answer)
    assert status == 408, answer
    assert headers["content-type"] == "application/problem+json"
    assert headers["connection"] == "close"
    assert b"request-timeout" in body or b"slower than" in body, body


# ---- where the processes listen ----------------------------------------------------------------------


def _listening_addresses() -> dict[int, set[ipaddress.IPv4Address | ipaddress.IPv6Address]]:
    """Every listening TCP socket of this network namespace: port → local addresses (/proc/net/tcp*)."""
    listening: dict[int, set[ipaddress.IPv4Address | ipaddress.IPv6Address]] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A":  # TCP_LISTEN
                continue
            address_hex, port_hex = fields[1].split(":")
            raw = bytes.fromhex(address_hex)
            if sys.byteorder == "little":  # the kernel prints each 32-bit word in host order
                raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            listening.setdefault(int(port_hex, 16), set()).add(ipaddress.ip_address(raw))
    return listening


def _is_loopback(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def test_the_native_stack_listens_on_loopback_only(stack: Stack):
    """Calling auth directly from elsewhere would skip the gateway's limits: no port of the native stack
    (servers, services, emulator) is reachable from another machine."""
    listening = _listening_addresses()
    for name, port in stack.port_claims():
        addresses = listening.get(port)
        assert addresses, f"{name} does not listen on {port}: is the stack up?"
        exposed = {str(a) for a in addresses if not _is_loopback(a)}
        assert not exposed, f"{name} listens on {port} at {exposed}"


# ---- whose address the gateway believes --------------------------------------------------------------


async def test_the_client_is_the_rightmost_address_no_trusted_proxy_added(gateway_url, register_user):
    """The native stack trusts loopback as its proxy: of ``X-Forwarded-For: <anything>, <client>`` the
    gateway believes only the address its proxy added. The left part, written by the client, neither
    names the session's address nor chooses the rate-limit bucket."""
    user = await register_user()
    client = simulated_client_ip()
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{gateway_url}/api/v1/auth/login",
            json={"email": user["email"], "password": user["password"], "device_name": "spoofer"},
            headers={"X-Forwarded-For": f"203.0.113.7, {client}"},
        ) as r:
            assert r.status == 200, await r.text()
            token = (await r.json())["access_token"]
        async with session.get(
            f"{gateway_url}/api/v1/sessions", headers={"Authorization": f"Bearer {token}"}
        ) as r:
            assert r.status == 200, await r.text()
            sessions = (await r.json())["sessions"]
        [current] = [s for s in sessions if s["current"]]
        assert current["ip"] == client
        assert {s["ip"] for s in sessions} == {user["ip"], client}  # never the gateway's own address

        # Each login names another left part; all of them land in the one bucket of `attacker`.
        attacker, statuses = simulated_client_ip(), []
        for attempt in range(10):
            async with session.post(
                f"{gateway_url}/api/v1/auth/login",
                json={"email": f"nobody-{attempt}@example.com", "password": "not the password at all"},
                headers={"X-Forwarded-For": f"203.0.113.{attempt}, {attacker}"},
            ) as r:
                statuses.append(r.status)
                if r.status == 429:
                    assert (await r.json())["type"].endswith("/rate-limited")
                    break
    assert statuses[-1] == 429, statuses
    assert set(statuses[:-1]) == {401}, statuses
    assert len(statuses) <= 6  # 5 per minute per address


async def test_a_client_address_claimed_to_auth_directly_is_not_believed(
    gateway_url, stack: Stack, register_user
):
    """Only the gateway's sealed X-PM-Client-IP names the client to auth: a bare or forged one sent to
    auth's own port leaves the session recorded (and throttled) under the caller's TCP peer."""
    user = await register_user()
    auth_url = stack.service_env("auth")["AUTH_URL"]
    claims = ["203.0.113.9", f"203.0.113.9 {int(time.time())} {'0' * 32}"]
    async with aiohttp.ClientSession() as session:
        for claim in claims:
            async with session.post(
                f"{auth_url}/api/v1/auth/login",
                json={"email": user["email"], "password": user["password"], "device_name": "direct"},
                headers={"X-PM-Client-IP": claim},
            ) as r:
                assert r.status == 200, await r.text()
                token = (await r.json())["access_token"]
            async with session.get(
                f"{gateway_url}/api/v1/sessions",
                headers={"Authorization": f"Bearer {token}", "X-Forwarded-For": user["ip"]},
            ) as r:
                assert r.status == 200, await r.text()
                [current] = [s for s in (await r.json())["sessions"] if s["current"]]
            assert current["ip"] == LOOPBACK, claim


# ---- request bodies: one JSON reader with bounds -----------------------------------------------------

HOSTILE_JSON = {
    "nested 8000 deep": b"[" * 8000,
    "nested object 100 deep": b'{"a":' * 100 + b"1" + b"}" * 100,
    "an integer of 4301 digits": b'{"email": ' + b"7" * 4301 + b', "password": "x"}',
    "a float of 5000 digits": b'{"email": 0.' + b"3" * 5000 + b', "password": "x"}',
    "NaN": b'{"email": NaN, "password": "x"}',
    "Infinity": b'{"email": -Infinity, "password": "x"}',
}


@pytest.mark.parametrize("name", list(HOSTILE_JSON))
async def test_hostile_json_is_a_bad_request(gateway_url, register_user, name):
    """400 problem+json, never a 500: on an unauthenticated endpoint and on an authenticated one."""
    user = await register_user()
    async with aiohttp.ClientSession() as session:
        for path, token in (("/api/v1/auth/login", None), ("/api/v1/me/password", user["access_token"])):
            headers = {"Content-Type": "application/json", "X-Forwarded-For": simulated_client_ip()}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            async with session.post(f"{gateway_url}{path}", data=HOSTILE_JSON[name], headers=headers) as r:
                assert r.status == 400, (path, await r.text())
                assert r.content_type == "application/problem+json"
                assert (await r.json())["type"].endswith("/bad-request")


# ---- what aiohttp's own parser refuses, and smuggling ------------------------------------------------

MALFORMED = {
    "bare CR in a header": b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\nX-Evil: a\rSMUGGLED\r\n\r\n",
    "invalid UTF-8 in the path": b"GET /api/v1/\xff\xfeSMUGGLED HTTP/1.1\r\nHost: x\r\n\r\n",
    "NUL in a header": b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\nX-Evil: a\x00SMUGGLED\r\n\r\n",
    "header without a colon": b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\nSMUGGLED\r\n\r\n",
    # Content-Length and Transfer-Encoding together: a front proxy and the gateway could disagree on
    # where the body ends and the second request (to an internal route) begins.
    "Content-Length with chunked": (
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /internal/SMUGGLED HTTP/1.1\r\nHost: x\r\n\r\n"
    ),
    "two Content-Lengths": (
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 44\r\n\r\n"
        b"GET /internal/SMUGGLED HTTP/1.1\r\nHost: x\r\n\r\n"
    ),
    "chunked, obfuscated": (
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n"
        b"0\r\n\r\nGET /internal/SMUGGLED HTTP/1.1\r\nHost: x\r\n\r\n"
    ),
}


@pytest.mark.parametrize("name", list(MALFORMED))
async def test_malformed_http_is_one_problem_that_echoes_nothing(gateway_url, name):
    answer, closed = await _exchange(_gateway_port(gateway_url), MALFORMED[name])
    assert closed, answer
    answers = _answers(answer)
    assert len(answers) == 1, answer  # nothing smuggled through: one request, one answer
    [(status, headers, body)] = answers
    assert status == 400, answer
    assert headers["content-type"] == "application/problem+json"
    assert headers["server"] == "playlist-manager"  # not aiohttp's name and version
    assert headers["x-content-type-options"] == "nosniff"
    assert json.loads(body)["type"].endswith("/bad-request")
    assert b"SMUGGLED" not in answer and b"aiohttp" not in answer.lower(), answer


@pytest.mark.parametrize("service", list(service_names()))
async def test_every_service_reached_directly_answers_malformed_http_alike(stack: Stack, service):
    """Behind the gateway too: the chassis answers what aiohttp's parser refuses, naming no software."""
    answer, closed = await _exchange(stack.spec(service).port, MALFORMED["bare CR in a header"])
    assert closed, answer
    [(status, headers, body)] = _answers(answer)
    assert (status, headers["content-type"]) == (400, "application/problem+json"), answer
    assert headers["server"] == "playlist-manager"
    assert json.loads(body)["correlation_id"] == headers["x-correlation-id"]
    assert b"SMUGGLED" not in answer and b"aiohttp" not in answer.lower(), answer


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/../internal/jobs",
        "/api/v1/%2e%2e/internal/jobs",
        "/api/v1/me/../../../internal/jobs",
        "/api/v1/me/..%2f..%2f..%2finternal/jobs",
        "//internal/jobs",
        "/api/v1/me/%5c..%5c..%5cinternal",
    ],
)
async def test_dot_segments_never_reach_an_internal_route(gateway_url, path):
    request = f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    answer, closed = await _exchange(_gateway_port(gateway_url), request)
    assert closed, answer
    [(status, headers, _)] = _answers(answer)
    assert status in (400, 404), answer
    assert headers["content-type"] == "application/problem+json"


# ---- CORS --------------------------------------------------------------------------------------------


async def test_preflights_from_foreign_origins_are_refused(gateway_url, stack: Stack):
    allowed = stack.service_env("gateway")["CORS_ORIGINS"].split(",")[0]
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    async with aiohttp.ClientSession() as session:
        for origin in ("https://evil.example", "null", f"{allowed}.evil.example"):
            async with session.options(
                f"{gateway_url}/api/v1/auth/login", headers={"Origin": origin, **preflight}
            ) as r:
                assert r.status == 403, origin
                assert "Access-Control-Allow-Origin" not in r.headers, origin
        async with session.options(
            f"{gateway_url}/api/v1/auth/login", headers={"Origin": allowed, **preflight}
        ) as r:
            assert r.status in (200, 204)
            assert r.headers["Access-Control-Allow-Origin"] == allowed
        # A simple cross-origin request from elsewhere gets no CORS headers: the browser keeps the answer.
        async with session.get(f"{gateway_url}/health/live", headers={"Origin": "https://evil.example"}) as r:
            assert "Access-Control-Allow-Origin" not in r.headers
