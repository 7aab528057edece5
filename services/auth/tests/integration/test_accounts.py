"""Accounts and sessions over the real service: registration, login, refresh rotation and reuse
detection, sessions, password change, deletion, bad input, login timing."""

from __future__ import annotations

import base64
import statistics
import time
import uuid

import pytest

from pm_auth.domain.tokens import SigningKey, verify_access_token

from .conftest import PASSWORD, Auth, login, problem_of, register_and_login

pytestmark = pytest.mark.integration


async def test_register_login_me_and_token_claims(auth: Auth):
    account = await register_and_login(auth)
    me = await auth.client.get("/api/v1/me", headers=account.headers)
    assert me.status == 200
    assert (await me.json())["email"] == account.email
    jwks = await (await auth.client.get("/.well-known/jwks.json")).json()
    keys = [SigningKey(k["kid"], base64.urlsafe_b64decode(k["x"] + "=")) for k in jwks["keys"]]
    claims = verify_access_token(account.access_token, auth.env["API_BASE_URL"], keys)
    assert claims["sub"] == account.user_id and claims["sid"] == account.session_id
    assert claims["aud"] == "playlist-manager" and claims["exp"] - claims["iat"] == 900
    registered = await auth.events(account.user_id, "user.registered")
    assert len(registered) == 1 and registered[0]["data"]["user_id"] == account.user_id


async def test_duplicate_email_is_a_conflict(auth: Auth):
    account = await register_and_login(auth)
    again = await auth.client.post(
        "/api/v1/auth/register", json={"email": account.email.upper(), "password": PASSWORD}
    )
    assert again.status == 409
    problem_of(again)
    assert (await again.json())["type"].endswith("/email-taken")


async def test_refresh_rotates_and_reuse_revokes_the_family(auth: Auth):
    account = await register_and_login(auth)
    first = await auth.client.post("/api/v1/auth/refresh", json={"refresh_token": account.refresh_token})
    assert first.status == 200, await first.text()
    rotated = await first.json()
    assert rotated["refresh_token"] != account.refresh_token
    assert rotated["session_id"] == account.session_id
    # Only hashes are stored.
    rows = await auth.fetch(
        "SELECT token_hash FROM refresh_tokens WHERE session_id = $1", uuid.UUID(account.session_id)
    )
    assert len(rows) == 2
    assert all(account.refresh_token.encode() not in bytes(r["token_hash"]) for r in rows)

    reuse = await auth.client.post("/api/v1/auth/refresh", json={"refresh_token": account.refresh_token})
    assert reuse.status == 401
    problem_of(reuse)
    assert (await reuse.json())["type"].endswith("/refresh-token-reused")
    # The whole family is dead: the newest token too, and the session's access.
    newest = await auth.client.post("/api/v1/auth/refresh", json={"refresh_token": rotated["refresh_token"]})
    assert newest.status == 401
    me = await auth.client.get("/api/v1/me", headers=account.headers)
    assert me.status == 401
    revoked = await auth.events(account.user_id, "session.revoked")
    assert [e["data"]["reason"] for e in revoked] == ["refresh_reuse"]
    assert revoked[0]["data"]["session_id"] == account.session_id


