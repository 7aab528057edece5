"""Provider linking against the in-process emulator: redirect and polling flows, PKCE, state rules,
the encrypted vault, the internal token endpoint (single refresh, re-consent), unlinking."""

from __future__ import annotations

import asyncio
import uuid
from importlib import resources
from urllib.parse import parse_qs, urlsplit

import aiohttp
import asyncpg
import pytest

from .conftest import DEMO_USERS, Auth, Emulator, consent, link, open_start, problem_of, register_and_login

pytestmark = pytest.mark.integration

API = {
    "spotify": ("api.spotify.com", "/v1/me"),
    "tidal": ("openapi.tidal.com", "/v2/users/me"),
    "youtube": ("www.googleapis.com", "/youtube/v3/channels?part=id&mine=true"),
}


async def internal_token(auth: Auth, user_id: str, provider: str) -> aiohttp.ClientResponse:
    return await auth.client.post(
        f"/internal/provider-tokens/{user_id}/{provider}", headers=auth.service_headers()
    )


async def make_stale(auth: Auth, user_id: str, provider: str) -> None:
    """Let auth believe the access token expires in a minute (inside the 5-minute refresh margin)."""
    await auth.fetch(
        "UPDATE provider_links SET access_expires_at = now() + interval '1 minute' WHERE user_id = $1 AND provider = $2",
        uuid.UUID(user_id),
        provider,
    )


async def test_redirect_flow_links_spotify_and_stores_tokens_encrypted(auth: Auth, emulator: Emulator):
    account = await register_and_login(auth)
    started = await auth.client.post(
        "/api/v1/auth/spotify/authorize",
        json={"mode": "redirect", "return_to": "http://localhost:3000/settings/accounts"},
        headers=account.headers,
    )
    assert started.status == 200, await started.text()
    body = await started.json()
    assert body["authorization_url"].startswith(auth.env["API_BASE_URL"] + "/api/v1/auth/spotify/start?")
    provider_url = await open_start(auth, body["authorization_url"])
    query = parse_qs(urlsplit(provider_url).query)
    assert query["code_challenge_method"] == ["S256"] and len(query["state"][0]) >= 43
    callback = await consent(provider_url, "spotify", account=DEMO_USERS["spotify"])
    answer = await auth.client.get("/api/v1/auth/spotify/callback", params=callback, allow_redirects=False)
    assert answer.status == 302, await answer.text()
    location = answer.headers["Location"]
    assert location.startswith("http://localhost:3000/settings/accounts?")
    assert parse_qs(urlsplit(location).query)["status"] == ["succeeded"]

    links = await (await auth.client.get("/api/v1/providers", headers=account.headers)).json()
    assert links["links"][0] | {"linked_at": None} == {
        "provider": "spotify",
        "account_id": "pmdemo.spotify",
        "display_name": links["links"][0]["display_name"],
        "status": "linked",
        "scopes": links["links"][0]["scopes"],
        "linked_at": None,
    }
    token = await internal_token(auth, account.user_id, "spotify")
    assert token.status == 200
    access = (await token.json())["access_token"]
    me = await emulator.client.get("/api.spotify.com/v1/me", headers={"Authorization": f"Bearer {access}"})
    assert me.status == 200
    # At rest: no plaintext token anywhere in the row, the key id beside the ciphertext.
    row = (await auth.fetch("SELECT * FROM provider_links WHERE user_id = $1", uuid.UUID(account.user_id)))[0]
    raw = b"".join(bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode() for v in row.values())
    assert access.encode() not in raw
    assert (
        row["key_id"]
        == __import__("hashlib").sha256(__import__("base64").b64decode(auth.master_key)).digest()[:8].hex()
    )
    assert row["refresh_token"] is not None and len(row["wrapped_key"]) == 12 + 32 + 16
    linked = await auth.events(account.user_id, "provider.linked")
    assert linked[0]["data"]["provider_account_id"] == "pmdemo.spotify"


