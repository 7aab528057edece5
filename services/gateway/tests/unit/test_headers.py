"""Headers across the gateway: hop-by-hop fields never cross, credentials and identity claims from
outside never reach a service, and every response carries the security headers."""

import pytest

from pm_gateway.domain.headers import (
    API_CSP,
    client_response_headers,
    connection_tokens,
    security_headers,
    upstream_request_headers,
)

# What proxy.py passes in: the address as pm_platform.identity.seal_client_ip seals it.
SEALED = "203.0.113.9 1750000000 0123456789abcdef0123456789abcdef"


def _up(incoming, *, idempotency_key_honoured=True):
    return dict(
        upstream_request_headers(
            incoming,
            correlation_id="c-1",
            sealed_client_ip=SEALED,
            forwarded_for="203.0.113.9",
            forwarded_proto="https",
            identity="assertion",
            idempotency_key_honoured=idempotency_key_honoured,
        )
    )


def test_hop_by_hop_and_connection_named_headers_are_dropped():
    incoming = [
        ("Connection", "keep-alive, X-Secret-Hop"),
        ("Keep-Alive", "timeout=5"),
        ("Transfer-Encoding", "chunked"),
        ("TE", "trailers"),
        ("Upgrade", "websocket"),
        ("Proxy-Authorization", "Basic x"),
        ("X-Secret-Hop", "1"),
        ("Accept", "application/json"),
    ]
    assert connection_tokens(incoming) == {"keep-alive", "x-secret-hop"}
    out = _up(incoming)
    assert set(out) == {
        "Accept",
        "X-Correlation-ID",
        "X-PM-Client-IP",
        "X-Forwarded-For",
        "X-Forwarded-Proto",
        "X-PM-Identity",
    }


def test_the_clients_credentials_and_claims_never_go_upstream():
    out = upstream_request_headers(
        [
            ("Authorization", "Bearer token"),
            ("X-PM-Identity", "forged"),
            ("x-pm-identity", "forged-again"),
            ("X-Forwarded-For", "1.2.3.4"),
            ("Forwarded", "for=1.2.3.4"),
            ("X-Real-IP", "1.2.3.4"),
            ("Host", "evil"),
            ("X-Correlation-ID", "theirs"),
            ("Expect", "100-continue"),  # answered by the gateway, which has read the body already
            ("X-PM-Client-IP", "6.6.6.6"),
            ("x-pm-client-ip", "6.6.6.7"),
            ("Content-Type", "application/json"),
        ],
        correlation_id="c-1",
        sealed_client_ip=SEALED,
        forwarded_for="6.6.6.6, 198.51.100.7",
        forwarded_proto="http",
        identity=None,
        idempotency_key_honoured=True,
    )
    assert out == [
        ("Content-Type", "application/json"),
        ("X-Correlation-ID", "c-1"),
        ("X-PM-Client-IP", SEALED),
        ("X-Forwarded-For", "6.6.6.6, 198.51.100.7"),
        ("X-Forwarded-Proto", "http"),
    ]
    assert _up([("X-PM-Identity", "forged")])["X-PM-Identity"] == "assertion"
    assert _up([("X-PM-Client-IP", "6.6.6.6")])["X-PM-Client-IP"] == SEALED


@pytest.mark.parametrize("name", ["Idempotency-Key", "idempotency-key"])
def test_an_idempotency_key_goes_upstream_only_where_the_route_honours_it(name):
    incoming = [(name, "k-1"), ("Accept", "application/json")]
    assert _up(incoming, idempotency_key_honoured=True)[name] == "k-1"
    # auth's routes ignore it: auth must see the request as if it had none.
    ignored = _up(incoming, idempotency_key_honoured=False)
    assert {n.lower() for n in ignored} == {
        "accept",
        "x-correlation-id",
        "x-pm-client-ip",
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-pm-identity",
    }


def test_response_headers_keep_the_payload_and_drop_the_rest():
    out = client_response_headers(
        [
            ("Content-Type", "application/json"),
            ("Content-Length", "12"),
            ("Transfer-Encoding", "chunked"),
            ("Connection", "close"),
            ("Server", "Python/3.11 aiohttp"),
            ("Location", "/api/v1/playlists/1"),
            ("Set-Cookie", "a=b"),
            ("Content-Encoding", "gzip"),
            ("X-PM-Client-IP", "10.0.0.1"),
        ]
    )
    assert out == [
        ("Content-Type", "application/json"),
        ("Location", "/api/v1/playlists/1"),
        ("Set-Cookie", "a=b"),
        ("Content-Encoding", "gzip"),
    ]


def test_security_headers():
    api = security_headers("/api/v1/me", https=False, docs_policy="docs")
    assert api["X-Content-Type-Options"] == "nosniff"
    assert api["X-Frame-Options"] == "DENY"
    assert api["Referrer-Policy"] == "no-referrer"
    assert api["Content-Security-Policy"] == API_CSP
    assert "Strict-Transport-Security" not in api
    assert security_headers("/docs", https=True, docs_policy="docs")["Content-Security-Policy"] == "docs"
    assert "max-age" in security_headers("/x", https=True, docs_policy="d")["Strict-Transport-Security"]