async def test_sessions_list_revoke_one_all_and_logout(auth: Auth):
    phone = await register_and_login(auth, device="phone")
    laptop = await login(auth, phone.email, phone.user_id, device="laptop")
    tablet = await login(auth, phone.email, phone.user_id, device="tablet")
    listed = await (await auth.client.get("/api/v1/sessions", headers=laptop.headers)).json()
    by_device = {s["device_name"]: s for s in listed["sessions"]}
    assert set(by_device) == {"phone", "laptop", "tablet"}
    assert by_device["laptop"]["current"] and not by_device["phone"]["current"]
    assert by_device["phone"]["ip"] == "198.51.100.7" and by_device["phone"]["user_agent"] == "pm-tests/1.0"
    assert by_device["phone"]["last_used_at"]

    gone = await auth.client.delete(f"/api/v1/sessions/{phone.session_id}", headers=laptop.headers)
    assert gone.status == 204
    assert (await auth.client.get("/api/v1/me", headers=phone.headers)).status == 401
    missing = await auth.client.delete(f"/api/v1/sessions/{uuid.uuid4()}", headers=laptop.headers)
    assert missing.status == 404

    others = await auth.client.delete("/api/v1/sessions", headers=laptop.headers)
    assert others.status == 204
    assert (await auth.client.get("/api/v1/me", headers=tablet.headers)).status == 401
    left = await (await auth.client.get("/api/v1/sessions", headers=laptop.headers)).json()
    assert [s["device_name"] for s in left["sessions"]] == ["laptop"]

    out = await auth.client.post("/api/v1/auth/logout", headers=laptop.headers)
    assert out.status == 204
    assert (await auth.client.get("/api/v1/me", headers=laptop.headers)).status == 401
    refresh = await auth.client.post("/api/v1/auth/refresh", json={"refresh_token": laptop.refresh_token})
    assert refresh.status == 401
    reasons = sorted(e["data"]["reason"] for e in await auth.events(phone.user_id, "session.revoked"))
    assert reasons == ["logout", "user_revoked", "user_revoked"]


async def test_a_session_records_the_client_address_the_gateway_identified(auth: Auth):
    account = await register_and_login(auth, device="via gateway")  # sealed X-PM-Client-IP: 198.51.100.7
    email = account.email

    async def ip_of(session_id: str) -> str | None:
        rows = await auth.fetch("SELECT ip FROM sessions WHERE id = $1", uuid.UUID(session_id))
        return rows[0]["ip"]

    assert await ip_of(account.session_id) == "198.51.100.7"
    # A direct call (no gateway): the TCP peer, whatever X-Forwarded-For claims.
    direct = await auth.client.post(
        "/api/v1/auth/login",
        json={"email": email, "password": PASSWORD},
        headers={"X-Forwarded-For": "203.0.113.50"},
    )
    assert direct.status == 200
    assert await ip_of((await direct.json())["session_id"]) == "127.0.0.1"
    # Not an address, even sealed: not trusted either.
    junk = await auth.client.post(
        "/api/v1/auth/login",
        json={"email": email, "password": PASSWORD},
        headers={**auth.from_client("203.0.113.1, 10.0.0.1"), "X-Forwarded-For": "203.0.113.50"},
    )
    assert junk.status == 200
    assert await ip_of((await junk.json())["session_id"]) == "127.0.0.1"
    # A refresh records where the session is used from now.
    refreshed = await auth.client.post(
        "/api/v1/auth/refresh",
        json={"refresh_token": account.refresh_token},
        headers={**auth.from_client("2001:db8::7"), "X-Forwarded-For": "203.0.113.50"},
    )
    assert refreshed.status == 200
    assert await ip_of(account.session_id) == "2001:db8::7"


async def test_password_change_revokes_the_other_sessions(auth: Auth):
    one = await register_and_login(auth, device="one")
    two = await login(auth, one.email, one.user_id, device="two")
    wrong = await auth.client.post(
        "/api/v1/me/password",
        json={"current_password": "not-it-at-all-1", "new_password": "An0ther-g00d-one"},
        headers=one.headers,
    )
    assert wrong.status == 403
    weak = await auth.client.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "short"},
        headers=one.headers,
    )
    assert weak.status == 422
    changed = await auth.client.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "An0ther-g00d-one"},
        headers=one.headers,
    )
    assert changed.status == 204
    assert (await auth.client.get("/api/v1/me", headers=one.headers)).status == 200
    assert (await auth.client.get("/api/v1/me", headers=two.headers)).status == 401
    old = await auth.client.post("/api/v1/auth/login", json={"email": one.email, "password": PASSWORD})
    assert old.status == 401
    new = await auth.client.post(
        "/api/v1/auth/login", json={"email": one.email, "password": "An0ther-g00d-one"}
    )
    assert new.status == 200
    assert [e["data"]["reason"] for e in await auth.events(one.user_id, "session.revoked")] == [
        "password_changed"
    ]


