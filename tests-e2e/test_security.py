"""Security of the public edge, end to end through the running gateway (docs/security.md): the attack
suite of the application (tests-e2e/test_security_edge.py has the transport's).

Forged tokens: ``alg: none``, algorithm confusion, tampering, unknown keys and ``kid`` injection,
expiry, issuer and audience. The claim checks need a token the gateway would otherwise accept, so one
test fixture plays an insider holding auth's signing key (read from auth's schema and unsealed with
MASTER_KEY, exactly as auth does); everything else uses only the public API. Also: revoked sessions,
refresh-token reuse (also through an Idempotency-Key replay), spoofed identity headers, other users'
resources (IDOR), brute force per address and password guessing per account from many addresses,
every password check on the login limits, the password policy, and provider linking: the OAuth
``state`` (single use, bound to the browser, expiring), PKCE, malformed callbacks, open redirects
through ``return_to`` and one provider account per user.
"""

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import asyncpg
import jwt
import pytest
import redis.asyncio as aioredis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pm_contracts.jobs import JobUpdated
from pm_devstack.envfile import IDENTITY_SIGNING_KEY, SERVICE_TOKEN
from pm_devstack.stack import Stack
from pm_platform.identity import Identity, IdentitySigner, identity_key_id, raw_public_key
from pm_platform.testing import insider_assertion, simulated_client_ip

REVOCATION_WAIT_S = 15  # auth's outbox → Kafka → the gateway's consumer


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _hs256(header: dict, claims: dict, key: bytes) -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{_b64(hmac.new(key, signing_input.encode(), hashlib.sha256).digest())}"


def _parts(token: str) -> tuple[dict, dict]:
    header, payload, _ = token.split(".")
    return json.loads(_unb64(header)), json.loads(_unb64(payload))


async def _get(
    gateway_url: str, path: str, token: str | None = None, **headers: str
) -> aiohttp.ClientResponse:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with aiohttp.ClientSession() as session, session.get(f"{gateway_url}{path}", headers=headers) as r:
        await r.read()
        return r


async def _me_status(gateway_url: str, token: str) -> int:
    return (await _get(gateway_url, "/api/v1/me", token)).status


@pytest.fixture
async def user(register_user) -> dict:
    return await register_user()


@pytest.fixture(scope="module")
async def jwks(gateway_url) -> dict:
    async with aiohttp.ClientSession() as session, session.get(f"{gateway_url}/.well-known/jwks.json") as r:
        assert r.status == 200
        return await r.json()


async def _assert_refused(gateway_url: str, token: str, reason: str = "") -> None:
    r = await _get(gateway_url, "/api/v1/me", token)
    assert r.status == 401, reason
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert r.content_type == "application/problem+json"


async def test_a_real_token_works_and_none_is_refused(gateway_url, user):
    assert await _me_status(gateway_url, user["access_token"]) == 200
    r = await _get(gateway_url, "/api/v1/me")
    assert r.status == 401
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


async def test_alg_none_is_refused(gateway_url, user):
    header, claims = _parts(user["access_token"])
    for alg in ("none", "None", "NONE"):
        forged = f"{_b64(json.dumps({**header, 'alg': alg}).encode())}.{_b64(json.dumps(claims).encode())}."
        await _assert_refused(gateway_url, forged, alg)


async def test_algorithm_confusion_is_refused(gateway_url, stack: Stack, user, jwks):
    header, claims = _parts(user["access_token"])
    jwk = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    candidates = {
        "public key JWK": json.dumps(jwk).encode(),
        "public key x": jwk["x"].encode(),
        "public key raw": _unb64(jwk["x"]),
        "JWT_SECRET": stack.secrets["JWT_SECRET"].encode(),
    }
    for name, key in candidates.items():
        await _assert_refused(gateway_url, _hs256({**header, "alg": "HS256"}, claims, key), name)


