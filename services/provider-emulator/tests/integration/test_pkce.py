"""PKCE at the three authorization servers that support it (Spotify, TIDAL, Google), RFC 9700 strict.

(a) A ``code_verifier`` for a code issued without ``code_challenge`` is a PKCE downgrade: ``invalid_grant``
(RFC 9700 §2.1.1, §4.8). (b) A code issued with a challenge needs the matching verifier. (c) A public
client (no secret) cannot start an authorization without a challenge, and ``plain`` is refused where the
provider supports only ``S256``. Deezer has no PKCE and is not concerned.
"""

from __future__ import annotations

import base64
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiohttp.test_utils import TestClient

from pm_provider_emulator.domain.oauth import AuthCode, s256
from pm_provider_emulator.http.context import EMULATOR

VERIFIER = "p" * 43 + "-._~xyz"
OTHER = "q" * 50

SPOTIFY_AUTHZ = "/accounts.spotify.com/authorize"
SPOTIFY_TOKEN = "/accounts.spotify.com/api/token"
SPOTIFY_REDIRECT = "http://127.0.0.1:8888/callback"
SPOTIFY_BASIC = {
    "Authorization": "Basic " + base64.b64encode(b"pm-dev-spotify:pm-dev-spotify-secret").decode()
}

TIDAL_AUTHZ = "/login.tidal.com/authorize"
TIDAL_TOKEN = "/auth.tidal.com/v1/oauth2/token"
TIDAL_REDIRECT = "http://127.0.0.1:7000/cb"

GOOGLE_AUTHZ = "/accounts.google.com/o/oauth2/v2/auth"
GOOGLE_TOKEN = "/oauth2.googleapis.com/token"
GOOGLE_CLIENT = "pm-dev-youtube.apps.googleusercontent.com"
GOOGLE_REDIRECT = "http://127.0.0.1:5000/cb"

DOWNGRADE = "code_verifier sent, but the authorization request had no code_challenge"


async def code_from(
    client: TestClient[Any, Any], path: str, params: dict[str, str], user: str = "new"
) -> str:
    """Open the consent page with ``params``, approve it as ``user``; the code from the redirect."""
    page = await client.get(path, params=params)
    assert page.status == 200, await page.text()
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', await page.text()))
    answer = await client.post(path, data={**fields, "emulator_user": user}, allow_redirects=False)
    assert answer.status == 302
    return parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]


def redirect_query(resp: Any) -> dict[str, list[str]]:
    assert resp.status == 302
    return parse_qs(urlsplit(resp.headers["Location"]).query)


# ----------------------------------------------------------------------------------------- Spotify


def spotify_params(**extra: str) -> dict[str, str]:
    return {
        "client_id": "pm-dev-spotify",
        "response_type": "code",
        "redirect_uri": SPOTIFY_REDIRECT,
        "scope": "playlist-read-private",
        "state": "st",
        **extra,
    }


def spotify_form(code: str, **extra: str) -> dict[str, str]:
    return {"grant_type": "authorization_code", "code": code, "redirect_uri": SPOTIFY_REDIRECT, **extra}


async def test_spotify_refuses_a_verifier_for_a_code_issued_without_challenge(client: TestClient[Any, Any]):
    # confidential client (Basic auth), authorization without code_challenge, verifier at the token endpoint
    code = await code_from(client, SPOTIFY_AUTHZ, spotify_params(), "pmdemo.spotify")
    r = await client.post(
        SPOTIFY_TOKEN, data=spotify_form(code, code_verifier=VERIFIER), headers=SPOTIFY_BASIC
    )
    assert r.status == 400
    assert await r.json() == {"error": "invalid_grant", "error_description": DOWNGRADE}
    # the code is spent by the failed attempt (single use), as for every other failure
    again = await client.post(SPOTIFY_TOKEN, data=spotify_form(code), headers=SPOTIFY_BASIC)
    assert (await again.json())["error"] == "invalid_grant"

    # the PKCE form (client_id + code_verifier, no secret) with a code issued without challenge
    code = await code_from(client, SPOTIFY_AUTHZ, spotify_params(), "pmdemo.spotify")
    r = await client.post(
        SPOTIFY_TOKEN, data=spotify_form(code, client_id="pm-dev-spotify", code_verifier=VERIFIER)
    )
    assert r.status == 400
    assert await r.json() == {"error": "invalid_grant", "error_description": DOWNGRADE}