@pytest.mark.parametrize(
    ("path", "body", "content_type", "status"),
    [
        ("/api/v1/auth/register", b"{not json", "application/json", 400),
        ("/api/v1/auth/register", b'{"email": 5, "password": "Xx-1234567890"}', "application/json", 422),
        ("/api/v1/auth/register", b'{"email": "a@example.com", "password": ["x"]}', "application/json", 422),
        (
            "/api/v1/auth/register",
            b'{"email": "a@example.com", "password": "Xx-12345678", "admin": true}',
            "application/json",
            422,
        ),
        (
            "/api/v1/auth/register",
            b'{"email": "not-an-email", "password": "Xx-1234567890"}',
            "application/json",
            422,
        ),
        (
            "/api/v1/auth/register",
            b'{"email": "a@example.com", "password": "aaaaaaaaaaaa"}',
            "application/json",
            422,
        ),
        (
            "/api/v1/auth/register",
            b'{"email": "a@example.com", "password": "Short-1"}',
            "application/json",
            422,
        ),
        (
            "/api/v1/auth/register",
            b'{"email": "alice@example.com", "password": "alice-Rocks-2026"}',
            "application/json",
            422,
        ),
        (
            "/api/v1/auth/register",
            b'{"email": "a@example.com", "password": "Password123"}',
            "application/json",
            422,
        ),
        ("/api/v1/auth/register", b"[]", "application/json", 422),
        ("/api/v1/auth/register", b"null", "application/json", 422),
        ("/api/v1/auth/register", b"email=a", "application/x-www-form-urlencoded", 415),
        ("/api/v1/auth/register", b'{"email": "' + b"a" * 40_000 + b'"}', "application/json", 413),
        ("/api/v1/auth/login", b'{"email": "a@example.com"}', "application/json", 422),
        ("/api/v1/auth/login", b'{"email": "x", "password": "y"}', "application/json", 422),
        ("/api/v1/auth/refresh", b'{"refresh_token": 12}', "application/json", 422),
        ("/api/v1/auth/refresh", b'{"refresh_token": "never-issued"}', "application/json", 401),
    ],
)
async def test_bad_input_is_a_4xx_problem(auth: Auth, path, body, content_type, status):
    response = await auth.client.post(path, data=body, headers={"Content-Type": content_type})
    assert response.status == status, await response.text()
    problem_of(response)
    assert (await response.json())["status"] == status


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("aaaaaaaaa1", "repetitive"),
        ("Aaaaaaaaaa", "repetitive"),
        (" " * 10 + "a", "repetitive"),
        ("Tr0ub4dor-\x00and-3", "control_character"),
        ("Tr0ub4dor-\tand-3", "control_character"),
        ("\x00" * 12, "control_character"),
        ("abcdefghijkl", "sequence"),
        ("qwertyuiop12", "sequence"),
        ("Password123", "common"),
        ("Sunshine2024", "guessable"),
        ("Playlist-Manager-77", "contains_product_name"),
        ("wonderland-Rocks-2026", "contains_email"),
    ],
)
async def test_weak_passwords_are_refused_with_the_rules_they_break(auth: Auth, password: str, code: str):
    email = f"user-{uuid.uuid4().hex[:8]}@wonderland.example.com"
    r = await auth.client.post("/api/v1/auth/register", json={"email": email, "password": password})
    assert r.status == 422, await r.text()
    problem_of(r)
    body = await r.json()
    assert body["type"].endswith("/weak-password")
    assert all(e["field"] == "password" and e["message"] and e["type"] for e in body["errors"])
    assert code in [e["type"] for e in body["errors"]], body["errors"]
    assert await auth.fetch("SELECT 1 FROM users WHERE email = $1", email) == []


async def test_unauthenticated_and_forged_identity_are_refused(auth: Auth):
    assert (await auth.client.get("/api/v1/me")).status == 401
    forged = await auth.client.get("/api/v1/me", headers={"X-PM-Identity": "eyJhbGciOiJub25lIn0.e30."})
    assert forged.status == 401
    problem_of(forged)
    unknown = auth.identity(uuid.uuid4(), uuid.uuid4())
    assert (await auth.client.get("/api/v1/sessions", headers=unknown)).status == 401


