"""Keys: master-key rotation (dry run, idempotence, reload without restart, the CLI), signing-key
rotation and the JWKS, the HS256 fallback."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from unittest import mock

import jwt
import pytest

from pm_auth.app import definition
from pm_auth.commands import rotate_master_key
from pm_auth.context import auth_context
from pm_auth.domain.tokens import SigningKey, verify_access_token
from pm_auth.domain.vault import KeyRing, MasterKey
from pm_auth.keys import create_signing_key
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
    ctx = auth_context(auth.rt)

    # 1. The running service takes the new key (SIGHUP / watcher path): new records under the new key,
    #    old ones still open through MASTER_KEY_PREVIOUS.
    with mock.patch.dict(os.environ, {"MASTER_KEY": new, "MASTER_KEY_PREVIOUS": old}):
        assert ctx.master.reload() is True
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
        assert ctx.master.reload() is True
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
        assert ctx.master.reload() is False
    assert ctx.master.ring.current.key_id == MasterKey.from_base64(new).key_id
    auth.master_key = new


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
            ctx = auth_context(rt)
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
    ctx = auth_context(auth.rt)
    assert ctx.signing is not None
    ctx.signing.invalidate()  # the service would notice within seconds by itself
    published = {k["kid"] for k in (await (await auth.client.get("/.well-known/jwks.json")).json())["keys"]}
    assert kid in published and before <= published  # retired keys stay published
    account = await register_and_login(auth)
    assert jwt.get_unverified_header(account.access_token)["kid"] == kid


async def test_signing_key_rotation_keeps_old_tokens_verifiable(auth: Auth):
    old_account = await register_and_login(auth)
    ctx = auth_context(auth.rt)
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
