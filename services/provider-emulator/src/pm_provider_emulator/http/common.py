"""Helpers shared by the provider modules: links, bodies, tokens, JSON responses."""

from __future__ import annotations

import json
from typing import Any
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


async def read_json(request: web.Request) -> Any:
    """The JSON body, or ``None`` when absent or not JSON."""
    if not request.body_exists:
        return None
    raw = await request.read()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


async def read_form(request: web.Request) -> dict[str, str]:
    """Form fields of a urlencoded body (whatever the Content-Type header says), last value wins."""
    if not request.body_exists:
        return {}
    raw = (await request.read()).decode("utf-8", "replace")
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
