"""Key rotation under load (issue 18): while signed-in users keep calling every service through the
gateway, the operator rotates the access-token signing key and the identity assertion key by the runbooks
of docs/operations.md, with no restart; not one request may fail. (Master-key rotation under traffic is
test_accounts.py's.)

The new signing key is published at once and signs 20 s later; the load runs through both moments.
The identity key goes from the stack's pair to a new one and back, so later tests still find the stack's
own key: every service's public-key file gets both keys and a SIGHUP, then the gateway's private-key file
the new key and a SIGHUP, then, once no request signed with the old key is in flight, every file only the
new key. The runbook waits 65 s for that (an assertion lives 60 s); here the load is the only client, so
the test waits until every request it started before the switch has finished.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import jwt
import pytest

from pm_devstack.stack import Stack
from pm_platform.identity import identity_key_id, raw_public_key

pytestmark = pytest.mark.timeout(600)

WORKERS = 4
# What each call answers when all is well: the unknown ids are 404s from the owning service, which has
# verified the caller's identity first (a bad assertion would be a 401).
CALLS = (
    ("GET", "/api/v1/me", 200),
    ("GET", "/api/v1/playlists?limit=5", 200),
    ("GET", "/api/v1/providers", 200),
    ("GET", f"/api/v1/exports/{uuid.UUID(int=1)}", 404),
    ("GET", f"/api/v1/transfers/{uuid.UUID(int=2)}", 404),
)


@dataclass
class Load:
    """Every request the workers made: failures, in-flight start times, successes after a mark."""

    failures: list[str] = field(default_factory=list)
    in_flight: dict[int, float] = field(default_factory=dict)
    finished: list[tuple[float, str]] = field(default_factory=list)
    token_kids: set[str] = field(default_factory=set)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    _next: int = 0

    def begin(self) -> int:
        self._next += 1
        self.in_flight[self._next] = asyncio.get_running_loop().time()
        return self._next

    def end(self, ticket: int, what: str, failure: str | None, *, throttled: bool = False) -> None:
        del self.in_flight[ticket]
        if failure is not None:
            self.failures.append(f"{what}: {failure}")
        elif not throttled:
            self.finished.append((asyncio.get_running_loop().time(), what))

    def succeeded_since(self, mark: float) -> set[str]:
        return {what for at, what in self.finished if at > mark}

    async def drained_before(self, mark: float) -> None:
        """Until no request started before ``mark`` is still in flight."""
        for _ in range(1200):  # a request times out after 30 s
            if not any(started <= mark for started in self.in_flight.values()):
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"requests started before the switch still in flight: {self.in_flight}")


async def _worker(session: aiohttp.ClientSession, gateway: str, user: dict, load: Load) -> None:
    tokens = {"access": user["access_token"], "refresh": user["refresh_token"]}
    rounds = 0
    while not load.stop.is_set():
        rounds += 1
        calls = list(CALLS)
        if rounds % 5 == 0:
            calls.append(("POST", "/api/v1/auth/refresh", 200))
        for method, path, expected in calls:
            headers = {"Authorization": f"Bearer {tokens['access']}", "X-Forwarded-For": user["ip"]}
            body = {"refresh_token": tokens["refresh"]} if path.endswith("/refresh") else None
            ticket = load.begin()
            failure, throttled = None, False
            try:
                async with session.request(method, f"{gateway}{path}", headers=headers, json=body) as r:
                    text = await r.text()
                    if r.status == 429:  # the gateway's limit per client: a well-behaved client waits
                        throttled = True
                        await asyncio.sleep(float(r.headers.get("Retry-After", "1")))
                    elif r.status != expected:
                        failure = f"{r.status} {text[:300]}"
                    elif path.endswith("/refresh"):
                        fresh = json.loads(text)
                        tokens = {"access": fresh["access_token"], "refresh": fresh["refresh_token"]}
                        load.token_kids.add(jwt.get_unverified_header(tokens["access"])["kid"])
            except (aiohttp.ClientError, TimeoutError) as exc:
                failure = f"{type(exc).__name__}: {exc}"
            load.end(ticket, f"{method} {path.split('?')[0]}", failure, throttled=throttled)
        # About the gateway's 10 requests per second per client (each worker is its own client).
        await asyncio.sleep(0.6)


# ---- the operator's side --------------------------------------------------------------------------------


def _pid(stack: Stack, name: str) -> int:
    return int((stack.config.run_dir / f"{name}.pid").read_text().split()[0])


async def _identity_keys(session: aiohttp.ClientSession, stack: Stack, name: str) -> dict:
    async with session.get(f"http://127.0.0.1:{stack.spec(name).port}/health") as r:
        return (await r.json())["checks"]["identity_keys"]


async def _until_keys(session: aiohttp.ClientSession, stack: Stack, name: str, **want: object) -> None:
    for _ in range(300):
        keys = await _identity_keys(session, stack, name)
        assert keys.get("reload_error") is None, (name, keys)
        if {k: keys.get(k) for k in want} == want:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{name} did not take the keys {want}: {keys}")


def _public_b64(private_b64: str) -> str:
    return base64.b64encode(raw_public_key(base64.b64decode(private_b64))).decode()


def _kid(public_b64: str) -> str:
    return identity_key_id(base64.b64decode(public_b64))


async def _publish(
    session: aiohttp.ClientSession, stack: Stack, names: list[str], publics: list[str]
) -> None:
    """Every service's public-key file lists ``publics``; SIGHUP; each reports exactly those key ids."""
    for name in names:
        Path(stack.service_env(name)["IDENTITY_PUBLIC_KEYS_FILE"]).write_text(",".join(publics) + "\n")
        os.kill(_pid(stack, name), signal.SIGHUP)
    for name in names:
        await _until_keys(session, stack, name, verify_key_ids=sorted(_kid(p) for p in publics))