async def test_tampered_tokens_are_refused(gateway_url, user, register_user):
    token = user["access_token"]
    header, payload, signature = token.split(".")
    other = await register_user()
    _, claims = _parts(token)
    for change in ({"sub": other["user_id"]}, {"exp": claims["exp"] + 3600}, {"aud": "x"}):
        forged = _b64(json.dumps({**claims, **change}).encode())
        await _assert_refused(gateway_url, f"{header}.{forged}.{signature}", str(change))
    raw = bytearray(_unb64(signature))
    raw[0] ^= 1
    await _assert_refused(gateway_url, f"{header}.{payload}.{_b64(bytes(raw))}", "flipped signature")
    await _assert_refused(gateway_url, f"{header}.{payload}.", "no signature")
    await _assert_refused(gateway_url, "not.a.token", "garbage")


async def test_keys_the_gateway_does_not_trust(gateway_url, user):
    header, claims = _parts(user["access_token"])
    attacker = Ed25519PrivateKey.generate()
    # Its own key id (the gateway refetches the JWKS once, finds nothing) and auth's key id.
    for kid in ("attacker-key", header["kid"]):
        forged = jwt.encode(claims, attacker, algorithm="EdDSA", headers={"kid": kid})
        await _assert_refused(gateway_url, forged, kid)
    no_kid = jwt.encode(claims, attacker, algorithm="EdDSA")
    await _assert_refused(gateway_url, no_kid, "no kid")


@pytest.fixture(scope="module")
async def insider_key(stack: Stack, jwks):
    """auth's active signing key, as auth itself opens it (see the module docstring)."""
    from pm_auth.domain.vault import KeyRing, MasterKey
    from pm_auth.storage.signing_keys import published_keys
    from pm_auth.usecases.keys import open_signing_key

    conn = await asyncpg.connect(stack.database_url(stack.spec("auth")))
    try:
        rows = await published_keys(conn, datetime.now(UTC))
    finally:
        await conn.close()
    # The key auth runs with now: its key file (rotation rewrites it), not the first one in .state/env.
    master_key_file = Path(stack.service_env("auth")["MASTER_KEY_FILE"])
    ring = KeyRing(MasterKey.from_base64(master_key_file.read_text().strip()))
    row = next(r for r in rows if r.retired_at is None)
    key = open_signing_key(ring, row)
    return row.kid, Ed25519PrivateKey.from_private_bytes(key.private)


def _mint(insider_key, user: dict, **changes) -> str:
    kid, key = insider_key
    _, claims = _parts(user["access_token"])
    claims.update(changes)
    return jwt.encode(
        {k: v for k, v in claims.items() if v is not None}, key, algorithm="EdDSA", headers={"kid": kid}
    )


async def test_claims_are_checked(gateway_url, stack: Stack, user, insider_key):
    now = int(time.time())
    # The control: the insider's token with the real claims is accepted, so each refusal below is
    # about the one claim that changed.
    assert await _me_status(gateway_url, _mint(insider_key, user, iat=now, nbf=now, exp=now + 600)) == 200
    cases = {
        "expired": {"iat": now - 3600, "nbf": now - 3600, "exp": now - 1800},
        "not yet valid": {"nbf": now + 3600},
        "issued in the future": {"iat": now + 3600},
        "no expiry": {"exp": None},
        "wrong issuer": {"iss": "https://evil.example"},
        "wrong audience": {"aud": "another-api"},
        "no session": {"sid": None},
    }
    for reason, change in cases.items():
        await _assert_refused(gateway_url, _mint(insider_key, user, **change), reason)


async def _until_status(gateway_url: str, token: str, status: int) -> int:
    deadline = time.monotonic() + REVOCATION_WAIT_S
    while True:
        current = await _me_status(gateway_url, token)
        if current == status or time.monotonic() > deadline:
            return current
        await asyncio.sleep(0.3)


async def test_logout_revokes_the_sessions_access_tokens(gateway_url, user):
    token = user["access_token"]
    assert await _me_status(gateway_url, token) == 200
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{gateway_url}/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"}) as r,
    ):
        assert r.status == 204
    # The signature is still valid for 15 minutes; the gateway refuses it because of session.revoked.
    assert await _until_status(gateway_url, token, 401) == 401


