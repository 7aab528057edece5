"""``/_admin/``: test control (users and tokens, reset, faults, rate limits, call counts, switches, clock).

Every endpoint answers JSON; errors are ``{"error": "..."}`` with 400 or 404. See the README.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field, ValidationError

from pm_provider_emulator.domain.clock import ManualClock, SystemClock
from pm_provider_emulator.domain.demo import DEMO_ACCOUNTS, DemoAccount, provider_ids
from pm_provider_emulator.domain.faults import FaultConfig
from pm_provider_emulator.domain.oauth import Client
from pm_provider_emulator.http.common import emu, json_response, read_json
from pm_provider_emulator.http.context import Emulator
from pm_provider_emulator.storage.state import PROVIDERS, Playlist, User

P = "/_admin"
DEFAULT_SCOPES = {p: DEMO_ACCOUNTS[p].scopes for p in PROVIDERS}
DEFAULT_TTL = {"spotify": 3600, "deezer": 3600, "tidal": 86_400, "youtube": 3599}
RATE_PROVIDERS = (*PROVIDERS, "musicbrainz")
# Providers whose authorization server lets a client without a secret redeem codes (with PKCE). Deezer
# and Google authenticate every token request with the secret (Google's installed apps have one too).
PUBLIC_CLIENT_PROVIDERS = ("spotify", "tidal")


def bad(message: str, status: int = 400) -> web.Response:
    return json_response({"error": message}, status)


class PlaylistSpec(BaseModel):
    name: str
    description: str = ""
    public: bool = False
    tracks: list[str] | None = Field(None, description="the provider's track ids, in order")
    source_playlist: int | None = Field(
        None, ge=0, description="index of a real playlist (GET /_admin/catalog/playlists)"
    )
    size: int | None = Field(None, ge=0, le=20_000, description="n catalog tracks (distinct while they last)")


class LibrarySpec(BaseModel):
    playlists: list[PlaylistSpec] = Field(default_factory=list)
    liked: list[str] | None = None
    liked_count: int = Field(0, ge=0, le=20_000)


class UserSpec(BaseModel):
    provider: str
    user_id: str | None = None
    name: str | None = None
    email: str | None = None
    country: str = "US"
    scopes: list[str] | None = None
    token_ttl: int | None = Field(None, ge=1, description="access token lifetime; default the provider's")
    client_id: str | None = None
    library: LibrarySpec = Field(default_factory=LibrarySpec)


class TokenSpec(BaseModel):
    scopes: list[str] | None = None
    token_ttl: int | None = Field(None, ge=1)
    client_id: str | None = None


class ClientSpec(BaseModel):
    provider: str
    client_id: str
    client_secret: str | None = Field(None, description="none: a public client (PKCE only; Spotify, TIDAL)")
    redirect_uris: list[str] = Field(default_factory=list)


class ConfigSpec(BaseModel):
    spotify_mode: str | None = Field(None, pattern="^(current|legacy)$")
    youtube_quota_mode: str | None = Field(None, pattern="^(current|legacy)$")
    link_style: str | None = Field(None, pattern="^(emulator|real)$")
    public_base_url: str | None = None


# Deezer's and TIDAL's user ids are integers in their APIs.
NUMERIC_USER_IDS = ("deezer", "tidal")


def catalog_ids(e: Emulator, provider: str) -> list[str]:
    if provider == "spotify":
        return sorted(e.catalogs.spotify)
    if provider == "deezer":
        return [str(i) for i in sorted(e.catalogs.deezer)]
    if provider == "tidal":
        return sorted(e.catalogs.tidal)
    return sorted(e.catalogs.youtube)


def known_track(e: Emulator, provider: str, tid: str) -> bool:
    if provider == "spotify":  # catalog ids, or local files as URIs (spotify:local:...)
        return tid in e.catalogs.spotify or tid.startswith("spotify:local:")
    if provider == "deezer":
        return tid.isdigit() and int(tid) in e.catalogs.deezer
    if provider == "tidal":
        return tid in e.catalogs.tidal
    return tid in e.catalogs.youtube


def playlist_tracks(e: Emulator, provider: str, spec: PlaylistSpec) -> list[str]:
    if spec.tracks is not None:
        unknown = [t for t in spec.tracks if not known_track(e, provider, t)]
        if unknown:
            raise ValueError(f"unknown {provider} track ids: {unknown[:5]}")
        return list(spec.tracks)
    if spec.source_playlist is not None:
        if spec.source_playlist >= len(e.catalogs.playlists):
            raise ValueError(f"source_playlist must be < {len(e.catalogs.playlists)}")
        return provider_ids(e.catalogs, provider, e.catalogs.playlists[spec.source_playlist].tracks)
    if spec.size is not None:
        ids = catalog_ids(e, provider)
        return [ids[i % len(ids)] for i in range(spec.size)]
    return []


def user_summary(e: Emulator, u: User) -> dict[str, Any]:
    return {
        "provider": u.provider,
        "id": u.id,
        "name": u.name,
        "email": u.email,
        "country": u.country,
        "playlists": [playlist_summary(p) for p in e.store.library_playlists(u)],
        "liked_count": len(u.liked),
    }


def playlist_summary(p: Playlist, with_tracks: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": p.id,
        "name": p.name,
        "owner_id": p.owner_id,
        "public": p.public,
        "track_count": len(p.entries),
        "version": p.version,
    }
    if with_tracks:
        out["tracks"] = [x.track_id for x in p.entries]
    return out


def token_response(e: Emulator, provider: str, user: User, spec: TokenSpec) -> dict[str, Any]:
    client_id = spec.client_id or DEMO_ACCOUNTS[provider].client_id
    scopes = tuple(spec.scopes if spec.scopes is not None else DEFAULT_SCOPES[provider])
    ttl = spec.token_ttl or e.settings.token_ttl or DEFAULT_TTL[provider]
    access = e.store.issue_access_token(provider, client_id, user.id, scopes, ttl)
    refresh = None
    if provider != "deezer":
        refresh = e.store.issue_refresh_token(
            provider, client_id, user.id, scopes, lifetime=None, rotates=False
        ).token
    return {
        "provider": provider,
        "user_id": user.id,
        "client_id": client_id,
        "access_token": access.token,
        "refresh_token": refresh,
        "expires_in": ttl,
        "scopes": list(scopes),
    }


async def _model(request: web.Request, model: type[BaseModel]) -> Any:
    body = await read_json(request)
    return model.model_validate(body if body is not None else {})


# ---------------------------------------------------------------- handlers


async def index(request: web.Request) -> web.Response:
    return json_response(
        {
            "endpoints": sorted(
                {
                    f"{r.method} {r.resource.canonical}"
                    for r in request.app.router.routes()
                    if r.resource is not None and r.resource.canonical.startswith(P)
                }
            )
        }
    )


def _account(a: DemoAccount) -> dict[str, Any]:
    return {
        "user_id": a.user_id,
        "name": a.name,
        "access_token": a.access_token,
        "refresh_token": a.refresh_token,
        "client_id": a.client_id,
        "scopes": list(a.scopes),
        "expires": "never",
    }


async def demo(request: web.Request) -> web.Response:
    e = emu(request)
    out = {}
    for p in PROVIDERS:
        u = e.store.user(p, DEMO_ACCOUNTS[p].user_id)
        if u is not None:
            out[p] = {**_account(DEMO_ACCOUNTS[p]), **user_summary(e, u)}
    return json_response(
        {
            "users": out,
            "clients": [
                {"provider": c.provider, "client_id": c.client_id, "client_secret": c.client_secret}
                for c in e.store.clients.values()
            ],
        }
    )


async def create_user(request: web.Request) -> web.Response:
    e = emu(request)
    try:
        spec = await _model(request, UserSpec)
        if spec.provider not in PROVIDERS:
            return bad(f"provider must be one of {list(PROVIDERS)}")
        p = spec.provider
        if p in NUMERIC_USER_IDS and spec.user_id is not None and not spec.user_id.isdigit():
            return bad(f"{p} user ids are numbers, not {spec.user_id!r}")
        track_lists = [playlist_tracks(e, p, pl) for pl in spec.library.playlists]
        liked = list(spec.library.liked or [])
        for t in liked:
            if not known_track(e, p, t):
                return bad(f"unknown {p} track id {t}")
        if spec.library.liked_count:
            liked += catalog_ids(e, p)[: spec.library.liked_count]
        user = e.store.create_user(
            p, user_id=spec.user_id, name=spec.name, email=spec.email, country=spec.country
        )
    except (ValidationError, ValueError) as err:
        return bad(str(err))
    now = e.clock.now()
    for pl_spec, ids in zip(spec.library.playlists, track_lists, strict=True):
        pl = e.store.create_playlist(
            p, user, pl_spec.name, description=pl_spec.description, public=pl_spec.public
        )
        pl.entries = [e.store.entry(p, t, now, user.id) for t in ids]
    user.liked = [e.store.entry(p, t, now, user.id) for t in reversed(liked)]
    if user.loved_playlist_id is not None:
        e.store.playlists[p][user.loved_playlist_id].entries = list(user.liked)
    tokens = token_response(
        e, p, user, TokenSpec(scopes=spec.scopes, token_ttl=spec.token_ttl, client_id=spec.client_id)
    )
    return json_response({"user": user_summary(e, user), "tokens": tokens}, 201)


def _user(request: web.Request) -> tuple[Emulator, User] | web.Response:
    e = emu(request)
    provider = request.match_info["provider"]
    if provider not in PROVIDERS:
        return bad(f"provider must be one of {list(PROVIDERS)}", 404)
    u = e.store.user(provider, request.match_info["user_id"])
    if u is None:
        return bad("no such user", 404)
    return e, u


async def get_user(request: web.Request) -> web.Response:
    found = _user(request)
    if isinstance(found, web.Response):
        return found
    e, u = found
    summary = user_summary(e, u)
    summary["playlists"] = [playlist_summary(p, with_tracks=True) for p in e.store.library_playlists(u)]
    summary["liked"] = [x.track_id for x in u.liked]
    return json_response(summary)


class RevokeSpec(BaseModel):
    client_id: str


async def revoke_access(request: web.Request) -> web.Response:
    """The user removes the app's access: its tokens die, and a refresh answers ``invalid_grant``."""
    found = _user(request)
    if isinstance(found, web.Response):
        return found
    e, u = found
    try:
        spec = await _model(request, RevokeSpec)
    except ValidationError as err:
        return bad(str(err))
    return json_response({"revoked": e.store.revoke_access(u.provider, spec.client_id, u.id)})


