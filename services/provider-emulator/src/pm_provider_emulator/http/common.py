"""Helpers shared by the provider modules: links, bodies, tokens, JSON responses."""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any, NoReturn
from urllib.parse import parse_qsl, urlencode

from aiohttp import web

from pm_provider_emulator.http.context import EMULATOR, Emulator

HOST_PROVIDER = {
    "api.spotify.com": "spotify",
    "accounts.spotify.com": "spotify",
    "api.deezer.com": "deezer",
    "connect.deezer.com": "deezer",
    "openapi.tidal.com": "tidal",
    "api.tidal.com": "tidal",
    "auth.tidal.com": "tidal",
    "login.tidal.com": "tidal",
    "www.googleapis.com": "youtube",
    "youtube.googleapis.com": "youtube",
    "oauth2.googleapis.com": "youtube",
    "accounts.google.com": "youtube",
    "musicbrainz.org": "musicbrainz",
}
API_HOSTS = frozenset(
    {
        "api.spotify.com",
        "api.deezer.com",
        "openapi.tidal.com",
        "www.googleapis.com",
        "youtube.googleapis.com",
        "musicbrainz.org",
    }
)


def emu(request: web.Request) -> Emulator:
    return request.app[EMULATOR]


def request_host(request: web.Request) -> str:
    """The emulated host of a request: the first path segment (``/api.spotify.com/v1/me``)."""
    parts = request.path.split("/", 2)
    return parts[1] if len(parts) > 1 else ""


def link_base(request: web.Request, host: str) -> str:
    """Base of absolute links in responses for ``host`` (the emulator mount, or the real host)."""
    e = emu(request)
    if e.config.link_style == "real":
        return f"https://{host}"
    base = e.config.public_base_url or f"{request.scheme}://{request.host}"
    return f"{base.rstrip('/')}/{host}"


def url_with(base: str, params: dict[str, Any]) -> str:
    clean = {k: v for k, v in params.items() if v is not None}
    return f"{base}?{urlencode(clean)}" if clean else base


def bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return None


def dumps(body: Any) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def json_response(
    body: Any,
    status: int = 200,
    headers: dict[str, str] | None = None,
    content_type: str = "application/json",
) -> web.Response:
    resp = web.Response(text=dumps(body), status=status, headers=headers, content_type=content_type)
    resp.charset = "utf-8"
    return resp


# Request bodies. The emulator imports no project package (its image carries only itself), so these are
# its own bounds, not pm_platform's reader: the size is aiohttp's client_max_size (app.py), checked by
# request.read() as the body arrives (413).
BODY_TIMEOUT_S = 30.0  # the whole body, from the moment a handler starts reading it
# Far deeper than any body the emulated APIs take (a handful of levels), far below Python's recursion
# limit, which json.loads, str() or pydantic would hit on a hostile body (a 500).
JSON_MAX_DEPTH = 64


class SlowBody(Exception):
    """The request body did not arrive within BODY_TIMEOUT_S (middleware.py answers 408 and closes)."""


async def read_body(request: web.Request) -> bytes:
    """The whole request body: 413 past the app's client_max_size, :class:`SlowBody` past
    BODY_TIMEOUT_S. Read once; later calls return the same bytes."""
    try:
        async with asyncio.timeout(BODY_TIMEOUT_S):
            return await request.read()
    except TimeoutError:
        raise SlowBody(f"the body did not arrive within {BODY_TIMEOUT_S:g} s") from None


def parse_json(raw: bytes) -> Any:
    """``raw`` parsed as JSON; ValueError when it is not JSON, nests deeper than JSON_MAX_DEPTH, or holds
    NaN, Infinity or a number beyond a double's range. Python itself refuses integers of more than 4300
    digits (ValueError, by default), so no number is costly to convert."""
    try:
        value = json.loads(raw, parse_float=_finite_float, parse_constant=_not_a_number)
    except RecursionError:
        raise ValueError(f"nested more than {JSON_MAX_DEPTH} levels deep") from None
    if _nests_deeper_than(value, JSON_MAX_DEPTH):
        raise ValueError(f"nested more than {JSON_MAX_DEPTH} levels deep")
    return value


def _nests_deeper_than(value: Any, max_depth: int) -> bool:
    # A stack of its own: recursion is what deep nesting breaks.
    pending: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, dict | list) else []
    while pending:
        node, depth = pending.pop()
        if depth > max_depth:
            return True
        children = node.values() if isinstance(node, dict) else node
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _finite_float(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        raise ValueError(f"the number {token[:20]} is out of range")
    return value


def _not_a_number(token: str) -> NoReturn:
    raise ValueError(f"{token} is not a JSON number")


async def read_json(request: web.Request) -> Any:
    """The JSON body, or ``None`` when absent or not JSON (beyond :func:`parse_json`'s bounds included):
    each handler answers that as its provider answers a body it cannot read."""
    if not request.body_exists:
        return None
    raw = await read_body(request)
    if not raw.strip():
        return None
    try:
        return parse_json(raw)
    except ValueError:
        return None


async def read_form(request: web.Request) -> dict[str, str]:
    """Form fields of a urlencoded body (whatever the Content-Type header says), last value wins."""
    if not request.body_exists:
        return {}
    raw = (await read_body(request)).decode("utf-8", "replace")
    return dict(parse_qsl(raw, keep_blank_values=True))


def int_param(value: str | None, default: int) -> int | None:
    """``default`` when absent, the int when valid, ``None`` when not an integer."""
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        return None


def iso(ts: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_duration(seconds: int) -> str:
    """ISO-8601 duration as TIDAL and YouTube write it: ``PT3M25S``, ``PT1H2M``, ``PT0S``."""
    h, rem = divmod(max(0, seconds), 3600)
    m, s = divmod(rem, 60)
    out = "PT"
    if h:
        out += f"{h}H"
    if m:
        out += f"{m}M"
    if s or out == "PT":
        out += f"{s}S"
    return out
