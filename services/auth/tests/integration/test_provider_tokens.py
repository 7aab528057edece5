"""The internal provider-token endpoint under concurrency: the refresh is claimed in a short transaction,
the provider is called with no transaction or row lock held, the result is stored by compare-and-set,
replicas wait for each other's claim; a caller may name the token the provider rejected."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from pm_auth.app import definition
from pm_auth.domain import vault
from pm_auth.domain.oauth_clients import TokenSet
from pm_auth.domain.vault import WrappedKey
from pm_auth.resources import AUTH
from pm_auth.storage import links as links_sql
from pm_auth.usecases.links import link_record, seal_tokens
from pm_platform.testing import running_service

from .conftest import Auth, Emulator, link, register_and_login

pytestmark = pytest.mark.integration

SPOTIFY_TOKEN_HOST = "accounts.spotify.com"


async def token(
    auth: Auth,
    user_id: str,
    provider: str = "spotify",
    *,
    rejected: str | None = None,
    client: TestClient[web.Request, web.Application] | None = None,
) -> aiohttp.ClientResponse:
    body: dict[str, Any] = {"json": {"rejected_token_sha256": rejected}} if rejected is not None else {}
    return await (client or auth.client).post(
        f"/internal/provider-tokens/{user_id}/{provider}", headers=auth.service_headers(), **body
    )


async def access_token(auth: Auth, user_id: str, **kwargs: Any) -> str:
    answer = await token(auth, user_id, **kwargs)
    assert answer.status == 200, await answer.text()
    value: str = (await answer.json())["access_token"]
    return value


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


async def make_stale(auth: Auth, user_id: str, provider: str = "spotify") -> None:
    await auth.fetch(
        "UPDATE provider_links SET access_expires_at = now() + interval '1 minute' WHERE user_id = $1 AND provider = $2",
        uuid.UUID(user_id),
        provider,
    )


async def link_row(auth: Auth, user_id: str, provider: str = "spotify") -> Any:
    rows = await auth.fetch(
        """SELECT refresh_claim, refresh_claimed_until, refreshed_at, access_token, status
           FROM provider_links WHERE user_id = $1 AND provider = $2""",
        uuid.UUID(user_id),
        provider,
    )
    return rows[0]


@asynccontextmanager
async def slow_provider(emulator: Emulator, provider: str, latency_ms: int) -> AsyncIterator[None]:
    """Every request to ``provider``'s hosts (its token endpoint too) takes ``latency_ms`` longer."""
    await emulator.admin("PUT", f"/faults/{provider}", json={"latency_ms": latency_ms})
    try:
        yield
    finally:
        await emulator.admin("DELETE", f"/faults/{provider}")


async def until_token_calls(emulator: Emulator, n: int, host: str = SPOTIFY_TOKEN_HOST) -> None:
    """Wait until the emulator has received ``n`` token requests (counted before the latency applies)."""
    for _ in range(250):
        if await emulator.token_calls(host) >= n:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the provider did not get {n} token request(s)")


async def linked(auth: Auth, emulator: Emulator, provider: str = "spotify") -> tuple[str, str]:
    """A user with a linked account: (user id, the current access token); the call counts cleared."""
    account = await register_and_login(auth)
    await link(auth, account, provider)
    first = await access_token(auth, account.user_id, provider=provider)
    await emulator.admin("DELETE", "/calls")
    return account.user_id, first


async def test_the_provider_is_called_with_no_transaction_or_row_lock_held(auth: Auth, emulator: Emulator):
    user_id, first = await linked(auth, emulator)
    await make_stale(auth, user_id)
    async with slow_provider(emulator, "spotify", 1500):
        pending = asyncio.create_task(token(auth, user_id))
        await until_token_calls(emulator, 1)
        await asyncio.sleep(0.5)  # well into the provider's answer
        assert not pending.done()
        async with auth.rt.pool.acquire() as conn, conn.transaction():
            # Another replica's transaction can lock the row at once: the refresh holds no lock.
            row = await conn.fetchrow(
                """SELECT refresh_claim, refresh_claimed_until > clock_timestamp() AS live
                   FROM provider_links WHERE user_id = $1 AND provider = 'spotify' FOR UPDATE NOWAIT""",
                uuid.UUID(user_id),
            )
            # ... and no transaction of this database has been open for more than a moment.
            open_transactions = await conn.fetch(
                """SELECT pid, state, query FROM pg_stat_activity
                   WHERE datname = current_database() AND pid <> pg_backend_pid()
                     AND xact_start < clock_timestamp() - interval '250 milliseconds'"""
            )
        assert row is not None and row["refresh_claim"] is not None and row["live"] is True
        assert [dict(r) for r in open_transactions] == []
        answer = await pending
    assert answer.status == 200, await answer.text()
    assert (await answer.json())["access_token"] != first
    assert await emulator.token_calls(SPOTIFY_TOKEN_HOST) == 1
    after = await link_row(auth, user_id)
    assert after["refresh_claim"] is None and after["refresh_claimed_until"] is None
    assert after["refreshed_at"] is not None