@pytest.mark.parametrize("provider", ["deezer", "tidal", "youtube"])
async def test_polling_flow(auth: Auth, emulator: Emulator, provider: str):
    account = await register_and_login(auth)
    started = await auth.client.post(
        f"/api/v1/auth/{provider}/authorize", json={"mode": "poll"}, headers=account.headers
    )
    body = await started.json()
    url = await open_start(auth, body["authorization_url"])
    if provider == "deezer":
        assert "code_challenge" not in url and "perms=" in url
    if provider == "youtube":
        assert "access_type=offline" in url and "prompt=consent" in url
    poll = await auth.client.get(f"/api/v1/auth/attempts/{body['attempt_id']}", headers=account.headers)
    assert (await poll.json())["status"] == "pending"
    callback = await consent(url, provider)
    page = await auth.client.get(f"/api/v1/auth/{provider}/callback", params=callback)
    assert page.status == 200 and page.content_type == "text/html"
    poll = await auth.client.get(f"/api/v1/auth/attempts/{body['attempt_id']}", headers=account.headers)
    assert await poll.json() | {"expires_at": None} == {
        "attempt_id": body["attempt_id"],
        "status": "succeeded",
        "provider": provider,
        "expires_at": None,
    }
    # Another user cannot see the attempt.
    stranger = await register_and_login(auth)
    other = await auth.client.get(f"/api/v1/auth/attempts/{body['attempt_id']}", headers=stranger.headers)
    assert other.status == 404
    token = await internal_token(auth, account.user_id, provider)
    assert token.status == 200, await token.text()
    data = await token.json()
    assert data["account_id"]
    if provider == "deezer":
        assert data["expires_at"] is None  # offline_access: never expires, nothing to refresh
        me = await emulator.client.get(
            "/api.deezer.com/user/me", params={"access_token": data["access_token"]}
        )
        assert "error" not in await me.json()
    else:
        host, path = API[provider]
        me = await emulator.client.get(
            f"/{host}{path}", headers={"Authorization": f"Bearer {data['access_token']}"}
        )
        assert me.status == 200


async def test_denied_consent_fails_the_attempt(auth: Auth):
    account = await register_and_login(auth)
    body = await (
        await auth.client.post("/api/v1/auth/tidal/authorize", json={"mode": "poll"}, headers=account.headers)
    ).json()
    callback = await consent(await open_start(auth, body["authorization_url"]), "tidal", approve=False)
    page = await auth.client.get("/api/v1/auth/tidal/callback", params=callback)
    assert page.status == 400
    poll = await (
        await auth.client.get(f"/api/v1/auth/attempts/{body['attempt_id']}", headers=account.headers)
    ).json()
    assert poll["status"] == "failed" and poll["error"] == "access_denied"


async def test_pkce_mismatch_fails_and_links_nothing(auth: Auth):
    account = await register_and_login(auth)
    body = await (
        await auth.client.post(
            "/api/v1/auth/spotify/authorize", json={"mode": "poll"}, headers=account.headers
        )
    ).json()
    # An attacker's challenge: the code is bound to it, and our verifier does not match.
    callback = await consent(
        await open_start(auth, body["authorization_url"]),
        "spotify",
        tamper={"code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"},
    )
    page = await auth.client.get("/api/v1/auth/spotify/callback", params=callback)
    assert page.status == 400
    poll = await (
        await auth.client.get(f"/api/v1/auth/attempts/{body['attempt_id']}", headers=account.headers)
    ).json()
    assert poll == poll | {"status": "failed", "error": "invalid_grant"}
    assert (
        await auth.fetch("SELECT 1 FROM provider_links WHERE user_id = $1", uuid.UUID(account.user_id)) == []
    )


