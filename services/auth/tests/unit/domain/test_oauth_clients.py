"""The OAuth client registry: each provider's authorization URL, token requests and answers, profile."""

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
from pm_contracts.providers import ProviderName

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


def client(provider: str) -> OAuthClient:
    return OAuthClient(
        SPECS[ProviderName(provider)],
        "cid",
        "csecret",
        f"http://127.0.0.1:3101/api/v1/auth/{provider}/callback",
        "https://auth.example",
        "https://token.example",
        "https://api.example",
    )


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
    spotify = SPECS[ProviderName.SPOTIFY]
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
        SPECS[ProviderName.TIDAL], 200, {"access_token": "a2", "expires_in": 60}, NOW, previous_refresh="r"
    )
    assert kept.refresh_token == "r"
    deezer = parse_token_response(SPECS[ProviderName.DEEZER], 200, {"access_token": "d", "expires": 0}, NOW)
    assert deezer.expires_at is None and deezer.refresh_token is None
    with pytest.raises(TokenError) as refused:
        parse_token_response(
            spotify, 400, {"error": "invalid_grant", "error_description": "Refresh token expired"}, NOW
        )
    assert refused.value.needs_reconsent
    with pytest.raises(TokenError):
        parse_token_response(SPECS[ProviderName.DEEZER], 200, "wrong code", NOW)
    with pytest.raises(TokenError):
        parse_token_response(
            SPECS[ProviderName.DEEZER],
            200,
            {"error": {"type": "OAuthException", "message": "x", "code": 300}},
            NOW,
        )
    with pytest.raises(ProviderResponseError):
        parse_token_response(spotify, 502, "<html>", NOW)
    with pytest.raises(ProviderResponseError):
        parse_token_response(spotify, 200, {"token_type": "Bearer"}, NOW)


def test_profiles():
    assert (
        parse_profile(SPECS[ProviderName.SPOTIFY], 200, {"id": "pm", "display_name": "PM"}).account_id == "pm"
    )
    assert parse_profile(SPECS[ProviderName.DEEZER], 200, {"id": 5, "name": "D"}).account_id == "5"
    tidal = parse_profile(
        SPECS[ProviderName.TIDAL], 200, {"data": {"id": "19", "attributes": {"username": "T"}}}
    )
    assert (tidal.account_id, tidal.display_name) == ("19", "T")
    yt = parse_profile(
        SPECS[ProviderName.YOUTUBE], 200, {"items": [{"id": "UC1", "snippet": {"title": "Y"}}]}
    )
    assert yt.account_id == "UC1"
    with pytest.raises(ProviderResponseError):
        parse_profile(SPECS[ProviderName.YOUTUBE], 200, {"items": []})
    with pytest.raises(ProviderResponseError):
        parse_profile(SPECS[ProviderName.DEEZER], 200, {"error": {"code": 300}})