async def mint_tokens(request: web.Request) -> web.Response:
    found = _user(request)
    if isinstance(found, web.Response):
        return found
    e, u = found
    try:
        spec = await _model(request, TokenSpec)
    except ValidationError as err:
        return bad(str(err))
    return json_response(token_response(e, u.provider, u, spec), 201)


async def expire_token(request: web.Request) -> web.Response:
    e = emu(request)
    tok = e.store.tokens.get(request.match_info["token"])
    if tok is None:
        return bad("no such access token", 404)
    tok.expires_at = e.clock.now() - 1
    return json_response({"expired": True})


async def add_client(request: web.Request) -> web.Response:
    e = emu(request)
    try:
        spec = await _model(request, ClientSpec)
    except ValidationError as err:
        return bad(str(err))
    if spec.provider not in PROVIDERS:
        return bad(f"provider must be one of {list(PROVIDERS)}")
    if spec.client_secret is None and spec.provider not in PUBLIC_CLIENT_PROVIDERS:
        return bad(f"client_secret is required for {spec.provider} (public clients: spotify, tidal)")
    e.store.add_client(Client(spec.provider, spec.client_id, spec.client_secret, spec.redirect_uris))
    return json_response(spec.model_dump(), 201)


async def reset(request: web.Request) -> web.Response:
    from pm_provider_emulator.app import reset_state

    e = emu(request)
    reset_state(e, keep_config=request.query.get("keep_config", "").lower() in ("1", "true", "yes"))
    return json_response({"reset": True, "demo_users": e.settings.demo_users})