async def test_callers_on_two_replicas_cause_exactly_one_refresh(auth: Auth, emulator: Emulator):
    """Two auth processes on one database: each has its own in-process refresh task, so only the claim
    on the row keeps the second from refreshing again (and from a second re-consent event)."""
    user_id, first = await linked(auth, emulator)
    async with running_service(definition(), auth.env) as (other, _):
        await make_stale(auth, user_id)
        async with slow_provider(emulator, "spotify", 300):
            answers = await asyncio.gather(
                *(token(auth, user_id, client=client) for _ in range(8) for client in (auth.client, other))
            )
        assert [a.status for a in answers] == [200] * 16
        tokens = {(await a.json())["access_token"] for a in answers}
        assert len(tokens) == 1 and first not in tokens
        assert await emulator.token_calls(SPOTIFY_TOKEN_HOST) == 1

        # The provider refuses (Spotify refresh tokens die six months after consent): both replicas
        # answer 409, the link is marked once, one event, one call at the provider.
        clock = await emulator.admin("GET", "/clock")
        await emulator.admin("POST", "/clock", json={"advance": 183 * 86_400})
        try:
            await emulator.admin("DELETE", "/calls")
            await make_stale(auth, user_id)
            async with slow_provider(emulator, "spotify", 300):
                refused = await asyncio.gather(
                    *(
                        token(auth, user_id, client=client)
                        for _ in range(4)
                        for client in (auth.client, other)
                    )
                )
        finally:
            await emulator.admin("POST", "/clock", json={"set": clock["now"]})
    assert [r.status for r in refused] == [409] * 8
    assert await emulator.token_calls(SPOTIFY_TOKEN_HOST) == 1
    assert len(await auth.events(user_id, "provider.reconsent_required")) == 1
    row = await link_row(auth, user_id)
    assert row["status"] == "needs_reconsent" and row["refresh_claim"] is None


async def test_a_live_claim_elsewhere_is_waited_for_and_a_lapsed_one_is_taken_over(
    auth: Auth, emulator: Emulator
):
    user_id, first = await linked(auth, emulator)
    uid = uuid.UUID(user_id)
    # Another replica is refreshing: the caller does not call the provider, it re-reads until the
    # other's result is there.
    await make_stale(auth, user_id)
    await auth.fetch(
        """UPDATE provider_links SET refresh_claim = $2, refresh_claimed_until = now() + interval '30 seconds'
           WHERE user_id = $1 AND provider = 'spotify'""",
        uid,
        uuid.uuid4(),
    )
    pending = asyncio.create_task(token(auth, user_id))
    await asyncio.sleep(0.5)
    assert not pending.done()
    await auth.fetch(  # the other replica stores its result (here: the same token, fresh again)
        """UPDATE provider_links SET access_expires_at = now() + interval '1 hour', refresh_claim = NULL,
                  refresh_claimed_until = NULL WHERE user_id = $1 AND provider = 'spotify'""",
        uid,
    )
    answer = await asyncio.wait_for(pending, 5)
    assert answer.status == 200 and (await answer.json())["access_token"] == first
    assert await emulator.token_calls(SPOTIFY_TOKEN_HOST) == 0

    # A replica that crashed while refreshing left a claim that has lapsed: it blocks no one.
    await make_stale(auth, user_id)
    await auth.fetch(
        """UPDATE provider_links SET refresh_claim = $2, refresh_claimed_until = now() - interval '1 second'
           WHERE user_id = $1 AND provider = 'spotify'""",
        uid,
        uuid.uuid4(),
    )
    assert await access_token(auth, user_id) != first
    assert await emulator.token_calls(SPOTIFY_TOKEN_HOST) == 1