async def test_refresh_token_reuse_revokes_the_session(gateway_url, user):
    headers = {"X-Forwarded-For": user["ip"]}
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{gateway_url}/api/v1/auth/refresh",
            json={"refresh_token": user["refresh_token"]},
            headers=headers,
        ) as r:
            assert r.status == 200, await r.text()
            rotated = await r.json()
        assert await _me_status(gateway_url, rotated["access_token"]) == 200
        async with session.post(
            f"{gateway_url}/api/v1/auth/refresh",
            json={"refresh_token": user["refresh_token"]},
            headers=headers,
        ) as r:
            assert r.status == 401  # the used token again: the whole family is revoked
    assert await _until_status(gateway_url, rotated["access_token"], 401) == 401


async def test_identity_headers_from_outside_are_ignored(gateway_url, stack: Stack, user, register_user):
    victim = await register_user()
    # Even an assertion signed with the gateway's own identity key does not pass the gateway from outside.
    forged = IdentitySigner(base64.b64decode(stack.secrets[IDENTITY_SIGNING_KEY])).sign(
        Identity(uuid.UUID(victim["user_id"]), uuid.UUID(victim["session_id"]))
    )
    alone = await _get(gateway_url, "/api/v1/me", None, **{"X-PM-Identity": forged})
    assert alone.status == 401
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{gateway_url}/api/v1/me",
            headers={"Authorization": f"Bearer {user['access_token']}", "X-PM-Identity": forged},
        ) as r,
    ):
        assert r.status == 200
        assert (await r.json())["id"] == user["user_id"]


async def test_a_service_refuses_identities_minted_by_another_service(stack: Stack, register_user):
    """A compromised service holds SERVICE_TOKEN but not the gateway's identity key: calling auth directly
    (its own port, bypassing the gateway) with an identity it minted gets nothing."""
    victim = await register_user()
    identity = Identity(uuid.UUID(victim["user_id"]), uuid.UUID(victim["session_id"]))
    service_token = stack.secrets[SERVICE_TOKEN]
    signing_key = base64.b64decode(stack.secrets[IDENTITY_SIGNING_KEY])
    gateway_kid = identity_key_id(raw_public_key(signing_key))
    impostor = IdentitySigner(secrets.token_bytes(32))
    impostor.kid = gateway_kid  # claims to be the gateway's key
    forgeries = {
        "HS256 keyed from SERVICE_TOKEN": insider_assertion(identity, service_token),
        "the same, naming the gateway's kid": insider_assertion(identity, service_token, gateway_kid),
        "HS256 keyed with the public key": _hs256(
            {"alg": "HS256", "kid": gateway_kid},
            _parts(impostor.sign(identity))[1],
            base64.b64encode(raw_public_key(signing_key)),
        ),
        "EdDSA under another key with the gateway's kid": impostor.sign(identity),
    }
    auth_url = stack.service_env("auth")["AUTH_URL"]
    async with aiohttp.ClientSession() as session:
        for name, assertion in forgeries.items():
            async with session.get(f"{auth_url}/api/v1/me", headers={"X-PM-Identity": assertion}) as r:
                assert r.status == 401, (name, r.status, await r.text())
        # The gateway's own key (only the gateway has it) is what auth accepts, reached the same way.
        genuine = IdentitySigner(signing_key).sign(identity)
        async with session.get(f"{auth_url}/api/v1/me", headers={"X-PM-Identity": genuine}) as r:
            assert r.status == 200, await r.text()
            assert (await r.json())["id"] == victim["user_id"]


