"""The request pipeline against a scripted server on loopback (no provider, no Redis, no real sleeps)."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from redis.exceptions import ConnectionError as RedisConnectionError

from pm_platform.settings import load_settings
from pm_platform.testing import stand_in_server
from pm_providers.clock import ProviderClocks
from pm_providers.domain.classify import classify_deezer, classify_spotify, classify_youtube
from pm_providers.domain.responses import AdvertisedLimit, ProviderResponse
from pm_providers.errors import (
    ProviderError,
    ProviderUnavailable,
    QuotaExceeded,
    RateLimited,
    ReconsentRequired,
    Unauthorized,
)
from pm_providers.http import AuthStyle, ProviderHttp, build_session, decode_body
from pm_providers.metrics import ProviderMetrics
from pm_providers.models import ProviderName
from pm_providers.ratelimit import RateLimiter
from pm_providers.settings import ProviderSettings, RetryPolicy

POLICY = RetryPolicy(
    max_attempts=3, backoff_base_s=0.5, backoff_max_s=4, max_rate_limit_waits=2, deezer_quota_wait_s=5
)
Reply = Callable[[web.Request], web.Response | Awaitable[web.Response]]


class Script:
    """Answers each request with the next scripted reply; records what arrived."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.seen: list[web.Request] = []
        self.bodies: list[bytes] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(request)
        self.bodies.append(await request.read())
        reply = self.replies.pop(0) if self.replies else ok({"ok": True})
        response = reply(request)
        return await response if inspect.isawaitable(response) else response


def ok(body: Any, status: int = 200) -> Reply:
    return lambda _r: web.json_response(body, status=status)


def spotify_error(status: int, message: str, **headers: str) -> Reply:
    return lambda _r: web.json_response(
        {"error": {"status": status, "message": message}}, status=status, headers=headers
    )


def drop() -> Reply:
    def reply(request: web.Request) -> web.Response:
        assert request.transport is not None
        request.transport.close()
        raise ConnectionResetError

    return reply


def stalled(release: asyncio.Event) -> Reply:
    """An answer that does not come until ``release`` is set."""

    async def reply(_r: web.Request) -> web.Response:
        await release.wait()
        return web.json_response({})

    return reply


class Tokens:
    def __init__(self, refreshed: str = "fresh-token-123456") -> None:
        self.token = "stale-token-123456"
        self.refreshed = refreshed
        self.refreshes = 0

    async def access_token(self) -> str:
        return self.token

    async def refresh(self) -> str:
        self.refreshes += 1
        await asyncio.sleep(0.01)
        self.token = self.refreshed
        return self.token


@pytest.fixture
async def script() -> AsyncIterator[tuple[Script, str]]:
    s = Script()
    async with stand_in_server(s.handle) as url:
        yield s, f"{url}/api.example.com/v1"


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def pipeline(
    session: aiohttp.ClientSession,
    base: str,
    *,
    tokens: Any = None,
    classify: Callable[[ProviderResponse], ProviderError | None] | None = None,
    auth: AuthStyle = AuthStyle.BEARER,
    waits: list[float] | None = None,
    policy: RetryPolicy = POLICY,
    jitter: float = 0.0,
    metrics: ProviderMetrics | None = None,
) -> ProviderHttp:
    """The pipeline with its waits recorded instead of slept; ``jitter`` is what its random source
    draws (0: every backoff waits its whole delay, 1: half of it)."""
    recorded = waits if waits is not None else []

    async def sleep(s: float) -> None:
        recorded.append(s)

    return ProviderHttp(
        ProviderName.SPOTIFY,
        session=session,
        base_url=base,
        classify=classify or (lambda r: classify_spotify(r, POLICY)),
        tokens=tokens if tokens is not None else Tokens(),
        policy=policy,
        auth_style=auth,
        metrics=metrics if metrics is not None else ProviderMetrics(),
        sleep=sleep,
        rand=lambda: jitter,
    )


async def test_success_sends_bearer_and_parses_json(
    script: tuple[Script, str], session: aiohttp.ClientSession
) -> None:
    s, base = script
    s.replies = [ok({"id": "me"})]
    resp = await pipeline(session, base).request("GET", "/me", endpoint="me")
    assert resp.body == {"id": "me"}
    assert s.seen[0].headers["Authorization"] == "Bearer stale-token-123456"
    assert s.seen[0].path == "/api.example.com/v1/me"


