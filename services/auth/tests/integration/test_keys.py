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
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

import jwt
import pytest

from pm_auth.app import definition
from pm_auth.domain import vault
from pm_auth.domain.tokens import SigningKey, verify_access_token
from pm_auth.domain.vault import KeyRing, MasterKey
from pm_auth.resources import AUTH
from pm_auth.usecases.keys import (
    ACTIVATION_DELAY,
    SigningKeys,
    create_signing_key,
    rotate_master_key,
    rotate_signing_key,
)
from pm_platform.testing import running_service

from .conftest import PASSWORD, Auth, Emulator, auth_env, link, new_master_key, register_and_login

pytestmark = pytest.mark.integration


def ring(current: str, previous: str | None = None) -> KeyRing:
    return KeyRing(MasterKey.from_base64(current), MasterKey.from_base64(previous) if previous else None)


class Clock:
    """A wall clock the test moves (SigningKeys(now=...)): no waiting out ACTIVATION_DELAY."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def clocked_keys(auth: Auth, clock: Callable[[], datetime]) -> SigningKeys:
    """Signing keys over the service's database as another replica would see them at ``clock``."""
    ctx = auth.rt[AUTH]
    return SigningKeys(auth.rt.pool, ctx.master, ctx.settings.access_ttl, now=clock)


async def key_state(keys: SigningKeys) -> tuple[str, set[str]]:
    """(the active kid, the published kids), freshly loaded."""
    keys.invalidate()
    return (await keys.active()).kid, {k.kid for k in await keys.published()}


async def jwks_kids(auth: Auth) -> set[str]:
    return {k["kid"] for k in (await (await auth.client.get("/.well-known/jwks.json")).json())["keys"]}


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
    before = await jwks_kids(auth)
    rotated = await asyncio.to_thread(_cli, env, "rotate-signing-key")
    assert rotated.returncode == 0, rotated.stderr
    out = json.loads(rotated.stdout)
    kid, signs_from = out["kid"], datetime.fromisoformat(out["signs_from"])
    assert out["alg"] == "EdDSA" and signs_from.tzinfo is not None
    ctx = auth.rt[AUTH]
    assert ctx.signing is not None
    ctx.signing.invalidate()  # the service would notice within seconds by itself
    published = await jwks_kids(auth)
    assert kid in published and before <= published  # published at once; retired keys stay published
    account = await register_and_login(auth)
    assert jwt.get_unverified_header(account.access_token)["kid"] != kid  # not signing yet
    # It signs from signs_from on, not a microsecond earlier (a replica whose clock says so).
    assert (await key_state(clocked_keys(auth, lambda: signs_from)))[0] == kid
    assert (await key_state(clocked_keys(auth, lambda: signs_from - timedelta(microseconds=1))))[0] != kid


async def test_signing_key_rotation_keeps_old_tokens_verifiable(auth: Auth, monkeypatch: pytest.MonkeyPatch):
    clock = Clock()
    ctx = auth.rt[AUTH]
    monkeypatch.setattr(ctx, "signing", clocked_keys(auth, clock))  # the service, at the test's time
    old_account = await register_and_login(auth)
    async with auth.rt.transaction() as conn:
        new = await create_signing_key(conn, ctx.master.ring, retire_others=True)
    assert new.signs_from - ACTIVATION_DELAY <= datetime.now(UTC)
    during_account = await register_and_login(auth)  # the old key still signs
    clock.now = new.signs_from  # the new key signs
    assert ctx.signing is not None
    ctx.signing.invalidate()
    new_account = await register_and_login(auth)
    assert jwt.get_unverified_header(new_account.access_token)["kid"] == new.key.kid
    old_kid = jwt.get_unverified_header(old_account.access_token)["kid"]
    assert jwt.get_unverified_header(during_account.access_token)["kid"] == old_kid != new.key.kid
    jwks = (await (await auth.client.get("/.well-known/jwks.json")).json())["keys"]
    keys = [SigningKey(k["kid"], base64.urlsafe_b64decode(k["x"] + "=")) for k in jwks]
    issuer = auth.env["API_BASE_URL"]
    for account in (old_account, during_account, new_account):
        assert verify_access_token(account.access_token, issuer, keys)["sub"] == account.user_id