async def _sign_with(session: aiohttp.ClientSession, stack: Stack, private: str) -> None:
    Path(stack.service_env("gateway")["IDENTITY_SIGNING_KEY_FILE"]).write_text(private + "\n")
    os.kill(_pid(stack, "gateway"), signal.SIGHUP)
    await _until_keys(session, stack, "gateway", signing_key_id=_kid(_public_b64(private)))


async def _rotate_identity_key(
    session: aiohttp.ClientSession, stack: Stack, load: Load, old: str, new: str
) -> None:
    """docs/operations.md, "Identity assertion key", with key files: publish, switch, retire."""
    names = [spec.name for spec in stack.service_specs(include_dev=False)]
    old_public, new_public = _public_b64(old), _public_b64(new)
    await _publish(session, stack, names, [old_public, new_public])
    await _sign_with(session, stack, new)
    switched = asyncio.get_running_loop().time()
    await load.drained_before(switched)
    await _publish(session, stack, names, [new_public])
    retired = asyncio.get_running_loop().time()
    await _until_served(load, retired)


async def _until_served(load: Load, mark: float) -> None:
    """Until every kind of call has succeeded again after ``mark`` (the load goes on through each step)."""
    wanted = {f"{method} {path.split('?')[0]}" for method, path, _ in CALLS}
    for _ in range(600):
        if wanted <= load.succeeded_since(mark) or load.failures:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not every call succeeded after the step: {sorted(load.succeeded_since(mark))}")


async def _rotate_signing_key(stack: Stack, load: Load) -> str:
    # In a thread, not asyncio's subprocess support: another test may have left uvloop's event loop
    # policy installed (a service run in-process), which has no child watcher.
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "pm_auth", "rotate-signing-key"],
        env={**os.environ, **stack.service_env("auth")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    rotated = json.loads(out)
    kid = rotated["kid"]
    # Published at once, it signs from `signs_from` (20 s later: every auth replica lists it by then);
    # the workers' next refreshed tokens then carry it.
    wait_s = (datetime.fromisoformat(rotated["signs_from"]) - datetime.now(UTC)).total_seconds() + 30
    for _ in range(int(max(wait_s, 30) / 0.05)):
        if kid in load.token_kids or load.failures:
            return str(kid)
        await asyncio.sleep(0.05)
    raise AssertionError(f"no access token signed with {kid}: {sorted(load.token_kids)}")


async def test_signing_and_identity_keys_rotate_under_load_without_a_failed_request(
    stack: Stack, gateway_url: str, register_user
) -> None:
    users = [await register_user() for _ in range(WORKERS)]
    gateway_file = Path(stack.service_env("gateway")["IDENTITY_SIGNING_KEY_FILE"])
    original = gateway_file.read_text().strip()
    replacement = base64.b64encode(os.urandom(32)).decode()
    load = Load()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        workers = [asyncio.create_task(_worker(session, gateway_url, user, load)) for user in users]
        try:
            await _until_served(load, 0.0)
            signing_kid = await _rotate_signing_key(stack, load)
            await _rotate_identity_key(session, stack, load, original, replacement)
            await _rotate_identity_key(session, stack, load, replacement, original)
        finally:
            load.stop.set()
            await asyncio.gather(*workers, return_exceptions=True)
            # Whatever happened, the stack's own pair again (later tests sign with it).
            names = [spec.name for spec in stack.service_specs(include_dev=False)]
            for name in names:
                Path(stack.service_env(name)["IDENTITY_PUBLIC_KEYS_FILE"]).write_text(
                    _public_b64(original) + "\n"
                )
                os.kill(_pid(stack, name), signal.SIGHUP)
            gateway_file.write_text(original + "\n")
            os.kill(_pid(stack, "gateway"), signal.SIGHUP)
            for name in names:
                await _until_keys(session, stack, name, verify_key_ids=[_kid(_public_b64(original))])
    assert load.failures == [], load.failures[:10]
    assert signing_kid in load.token_kids
    assert len(load.finished) > 100, len(load.finished)