async def test_query_token_for_deezer(script: tuple[Script, str], session: aiohttp.ClientSession) -> None:
    s, base = script
    http = pipeline(session, base, auth=AuthStyle.QUERY, classify=lambda r: classify_deezer(r, POLICY))
    await http.request("GET", "/user/me", endpoint="me", params={"q": 'artist:"Sigur Rós"'})
    assert s.seen[0].query["access_token"] == "stale-token-123456"
    assert s.seen[0].query["q"] == 'artist:"Sigur Rós"'
    assert "Authorization" not in s.seen[0].headers


async def test_5xx_retried_with_exponential_backoff(
    script: tuple[Script, str], session: aiohttp.ClientSession
) -> None:
    s, base = script
    waits: list[float] = []
    s.replies = [spotify_error(503, "down"), spotify_error(502, "bad"), ok({"x": 1})]
    resp = await pipeline(session, base, waits=waits).request("GET", "/x", endpoint="x")
    assert resp.body == {"x": 1}
    assert waits == [0.5, 1.0]
    assert len(s.seen) == 3


async def test_5xx_gives_up_after_max_attempts(
    script: tuple[Script, str], session: aiohttp.ClientSession
) -> None:
    s, base = script
    s.replies = [spotify_error(503, "down")] * 5
    with pytest.raises(ProviderUnavailable) as err:
        await pipeline(session, base).request("GET", "/x", endpoint="x")
    assert len(s.seen) == 3 and err.value.retryable and not err.value.uncertain


async def test_non_idempotent_write_is_not_resent_after_an_ambiguous_failure(
    script: tuple[Script, str], session: aiohttp.ClientSession
) -> None:
    s, base = script
    s.replies = [spotify_error(500, "boom")]
    with pytest.raises(ProviderUnavailable) as err:
        await pipeline(session, base).request("POST", "/items", endpoint="add", json_body={"uris": ["a"]})
    assert err.value.uncertain and len(s.seen) == 1
    # 503 says "not done": resent.
    s.replies = [spotify_error(503, "busy"), ok({"snapshot_id": "s"}, 201)]
    resp = await pipeline(session, base).request("POST", "/items", endpoint="add", json_body={"uris": ["a"]})
    assert resp.status == 201 and len(s.seen) == 3


# Bodies a hostile or broken provider may send as JSON: plain json.loads raises RecursionError or a
# ValueError that is no JSONDecodeError for them, which failed the call with an unexpected error.
BEYOND_JSON_BOUNDS = {
    "nested 8000 deep": b"[" * 8000,
    "nested 200 deep": b'{"id": ' + b"[" * 200 + b"]" * 200 + b"}",
    "5000-digit number": b"1" * 5000,
    "5000-digit number in an object": b'{"id": "me", "followers": ' + b"9" * 5000 + b"}",
    "NaN": b'{"id": "me", "popularity": NaN}',
}


@pytest.mark.parametrize("raw", BEYOND_JSON_BOUNDS.values(), ids=BEYOND_JSON_BOUNDS.keys())
async def test_a_body_beyond_the_json_bounds_is_text_like_any_body_that_is_not_json(
    script: tuple[Script, str], session: aiohttp.ClientSession, raw: bytes
) -> None:
    s, base = script
    s.replies = [lambda _r: web.Response(body=raw, content_type="application/json")]
    resp = await pipeline(session, base).request("GET", "/me", endpoint="me")
    assert resp.body == raw.decode() and resp.json_object == {}


def test_decode_body() -> None:
    assert decode_body(b"") is None
    assert decode_body(b'{"id": "me", "n": [1, 2.5]}') == {"id": "me", "n": [1, 2.5]}
    assert decode_body('{"name": "Sigur Rós"}'.encode("utf-16")) == {"name": "Sigur Rós"}
    assert decode_body(b"<html>bad gateway</html>") == "<html>bad gateway</html>"
    assert decode_body(b"\xff{") == "\ufffd{"


async def test_dropped_connection(script: tuple[Script, str], session: aiohttp.ClientSession) -> None:
    s, base = script
    s.replies = [drop(), ok({"ok": 1})]
    assert (await pipeline(session, base).request("GET", "/x", endpoint="x")).body == {"ok": 1}
    s.replies = [drop()]
    with pytest.raises(ProviderUnavailable) as err:
        await pipeline(session, base).request("POST", "/x", endpoint="x", json_body={})
    assert err.value.uncertain and err.value.code == "network"