async def test_failed_login_is_the_same_for_unknown_user_and_wrong_password(auth: Auth, capsys):
    account = await register_and_login(auth)

    async def attempt(email: str) -> tuple[float, int, dict]:
        started = time.perf_counter()
        r = await auth.client.post("/api/v1/auth/login", json={"email": email, "password": "Wrong-pass-123"})
        elapsed = time.perf_counter() - started
        body = await r.json()
        return elapsed, r.status, {k: v for k, v in body.items() if k not in ("correlation_id",)}

    # Three accounts, so that no e-mail reaches the per-account throttle (test_throttling.py).
    accounts = [account, await register_and_login(auth), await register_and_login(auth)]
    unknown, wrong = [], []
    for i in range(12):  # interleaved so load changes hit both alike
        unknown.append(await attempt(f"nobody-{uuid.uuid4().hex[:12]}@example.com"))
        wrong.append(await attempt(accounts[i % 3].email))
    assert {s for _, s, _ in unknown + wrong} == {401}
    assert unknown[0][2] == wrong[0][2]  # byte-for-byte the same problem
    median_unknown = statistics.median(t for t, _, _ in unknown)
    median_wrong = statistics.median(t for t, _, _ in wrong)
    with capsys.disabled():
        print(
            f"\nlogin failure medians: unknown user {median_unknown * 1000:.1f} ms, wrong password {median_wrong * 1000:.1f} ms"
        )
    # Loose: the same hash work either way, so neither is a multiple of the other.
    assert 0.5 < median_unknown / median_wrong < 2.0


async def test_account_deletion_removes_everything_and_announces_it(auth: Auth, emulator):
    from .conftest import link

    account = await register_and_login(auth, device="a")
    other = await login(auth, account.email, account.user_id, device="b")
    await link(auth, account, "deezer")
    wrong = await auth.client.delete(
        "/api/v1/me", json={"password": "Wrong-pass-123"}, headers=account.headers
    )
    assert wrong.status == 403
    deleted = await auth.client.delete("/api/v1/me", json={"password": PASSWORD}, headers=account.headers)
    assert deleted.status == 202, await deleted.text()
    user = uuid.UUID(account.user_id)
    for table, column in (
        ("users", "id"),
        ("sessions", "user_id"),
        ("provider_links", "user_id"),
        ("oauth_attempts", "user_id"),
        ("jobs", "user_id"),
    ):
        assert await auth.fetch(f"SELECT 1 FROM {table} WHERE {column} = $1", user) == [], table
    tokens = await auth.fetch(
        "SELECT 1 FROM refresh_tokens WHERE session_id = ANY($1::uuid[])",
        [uuid.UUID(account.session_id), uuid.UUID(other.session_id)],
    )
    assert tokens == []
    for sid in (account.session_id, other.session_id):
        assert await auth.rt.redis.exists(auth.rt.redis_key("session", sid)) == 0
    events = await auth.events(account.user_id)
    types = [e["type"] for e in events]
    assert types.count("user.deleted") == 1
    assert (
        sorted(e["data"]["reason"] for e in events if e["type"] == "session.revoked") == ["user_deleted"] * 2
    )
    assert (await auth.client.get("/api/v1/me", headers=other.headers)).status == 401
    relogin = await auth.client.post(
        "/api/v1/auth/login", json={"email": account.email, "password": PASSWORD}
    )
    assert relogin.status == 401


async def test_login_racing_the_account_deletion_is_a_401(auth: Auth, monkeypatch: pytest.MonkeyPatch):
    from pm_auth.storage import users as users_sql
    from pm_auth.usecases import accounts

    account = await register_and_login(auth)
    real = users_sql.user_by_email

    async def then_deleted(conn, email):  # the password checks out, then the account goes
        user = await real(conn, email)
        await auth.fetch("DELETE FROM users WHERE id = $1", uuid.UUID(account.user_id))
        return user

    monkeypatch.setattr(accounts.users_sql, "user_by_email", then_deleted)
    r = await auth.client.post("/api/v1/auth/login", json={"email": account.email, "password": PASSWORD})
    assert r.status == 401, await r.text()
    problem_of(r)
    assert (await r.json())["type"].endswith("/invalid-credentials")