async def test_a_claim_that_is_never_finished_gives_503_after_a_bounded_wait(
    auth: Auth, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
):
    user_id, _ = await linked(auth, emulator)
    monkeypatch.setattr(auth.rt[AUTH].settings, "provider_timeout_s", 0.5)  # the wait's bound
    await make_stale(auth, user_id)
    await auth.fetch(
        """UPDATE provider_links SET refresh_claim = $2, refresh_claimed_until = now() + interval '30 seconds'
           WHERE user_id = $1 AND provider = 'spotify'""",
        uuid.UUID(user_id),
        uuid.uuid4(),
    )
    answer = await asyncio.wait_for(token(auth, user_id), 10)
    assert answer.status == 503, await answer.text()
    assert answer.headers["Retry-After"].isdigit()
    assert await emulator.token_calls(SPOTIFY_TOKEN_HOST) == 0


async def test_an_unavailable_provider_is_503_and_releases_the_claim(auth: Auth, emulator: Emulator):
    user_id, first = await linked(auth, emulator)
    await make_stale(auth, user_id)
    await emulator.admin("PUT", "/faults/spotify", json={"fail_next": 1, "error_status": 503})
    try:
        down = await token(auth, user_id)
    finally:
        await emulator.admin("DELETE", "/faults/spotify")
    assert down.status == 503, await down.text()
    assert down.headers["Retry-After"].isdigit()
    assert (await down.json())["type"].endswith("/service-unavailable")
    row = await link_row(auth, user_id)
    assert row["refresh_claim"] is None and row["status"] == "linked"  # the next caller need not wait
    assert await access_token(auth, user_id) != first
    assert await emulator.token_calls(SPOTIFY_TOKEN_HOST) == 2


async def relink_in_place(auth: Auth, user_id: str) -> None:
    uid = uuid.UUID(user_id)
    ring = auth.rt[AUTH].master.ring
    async with auth.rt.transaction() as conn:
        locked = await links_sql.lock_for_refresh(conn, uid, "spotify")
        assert locked is not None
        link = locked[0]
        data_key = vault.unwrap(ring, link_record(uid, "spotify"), link.wrapped)
        assert link.refresh_token is not None
        tokens = TokenSet(
            data_key.decrypt("access_token", link.access_token),
            data_key.decrypt("refresh_token", link.refresh_token),
            None,
            (),
        )
        sealed = seal_tokens(ring, uid, "spotify", tokens)
        await conn.execute(
            """UPDATE provider_links SET key_id = $2, wrapped_key = $3, access_token = $4, refresh_token = $5,
                      refresh_claim = NULL, refresh_claimed_until = NULL,
                      access_expires_at = now() + interval '1 hour'
               WHERE user_id = $1 AND provider = 'spotify'""",
            uid,
            sealed.wrapped.key_id,
            sealed.wrapped.wrapped,
            sealed.access_token,
            sealed.refresh_token,
        )


async def test_a_refresh_that_raced_a_relink_stores_nothing(auth: Auth, emulator: Emulator):
    user_id, first = await linked(auth, emulator)
    await make_stale(auth, user_id)
    before = await link_row(auth, user_id)
    async with slow_provider(emulator, "spotify", 1000):
        pending = asyncio.create_task(token(auth, user_id))
        await until_token_calls(emulator, 1)
        # What linking again does to the row meanwhile (upsert_link): tokens sealed under a new data
        # key (here: the same tokens), fresh, no claim.
        await relink_in_place(auth, user_id)
        answer = await pending
    assert answer.status == 200, await answer.text()
    assert (await answer.json())["access_token"] == first  # the stored token, not the raced refresh's
    after = await link_row(auth, user_id)
    assert after["refreshed_at"] is None and before["refreshed_at"] is None
    assert await emulator.token_calls(SPOTIFY_TOKEN_HOST) == 1


async def test_a_rejected_token_is_refreshed_once_even_when_not_near_expiry(auth: Auth, emulator: Emulator):
    user_id, first = await linked(auth, emulator)
    # Several callers got 401 from the provider with the same token: one refresh between them.
    async with slow_provider(emulator, "spotify", 200):
        answers = await asyncio.gather(*(token(auth, user_id, rejected=sha256(first)) for _ in range(10)))
    assert [a.status for a in answers] == [200] * 10
    tokens = {(await a.json())["access_token"] for a in answers}
    assert len(tokens) == 1 and first not in tokens
    second = tokens.pop()
    assert await emulator.token_calls(SPOTIFY_TOKEN_HOST) == 1
    # A caller late with the same news: someone already refreshed, it gets the current token.
    assert await access_token(auth, user_id, rejected=sha256(first)) == second
    assert await access_token(auth, user_id, rejected=sha256(first).upper()) == second
    assert await access_token(auth, user_id, rejected=secrets.token_hex(32)) == second
    assert await emulator.token_calls(SPOTIFY_TOKEN_HOST) == 1
    # The current token rejected in turn: refreshed again.
    assert await access_token(auth, user_id, rejected=sha256(second)) not in (first, second)
    assert await emulator.token_calls(SPOTIFY_TOKEN_HOST) == 2