async def test_state_is_single_use_unknown_states_fail_and_states_expire(auth: Auth):
    account = await register_and_login(auth)
    body = await (
        await auth.client.post("/api/v1/auth/tidal/authorize", json={"mode": "poll"}, headers=account.headers)
    ).json()
    callback = await consent(await open_start(auth, body["authorization_url"]), "tidal")
    assert (await auth.client.get("/api/v1/auth/tidal/callback", params=callback)).status == 200
    replay = await auth.client.get("/api/v1/auth/tidal/callback", params=callback)
    assert replay.status == 400
    problem_of(replay)
    assert (await replay.json())["type"].endswith("/state-already-used")
    # The state of one provider is no good at another's callback, nor is a made-up one.
    wrong_provider = await auth.client.get("/api/v1/auth/spotify/callback", params=callback)
    assert (await wrong_provider.json())["type"].endswith("/invalid-state")
    unknown = await auth.client.get("/api/v1/auth/tidal/callback", params={"code": "x", "state": "made-up"})
    assert unknown.status == 400 and (await unknown.json())["type"].endswith("/invalid-state")
    missing = await auth.client.get("/api/v1/auth/tidal/callback", params={"code": "x"})
    assert missing.status == 400

    late = await (
        await auth.client.post("/api/v1/auth/tidal/authorize", json={"mode": "poll"}, headers=account.headers)
    ).json()
    late_callback = await consent(await open_start(auth, late["authorization_url"]), "tidal")
    await auth.fetch(
        "UPDATE oauth_attempts SET expires_at = now() - interval '1 second' WHERE id = $1",
        uuid.UUID(late["attempt_id"]),
    )
    expired = await auth.client.get("/api/v1/auth/tidal/callback", params=late_callback)
    assert expired.status == 400 and (await expired.json())["type"].endswith("/state-expired")
    poll = await (
        await auth.client.get(f"/api/v1/auth/attempts/{late['attempt_id']}", headers=account.headers)
    ).json()
    assert poll["status"] == "expired"


async def test_authorize_input_is_checked(auth: Auth):
    account = await register_and_login(auth)
    unknown = await auth.client.post(
        "/api/v1/auth/napster/authorize", json={"mode": "poll"}, headers=account.headers
    )
    assert unknown.status == 404
    problem_of(unknown)
    bad_mode = await auth.client.post(
        "/api/v1/auth/spotify/authorize", json={"mode": "push"}, headers=account.headers
    )
    assert bad_mode.status == 422
    open_redirect = await auth.client.post(
        "/api/v1/auth/spotify/authorize",
        json={"mode": "redirect", "return_to": "https://evil.example/steal"},
        headers=account.headers,
    )
    assert open_redirect.status == 422
    anonymous = await auth.client.post("/api/v1/auth/spotify/authorize", json={"mode": "poll"})
    assert anonymous.status == 401


async def test_internal_endpoint_needs_the_service_credential(auth: Auth):
    account = await register_and_login(auth)
    url = f"/internal/provider-tokens/{account.user_id}/spotify"
    assert (await auth.client.post(url)).status == 401
    assert (await auth.client.post(url, headers={"Authorization": "Service nope"})).status == 403
    assert (await auth.client.post(url, headers=account.headers)).status == 401
    not_linked = await auth.client.post(url, headers=auth.service_headers())
    assert not_linked.status == 404
    problem_of(not_linked)


async def test_concurrent_callers_cause_exactly_one_refresh(auth: Auth, emulator: Emulator):
    account = await register_and_login(auth)
    await link(auth, account, "spotify")
    first = await (await internal_token(auth, account.user_id, "spotify")).json()
    await make_stale(auth, account.user_id, "spotify")
    await emulator.admin("DELETE", "/calls")
    answers = await asyncio.gather(*(internal_token(auth, account.user_id, "spotify") for _ in range(25)))
    assert {a.status for a in answers} == {200}
    tokens = {(await a.json())["access_token"] for a in answers}
    assert len(tokens) == 1 and first["access_token"] not in tokens
    assert await emulator.token_calls("accounts.spotify.com") == 1
    # Fresh now: more calls do not refresh again.
    await internal_token(auth, account.user_id, "spotify")
    assert await emulator.token_calls("accounts.spotify.com") == 1