async def get_faults(request: web.Request) -> web.Response:
    e = emu(request)
    return json_response({p: c.model_dump() for p, c in e.faults.configs.items()})


async def put_fault(request: web.Request) -> web.Response:
    e = emu(request)
    provider = request.match_info["provider"]
    if provider not in RATE_PROVIDERS:
        return bad(f"provider must be one of {list(RATE_PROVIDERS)}", 404)
    try:
        cfg = await _model(request, FaultConfig)
    except ValidationError as err:
        return bad(str(err))
    e.faults.set(provider, cfg)
    return json_response({provider: cfg.model_dump()})


async def delete_faults(request: web.Request) -> web.Response:
    emu(request).faults.clear(request.match_info.get("provider"))
    return json_response({"cleared": True})


async def get_limits(request: web.Request) -> web.Response:
    e = emu(request)
    return json_response({"enabled": e.settings.rate_limits, "providers": e.limits.describe()})


async def put_limit(request: web.Request) -> web.Response:
    e = emu(request)
    provider = request.match_info["provider"]
    if provider not in RATE_PROVIDERS:
        return bad(f"provider must be one of {list(RATE_PROVIDERS)}", 404)
    body = await read_json(request)
    if not isinstance(body, dict):
        return bad("body must be a JSON object")
    try:
        e.limits.configure(provider, body)
    except ValueError as err:
        return bad(str(err))
    return json_response({provider: e.limits.describe()[provider]})


