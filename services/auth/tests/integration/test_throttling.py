"""Per-account throttling of password checks (login, register, change password, delete account), over
the real service and Redis: counted per normalised e-mail, whatever address the attempts come from,
the same for an unknown e-mail as for a known one, bounded and decaying, and never in the way of a
client that logged in to the account before."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from pm_auth.resources import AUTH

from .conftest import PASSWORD, Auth, login, problem_of, register_and_login

pytestmark = pytest.mark.integration

FREE = 5  # LOGIN_THROTTLE_FREE_ATTEMPTS' default


def address(auth: Auth, i: int) -> dict[str, str]:
    """The headers of a request the gateway forwards from client address number ``i``."""
    return auth.from_client(f"198.51.{i // 250}.{i % 250 + 1}")


async def attempt(auth: Auth, email: str, password: str, i: int) -> tuple[int, dict[str, Any], str | None]:
    r = await auth.client.post(
        "/api/v1/auth/login", json={"email": email, "password": password}, headers=address(auth, i)
    )
    body = await r.json()
    return r.status, {k: v for k, v in body.items() if k != "correlation_id"}, r.headers.get("Retry-After")


async def test_thirty_addresses_cannot_guess_one_account(auth: Auth):
    account = await register_and_login(auth)
    statuses = [(await attempt(auth, account.email, f"Wrong-guess-{i}", i))[0] for i in range(30)]
    assert statuses[:FREE] == [401] * FREE
    assert 429 in statuses and set(statuses) == {401, 429}
    r = await auth.client.post(
        "/api/v1/auth/login", json={"email": account.email, "password": PASSWORD}, headers=address(auth, 31)
    )
    assert r.status == 429, await r.text()
    problem_of(r)
    body = await r.json()
    assert body["type"].endswith("/too-many-attempts") and body["status"] == 429
    assert 1 <= int(r.headers["Retry-After"]) <= 300
    # Counted in Redis under auth's prefix, by a digest of the e-mail (never the address in clear).
    keys = [k async for k in auth.rt.redis.scan_iter(match=auth.rt.redis_key("pw", "*"))]
    assert keys and not any(account.email.encode() in k for k in keys)


async def test_an_unknown_email_is_throttled_exactly_like_a_known_one(auth: Auth):
    account = await register_and_login(auth)
    unknown = f"nobody-{uuid.uuid4().hex[:10]}@example.com"
    known_answers, unknown_answers = [], []
    for i in range(FREE + 3):  # interleaved: the same moments for both
        known_answers.append(await attempt(auth, account.email, "Wrong-pass-123", i))
        unknown_answers.append(await attempt(auth, unknown, "Wrong-pass-123", i))
    assert [s for s, _, _ in known_answers] == [s for s, _, _ in unknown_answers]
    assert [b for _, b, _ in known_answers] == [b for _, b, _ in unknown_answers]  # byte for byte
    assert [s for s, _, _ in known_answers][FREE + 1 :] == [429, 429]
    assert [h is None for _, _, h in known_answers] == [h is None for _, _, h in unknown_answers]


async def test_the_e_mail_is_normalised_before_counting(auth: Auth):
    account = await register_and_login(auth)
    spellings = [account.email, account.email.upper(), f"  {account.email}  "]
    statuses = [(await attempt(auth, spellings[i % 3], "Wrong-pass-123", i))[0] for i in range(FREE + 2)]
    assert statuses[-1] == 429, statuses


async def test_a_right_password_resets_the_count(auth: Auth):
    account = await register_and_login(auth)
    for round_ in range(3):
        for i in range(FREE - 1):
            status, _, _ = await attempt(auth, account.email, "Wrong-pass-123", 100 * round_ + i)
            assert status == 401
        # From a new address each time: the reset is of the count its attempt was counted in.
        await login(auth, account.email, account.user_id, ip=f"203.0.113.{round_ + 1}")


async def test_a_client_that_logged_in_before_is_not_locked_out_by_others(auth: Auth):
    account = await register_and_login(auth)  # logged in from the helper's address
    statuses = [(await attempt(auth, account.email, f"Wrong-guess-{i}", i))[0] for i in range(20)]
    assert statuses[-1] == 429
    # The account's owner, from the address it used before, still gets in: the attackers' failures
    # are counted apart from it.
    again = await login(auth, account.email, account.user_id)
    assert again.session_id != account.session_id
    # A known address is throttled too, on its own count.
    mine = auth.from_client("198.51.100.7")
    own = []
    for _ in range(FREE + 2):
        r = await auth.client.post(
            "/api/v1/auth/login", json={"email": account.email, "password": "Wrong-pass-123"}, headers=mine
        )
        own.append(r.status)
    assert own[:FREE] == [401] * FREE and own[-1] == 429


async def test_change_password_and_deletion_are_throttled(auth: Auth):
    account = await register_and_login(auth)
    for i in range(FREE + 1):
        wrong = await auth.client.post(
            "/api/v1/me/password",
            json={"current_password": f"Wrong-guess-{i}", "new_password": "An0ther-g00d-one"},
            headers={**account.headers, **address(auth, i)},
        )
        assert wrong.status == 403, await wrong.text()
    blocked = await auth.client.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "An0ther-g00d-one"},
        headers={**account.headers, **address(auth, 50)},
    )
    assert blocked.status == 429, await blocked.text()
    problem_of(blocked)
    # The same count as the login's: one account, one count.
    assert (await attempt(auth, account.email, PASSWORD, 51))[0] == 429
    deletion = await auth.client.delete(
        "/api/v1/me", json={"password": PASSWORD}, headers={**account.headers, **address(auth, 52)}
    )
    assert deletion.status == 429, await deletion.text()
    assert int(deletion.headers["Retry-After"]) >= 1
    assert (await auth.client.get("/api/v1/me", headers=account.headers)).status == 200


async def test_register_of_a_taken_e_mail_is_throttled_too(auth: Auth):
    account = await register_and_login(auth)
    statuses = []
    for i in range(FREE + 2):
        r = await auth.client.post(
            "/api/v1/auth/register",
            json={"email": account.email, "password": f"Another-{uuid.uuid4().hex}"},
            headers=address(auth, i),
        )
        statuses.append(r.status)
    assert statuses[:FREE] == [409] * FREE and statuses[-1] == 429, statuses


async def test_delays_grow_are_bounded_and_the_count_decays(auth: Auth, monkeypatch: pytest.MonkeyPatch):
    context = auth.rt[AUTH]
    settings = context.settings.model_copy(
        update={"login_throttle_base_delay_s": 0.2, "login_throttle_max_delay_s": 1.0}
    )
    monkeypatch.setattr(context, "settings", settings)
    account = await register_and_login(auth)
    waits = []
    for i in range(FREE + 6):
        while True:
            status, _, retry_after = await attempt(auth, account.email, "Wrong-pass-123", i)
            if status != 429:
                break
            assert retry_after is not None and int(retry_after) == 1  # never more than the bound
            waits.append(i)
            await asyncio.sleep(0.25)
        assert status == 401
    assert waits  # the later attempts had to wait
    # The counts live a bounded time after the last attempt (decay), never forever.
    from pm_auth.domain.throttle import throttle_subject

    pattern = auth.rt.redis_key("pw", "{" + throttle_subject(account.email) + "}", "attempts*")
    keys = [k async for k in auth.rt.redis.scan_iter(match=pattern)]
    ttls = [await auth.rt.redis.pttl(k) for k in keys]
    window_ms = (settings.login_throttle_window_s + settings.login_throttle_max_delay_s) * 1000
    assert ttls and all(0 < t <= window_ms for t in ttls)
    # However long the attack went on, the owner gets in within the bound, from anywhere.
    await asyncio.sleep(1.05)
    await login(auth, account.email, account.user_id, ip="192.0.2.77")