async def test_refused_refresh_needs_reconsent_and_relinking_restores(auth: Auth, emulator: Emulator):
    account = await register_and_login(auth)
    await link(auth, account, "spotify")
    await make_stale(auth, account.user_id, "spotify")
    # Spotify refresh tokens die six months after consent: invalid_grant.
    await emulator.admin("POST", "/clock", json={"advance": 183 * 86_400})
    refused = await internal_token(auth, account.user_id, "spotify")
    assert refused.status == 409, await refused.text()
    problem = await refused.json()
    assert problem["type"].endswith("/reconsent-required")
    assert problem["relink_url"].endswith("/api/v1/auth/spotify/authorize")
    again = await internal_token(auth, account.user_id, "spotify")
    assert again.status == 409  # no second attempt at the provider
    links = (await (await auth.client.get("/api/v1/providers", headers=account.headers)).json())["links"]
    assert links[0]["status"] == "needs_reconsent" and links[0]["relink_url"] == problem["relink_url"]
    events = await auth.events(account.user_id, "provider.reconsent_required")
    assert len(events) == 1 and events[0]["data"]["reason"].startswith("invalid_grant")

    await link(auth, account, "spotify", provider_account=links[0]["account_id"])  # the same account again
    links = (await (await auth.client.get("/api/v1/providers", headers=account.headers)).json())["links"]
    assert links[0]["status"] == "linked" and "relink_url" not in links[0]
    assert (await internal_token(auth, account.user_id, "spotify")).status == 200


async def test_unlink_deletes_the_tokens(auth: Auth):
    account = await register_and_login(auth)
    await link(auth, account, "youtube", provider_account=DEMO_USERS["youtube"])
    gone = await auth.client.delete("/api/v1/providers/youtube", headers=account.headers)
    assert gone.status == 204
    assert (
        await auth.fetch("SELECT 1 FROM provider_links WHERE user_id = $1", uuid.UUID(account.user_id)) == []
    )
    assert (await internal_token(auth, account.user_id, "youtube")).status == 404
    assert (await auth.client.delete("/api/v1/providers/youtube", headers=account.headers)).status == 404
    unlinked = await auth.events(account.user_id, "provider.unlinked")
    assert unlinked[0]["data"]["provider_account_id"] == "UCpmdemoYouTube000000001"