async def get_calls(request: web.Request) -> web.Response:
    e = emu(request)
    prefix = request.query.get("host")
    calls = {
        k: v
        for k, v in sorted(e.store.calls.items())
        if not prefix or k.split(" ", 1)[1].startswith(f"/{prefix}")
    }
    return json_response({"calls": calls, "total": sum(calls.values())})


async def delete_calls(request: web.Request) -> web.Response:
    emu(request).store.calls.clear()
    return json_response({"cleared": True})


async def get_config(request: web.Request) -> web.Response:
    c = emu(request).config
    return json_response(
        {
            "spotify_mode": c.spotify_mode,
            "youtube_quota_mode": c.youtube_quota_mode,
            "link_style": c.link_style,
            "public_base_url": c.public_base_url,
        }
    )


async def put_config(request: web.Request) -> web.Response:
    e = emu(request)
    try:
        spec = await _model(request, ConfigSpec)
    except ValidationError as err:
        return bad(str(err))
    for key, value in spec.model_dump(exclude_unset=True).items():
        setattr(e.config, key, value)
    return await get_config(request)


def clock_state(e: Emulator) -> dict[str, Any]:
    """``now``; ``manual``; ``offset``: how far the system clock was moved (None for a manual clock)."""
    c = e.clock
    return {
        "now": c.now(),
        "manual": isinstance(c, ManualClock),
        "offset": c.offset if isinstance(c, SystemClock) else None,
    }


async def get_clock(request: web.Request) -> web.Response:
    return json_response(clock_state(emu(request)))


CLOCK_BODY = '{"advance": seconds}, {"set": epoch_seconds} or (system clock) {"offset": seconds}'


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