async def test_a_rotated_key_is_published_at_once_and_signs_after_the_activation_delay(auth: Auth):
    """Publish before use: every replica (each caching its JWKS for SIGNING_CACHE_S) publishes the new
    key before any of them signs with it."""
    clock = Clock()  # stands still unless moved: no race with the keys earlier tests rotated
    keys = clocked_keys(auth, clock)
    old, published_before = await key_state(keys)
    # The current key: the one that signs until the new one does (``old`` when no rotation is pending).
    [predecessor] = await auth.fetch("SELECT kid FROM signing_keys WHERE retired_at IS NULL")
    async with auth.rt.pool.acquire() as conn:
        new = await rotate_signing_key(conn, auth.rt[AUTH].master.ring)
    assert new.signs_from - ACTIVATION_DELAY <= datetime.now(UTC) < new.signs_from

    # Right after the rotation: the old key still signs, both are published.
    active, published = await key_state(keys)
    assert active == old
    assert {old, new.key.kid} <= published and published_before <= published
    signing = auth.rt[AUTH].signing
    assert signing is not None
    signing.invalidate()  # the service would notice within SIGNING_CACHE_S by itself
    assert new.key.kid in await jwks_kids(auth)
    # A replica starting now adds no key: the new one is current (retired_at NULL), the old one retiring.
    count = len(await auth.fetch("SELECT kid FROM signing_keys"))
    await signing.ensure_one()
    assert len(await auth.fetch("SELECT kid FROM signing_keys")) == count
    current = await auth.fetch("SELECT kid FROM signing_keys WHERE retired_at IS NULL")
    assert [r["kid"] for r in current] == [new.key.kid]

    # Up to the activation, its predecessor signs; from then on the new key, the old ones still published.
    clock.now = new.signs_from - timedelta(microseconds=1)
    assert (await key_state(keys))[0] == predecessor["kid"]
    clock.now = new.signs_from
    assert (await keys.active()).kid == new.key.kid  # at signs_from, not SIGNING_CACHE_S later (cached)
    active, published = await key_state(keys)
    assert active == new.key.kid and {old, predecessor["kid"]} <= published
    # ... until its tokens have expired.
    clock.now = new.signs_from + auth.rt[AUTH].settings.access_ttl + timedelta(minutes=6)
    active, published = await key_state(keys)
    assert active == new.key.kid and old not in published


async def test_two_rotations_in_a_row(auth: Auth):
    """A second rotation within the activation delay: the first new key signs once the old one retires
    (it has been published since its creation), the second one from its own activation on."""
    clock = Clock()
    keys = clocked_keys(auth, clock)
    old, _ = await key_state(keys)
    master = auth.rt[AUTH].master.ring
    async with auth.rt.pool.acquire() as conn:
        first = await rotate_signing_key(conn, master)
        second = await rotate_signing_key(conn, master)
    assert first.signs_from < second.signs_from
    active, published = await key_state(keys)
    assert active == old and {old, first.key.kid, second.key.kid} <= published
    clock.now = first.signs_from
    active, published = await key_state(keys)
    assert active == first.key.kid and {old, second.key.kid} <= published
    clock.now = second.signs_from - timedelta(microseconds=1)
    assert (await key_state(keys))[0] == first.key.kid
    clock.now = second.signs_from
    active, published = await key_state(keys)
    assert active == second.key.kid and {old, first.key.kid} <= published


async def test_the_first_key_signs_at_once(service_env_factory, emulator: Emulator):
    """A fresh schema: the key auth creates at start-up signs the first login (no delay: no replica can
    have published another one) and is the only one published."""
    env = await auth_env(service_env_factory, emulator.base, new_master_key())
    async with running_service(definition(), env) as (client, rt):
        r = await client.post(
            "/api/v1/auth/register", json={"email": "first@example.com", "password": PASSWORD}
        )
        assert r.status == 201, await r.text()
        r = await client.post("/api/v1/auth/login", json={"email": "first@example.com", "password": PASSWORD})
        assert r.status == 200, await r.text()
        kid = jwt.get_unverified_header((await r.json())["access_token"])["kid"]
        jwks = (await (await client.get("/.well-known/jwks.json")).json())["keys"]
        assert [k["kid"] for k in jwks] == [kid]
        async with rt.pool.acquire() as conn:
            created_at = await conn.fetchval("SELECT created_at FROM signing_keys WHERE kid = $1", kid)
        # Signing from the moment it exists, well before ACTIVATION_DELAY has passed.
        keys = SigningKeys(rt.pool, rt[AUTH].master, rt[AUTH].settings.access_ttl, now=lambda: created_at)
        assert (await keys.active()).kid == kid


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