async def test_the_rejected_token_hash_is_checked(auth: Auth, emulator: Emulator):
    user_id, first = await linked(auth, emulator)
    for bad in ("abc", "g" * 64, sha256(first) + "0"):
        answer = await token(auth, user_id, rejected=bad)
        assert answer.status == 422, (bad, await answer.text())
    unknown_field = await auth.client.post(
        f"/internal/provider-tokens/{user_id}/spotify",
        headers=auth.service_headers(),
        json={"rejected_token": first},
    )
    assert unknown_field.status == 422
    empty = await auth.client.post(
        f"/internal/provider-tokens/{user_id}/spotify", headers=auth.service_headers(), json={}
    )
    assert empty.status == 200 and (await empty.json())["access_token"] == first
    assert await emulator.token_calls(SPOTIFY_TOKEN_HOST) == 0


async def test_a_rejected_token_without_a_refresh_token_needs_reconsent(auth: Auth, emulator: Emulator):
    """Deezer (offline_access) tokens never expire and cannot be refreshed: rejected means re-link."""
    user_id, first = await linked(auth, emulator, "deezer")
    assert await access_token(auth, user_id, provider="deezer", rejected=secrets.token_hex(32)) == first
    refused = await token(auth, user_id, "deezer", rejected=sha256(first))
    assert refused.status == 409, await refused.text()
    assert (await refused.json())["type"].endswith("/reconsent-required")
    events = await auth.events(user_id, "provider.reconsent_required")
    assert len(events) == 1 and "rejected" in events[0]["data"]["reason"]
    assert (await link_row(auth, user_id, "deezer"))["status"] == "needs_reconsent"


async def test_a_refresh_whose_claim_lapsed_keeps_its_tokens_and_a_stale_refusal_marks_nothing(
    auth: Auth, emulator: Emulator
):
    """Replica A refreshed (the provider may have rotated the refresh token) but its claim lapsed
    before it stored; replica B took over and its provider refused the now-rotated refresh token.
    A's tokens must be stored (they are the only valid ones), B's refusal must not mark the link."""
    user_id, _ = await linked(auth, emulator)
    uid = uuid.UUID(user_id)
    claim_a, claim_b = uuid.uuid4(), uuid.uuid4()
    async with auth.rt.transaction() as conn:
        locked = await links_sql.lock_for_refresh(conn, uid, "spotify")
        assert locked is not None
        started_from = locked[0].wrapped
        await links_sql.claim_refresh(conn, uid, "spotify", claim_a, timedelta(seconds=30))
    # A's claim lapses; B claims the row and refreshes from the same tokens.
    await auth.fetch("UPDATE provider_links SET refresh_claim = $2 WHERE user_id = $1", uid, claim_b)
    newer = WrappedKey(started_from.key_id, secrets.token_bytes(40))

    async def store_as_a(conn: Any, access_token: bytes) -> bool:
        return await links_sql.store_refreshed(
            conn,
            user_id=uid,
            provider="spotify",
            claim=claim_a,
            refreshed_from=started_from,
            wrapped=newer,
            access_token=access_token,
            refresh_token=None,
            access_expires_at=None,
            scopes=[],
            now=datetime.now(UTC),
        )

    async with auth.rt.transaction() as conn:
        # A's claim is gone, but the row still held the tokens A refreshed.
        assert await store_as_a(conn, b"sealed-access")
        refused = await links_sql.mark_needs_reconsent(
            conn,
            uid,
            "spotify",
            "invalid_grant",
            datetime.now(UTC),
            claim=claim_b,
            refreshed_from=started_from,
        )
        assert not refused  # B refreshed from tokens that are no longer the link's
    row = await link_row(auth, user_id)
    assert row["status"] == "linked" and bytes(row["access_token"]) == b"sealed-access"
    assert row["refresh_claim"] == claim_b  # B's claim is B's to release
    async with auth.rt.transaction() as conn:  # ... and A cannot store over newer tokens a second time
        assert not await store_as_a(conn, b"older")
    await auth.fetch("DELETE FROM provider_links WHERE user_id = $1", uid)  # its tokens are not real