async def post_clock(request: web.Request) -> web.Response:
    """Move the clock. The system clock keeps flowing from where it is put (it runs with an offset;
    ``{"offset": 0}`` is the machine's time again); the manual clock stays where it is put."""
    e = emu(request)
    clock = e.clock
    if not isinstance(clock, ManualClock | SystemClock):
        return bad("this clock cannot be moved", 409)
    body = await read_json(request)
    if not isinstance(body, dict):
        return bad(f"body must be {CLOCK_BODY}")
    if _number(body.get("advance")):
        clock.advance(float(body["advance"]))
    elif _number(body.get("set")):
        clock.set(float(body["set"]))
    elif _number(body.get("offset")) and isinstance(clock, SystemClock):
        clock.offset = float(body["offset"])
    else:
        return bad(f"body must be {CLOCK_BODY}")
    return json_response(clock_state(e))


async def catalog_playlists(request: web.Request) -> web.Response:
    e = emu(request)
    return json_response(
        {
            "playlists": [
                {
                    "index": i,
                    "spotify_id": p.id,
                    "name": p.name,
                    "genre": p.genre,
                    "track_count": len(p.tracks),
                }
                for i, p in enumerate(e.catalogs.playlists)
            ]
        }
    )


async def catalog_mapping(request: web.Request) -> web.Response:
    """Ground truth for one recording: every service's track ids, by Spotify id or ISRC."""
    e = emu(request)
    c = e.catalogs
    recs: list[int] = []
    if "spotify_id" in request.query and (t := c.spotify.get(request.query["spotify_id"])) is not None:
        recs.append(t.rec)
    if "isrc" in request.query:
        recs += [r.rec for r in c.recordings.values() if r.isrc == request.query["isrc"].upper()]
    if not recs:
        return bad("pass spotify_id= or isrc= of a catalog track", 404)
    out = []
    for rec_id in dict.fromkeys(recs):
        rec = c.recordings[rec_id]
        out.append(
            {
                "isrc": rec.isrc,
                "mbid": rec.mbid if any(m.rec == rec_id for m in c.mb_by_isrc.get(rec.isrc, [])) else None,
                "spotify": list(rec.spotify_ids),
                "deezer": [c.deezer_by_src[s].id for s in rec.spotify_ids if s in c.deezer_by_src],
                "tidal": [c.tidal_by_src[s].id for s in rec.spotify_ids if s in c.tidal_by_src],
                "youtube": [c.youtube_by_src[s].id for s in rec.spotify_ids if s in c.youtube_by_src],
            }
        )
    return json_response({"recordings": out})


def routes() -> list[web.RouteDef]:
    return [
        web.get(P, index),
        web.get(f"{P}/demo", demo),
        web.post(f"{P}/users", create_user),
        web.get(f"{P}/users/{{provider}}/{{user_id}}", get_user),
        web.post(f"{P}/users/{{provider}}/{{user_id}}/tokens", mint_tokens),
        web.post(f"{P}/users/{{provider}}/{{user_id}}/revoke-access", revoke_access),
        web.post(f"{P}/tokens/{{token}}/expire", expire_token),
        web.post(f"{P}/clients", add_client),
        web.post(f"{P}/reset", reset),
        web.get(f"{P}/faults", get_faults),
        web.put(f"{P}/faults/{{provider}}", put_fault),
        web.delete(f"{P}/faults", delete_faults),
        web.delete(f"{P}/faults/{{provider}}", delete_faults),
        web.get(f"{P}/rate-limits", get_limits),
        web.put(f"{P}/rate-limits/{{provider}}", put_limit),
        web.get(f"{P}/calls", get_calls),
        web.delete(f"{P}/calls", delete_calls),
        web.get(f"{P}/config", get_config),
        web.put(f"{P}/config", put_config),
        web.get(f"{P}/clock", get_clock),
        web.post(f"{P}/clock", post_clock),
        web.get(f"{P}/catalog/playlists", catalog_playlists),
        web.get(f"{P}/catalog/mapping", catalog_mapping),
    ]