async def test_spotify_confidential_code_flow_without_pkce_still_works(client: TestClient[Any, Any]):
    code = await code_from(client, SPOTIFY_AUTHZ, spotify_params(), "pmdemo.spotify")
    r = await client.post(SPOTIFY_TOKEN, data=spotify_form(code), headers=SPOTIFY_BASIC)
    assert r.status == 200
    assert (await r.json())["token_type"] == "Bearer"
    # an empty code_verifier is an omitted one (RFC 6749 §3.2: parameters without a value are omitted)
    code = await code_from(client, SPOTIFY_AUTHZ, spotify_params(), "pmdemo.spotify")
    r = await client.post(SPOTIFY_TOKEN, data=spotify_form(code, code_verifier=""), headers=SPOTIFY_BASIC)
    assert r.status == 200


async def test_spotify_code_with_challenge_needs_the_matching_verifier(client: TestClient[Any, Any]):
    pkce = spotify_params(code_challenge=s256(VERIFIER), code_challenge_method="S256")
    public = {"client_id": "pm-dev-spotify"}
    incorrect = {"error": "invalid_grant", "error_description": "code_verifier was incorrect"}
    for form, headers in (
        (public, {}),  # PKCE form without a verifier
        ({**public, "code_verifier": OTHER}, {}),  # wrong verifier
        ({**public, "code_verifier": ""}, {}),  # empty verifier
        ({**public, "code_verifier": "short"}, {}),  # not a verifier at all (under 43 characters)
        ({**public, "code_verifier": s256(VERIFIER)}, {}),  # the challenge itself (a plain downgrade)
        ({}, SPOTIFY_BASIC),  # confidential client: the secret does not replace the verifier
        ({"code_verifier": OTHER}, SPOTIFY_BASIC),
    ):
        code = await code_from(client, SPOTIFY_AUTHZ, pkce, "pmdemo.spotify")
        r = await client.post(SPOTIFY_TOKEN, data=spotify_form(code, **form), headers=headers)
        assert r.status == 400, form
        assert await r.json() == incorrect, form
    code = await code_from(client, SPOTIFY_AUTHZ, pkce, "pmdemo.spotify")
    ok = await client.post(SPOTIFY_TOKEN, data=spotify_form(code, **public, code_verifier=VERIFIER))
    assert ok.status == 200
    code = await code_from(client, SPOTIFY_AUTHZ, pkce, "pmdemo.spotify")
    ok = await client.post(
        SPOTIFY_TOKEN, data=spotify_form(code, code_verifier=VERIFIER), headers=SPOTIFY_BASIC
    )
    assert ok.status == 200


async def test_spotify_authorize_accepts_only_s256(client: TestClient[Any, Any]):
    for extra in (
        {"code_challenge": VERIFIER, "code_challenge_method": "plain"},
        {"code_challenge": VERIFIER},  # no method: RFC 7636 would read plain
        {"code_challenge": s256(VERIFIER), "code_challenge_method": "s256"},  # methods are case-sensitive
    ):
        r = await client.get(SPOTIFY_AUTHZ, params=spotify_params(**extra), allow_redirects=False)
        assert redirect_query(r) == {"error": ["invalid_request"], "state": ["st"]}, extra
    # the consent form re-posts the request: the POST is checked the same way
    r = await client.post(
        SPOTIFY_AUTHZ,
        data={
            **spotify_params(code_challenge=VERIFIER, code_challenge_method="plain"),
            "emulator_user": "new",
        },
        allow_redirects=False,
    )
    assert redirect_query(r) == {"error": ["invalid_request"], "state": ["st"]}