async def test_provider_timeout_ends_an_exchange_that_does_not_answer(
    script: tuple[Script, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    s, base = script
    monkeypatch.setenv("PROVIDER_TIMEOUT_S", "0.2")
    release = asyncio.Event()
    s.replies = [stalled(release)] * 3
    session = build_session(load_settings(ProviderSettings))
    started = time.monotonic()
    try:
        with pytest.raises(ProviderUnavailable) as err:
            await pipeline(session, base).request("GET", "/x", endpoint="x")
    finally:
        release.set()
        await session.close()
    assert time.monotonic() - started < 2  # max_attempts exchanges of 0.2 s each (the backoff is not slept)
    assert err.value.code == "network" and "TimeoutError" in err.value.message
    assert len(s.seen) == 3


async def test_429_waits_retry_after_then_raises_when_persistent(
    script: tuple[Script, str], session: aiohttp.ClientSession
) -> None:
    s, base = script
    waits: list[float] = []
    s.replies = [spotify_error(429, "slow down", **{"Retry-After": "2"}), ok({})]
    await pipeline(session, base, waits=waits).request("GET", "/x", endpoint="x")
    assert waits == [pytest.approx(2.1)]
    s.replies = [spotify_error(429, "slow down", **{"Retry-After": "1"})] * 4
    with pytest.raises(RateLimited):
        await pipeline(session, base).request("GET", "/x", endpoint="x")
    s.replies = [spotify_error(429, "come back tomorrow", **{"Retry-After": "3600"})]
    with pytest.raises(RateLimited) as err:
        await pipeline(session, base).request("GET", "/x", endpoint="x")
    assert err.value.retry_after == 3600


async def test_deezer_quota_object_escalates(
    script: tuple[Script, str], session: aiohttp.ClientSession
) -> None:
    s, base = script
    quota = ok({"error": {"type": "Exception", "message": "Quota limit exceeded", "code": 4}})
    s.replies = [quota] * 3
    waits: list[float] = []
    http = pipeline(
        session, base, auth=AuthStyle.QUERY, classify=lambda r: classify_deezer(r, POLICY), waits=waits
    )
    with pytest.raises(QuotaExceeded):
        await http.request("GET", "/user/me", endpoint="me")
    assert waits == [pytest.approx(5.1), pytest.approx(5.1)]


async def test_401_refreshes_once_and_concurrent_calls_share_it(
    script: tuple[Script, str], session: aiohttp.ClientSession
) -> None:
    s, base = script
    tokens = Tokens()

    def by_token(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") == "Bearer fresh-token-123456":
            return web.json_response({"ok": True})
        return web.json_response(
            {"error": {"status": 401, "message": "The access token expired"}}, status=401
        )

    s.replies = [by_token] * 10
    http = pipeline(session, base, tokens=tokens)
    results = await asyncio.gather(*(http.request("GET", f"/x{i}", endpoint="x") for i in range(4)))
    assert all(r.body == {"ok": True} for r in results)
    assert tokens.refreshes == 1


async def test_refresh_that_does_not_help_is_unauthorized(
    script: tuple[Script, str], session: aiohttp.ClientSession
) -> None:
    s, base = script
    s.replies = [spotify_error(401, "Invalid access token")] * 3
    tokens = Tokens(refreshed="still-bad-token-000")
    with pytest.raises(Unauthorized):
        await pipeline(session, base, tokens=tokens).request("GET", "/x", endpoint="x")
    assert len(s.seen) == 2 and tokens.refreshes == 1


async def test_dead_refresh_token(script: tuple[Script, str], session: aiohttp.ClientSession) -> None:
    s, base = script

    class Dead(Tokens):
        async def refresh(self) -> str:
            raise ReconsentRequired("invalid_grant")

    s.replies = [spotify_error(401, "The access token expired")]
    with pytest.raises(ReconsentRequired):
        await pipeline(session, base, tokens=Dead()).request("GET", "/x", endpoint="x")


async def test_links_outside_the_base_are_refused(session: aiohttp.ClientSession) -> None:
    http = pipeline(session, "http://127.0.0.1:9/api.example.com/v1")
    assert http.url("/me") == "http://127.0.0.1:9/api.example.com/v1/me"
    assert http.url("http://127.0.0.1:9/api.example.com/v1/x?y=1").endswith("/x?y=1")
    with pytest.raises(ValueError, match="outside the configured base"):
        http.url("https://evil.example.org/steal")
    with pytest.raises(ValueError, match="outside the configured base"):
        http.url("http://127.0.0.1:9/api.example.com/v1evil")


async def test_errors_never_carry_the_token(
    script: tuple[Script, str], session: aiohttp.ClientSession
) -> None:
    s, base = script
    s.replies = [drop()] * 10
    http = pipeline(session, base, auth=AuthStyle.QUERY, classify=lambda r: classify_deezer(r, POLICY))
    with pytest.raises(ProviderUnavailable) as err:
        await http.request("GET", "/user/me", endpoint="me")
    assert "stale-token" not in str(err.value) and "http" not in str(err.value)


@pytest.mark.parametrize(
    ("jitter", "expected"),
    [
        (0.0, [0.5, 1.0, 2.0, 4.0, 4.0]),
        (1.0, [0.25, 0.5, 1.0, 2.0, 2.0]),
        (0.5, [0.375, 0.75, 1.5, 3.0, 3.0]),
    ],
)
async def test_backoff_doubles_up_to_its_ceiling_and_jitter_shortens_it(
    script: tuple[Script, str], session: aiohttp.ClientSession, jitter: float, expected: list[float]
) -> None:
    """RetryPolicy configures the Backoff: backoff_base_s, doubling, at most backoff_max_s, each wait
    cut by up to half at random (equal jitter)."""
    s, base = script
    policy = POLICY.model_copy(update={"max_attempts": 6})
    metrics = ProviderMetrics()
    waits: list[float] = []
    s.replies = [spotify_error(502, "bad gateway")] * 5 + [ok({"x": 1})]
    http = pipeline(session, base, waits=waits, policy=policy, jitter=jitter, metrics=metrics)
    assert (await http.request("GET", "/x", endpoint="x")).body == {"x": 1}
    assert waits == pytest.approx(expected)
    assert len(s.seen) == 6
    waited = metrics.registry.get_sample_value(
        "pm_provider_wait_seconds_total", {"provider": "spotify", "reason": "backoff"}
    )
    assert waited == pytest.approx(sum(expected))


async def test_each_request_backs_off_from_the_start_and_429_waits_do_not_count_as_attempts(
    script: tuple[Script, str], session: aiohttp.ClientSession
) -> None:
    s, base = script
    waits: list[float] = []
    http = pipeline(session, base, waits=waits)
    s.replies = [spotify_error(503, "down"), ok({})]
    await http.request("GET", "/a", endpoint="a")
    s.replies = [
        spotify_error(503, "down"),
        spotify_error(429, "slow down", **{"Retry-After": "1"}),
        spotify_error(429, "slow down", **{"Retry-After": "1"}),
        spotify_error(503, "down"),
        ok({"b": 1}),
    ]
    assert (await http.request("GET", "/b", endpoint="b")).body == {"b": 1}
    # /a: one backoff; /b starts again at the initial delay, its Retry-After waits between the two 5xx
    # neither use up one of the 3 attempts nor reset the backoff.
    assert waits == [0.5, 0.5, pytest.approx(1.1), pytest.approx(1.1), 1.0]


async def test_every_answer_teaches_the_providers_clock(
    script: tuple[Script, str], session: aiohttp.ClientSession
) -> None:
    """The pipeline reads ``Date`` from every answer, errors included, and stamps answers by the
    clocks' notion of our time."""
    s, base = script
    clocks = ProviderClocks()
    http = ProviderHttp(
        ProviderName.YOUTUBE,
        session=session,
        base_url=base,
        classify=lambda r: classify_youtube(r, POLICY),
        tokens=Tokens(),
        policy=POLICY,
        clocks=clocks,
    )
    ahead = formatdate(time.time() + 3600, usegmt=True)
    quota = {"error": {"code": 403, "message": "q", "errors": [{"reason": "quotaExceeded"}]}}
    s.replies = [lambda _r: web.json_response(quota, status=403, headers={"Date": ahead})]
    with pytest.raises(QuotaExceeded) as err:
        await http.request("GET", "/channels", endpoint="channel")
    assert abs(clocks.offset(ProviderName.YOUTUBE) - timedelta(hours=1)) < timedelta(seconds=2)
    assert err.value.resets_at is not None
    s.replies = [lambda _r: web.json_response({}, headers={"Date": "not a date"})]
    await http.request("GET", "/channels", endpoint="channel")
    assert abs(clocks.offset(ProviderName.YOUTUBE) - timedelta(hours=1)) < timedelta(seconds=2)
    s.replies = [ok({})]  # aiohttp's own Date: this machine's time
    await http.request("GET", "/channels", endpoint="channel")
    assert abs(clocks.offset(ProviderName.YOUTUBE)) < timedelta(seconds=2)
    assert clocks.offset(ProviderName.SPOTIFY) == timedelta(0)


async def test_answers_are_stamped_by_the_given_clock(
    script: tuple[Script, str], session: aiohttp.ClientSession
) -> None:
    s, base = script
    ours = datetime(2026, 7, 1, 5, 59, 30, tzinfo=UTC)
    http = ProviderHttp(
        ProviderName.YOUTUBE,
        session=session,
        base_url=base,
        classify=lambda r: classify_youtube(r, POLICY),
        tokens=Tokens(),
        policy=POLICY,
        clocks=ProviderClocks(now=lambda: ours),
    )
    s.replies = [lambda _r: web.json_response({}, headers={"Date": "Wed, 01 Jul 2026 06:59:30 GMT"})]
    resp = await http.request("GET", "/channels", endpoint="channel")
    assert resp.received_at == ours
    assert resp.on_our_clock(datetime(2026, 7, 1, 7, 0, tzinfo=UTC)) == ours + timedelta(seconds=30)


class DownRedis:
    """A Redis whose every script fails as an unreachable server's does (at once)."""

    def register_script(self, _lua: str) -> Callable[..., Awaitable[Any]]:
        async def run(**_kwargs: Any) -> Any:
            raise RedisConnectionError("Redis is down")

        return run


class FreeLimiter(RateLimiter):
    """Gives every token at once; ``adopt`` is the real one, on a Redis that is down."""

    def __init__(self) -> None:
        super().__init__(DownRedis(), ProviderSettings())  # type: ignore[arg-type]

    async def acquire(self, provider: ProviderName, user_key: str | None = None) -> float:
        return 0.0


class RecordingLimiter(FreeLimiter):
    """Records the buckets the pipeline hands over."""

    def __init__(self) -> None:
        super().__init__()
        self.adopted: list[tuple[ProviderName, AdvertisedLimit]] = []

    async def adopt(self, provider: ProviderName, advertised: AdvertisedLimit) -> None:
        self.adopted.append((provider, advertised))


def limited_pipeline(session: aiohttp.ClientSession, base: str, limiter: RateLimiter) -> ProviderHttp:
    async def sleep(_s: float) -> None:
        pass

    return ProviderHttp(
        ProviderName.TIDAL,
        session=session,
        base_url=base,
        classify=lambda r: classify_spotify(r, POLICY),
        tokens=Tokens(),
        policy=POLICY,
        limiter=limiter,
        sleep=sleep,
    )


def bucket_headers(burst: str, rate: str, cost: str, remaining: str) -> dict[str, str]:
    return {
        "x-ratelimit-burst-capacity": burst,
        "x-ratelimit-replenish-rate": rate,
        "x-ratelimit-requested-tokens": cost,
        "x-ratelimit-remaining": remaining,
    }


async def test_the_bucket_advertised_on_every_answer_goes_to_the_limiter(
    script: tuple[Script, str], session: aiohttp.ClientSession
) -> None:
    """429s included; headers that are absent or absurd are not handed over, and the answer is."""
    s, base = script
    limiter = RecordingLimiter()
    http = limited_pipeline(session, base, limiter)
    s.replies = [
        spotify_error(429, "slow down", **{"Retry-After": "1"}, **bucket_headers("10", "1", "5", "0")),
        lambda _r: web.json_response({"a": 1}, headers=bucket_headers("10", "1", "5", "5")),
    ]
    assert (await http.request("GET", "/a", endpoint="a")).body == {"a": 1}
    assert limiter.adopted == [
        (ProviderName.TIDAL, AdvertisedLimit(10, 1, 5, 0)),
        (ProviderName.TIDAL, AdvertisedLimit(10, 1, 5, 5)),
    ]
    s.replies = [
        lambda _r: web.json_response({"b": 1}, headers=bucket_headers("4", "1", "5", "0")),  # cost > burst
        lambda _r: web.json_response({"c": 1}, headers=bucket_headers("10", "0", "5", "0")),  # no refill
        ok({"d": 1}),
    ]
    for path in ("b", "c", "d"):
        assert (await http.request("GET", f"/{path}", endpoint=path)).body == {path: 1}
    assert len(limiter.adopted) == 2


async def test_a_bucket_that_cannot_be_stored_does_not_fail_the_answer(
    script: tuple[Script, str], session: aiohttp.ClientSession
) -> None:
    """Redis failing while the advertised bucket is stored: logged, and the (written) answer returned."""
    s, base = script
    s.replies = [
        lambda _r: web.json_response({"id": "p"}, status=201, headers=bucket_headers("10", "1", "5", "5"))
    ]
    http = limited_pipeline(session, base, FreeLimiter())
    resp = await http.request("POST", "/playlists", endpoint="create", json_body={"name": "x"})
    assert resp.status == 201 and resp.body == {"id": "p"}