async def test_another_users_resources_are_not_found(gateway_url, stack: Stack, user, register_user):
    other = await register_user()
    # A job of `user`, as the gateway stores it from job.updated.
    job_id, now = uuid.uuid4(), datetime.now(UTC)
    redis = aioredis.from_url(stack.redis_url())
    try:
        snapshot = JobUpdated(
            job_id=job_id,
            service="export",
            kind="export.playlist",
            user_id=uuid.UUID(user["user_id"]),
            state="running",
            progress=0.1,
            created_at=now,
            updated_at=now,
        )
        await redis.set(f"pm:gateway:job:{job_id}", snapshot.model_dump_json(), ex=600)
        assert (await _get(gateway_url, f"/api/v1/jobs/{job_id}", user["access_token"])).status == 200
        theirs = await _get(gateway_url, f"/api/v1/jobs/{job_id}", other["access_token"])
        assert theirs.status == 404
        assert (await _get(gateway_url, f"/api/v1/jobs/{job_id}/events", other["access_token"])).status == 404
    finally:
        await redis.delete(f"pm:gateway:job:{job_id}")
        await redis.aclose()
    # Another user's session can be neither seen nor revoked.
    async with (
        aiohttp.ClientSession() as session,
        session.delete(
            f"{gateway_url}/api/v1/sessions/{user['session_id']}",
            headers={"Authorization": f"Bearer {other['access_token']}"},
        ) as r,
    ):
        assert r.status == 404
    assert await _me_status(gateway_url, user["access_token"]) == 200


async def test_brute_force_login_is_rate_limited(gateway_url, user, client_ip):
    statuses = []
    async with aiohttp.ClientSession() as session:
        for attempt in range(10):
            async with session.post(
                f"{gateway_url}/api/v1/auth/login",
                json={"email": user["email"], "password": f"guess-{attempt}-wrong"},
                headers={"X-Forwarded-For": client_ip},
            ) as r:
                statuses.append(r.status)
                if r.status == 429:
                    assert int(r.headers["Retry-After"]) >= 1
                    assert r.headers["RateLimit-Remaining"] == "0"
                    assert r.content_type == "application/problem+json"
                    break
    assert statuses[-1] == 429, statuses
    assert set(statuses[:-1]) == {401}, statuses
    assert len(statuses) <= 6  # 5 per minute (burst 5), the seed's figure


# ---- provider linking: the OAuth state and PKCE (auth, through the gateway and the emulator) ----------


async def _authorize(gateway_url: str, user: dict, provider: str = "spotify", mode: str = "poll") -> dict:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{gateway_url}/api/v1/auth/{provider}/authorize",
            json={"mode": mode},
            headers={"Authorization": f"Bearer {user['access_token']}"},
        ) as r,
    ):
        assert r.status == 200, await r.text()
        return await r.json()


