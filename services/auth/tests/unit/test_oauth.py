import hashlib
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from pm_auth.domain.oauth_clients import (
    SPECS,
    OAuthClient,
    ProviderResponseError,
    TokenError,
    parse_profile,
    parse_token_response,
)
from pm_auth.domain.oauth_flow import (
    attempt_status,
    code_challenge_s256,
    new_code_verifier,
    new_state,
    safe_return_to,
    state_hash,
)

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


def client(provider: str) -> OAuthClient:
    return OAuthClient(
        SPECS[provider],  # type: ignore[index]
        "cid",
        "csecret",
        f"http://127.0.0.1:3101/api/v1/auth/{provider}/callback",
        "https://auth.example",
        "https://token.example",
        "https://api.example",
    )


def test_pkce_s256_matches_rfc7636_appendix_b():
    assert (
        code_challenge_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )
    with pytest.raises(ValueError, match="43-128"):
        code_challenge_s256("too-short")
    v = new_code_verifier()
    assert 43 <= len(v) <= 128 and v != new_code_verifier()


def test_state_is_random_and_stored_hashed():
    a, b = new_state(), new_state()
    assert a != b and len(a) >= 43
    assert state_hash(a) == hashlib.sha256(a.encode()).digest()


def test_attempt_expiry():
    assert attempt_status("pending", NOW, NOW - timedelta(seconds=1)) == "pending"
    assert attempt_status("pending", NOW, NOW) == "expired"
    assert attempt_status("succeeded", NOW, NOW + timedelta(hours=1)) == "succeeded"


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("/settings", True),
        ("//evil.example/x", False),
        ("http://localhost:3000/after", True),
        ("https://evil.example/", False),
        ("javascript:alert(1)", False),
        ("http://localhost:3000\r\nX: y", False),
        ("/\\evil.example", False),
        # Control characters and whitespace: URL rebuilding strips them (``/\t/evil`` → ``//evil``).
        ("/\t/evil.example/x", False),
        ("/\n/evil.example/x", False),
        ("/\r/evil.example/x", False),
        ("/ /evil.example/x", False),
        ("/\x00/evil.example", False),
        ("/\x7f/evil.example", False),
        ("/\x0b/evil.example", False),
        ("/settings?x=a b", False),
        ("http://localhost:3000\t/after", False),
        ("\thttp://localhost:3000/after", False),
        ("ht\ttp://evil.example", False),
        ("///evil.example", False),
        ("https:evil.example", False),
        ("https:/evil.example", False),
        ("http://localhost:3000@evil.example/", False),
        ("http://user@localhost:3000/", False),
        ("HTTP://LOCALHOST:3000/after", True),
        ("/settings/accounts?tab=links#top", True),
        ("", False),
    ],
)
def test_return_to_must_be_ours(value, ok):
    assert safe_return_to(value, ["http://127.0.0.1:3101", "http://localhost:3000"]) is ok


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_authorization_urls():
    spotify = query(client("spotify").authorization_url("st", "ch"))
    assert spotify | {"scope": ""} == {
        "client_id": "cid",
        "response_type": "code",
        "redirect_uri": "http://127.0.0.1:3101/api/v1/auth/spotify/callback",
        "scope": "",
        "state": "st",
        "code_challenge_method": "S256",
        "code_challenge": "ch",
    }
    deezer_url = client("deezer").authorization_url("st", None)
    assert deezer_url.startswith("https://auth.example/oauth/auth.php?")
    assert query(deezer_url)["perms"].split(",")[:3] == ["basic_access", "email", "offline_access"]
    assert "code_challenge" not in deezer_url
    google = query(client("youtube").authorization_url("st", "ch"))
    assert google["access_type"] == "offline" and google["prompt"] == "consent"
    assert client("tidal").authorization_url("st", "ch").startswith("https://auth.example/authorize?")
    with pytest.raises(ValueError, match="PKCE"):
        client("tidal").authorization_url("st", None)


def test_token_requests():
    spotify = client("spotify").code_request("code", "verifier")
    assert spotify.url == "https://token.example/api/token" and spotify.headers["Authorization"].startswith(
        "Basic "
    )
    assert spotify.form == {
        "grant_type": "authorization_code",
        "code": "code",
        "redirect_uri": "http://127.0.0.1:3101/api/v1/auth/spotify/callback",
        "code_verifier": "verifier",
    }
    deezer = client("deezer").code_request("code", None)
    assert deezer.method == "GET" and deezer.query["output"] == "json" and deezer.query["secret"] == "csecret"
    google = client("youtube").refresh_request("rt")
    assert google.form == {
        "grant_type": "refresh_token",
        "refresh_token": "rt",
        "client_id": "cid",
        "client_secret": "csecret",
    }
    with pytest.raises(ValueError, match="cannot be refreshed"):
        client("deezer").refresh_request("rt")
    assert client("youtube").revoke_url == "https://token.example/revoke"
    assert client("spotify").revoke_url is None


def test_token_responses():
    spotify = SPECS["spotify"]
    got = parse_token_response(
        spotify, 200, {"access_token": "a", "expires_in": 3600, "refresh_token": "r", "scope": "x y"}, NOW
    )
    assert (got.access_token, got.refresh_token, got.expires_at, got.scopes) == (
        "a",
        "r",
        NOW + timedelta(hours=1),
        ("x", "y"),
    )
    kept = parse_token_response(
        SPECS["tidal"], 200, {"access_token": "a2", "expires_in": 60}, NOW, previous_refresh="r"
    )
    assert kept.refresh_token == "r"
    deezer = parse_token_response(SPECS["deezer"], 200, {"access_token": "d", "expires": 0}, NOW)
    assert deezer.expires_at is None and deezer.refresh_token is None
    with pytest.raises(TokenError) as refused:
        parse_token_response(
            spotify, 400, {"error": "invalid_grant", "error_description": "Refresh token expired"}, NOW
        )
    assert refused.value.needs_reconsent
    with pytest.raises(TokenError):
        parse_token_response(SPECS["deezer"], 200, "wrong code", NOW)
    with pytest.raises(TokenError):
        parse_token_response(
            SPECS["deezer"], 200, {"error": {"type": "OAuthException", "message": "x", "code": 300}}, NOW
        )
    with pytest.raises(ProviderResponseError):
        parse_token_response(spotify, 502, "<html>", NOW)
    with pytest.raises(ProviderResponseError):
        parse_token_response(spotify, 200, {"token_type": "Bearer"}, NOW)


def test_profiles():
    assert parse_profile(SPECS["spotify"], 200, {"id": "pm", "display_name": "PM"}).account_id == "pm"
    assert parse_profile(SPECS["deezer"], 200, {"id": 5, "name": "D"}).account_id == "5"
    tidal = parse_profile(SPECS["tidal"], 200, {"data": {"id": "19", "attributes": {"username": "T"}}})
    assert (tidal.account_id, tidal.display_name) == ("19", "T")
    yt = parse_profile(SPECS["youtube"], 200, {"items": [{"id": "UC1", "snippet": {"title": "Y"}}]})
    assert yt.account_id == "UC1"
    with pytest.raises(ProviderResponseError):
        parse_profile(SPECS["youtube"], 200, {"items": []})
    with pytest.raises(ProviderResponseError):
        parse_profile(SPECS["deezer"], 200, {"error": {"code": 300}})
