"""Keys: master-key rotation (dry run, idempotence, reload without restart, the CLI), signing-key
rotation and the JWKS, the HS256 fallback."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from unittest import mock

import jwt
import pytest

from pm_auth.app import definition
from pm_auth.domain import vault
from pm_auth.domain.tokens import SigningKey, verify_access_token
from pm_auth.domain.vault import KeyRing, MasterKey
from pm_auth.resources import AUTH
from pm_auth.usecases.keys import create_signing_key, rotate_master_key
from pm_platform.testing import running_service

from .conftest import Auth, Emulator, auth_env, link, new_master_key, register_and_login

pytestmark = pytest.mark.integration


def ring(current: str, previous: str | None = None) -> KeyRing:
    return KeyRing(MasterKey.from_base64(current), MasterKey.from_base64(previous) if previous else None)


async def test_master_key_rotation_dry_run_idempotent_and_online(auth: Auth, emulator: Emulator):
    account = await register_and_login(auth)
    await link(auth, account, "tidal")
    await link(auth, account, "deezer")
    old, new = auth.master_key, new_master_key()
    ctx = auth.rt[AUTH]

    # 1. The running service takes the new key (SIGHUP / watcher path): new records under the new key,
    #    old ones still open through MASTER_KEY_PREVIOUS.
    with mock.patch.dict(os.environ, {"MASTER_KEY": new, "MASTER_KEY_PREVIOUS": old}):
        assert await ctx.master.reload() is True
    ok = await auth.client.post(
        f"/internal/provider-tokens/{account.user_id}/tidal", headers=auth.service_headers()
    )
    assert ok.status == 200

    async with auth.rt.pool.acquire() as conn:
        dry = await rotate_master_key(conn, ring(new, old), dry_run=True)
        assert dry.tables["provider_links"].rewrapped == 0
        assert dry.tables["provider_links"].under_previous >= 2
        assert dry.tables["signing_keys"].under_previous >= 1
        assert dry.remaining > 0
        before = await conn.fetchval(
            "SELECT count(*) FROM provider_links WHERE key_id = $1", MasterKey.from_base64(old).key_id
        )
        assert before == dry.tables["provider_links"].under_previous  # a dry run changed nothing

        done = await rotate_master_key(conn, ring(new, old), dry_run=False)
        assert done.remaining == 0
        assert done.tables["provider_links"].rewrapped == dry.tables["provider_links"].under_previous
        again = await rotate_master_key(conn, ring(new, old), dry_run=False)
        assert again.remaining == 0 and all(t.rewrapped == 0 for t in again.tables.values())

    # 2. Drop the previous key: everything still opens, logins still sign.
    with mock.patch.dict(os.environ, {"MASTER_KEY": new, "MASTER_KEY_PREVIOUS": ""}):
        assert await ctx.master.reload() is True
    assert ctx.master.ring.previous is None
    assert ctx.signing is not None
    ctx.signing.invalidate()
    for provider in ("tidal", "deezer"):
        r = await auth.client.post(
            f"/internal/provider-tokens/{account.user_id}/{provider}", headers=auth.service_headers()
        )
        assert r.status == 200, await r.text()
    assert (await register_and_login(auth)).access_token
    # A broken key file does not take the service down: the ring stays.
    with mock.patch.dict(os.environ, {"MASTER_KEY": "not-base64!"}):
        assert await ctx.master.reload() is False
    assert ctx.master.ring.current.key_id == MasterKey.from_base64(new).key_id
    auth.master_key = new


async def test_rotation_ends_when_rows_cannot_be_rewrapped(auth: Auth, monkeypatch: pytest.MonkeyPatch):
    """More unopenable rows than a batch holds: the command passes over them instead of looping."""
    monkeypatch.setattr("pm_auth.usecases.keys.BATCH", 2)
    account = await register_and_login(auth)
    old, new = new_master_key(), new_master_key()
    old_ring = ring(old)
    ids = [uuid.uuid4() for _ in range(6)]
    rows = []
    for i, attempt_id in enumerate(ids):
        if i == 3:  # one good row among broken ones
            _, wrapped = vault.new_data_key(old_ring, vault.record_name("oauth_attempts", attempt_id))
        else:
            wrapped = vault.WrappedKey(old_ring.current.key_id, secrets.token_bytes(60))
        rows.append((attempt_id, uuid.UUID(account.user_id), wrapped.key_id, wrapped.wrapped))
    async with auth.rt.pool.acquire() as conn:
        await conn.executemany(
            """INSERT INTO oauth_attempts (id, user_id, provider, mode, key_id, wrapped_key, expires_at)
               VALUES ($1, $2, 'tidal', 'poll', $3, $4, now() + interval '10 minutes')""",
            rows,
        )
        try:
            report = await asyncio.wait_for(rotate_master_key(conn, ring(new, old), dry_run=False), 30)
        finally:
            await conn.execute("DELETE FROM oauth_attempts WHERE id = ANY($1::uuid[])", ids)
    attempts = report.tables["oauth_attempts"]
    assert (attempts.rewrapped, attempts.failed, attempts.under_previous) == (1, 5, 5)


async def test_a_reload_that_would_break_auth_is_refused(auth: Auth):
    """Rotating MASTER_KEY without MASTER_KEY_PREVIOUS: the rows (and the signing key) under the old key
    could not be opened any more. The reload is refused, the old ring stays, /health says why."""
    account = await register_and_login(auth)
    ctx = auth.rt[AUTH]
    before = ctx.master.ring
    with mock.patch.dict(os.environ, {"MASTER_KEY": new_master_key(), "MASTER_KEY_PREVIOUS": ""}):
        assert await ctx.master.reload() is False
    assert ctx.master.ring is before
    assert ctx.signing is not None
    ctx.signing.invalidate()
    assert (await register_and_login(auth)).access_token  # logins still sign
    assert (await auth.client.get("/.well-known/jwks.json")).status == 200
    health = await (await auth.client.get("/health")).json()
    keys = health["checks"]["keys"]
    assert keys["current_key_id"] == before.current.key_id
    assert "signing_keys" in keys["reload_error"] and "MASTER_KEY_PREVIOUS" in keys["reload_error"]
    # A good reload (the same keys) clears the warning.
    with mock.patch.dict(os.environ, {"MASTER_KEY": auth.master_key, "MASTER_KEY_PREVIOUS": ""}):
        assert await ctx.master.reload() is False  # unchanged
    assert ctx.master.describe()["reload_error"] is None
    assert account.access_token


async def test_sighup_rereads_the_key_files(service_env_factory, emulator: Emulator, tmp_path: Path):
    first, second = new_master_key(), new_master_key()
    current, previous = tmp_path / "master_key", tmp_path / "master_key_previous"
    current.write_text(first + "\n")
    previous.write_text("\n")
    env = await auth_env(service_env_factory, emulator.base, first)
    del env["MASTER_KEY"]
    env |= {
        "MASTER_KEY_FILE": str(current),
        "MASTER_KEY_PREVIOUS_FILE": str(previous),
        "MASTER_KEY_WATCH_INTERVAL_S": "0.2",
    }
    with mock.patch.dict(os.environ, env):
        async with running_service(definition(), env) as (client, rt):
            ctx = rt[AUTH]
            assert ctx.master.ring.current.key_id == MasterKey.from_base64(first).key_id
            previous.write_text(first + "\n")
            current.write_text(second + "\n")
            os.kill(os.getpid(), signal.SIGHUP)
            for _ in range(50):
                if ctx.master.ring.current.key_id == MasterKey.from_base64(second).key_id:
                    break
                await asyncio.sleep(0.1)
            assert ctx.master.describe() == {
                "current_key_id": MasterKey.from_base64(second).key_id,
                "previous_key_id": MasterKey.from_base64(first).key_id,
                "reload_error": None,
            }
            health = await (await client.get("/health")).json()
            assert health["checks"]["keys"]["current_key_id"] == MasterKey.from_base64(second).key_id


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pm_auth", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_cli_commands(auth: Auth):
    env = dict(auth.env) | {"MASTER_KEY": auth.master_key}
    dry = await asyncio.to_thread(_cli, env, "rotate-master-key", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    report = json.loads(dry.stdout)
    assert report["dry_run"] is True and "provider_links" in report["tables"]
    bad = await asyncio.to_thread(_cli, env, "rotate-master-key", "--nope")
    assert bad.returncode == 2
    before = {k["kid"] for k in (await (await auth.client.get("/.well-known/jwks.json")).json())["keys"]}
    rotated = await asyncio.to_thread(_cli, env, "rotate-signing-key")
    assert rotated.returncode == 0, rotated.stderr
    kid = json.loads(rotated.stdout)["kid"]
    ctx = auth.rt[AUTH]
    assert ctx.signing is not None
    ctx.signing.invalidate()  # the service would notice within seconds by itself
    published = {k["kid"] for k in (await (await auth.client.get("/.well-known/jwks.json")).json())["keys"]}
    assert kid in published and before <= published  # retired keys stay published
    account = await register_and_login(auth)
    assert jwt.get_unverified_header(account.access_token)["kid"] == kid


async def test_signing_key_rotation_keeps_old_tokens_verifiable(auth: Auth):
    old_account = await register_and_login(auth)
    ctx = auth.rt[AUTH]
    assert ctx.signing is not None
    async with auth.rt.transaction() as conn:
        await create_signing_key(conn, ctx.master.ring, retire_others=True)
    ctx.signing.invalidate()
    new_account = await register_and_login(auth)
    jwks = (await (await auth.client.get("/.well-known/jwks.json")).json())["keys"]
    keys = [SigningKey(k["kid"], base64.urlsafe_b64decode(k["x"] + "=")) for k in jwks]
    issuer = auth.env["API_BASE_URL"]
    for account in (old_account, new_account):
        assert verify_access_token(account.access_token, issuer, keys)["sub"] == account.user_id


async def test_hs256_fallback(service_env_factory, emulator: Emulator):
    env = await auth_env(service_env_factory, emulator.base, new_master_key()) | {"AUTH_TOKEN_ALG": "HS256"}
    async with running_service(definition(), env) as (client, _):
        r = await client.post(
            "/api/v1/auth/register", json={"email": "hs@example.com", "password": "Hs256-fallback"}
        )
        assert r.status == 201
        tokens = await (
            await client.post(
                "/api/v1/auth/login", json={"email": "hs@example.com", "password": "Hs256-fallback"}
            )
        ).json()
        claims = jwt.decode(
            tokens["access_token"], env["JWT_SECRET"], algorithms=["HS256"], audience="playlist-manager"
        )
        assert claims["iss"] == env["API_BASE_URL"]
        assert (await (await client.get("/.well-known/jwks.json")).json()) == {"keys": []}