def _browser() -> aiohttp.ClientSession:
    """A browser: keeps cookies, also for IP-literal hosts (the binding cookie of a link attempt)."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def _callback(
    browser: aiohttp.ClientSession, gateway_url: str, callback_url: str, ip: str
) -> aiohttp.ClientResponse:
    parts = urlsplit(callback_url)
    async with browser.get(
        f"{gateway_url}{parts.path}?{parts.query}", headers={"X-Forwarded-For": ip}, allow_redirects=False
    ) as r:
        await r.read()
        return r


async def _attempt(gateway_url: str, user: dict, attempt_id: str) -> dict:
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{gateway_url}/api/v1/auth/attempts/{attempt_id}",
            headers={"Authorization": f"Bearer {user['access_token']}"},
        ) as r,
    ):
        assert r.status == 200, await r.text()
        return await r.json()


async def test_oauth_state_is_single_use(gateway_url, user, consent):
    attempt = await _authorize(gateway_url, user)
    async with _browser() as browser:
        callback = await consent(browser, attempt["authorization_url"], user["ip"])
        first = await _callback(browser, gateway_url, callback, user["ip"])
        assert first.status < 400, first.status
        assert (await _attempt(gateway_url, user, attempt["attempt_id"]))["status"] == "succeeded"
        replay = await _callback(browser, gateway_url, callback, user["ip"])
        assert replay.status == 400
        forged = await _callback(
            browser, gateway_url, callback.split("state=")[0] + "state=" + "A" * 43, user["ip"]
        )
        assert forged.status == 400


async def test_oauth_callback_needs_the_browser_that_started(gateway_url, user, consent):
    """Account-linking CSRF: the consent done in another browser (no binding cookie) links nothing."""
    attempt = await _authorize(gateway_url, user)
    async with _browser() as initiator, _browser() as victim:
        callback = await consent(initiator, attempt["authorization_url"], user["ip"])
        stolen = await _callback(victim, gateway_url, callback, user["ip"])
        assert stolen.status == 400
        assert (await _attempt(gateway_url, user, attempt["attempt_id"]))["status"] == "pending"
        # Nor can the start URL be opened a second time (to bind another browser).
        async with victim.get(
            attempt["authorization_url"], headers={"X-Forwarded-For": user["ip"]}, allow_redirects=False
        ) as again:
            assert again.status == 409, await again.text()
        done = await _callback(initiator, gateway_url, callback, user["ip"])
        assert done.status < 400, done.status


async def test_oauth_state_expires(gateway_url, stack: Stack, user, consent):
    attempt = await _authorize(gateway_url, user)
    browser = _browser()
    callback = await consent(browser, attempt["authorization_url"], user["ip"])
    # Ten minutes pass (for this attempt only): the one write to auth's schema in this module.
    conn = await asyncpg.connect(stack.database_url(stack.spec("auth")))
    try:
        await conn.execute(
            "UPDATE oauth_attempts SET expires_at = $2 WHERE id = $1",
            uuid.UUID(attempt["attempt_id"]),
            datetime.now(UTC) - timedelta(seconds=1),
        )
    finally:
        await conn.close()
    late = await _callback(browser, gateway_url, callback, user["ip"])
    await browser.close()
    assert late.status == 400
    assert (await _attempt(gateway_url, user, attempt["attempt_id"]))["status"] == "expired"


async def test_pkce_mismatch_fails_the_link(gateway_url, user, consent):
    # The code of attempt A presented with the state of attempt B: auth redeems it with B's PKCE
    # verifier, which does not match A's challenge, so the provider refuses and B fails.
    a = await _authorize(gateway_url, user)
    b = await _authorize(gateway_url, user)
    async with _browser() as browser:
        callback_a = await consent(browser, a["authorization_url"], user["ip"])
        code = urlsplit(callback_a).query.split("code=")[1].split("&")[0]
        callback_b = await consent(browser, b["authorization_url"], user["ip"])
        parts = urlsplit(callback_b)
        state_b = parts.query.split("state=")[1].split("&")[0]
        await _callback(
            browser,
            gateway_url,
            f"{parts.scheme}://{parts.netloc}{parts.path}?code={code}&state={state_b}",
            user["ip"],
        )
    status = await _attempt(gateway_url, user, b["attempt_id"])
    assert status["status"] == "failed", status


async def test_a_malformed_callback_fails_the_attempt(gateway_url, user, consent):
    """A NUL byte in the callback's ``error`` (PostgreSQL refuses it in text): a clear failure of the
    attempt, never a 500 that leaves it pending with its state spent."""
    attempt = await _authorize(gateway_url, user)
    async with _browser() as browser:
        callback = await consent(browser, attempt["authorization_url"], user["ip"])
        parts = urlsplit(callback)
        state = parse_qs(parts.query)["state"][0]
        hostile = f"{parts.path}?error=access%00denied&error_description=%00&state={state}"
        answer = await _callback(browser, gateway_url, hostile, user["ip"])
        assert answer.status == 400, answer.status
    status = await _attempt(gateway_url, user, attempt["attempt_id"])
    assert (status["status"], status.get("error")) == ("failed", "invalid_callback"), status


async def test_a_provider_account_links_to_one_user(gateway_url, user, register_user, consent):
    """The Linking rule: the provider account another user linked cannot be linked again; the attempt
    fails with a reason the app can explain, and the second user has no link."""
    first = await _authorize(gateway_url, user)
    async with _browser() as browser:
        callback = await consent(browser, first["authorization_url"], user["ip"])
        assert (await _callback(browser, gateway_url, callback, user["ip"])).status < 400
    [link] = (await _json(gateway_url, "/api/v1/providers", user))["links"]
    other = await register_user()
    second = await _authorize(gateway_url, other)
    async with _browser() as browser:
        callback = await consent(
            browser, second["authorization_url"], other["ip"], account=link["account_id"]
        )
        await _callback(browser, gateway_url, callback, other["ip"])
    status = await _attempt(gateway_url, other, second["attempt_id"])
    assert (status["status"], status.get("error")) == ("failed", "account_already_linked"), status
    assert (await _json(gateway_url, "/api/v1/providers", other))["links"] == []
    assert (await _json(gateway_url, "/api/v1/providers", user))["links"] == [link]


@pytest.mark.parametrize(
    "return_to",
    [
        "https://evil.example/accounts",
        "//evil.example/accounts",
        "/\\evil.example/accounts",
        "http://localhost:3000@evil.example/",
        "http://localhost:3000.evil.example/",
        "javascript:alert(1)",
        "/accounts\r\nLocation: https://evil.example",
    ],
)
async def test_return_to_is_never_an_open_redirect(gateway_url, user, return_to):
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{gateway_url}/api/v1/auth/spotify/authorize",
            json={"mode": "redirect", "return_to": return_to},
            headers={"Authorization": f"Bearer {user['access_token']}"},
        ) as r,
    ):
        assert r.status == 422, await r.text()
        assert (await r.json())["type"].endswith("/invalid-return-to")


async def _json(gateway_url: str, path: str, user: dict) -> dict:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{gateway_url}{path}", headers={"Authorization": f"Bearer {user['access_token']}"}) as r,
    ):
        assert r.status == 200, await r.text()
        return await r.json()


# ---- credentials and passwords -----------------------------------------------------------------------


async def test_idempotency_keys_never_replay_credentials(gateway_url, stack: Stack, user):
    """A rotated refresh token replayed with the same Idempotency-Key from the same address reaches auth,
    which sees the reuse and revokes the session; no answer carrying tokens is kept in Redis."""
    from pm_gateway.domain.idempotency import Record

    headers = {"X-Forwarded-For": user["ip"], "Idempotency-Key": f"replay-{uuid.uuid4().hex}"}
    body = {"refresh_token": user["refresh_token"]}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{gateway_url}/api/v1/auth/refresh", json=body, headers=headers) as r:
            assert r.status == 200, await r.text()
            assert "Idempotent-Replayed" not in r.headers
            rotated = await r.json()
        async with session.post(f"{gateway_url}/api/v1/auth/refresh", json=body, headers=headers) as r:
            assert r.status == 401, await r.text()
            assert "Idempotent-Replayed" not in r.headers
            assert (await r.json())["type"].endswith("/refresh-token-reused")
    assert await _until_status(gateway_url, rotated["access_token"], 401) == 401
    redis = aioredis.from_url(stack.redis_url())
    try:
        async for key in redis.scan_iter(match="pm:gateway:idem:*", count=1000):
            raw = await redis.get(key)
            if raw is None:
                continue
            kept = json.dumps(Record.loads(raw).__dict__, default=str)
            for token in (user["refresh_token"], rotated["refresh_token"], rotated["access_token"]):
                assert token not in kept, key
    finally:
        await redis.aclose()


async def _login(session: aiohttp.ClientSession, gateway_url: str, email: str, password: str, ip: str):
    async with session.post(
        f"{gateway_url}/api/v1/auth/login",
        json={"email": email, "password": password, "device_name": "e2e"},
        headers={"X-Forwarded-For": ip},
    ) as r:
        body = await r.json()
        return r.status, body.get("type", ""), r.headers.get("Retry-After")


async def _guess_until_held(session: aiohttp.ClientSession, gateway_url: str, email: str) -> list[tuple]:
    """Wrong passwords for ``email``, each from an address of its own (so no per-address limit plays a
    part): at least 30, and on until an answer says the account must wait more than a second (so that
    an attempt sent at once still falls in the wait, however slow the machine)."""
    answers: list[tuple] = []
    while len(answers) < 30 or not (answers[-1][0] == 429 and int(answers[-1][2]) >= 2):
        assert len(answers) < 200, answers
        answer = await _login(
            session, gateway_url, email, f"guess {len(answers)} wrong", simulated_client_ip()
        )
        answers.append(answer)
        if answer[0] == 429 and len(answers) >= 30:
            await asyncio.sleep(0.25)
    return answers


async def test_password_guesses_from_many_addresses_are_throttled_per_account(gateway_url, user):
    """30 addresses guessing one account's password, then the right password from yet another one: held
    (the count is per account, not per address). An e-mail without an account is answered exactly
    alike (no existence leak), and the owner, from the address that proved the password before, is not
    locked out by the attackers."""
    unknown = f"nobody-{uuid.uuid4().hex[:12]}@example.com"
    async with aiohttp.ClientSession() as session:
        for email in (unknown, user["email"]):
            answers = await _guess_until_held(session, gateway_url, email)
            assert [status for status, _, _ in answers[:5]] == [401] * 5, answers
            assert {kind.rsplit("/", 1)[1] for status, kind, _ in answers} == {
                "invalid-credentials",
                "too-many-attempts",
            }, answers
        right = await _login(session, gateway_url, user["email"], user["password"], simulated_client_ip())
        assert right[:2] == (429, "https://playlist-manager.dev/problems/too-many-attempts"), right
        owner = await _login(session, gateway_url, user["email"], user["password"], user["ip"])
        assert owner[0] == 200, owner


async def test_every_password_check_has_the_login_limits(gateway_url, user):
    """Changing the password and deleting the account check the current password: the login's rate class
    (per address and per user), not the general one."""
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{gateway_url}/api/v1/auth/login",
            json={"email": f"nobody-{uuid.uuid4().hex[:12]}@example.com", "password": "not it at all"},
            headers={"X-Forwarded-For": simulated_client_ip()},
        ) as r:
            login_limit = r.headers["RateLimit-Limit"]
        bearer = {"Authorization": f"Bearer {user['access_token']}", "X-Forwarded-For": user["ip"]}
        async with session.get(f"{gateway_url}/api/v1/me", headers=bearer) as r:
            assert r.headers["RateLimit-Limit"] != login_limit  # the general class, for contrast
        async with session.post(
            f"{gateway_url}/api/v1/me/password",
            json={"current_password": "not the password", "new_password": "Unrelated Gallop 8 Kettles"},
            headers=bearer,
        ) as r:
            assert r.status == 403, await r.text()
            assert r.headers["RateLimit-Limit"] == login_limit
        async with session.delete(
            f"{gateway_url}/api/v1/me", json={"password": "not the password"}, headers=bearer
        ) as r:
            assert r.status == 403, await r.text()
            assert r.headers["RateLimit-Limit"] == login_limit


WEAK_PASSWORDS = {
    "repeated with a digit": "aaaaaaaaa1",
    "one letter, capitalised": "Aaaaaaaaaa",
    "ten spaces and a letter": " " * 10 + "a",
    "a NUL character": "correct horse\x00battery staple",
    "a line break": "correct horse\nbattery staple",
    "common": "password123",
    "keyboard row": "qwertyuiop",
    "too short": "Gx7#q",
    "the product's name": "playlistmanager",
}


@pytest.mark.parametrize("name", list(WEAK_PASSWORDS))
async def test_weak_passwords_are_refused(gateway_url, user, name):
    password = WEAK_PASSWORDS[name]
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{gateway_url}/api/v1/auth/register",
            json={"email": f"weak-{uuid.uuid4().hex[:12]}@example.com", "password": password},
            headers={"X-Forwarded-For": simulated_client_ip()},
        ) as r:
            assert r.status == 422, await r.text()
            assert (await r.json())["type"].endswith("/weak-password")
        async with session.post(
            f"{gateway_url}/api/v1/me/password",
            json={"current_password": user["password"], "new_password": password},
            headers={"Authorization": f"Bearer {user['access_token']}", "X-Forwarded-For": user["ip"]},
        ) as r:
            assert r.status == 422, await r.text()
            assert (await r.json())["type"].endswith("/weak-password")
    assert await _me_status(gateway_url, user["access_token"]) == 200  # nothing changed


async def test_the_e_mail_is_no_password(gateway_url):
    local = f"melodic{uuid.uuid4().hex[:6]}"
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{gateway_url}/api/v1/auth/register",
            json={"email": f"{local}@example.com", "password": f"{local}@example.com"},
            headers={"X-Forwarded-For": simulated_client_ip()},
        ) as r,
    ):
        assert r.status == 422, await r.text()
        assert (await r.json())["type"].endswith("/weak-password")