async def test_spotify_public_client_must_send_a_challenge(client: TestClient[Any, Any]):
    # a client registered without a secret can only use the PKCE flow
    reg = await client.post(
        "/_admin/clients", json={"provider": "spotify", "client_id": "pkce-only", "client_secret": None}
    )
    assert reg.status == 201
    assert (await reg.json())["client_secret"] is None
    params = spotify_params(client_id="pkce-only")
    r = await client.get(SPOTIFY_AUTHZ, params=params, allow_redirects=False)
    assert redirect_query(r) == {"error": ["invalid_request"], "state": ["st"]}
    r = await client.post(
        SPOTIFY_AUTHZ, data={**params, "emulator_user": "pmdemo.spotify"}, allow_redirects=False
    )
    assert redirect_query(r) == {"error": ["invalid_request"], "state": ["st"]}

    pkce = {**params, "code_challenge": s256(VERIFIER), "code_challenge_method": "S256"}
    code = await code_from(client, SPOTIFY_AUTHZ, pkce, "pmdemo.spotify")
    ok = await client.post(
        SPOTIFY_TOKEN, data=spotify_form(code, client_id="pkce-only", code_verifier=VERIFIER)
    )
    assert ok.status == 200
    tokens = await ok.json()
    refreshed = await client.post(
        SPOTIFY_TOKEN,
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": "pkce-only",
        },
    )
    assert refreshed.status == 200
    # a public client has no secret to send: any secret is wrong, and client credentials are refused
    basic = {"Authorization": "Basic " + base64.b64encode(b"pkce-only:guess").decode()}
    code = await code_from(client, SPOTIFY_AUTHZ, pkce, "pmdemo.spotify")
    r = await client.post(SPOTIFY_TOKEN, data=spotify_form(code, code_verifier=VERIFIER), headers=basic)
    assert await r.json() == {"error": "invalid_client", "error_description": "Invalid client secret"}
    r = await client.post(SPOTIFY_TOKEN, data={"grant_type": "client_credentials", "client_id": "pkce-only"})
    assert await r.json() == {"error": "invalid_client", "error_description": "Invalid client secret"}

    # the development client keeps its secret: authorization without a challenge is allowed for it
    r = await client.get(SPOTIFY_AUTHZ, params=spotify_params())
    assert r.status == 200


async def test_only_spotify_and_tidal_clients_may_be_public(client: TestClient[Any, Any]):
    for provider in ("youtube", "deezer"):
        r = await client.post("/_admin/clients", json={"provider": provider, "client_id": "x"})
        assert r.status == 400, provider
        assert "client_secret" in (await r.json())["error"]


# ------------------------------------------------------------------------------------------- TIDAL


def tidal_params(**extra: str) -> dict[str, str]:
    return {
        "client_id": "pm-dev-tidal",
        "response_type": "code",
        "redirect_uri": TIDAL_REDIRECT,
        "scope": "user.read",
        "state": "st",
        **extra,
    }


def tidal_form(code: str, **extra: str) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "client_id": "pm-dev-tidal",
        "code": code,
        "redirect_uri": TIDAL_REDIRECT,
        **extra,
    }


async def test_tidal_refuses_a_verifier_for_a_code_without_challenge(client: TestClient[Any, Any]):
    # login.tidal.com issues no such code (PKCE is mandatory there); the token endpoint refuses one anyway
    e = client.app[EMULATOR]
    code = AuthCode(
        code="code-without-challenge",
        provider="tidal",
        client_id="pm-dev-tidal",
        redirect_uri=TIDAL_REDIRECT,
        scopes=("user.read",),
        user_id="190000001",
        challenge=None,
        challenge_method=None,
        expires_at=e.clock.now() + 600,
    )
    e.store.issue_code(code)
    r = await client.post(TIDAL_TOKEN, data=tidal_form(code.code, code_verifier=VERIFIER))
    assert r.status == 400
    assert await r.json() == {
        "status": 400,
        "error": "invalid_grant",
        "sub_status": 11101,
        "error_description": DOWNGRADE,
    }


async def test_tidal_code_needs_the_matching_verifier(client: TestClient[Any, Any]):
    pkce = tidal_params(code_challenge=s256(VERIFIER), code_challenge_method="S256")
    incorrect = {
        "status": 400,
        "error": "invalid_grant",
        "sub_status": 11101,
        "error_description": "code_verifier was incorrect",
    }
    for extra in ({}, {"code_verifier": OTHER}, {"code_verifier": ""}, {"code_verifier": s256(VERIFIER)}):
        code = await code_from(client, TIDAL_AUTHZ, pkce, "190000001")
        r = await client.post(TIDAL_TOKEN, data=tidal_form(code, **extra))
        assert r.status == 400, extra
        assert await r.json() == incorrect, extra
    code = await code_from(client, TIDAL_AUTHZ, pkce, "190000001")
    ok = await client.post(TIDAL_TOKEN, data=tidal_form(code, code_verifier=VERIFIER))
    assert ok.status == 200


