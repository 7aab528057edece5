import base64
import hashlib

from pm_provider_emulator.domain.oauth import (
    is_loopback_http,
    parse_basic_auth,
    s256,
    verify_pkce,
    with_query,
)

VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"


def test_s256_matches_rfc7636_example():
    assert s256(VERIFIER) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_verify_pkce():
    assert verify_pkce(VERIFIER, s256(VERIFIER), "S256")
    assert not verify_pkce(VERIFIER + "x", s256(VERIFIER), "S256")
    assert not verify_pkce("short", s256("short"), "S256")  # verifier under 43 chars
    assert verify_pkce(VERIFIER, VERIFIER, "plain")
    assert verify_pkce(None, None, None)
    assert not verify_pkce(None, s256(VERIFIER), "S256")
    digest = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()
    assert digest == s256(VERIFIER)


def test_loopback_rule():
    assert is_loopback_http("http://127.0.0.1:8888/callback")
    assert is_loopback_http("http://[::1]:9000/cb")
    assert is_loopback_http("https://example.org/cb")
    assert not is_loopback_http("http://localhost:8888/callback")
    assert not is_loopback_http("http://example.org/cb")


def test_basic_auth_and_query():
    header = "Basic " + base64.b64encode(b"id:secret").decode()
    assert parse_basic_auth(header) == ("id", "secret")
    assert parse_basic_auth("Bearer x") is None
    assert with_query("http://127.0.0.1/cb?a=1", {"code": "x y"}) == "http://127.0.0.1/cb?a=1&code=x+y"
