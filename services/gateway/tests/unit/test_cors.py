"""CORS: exact origins only, no credentials, preflights answered only for what the API accepts."""

import pytest

from pm_gateway.domain.cors import CorsPolicy, parse_origins

POLICY = CorsPolicy(parse_origins("http://localhost:3000, https://app.example.com/"))


def test_parse_origins():
    assert parse_origins("http://localhost:3000, https://APP.example.com/") == {
        "http://localhost:3000",
        "https://app.example.com",
    }
    assert parse_origins("") == frozenset()
    for bad in ["*", "localhost:3000", "https://app.example.com/path", "ftp://x"]:
        with pytest.raises(ValueError, match="not an origin"):
            parse_origins(bad)


def test_preflight():
    headers = POLICY.preflight_headers(
        "https://app.example.com", "POST", "Content-Type, Authorization, Idempotency-Key"
    )
    assert headers is not None
    assert headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "POST" in headers["Access-Control-Allow-Methods"]
    assert headers["Access-Control-Allow-Headers"] == "content-type, authorization, idempotency-key"
    assert "Access-Control-Allow-Credentials" not in headers
    assert POLICY.preflight_headers("https://evil.example", "GET", "") is None
    assert POLICY.preflight_headers("https://app.example.com", "TRACE", "") is None
    assert POLICY.preflight_headers("https://app.example.com", "GET", "X-PM-Identity") is None


def test_actual_responses():
    allowed = POLICY.response_headers("http://localhost:3000")
    assert allowed["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert "RateLimit-Remaining" in allowed["Access-Control-Expose-Headers"]
    assert allowed["Vary"] == "Origin"
    assert POLICY.response_headers("https://evil.example") == {"Vary": "Origin"}
    assert POLICY.response_headers(None) == {"Vary": "Origin"}