async def test_callback_only_completes_in_the_browser_that_opened_the_start_url(auth: Auth):
    """Account-linking CSRF: a provider URL (or callback) carried to another browser links nothing."""
    account = await register_and_login(auth)
    body = await (
        await auth.client.post("/api/v1/auth/tidal/authorize", json={"mode": "poll"}, headers=account.headers)
    ).json()
    parts = urlsplit(body["authorization_url"])
    start_path = f"{parts.path}?{parts.query}"
    opened = await auth.client.get(start_path, allow_redirects=False)
    assert opened.status == 302, await opened.text()
    cookie = opened.headers["Set-Cookie"]
    name = f"pm_link_{uuid.UUID(body['attempt_id']).hex}"
    assert cookie.startswith(f"{name}=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Path=/api/v1/auth/tidal/callback" in cookie and "Secure" not in cookie  # API_BASE_URL is http
    nonce = opened.cookies[name].value
    stored = await auth.fetch(
        "SELECT binding_hash FROM oauth_attempts WHERE id = $1", uuid.UUID(body["attempt_id"])
    )
    assert nonce.encode() not in bytes(stored[0]["binding_hash"])  # only a hash is stored
    # The start URL works once: nobody can re-bind the attempt to another browser.
    again = await auth.client.get(start_path, allow_redirects=False)
    assert again.status == 409 and (await again.json())["type"].endswith("/attempt-already-started")
    unknown = await auth.client.get(f"/api/v1/auth/tidal/start?attempt={uuid.uuid4()}", allow_redirects=False)
    assert unknown.status == 404
    callback = await consent(opened.headers["Location"], "tidal")

    # Another browser (no cookie, or a forged one) is refused, and the attempt stays usable.
    url = auth.client.make_url("/api/v1/auth/tidal/callback")
    for cookies in ({}, {name: "forged-" + nonce[7:]}):
        async with aiohttp.ClientSession(cookies=cookies) as other:
            refused = await other.get(url, params=callback, allow_redirects=False)
            assert refused.status == 400, await refused.text()
            assert (await refused.json())["type"].endswith("/state-not-bound")
    assert (
        await auth.fetch("SELECT 1 FROM provider_links WHERE user_id = $1", uuid.UUID(account.user_id)) == []
    )
    poll = await auth.client.get(f"/api/v1/auth/attempts/{body['attempt_id']}", headers=account.headers)
    assert (await poll.json())["status"] == "pending"

    done = await auth.client.get("/api/v1/auth/tidal/callback", params=callback)
    assert done.status == 200, await done.text()
    assert f"{name}=" in done.headers.get("Set-Cookie", "")  # the binding cookie is cleared
    poll = await auth.client.get(f"/api/v1/auth/attempts/{body['attempt_id']}", headers=account.headers)
    assert (await poll.json())["status"] == "succeeded"


async def test_callback_after_the_user_was_deleted_is_invalid_state(
    auth: Auth, monkeypatch: pytest.MonkeyPatch
):
    from pm_auth.usecases import links

    account = await register_and_login(auth)
    body = await (
        await auth.client.post("/api/v1/auth/tidal/authorize", json={"mode": "poll"}, headers=account.headers)
    ).json()
    callback = await consent(await open_start(auth, body["authorization_url"]), "tidal")
    real = links.provider_oauth.profile

    async def then_deleted(*args, **kwargs):  # the user deletes the account while at the provider
        found = await real(*args, **kwargs)
        await auth.fetch("DELETE FROM users WHERE id = $1", uuid.UUID(account.user_id))
        return found

    monkeypatch.setattr(links.provider_oauth, "profile", then_deleted)
    r = await auth.client.get("/api/v1/auth/tidal/callback", params=callback)
    assert r.status == 400, await r.text()
    assert (await r.json())["type"].endswith("/invalid-state")


async def _attempt(auth: Auth, account, provider: str, mode: str = "poll") -> tuple[dict, str]:
    """Authorize and open the start URL: the attempt, and the provider URL the browser is sent to."""
    json = {"mode": mode} | ({"return_to": "http://localhost:3000/accounts"} if mode == "redirect" else {})
    r = await auth.client.post(f"/api/v1/auth/{provider}/authorize", json=json, headers=account.headers)
    assert r.status == 200, await r.text()
    body = await r.json()
    return body, await open_start(auth, body["authorization_url"])


async def _poll(auth: Auth, account, attempt_id: str) -> dict:
    r = await auth.client.get(f"/api/v1/auth/attempts/{attempt_id}", headers=account.headers)
    assert r.status == 200, await r.text()
    return await r.json()


@pytest.mark.parametrize(
    "params",
    [
        {"error": "access\x00denied"},
        {"error": "access_denied", "error_description": "no\x00thanks"},
        {"error_reason": "user_\x00denied"},
        {"error": "access_denied\n"},
        {"error": "e" * 300},
        {"error": "access_denied", "error_description": "x" * 3000},
        {"code": "abc\x00def"},
        {"code": "c" * 5000},
        {"code": "naïve-code"},
    ],
    ids=lambda p: ",".join(f"{k}:{v[:12]!r}" for k, v in p.items()),
)
async def test_a_malformed_callback_fails_the_attempt_never_500(auth: Auth, params: dict[str, str]):
    account = await register_and_login(auth)
    body, provider_url = await _attempt(auth, account, "tidal")
    callback = await consent(provider_url, "tidal")
    query = {"state": callback["state"], **({"code": callback["code"]} if "error" not in params else {})}
    page = await auth.client.get("/api/v1/auth/tidal/callback", params=query | params)
    assert page.status == 400, await page.text()
    assert page.content_type == "text/html"
    assert "invalid_callback" in await page.text()
    poll = await _poll(auth, account, body["attempt_id"])
    assert poll["status"] == "failed" and poll["error"] == "invalid_callback"
    # The state was consumed: the attempt is over.
    again = await auth.client.get("/api/v1/auth/tidal/callback", params=query)
    assert again.status == 400 and (await again.json())["type"].endswith("/state-already-used")


async def test_a_malformed_callback_in_the_redirect_flow_goes_back_failed(auth: Auth):
    account = await register_and_login(auth)
    body, provider_url = await _attempt(auth, account, "tidal", mode="redirect")
    callback = await consent(provider_url, "tidal", approve=False)
    r = await auth.client.get(
        "/api/v1/auth/tidal/callback",
        params={"state": callback["state"], "error": "access\x00denied"},
        allow_redirects=False,
    )
    assert r.status == 302, await r.text()
    back = parse_qs(urlsplit(r.headers["Location"]).query)
    assert back["status"] == ["failed"] and back["error"] == ["invalid_callback"]
    assert (await _poll(auth, account, body["attempt_id"]))["error"] == "invalid_callback"


@pytest.mark.parametrize("state", ["st\x00ate", "é" * 20, "s" * 201, " "])
async def test_a_malformed_state_is_invalid_state(auth: Auth, state: str):
    r = await auth.client.get("/api/v1/auth/tidal/callback", params={"state": state, "code": "x"})
    assert r.status == 400, await r.text()
    problem_of(r)
    assert (await r.json())["type"].endswith("/invalid-state")


async def test_a_provider_account_links_to_one_user_only(auth: Auth):
    first, second = await register_and_login(auth), await register_and_login(auth)
    body, provider_url = await _attempt(auth, first, "spotify")
    cb = await auth.client.get(
        "/api/v1/auth/spotify/callback", params=await consent(provider_url, "spotify", account="new")
    )
    assert cb.status == 200, await cb.text()
    links = (await (await auth.client.get("/api/v1/providers", headers=first.headers)).json())["links"]
    shared = links[0]["account_id"]

    # Another user consenting as the same provider account: refused, the other user is not named.
    body, provider_url = await _attempt(auth, second, "spotify", mode="redirect")
    cb = await auth.client.get(
        "/api/v1/auth/spotify/callback",
        params=await consent(provider_url, "spotify", account=shared),
        allow_redirects=False,
    )
    assert cb.status == 302, await cb.text()
    back = parse_qs(urlsplit(cb.headers["Location"]).query)
    assert back["status"] == ["failed"] and back["error"] == ["account_already_linked"]
    assert (await _poll(auth, second, body["attempt_id"]))["error"] == "account_already_linked"
    assert (await (await auth.client.get("/api/v1/providers", headers=second.headers)).json())["links"] == []
    assert await auth.events(second.user_id, "provider.linked") == []
    rows = await auth.fetch(
        "SELECT user_id FROM provider_links WHERE provider = 'spotify' AND account_id = $1", shared
    )
    assert [str(r["user_id"]) for r in rows] == [first.user_id]

    # The page (polling flow) says what to do, and names no one.
    body, provider_url = await _attempt(auth, second, "spotify")
    page = await auth.client.get(
        "/api/v1/auth/spotify/callback", params=await consent(provider_url, "spotify", account=shared)
    )
    assert page.status == 400
    text = await page.text()
    assert "already linked to another" in text and "unlink it there first" in text.lower()
    assert first.email not in text and first.user_id not in text

    # The same user linking it again is fine.
    body, provider_url = await _attempt(auth, first, "spotify")
    cb = await auth.client.get(
        "/api/v1/auth/spotify/callback", params=await consent(provider_url, "spotify", account=shared)
    )
    assert cb.status == 200, await cb.text()
    assert (await _poll(auth, first, body["attempt_id"]))["status"] == "succeeded"

    # Once unlinked there, the other user may link it.
    assert (await auth.client.delete("/api/v1/providers/spotify", headers=first.headers)).status == 204
    body, provider_url = await _attempt(auth, second, "spotify")
    cb = await auth.client.get(
        "/api/v1/auth/spotify/callback", params=await consent(provider_url, "spotify", account=shared)
    )
    assert cb.status == 200, await cb.text()
    links = (await (await auth.client.get("/api/v1/providers", headers=second.headers)).json())["links"]
    assert [link["account_id"] for link in links] == [shared]


async def test_the_migration_keeps_links_that_already_shared_an_account(auth: Auth):
    """0007 must not fail on a database where two users already share a provider account: the earliest
    link keeps it, the later ones are kept working but marked, outside the unique index."""
    migration = (
        resources.files("pm_auth") / "migrations" / "0007_one_user_per_provider_account.sql"
    ).read_text()
    users = [uuid.uuid4() for _ in range(3)]
    async with auth.rt.pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        try:
            # The database as it was before 0007, holding duplicates.
            await conn.execute("DROP INDEX provider_links_account_key")
            await conn.execute("ALTER TABLE provider_links DROP COLUMN legacy_shared")
            for n, user in enumerate(users):
                await conn.execute(
                    "INSERT INTO users (id, email, password_hash) VALUES ($1, $2, 'x')",
                    user,
                    f"dup-{user.hex}@example.com",
                )
                await conn.execute(
                    """INSERT INTO provider_links (user_id, provider, account_id, key_id, wrapped_key,
                                                   access_token, linked_at)
                       VALUES ($1, 'deezer', 'shared-before', 'k', '\\x00', '\\x00',
                               now() - make_interval(days => $2))""",
                    user,
                    10 - n,
                )
            await conn.execute(migration)
            rows = await conn.fetch(
                "SELECT user_id, legacy_shared FROM provider_links WHERE account_id = 'shared-before'"
            )
            assert {r["user_id"]: r["legacy_shared"] for r in rows} == {
                users[0]: False,
                users[1]: True,
                users[2]: True,
            }
            with pytest.raises(asyncpg.UniqueViolationError):
                async with conn.transaction():
                    await conn.execute(
                        "UPDATE provider_links SET legacy_shared = false WHERE user_id = $1", users[2]
                    )
        finally:
            await tx.rollback()


async def test_the_internal_read_of_a_users_links_names_them_without_tokens(auth: Auth, emulator: Emulator):
    account, other = await register_and_login(auth), await register_and_login(auth)
    await link(auth, account, "spotify")
    await link(auth, account, "tidal")
    path = f"/internal/users/{account.user_id}/providers"
    r = await auth.client.get(path, headers=auth.service_headers())
    assert r.status == 200, await r.text()
    links = (await r.json())["links"]
    assert sorted(link["provider"] for link in links) == ["spotify", "tidal"]
    assert all(
        set(link) == {"provider", "account_id", "display_name", "status", "scopes", "linked_at"}
        for link in links
    )
    assert "token" not in (await r.text()).lower()
    # Another user's are theirs only; without the service credential (a user's headers too), nothing.
    r = await auth.client.get(f"/internal/users/{other.user_id}/providers", headers=auth.service_headers())
    assert (await r.json())["links"] == []
    for headers in ({}, account.headers):
        assert (await auth.client.get(path, headers=headers)).status in (401, 403)
    r = await auth.client.get("/internal/users/not-a-uuid/providers", headers=auth.service_headers())
    assert (await r.json())["links"] == []