async def test_tidal_authorize_requires_an_s256_challenge(client: TestClient[Any, Any]):
    await client.post("/_admin/clients", json={"provider": "tidal", "client_id": "tidal-public"})
    for client_id in ("pm-dev-tidal", "tidal-public"):  # confidential or public: PKCE is mandatory
        for extra in (
            {},
            {"code_challenge_method": "S256"},
            {"code_challenge": VERIFIER, "code_challenge_method": "plain"},
            {"code_challenge": VERIFIER},
        ):
            for path in (TIDAL_AUTHZ, "/auth.tidal.com/v1/oauth2/authorize"):
                r = await client.get(
                    path, params=tidal_params(client_id=client_id, **extra), allow_redirects=False
                )
                assert redirect_query(r) == {
                    "error": ["invalid_request"],
                    "error_description": ["PKCE (S256) is required"],
                    "state": ["st"],
                }, (client_id, extra, path)
    pkce = tidal_params(client_id="tidal-public", code_challenge=s256(VERIFIER), code_challenge_method="S256")
    code = await code_from(client, TIDAL_AUTHZ, pkce, "190000001")
    ok = await client.post(
        TIDAL_TOKEN, data=tidal_form(code, client_id="tidal-public", code_verifier=VERIFIER)
    )
    assert ok.status == 200


# ------------------------------------------------------------------------------------------ Google


def google_params(**extra: str) -> dict[str, str]:
    return {
        "client_id": GOOGLE_CLIENT,
        "redirect_uri": GOOGLE_REDIRECT,
        "response_type": "code",
        "scope": "https://www.googleapis.com/auth/youtube.readonly",
        "state": "st",
        **extra,
    }


def google_form(code: str, **extra: str) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": GOOGLE_CLIENT,
        "client_secret": "pm-dev-youtube-secret",
        "redirect_uri": GOOGLE_REDIRECT,
        **extra,
    }


async def test_google_refuses_a_verifier_for_a_code_issued_without_challenge(client: TestClient[Any, Any]):
    code = await code_from(client, GOOGLE_AUTHZ, google_params())
    r = await client.post(GOOGLE_TOKEN, data=google_form(code, code_verifier=VERIFIER))
    assert r.status == 400
    assert await r.json() == {"error": "invalid_grant", "error_description": DOWNGRADE}
    # without a verifier the same kind of code redeems (Google's PKCE is optional)
    code = await code_from(client, GOOGLE_AUTHZ, google_params())
    ok = await client.post(GOOGLE_TOKEN, data=google_form(code))
    assert ok.status == 200
    code = await code_from(client, GOOGLE_AUTHZ, google_params())
    ok = await client.post(GOOGLE_TOKEN, data=google_form(code, code_verifier=""))
    assert ok.status == 200


async def test_google_code_with_challenge_needs_the_matching_verifier(client: TestClient[Any, Any]):
    incorrect = {"error": "invalid_grant", "error_description": "code_verifier was incorrect"}
    s256_params = google_params(code_challenge=s256(VERIFIER), code_challenge_method="S256")
    for extra in ({}, {"code_verifier": OTHER}, {"code_verifier": s256(VERIFIER)}):
        code = await code_from(client, GOOGLE_AUTHZ, s256_params)
        r = await client.post(GOOGLE_TOKEN, data=google_form(code, **extra))
        assert r.status == 400, extra
        assert await r.json() == incorrect, extra
    code = await code_from(client, GOOGLE_AUTHZ, s256_params)
    assert (await client.post(GOOGLE_TOKEN, data=google_form(code, code_verifier=VERIFIER))).status == 200

    # Google supports plain (also the default method when only code_challenge is sent)
    for plain in (
        google_params(code_challenge=VERIFIER, code_challenge_method="plain"),
        google_params(code_challenge=VERIFIER),
    ):
        code = await code_from(client, GOOGLE_AUTHZ, plain)
        r = await client.post(GOOGLE_TOKEN, data=google_form(code))
        assert await r.json() == incorrect
        code = await code_from(client, GOOGLE_AUTHZ, plain)
        r = await client.post(GOOGLE_TOKEN, data=google_form(code, code_verifier=OTHER))
        assert await r.json() == incorrect
        code = await code_from(client, GOOGLE_AUTHZ, plain)
        assert (await client.post(GOOGLE_TOKEN, data=google_form(code, code_verifier=VERIFIER))).status == 200
