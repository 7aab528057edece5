"""The accounts issue's "done when", through the gateway: register → log in → link a provider through
the full redirect flow on the emulator → its tokens are encrypted at rest → refresh rotation and reuse
detection → master-key rotation under live traffic without a failed request → account deletion leaves
nothing of the user in any schema, cache or bucket.

Beside the gateway and the emulator, this test reads raw rows (to prove encryption and deletion), calls
auth's internal token endpoint as provider-sync would, and plays the operator of the key-rotation
runbook (docs/operations.md): key files, SIGHUP, ``python -m pm_auth rotate-master-key``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import asyncpg
import pytest
from minio import Minio

from pm_contracts.services import deployed_services
from pm_devstack.stack import Stack
from pm_platform.identity import service_credential


def _bearer(user: dict, token: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token or user['access_token']}", "X-Forwarded-For": user["ip"]}


async def _internal_token(
    session: aiohttp.ClientSession, stack: Stack, user_id: str
) -> aiohttp.ClientResponse:
    env = stack.service_env("auth")
    return await session.post(
        f"{env['AUTH_URL']}/internal/provider-tokens/{user_id}/spotify",
        headers={"Authorization": service_credential(env["SERVICE_TOKEN"])},
    )


def _key_id(b64: str) -> str:
    from pm_auth.domain.vault import MasterKey

    return MasterKey.from_base64(b64).key_id


async def _auth_keys(session: aiohttp.ClientSession, stack: Stack) -> dict:
    async with session.get(f"{stack.service_env('auth')['AUTH_URL']}/health") as r:
        return (await r.json())["checks"]["keys"]


async def _reload_and_wait(
    session: aiohttp.ClientSession, stack: Stack, current: str, previous: str | None
) -> None:
    pid = int((stack.config.run_dir / "auth.pid").read_text().split()[0])
    os.kill(pid, signal.SIGHUP)
    want = {"current_key_id": _key_id(current), "previous_key_id": _key_id(previous) if previous else None}
    for _ in range(100):
        keys = await _auth_keys(session, stack)
        if {k: keys.get(k) for k in want} == want:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"auth did not take the new keys: {keys}")


def _rotate_cli(stack: Stack, *args: str) -> dict:
    env = {**os.environ, **stack.service_env("auth")}
    done = subprocess.run(
        [sys.executable, "-m", "pm_auth", "rotate-master-key", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def _key_files(stack: Stack) -> tuple[Path, Path]:
    env = stack.service_env("auth")
    return Path(env["MASTER_KEY_FILE"]), Path(env["MASTER_KEY_PREVIOUS_FILE"])


def _current_key(stack: Stack) -> str:
    return _key_files(stack)[0].read_text().strip()


def _swap_key_files(stack: Stack, new: str) -> str:
    current_file, previous_file = _key_files(stack)
    old = current_file.read_text().strip()
    previous_file.write_text(old + "\n")
    current_file.write_text(new + "\n")
    return old


def _drop_previous(stack: Stack) -> None:
    _key_files(stack)[1].write_text("\n")


async def _rotate_to(session: aiohttp.ClientSession, stack: Stack, new: str) -> dict:
    """The runbook: old key → previous file, new key → current file, SIGHUP, re-wrap, drop the previous."""
    old = _swap_key_files(stack, new)
    await _reload_and_wait(session, stack, new, old)
    dry = await asyncio.to_thread(_rotate_cli, stack, "--dry-run")
    assert dry["dry_run"] and dry["tables"]["provider_links"]["rewrapped"] == 0
    report = await asyncio.to_thread(_rotate_cli, stack)
    assert report["remaining"] == 0, report
    again = await asyncio.to_thread(_rotate_cli, stack)
    assert all(t["rewrapped"] == 0 for t in again["tables"].values()), again  # idempotent
    _drop_previous(stack)
    await _reload_and_wait(session, stack, new, None)
    return report


async def _rows_of_user(stack: Stack, user_id: str, session_ids: list[str]) -> list[str]:
    """Every row in any schema naming the user (event logs excepted: outbox/inbox age out in 3 days)."""
    conn = await asyncpg.connect(stack.admin_dsn().rsplit("/", 1)[0] + "/playlistmgr")
    try:
        columns = await conn.fetch(
            """SELECT table_schema, table_name, column_name FROM information_schema.columns
               WHERE table_schema = ANY($1::text[])
                 AND table_name NOT IN ('outbox', 'inbox', 'schema_migrations')
                 AND data_type IN ('uuid', 'text', 'character varying')
                 AND column_name IN ('user_id', 'id', 'owner_id', 'subject', 'session_id')""",
            [spec.schema for spec in deployed_services()],
        )
        found = []
        for c in columns:
            for value in [user_id, *session_ids]:
                hit = await conn.fetchval(
                    f'SELECT count(*) FROM "{c["table_schema"]}"."{c["table_name"]}" '
                    f'WHERE "{c["column_name"]}"::text = $1',
                    value,
                )
                if hit:
                    found.append(f"{c['table_schema']}.{c['table_name']}.{c['column_name']}")
        return found
    finally:
        await conn.close()


async def _cache_keys_of_user(stack: Stack, user_id: str, session_ids: list[str]) -> list[str]:
    import redis.asyncio as aioredis

    client = aioredis.from_url(stack.redis_url())
    try:
        found = []
        for needle in [user_id, *session_ids]:
            async for key in client.scan_iter(match=f"*{needle}*", count=1000):
                name = key.decode()
                # The gateway's revocation markers must outlive the session's tokens (they expire with them).
                if not name.startswith("pm:gateway:revoked:"):
                    found.append(name)
        return found
    finally:
        await client.aclose()


def _objects_of_user(stack: Stack, user_id: str) -> list[str]:
    endpoint = urlsplit(stack.s3_endpoint())
    access, secret = stack.s3_credentials()
    client = Minio(endpoint.netloc, access_key=access, secret_key=secret, secure=False, region="us-east-1")
    from pm_devstack.config import S3_BUCKET

    return [
        o.object_name
        for o in client.list_objects(S3_BUCKET, recursive=True)
        if user_id in (o.object_name or "")
    ]


async def test_account_lifecycle(gateway_url: str, stack: Stack, register_user, link_spotify):
    user = await register_user()
    # A browser-like session: the link flow's binding cookie is set on the gateway's IP-literal host.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.get(f"{gateway_url}/api/v1/me", headers=_bearer(user)) as me:
            assert me.status == 200, await me.text()
            assert (await me.json())["id"] == user["user_id"]

        # Link Spotify through the redirect flow; the tokens sit encrypted in auth's table.
        await link_spotify(session, gateway_url, user)
        async with session.get(f"{gateway_url}/api/v1/providers", headers=_bearer(user)) as r:
            links = (await r.json())["links"]
        assert [(x["provider"], x["status"]) for x in links] == [("spotify", "linked")]
        assert links[0]["account_id"]  # the new emulator account it consented as
        token = await _internal_token(session, stack, user["user_id"])
        assert token.status == 200, await token.text()
        access = (await token.json())["access_token"]
        conn = await asyncpg.connect(stack.database_url(stack.spec("auth")))
        try:
            row = await conn.fetchrow(
                "SELECT * FROM auth.provider_links WHERE user_id = $1", uuid.UUID(user["user_id"])
            )
        finally:
            await conn.close()
        assert row is not None
        raw = b"".join(
            bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode() for v in row.values()
        )
        assert access.encode() not in raw and row["key_id"] and len(row["access_token"]) > 28

        # Refresh rotation, then reuse of the old token revokes the whole session.
        async with session.post(
            f"{gateway_url}/api/v1/auth/refresh",
            json={"refresh_token": user["refresh_token"]},
            headers=_bearer(user),
        ) as r:
            assert r.status == 200, await r.text()
            rotated = await r.json()
        assert rotated["refresh_token"] != user["refresh_token"]
        async with session.get(
            f"{gateway_url}/api/v1/me", headers=_bearer(user, rotated["access_token"])
        ) as r:
            assert r.status == 200
        async with session.post(
            f"{gateway_url}/api/v1/auth/refresh",
            json={"refresh_token": user["refresh_token"]},
            headers=_bearer(user),
        ) as r:
            assert r.status == 401
            assert (await r.json())["type"].endswith("/refresh-token-reused")
        async with session.get(
            f"{gateway_url}/api/v1/me", headers=_bearer(user, rotated["access_token"])
        ) as r:
            assert r.status == 401
        revoked_session = user["session_id"]

        # A fresh session for the rest.
        async with session.post(
            f"{gateway_url}/api/v1/auth/login",
            json={"email": user["email"], "password": user["password"], "device_name": "e2e-2"},
            headers={"X-Forwarded-For": user["ip"]},
        ) as r:
            assert r.status == 200, await r.text()
            user |= await r.json()

        # Master-key rotation while requests keep coming: none may fail.
        failures: list[str] = []
        served = 0
        stop = asyncio.Event()

        async def traffic() -> None:
            nonlocal served
            while not stop.is_set():
                for call in (
                    _internal_token(session, stack, user["user_id"]),
                    session.get(f"{gateway_url}/api/v1/providers", headers=_bearer(user)),
                ):
                    response = await call
                    served += 1
                    if response.status != 200:
                        failures.append(f"{response.status} {await response.text()}")
                    response.release()
                await asyncio.sleep(0.25)

        original = _current_key(stack)
        runner = asyncio.create_task(traffic())
        try:
            report = await _rotate_to(session, stack, base64.b64encode(secrets.token_bytes(32)).decode())
            assert report["tables"]["provider_links"]["rewrapped"] >= 1
            await asyncio.sleep(1)
        finally:
            # Back to the stack's key (.state/env), by the same runbook: other tests open auth's rows with it.
            try:
                await _rotate_to(session, stack, original)
            finally:
                stop.set()
                await runner
        assert served > 10 and failures == [], failures

        # Deletion: auth's data at once, every other service's through user.deleted.
        async with session.delete(
            f"{gateway_url}/api/v1/me", json={"password": user["password"]}, headers=_bearer(user)
        ) as r:
            assert r.status == 202, await r.text()
        sessions = [revoked_session, user["session_id"]]
        deadline = time.monotonic() + 30
        while True:
            rows = await _rows_of_user(stack, user["user_id"], sessions)
            keys = await _cache_keys_of_user(stack, user["user_id"], sessions)
            objects = await asyncio.to_thread(_objects_of_user, stack, user["user_id"])
            if not (rows or keys or objects) or time.monotonic() > deadline:
                break
            await asyncio.sleep(1)
        assert (rows, keys, objects) == ([], [], [])
        async with session.get(f"{gateway_url}/api/v1/me", headers=_bearer(user)) as r:
            assert r.status == 401


@pytest.fixture(autouse=True)
def _stack_is_up(stack: Stack) -> None:
    env = stack.service_env("auth")
    assert Path(env["MASTER_KEY_FILE"]).exists(), "auth's key files are missing: run `make up`"
