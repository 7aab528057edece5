"""api.spotify.com/v1: profile, playlists and their items, liked tracks, search, tracks.

Two surfaces behind ``spotify_mode`` (settings or ``PUT /_admin/config``):
- ``current`` (2026 development mode): ``/playlists/{id}/items`` (limit ≤ 50), entries carry ``item``
  and the deprecated ``track``, playlist objects carry ``items`` and ``tracks``; ``/playlists/{id}/tracks``,
  ``/users/{id}/playlists``, ``PUT/DELETE /me/tracks`` and ``GET /tracks?ids=`` answer 403; search
  limit ≤ 10; items of playlists the user does not own answer 403; ``account_id`` on ``/me``.
- ``legacy`` (before 2026 / extended quota shape): ``/playlists/{id}/tracks`` (limit ≤ 100), entries
  carry ``track`` only, ``/items`` is 404, search limit ≤ 50, ``available_markets`` and ``popularity``.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote_plus

from aiohttp import web

from pm_provider_emulator.domain import playlist_ops
from pm_provider_emulator.domain.catalog import SpotifyTrack
from pm_provider_emulator.domain.fields import FieldsSyntaxError, filter_fields
from pm_provider_emulator.domain.oauth import AccessToken
from pm_provider_emulator.domain.search import parse_field_query
from pm_provider_emulator.http import errors
from pm_provider_emulator.http.common import (
    emu,
    int_param,
    iso,
    json_response,
    link_base,
    read_json,
    url_with,
)
from pm_provider_emulator.http.context import Emulator
from pm_provider_emulator.storage.state import Entry, Playlist, User

HOST = "api.spotify.com"
PREFIX = f"/{HOST}/v1"
BASE62_RE = re.compile(r"^[0-9A-Za-z]{1,40}$")
MARKETS = [
    "AD",
    "AR",
    "AT",
    "AU",
    "BE",
    "BR",
    "CA",
    "CH",
    "DE",
    "DK",
    "ES",
    "FI",
    "FR",
    "GB",
    "IE",
    "IT",
    "JP",
    "MX",
    "NL",
    "NO",
    "NZ",
    "PL",
    "PT",
    "SE",
    "US",
]
MAX_ADD = 100
MAX_LIBRARY_URIS = 40

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class SpotifyError(Exception):
    def __init__(self, status: int, message: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def current(e: Emulator) -> bool:
    return e.config.spotify_mode == "current"


def api(*scopes: str, any_scope: bool = False) -> Callable[[Callable[..., Awaitable[Any]]], Handler]:
    """Wrap a handler ``(request, emulator, token, user) -> Response`` with token and scope checks."""

    def wrap(fn: Callable[..., Awaitable[Any]]) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            e = emu(request)
            header = request.headers.get("Authorization")
            if not header:
                return errors.spotify(401, "No token provided")
            token_value = header[7:].strip() if header[:7].lower() == "bearer " else ""
            token = e.store.access_token("spotify", token_value)
            if token is None:
                return errors.spotify(401, "Invalid access token")
            if token.expires_at is not None and e.clock.now() >= token.expires_at:
                return errors.spotify(401, "The access token expired")
            user = e.store.user("spotify", token.user_id)
            if scopes:
                have = [s in token.scopes for s in scopes]
                if not (any(have) if any_scope else all(have)):
                    return errors.spotify(403, "Insufficient client scope")
            try:
                result: web.StreamResponse = await fn(request, e, token, user)
            except SpotifyError as err:
                return errors.spotify(err.status, err.message)
            return result

        return handler

    return wrap


def need_user(user: User | None) -> User:
    if user is None:  # a client-credentials token has no user
        raise SpotifyError(401, "This request requires user authentication.")
    return user


# ---------------------------------------------------------------- object rendering


def _image(kind: str, ident: str) -> list[dict[str, Any]]:
    h = hashlib.sha1(f"{kind}:{ident}".encode(), usedforsecurity=False).hexdigest()[:24]
    return [
        {"url": f"https://i.scdn.co/image/ab67616d0000b273{h}", "width": 640, "height": 640},
        {"url": f"https://i.scdn.co/image/ab67616d00001e02{h}", "width": 300, "height": 300},
        {"url": f"https://i.scdn.co/image/ab67616d00004851{h}", "width": 64, "height": 64},
    ]


def artist_obj(base: str, name: str) -> dict[str, Any]:
    from pm_provider_emulator.domain.derive import base62_id

    aid = base62_id("artist", name)
    return {
        "external_urls": {"spotify": f"https://open.spotify.com/artist/{aid}"},
        "href": f"{base}/artists/{aid}",
        "id": aid,
        "name": name,
        "type": "artist",
        "uri": f"spotify:artist:{aid}",
    }


def _precision(date: str) -> str:
    return {4: "year", 7: "month"}.get(len(date), "day")


def track_obj(
    e: Emulator, base: str, t: SpotifyTrack, market: str | None, *, in_playlist: bool = False
) -> dict[str, Any]:
    cur = current(e)
    album: dict[str, Any] = {
        "album_type": t.album_type,
        "artists": [artist_obj(base, t.artists[0])],
        "external_urls": {"spotify": f"https://open.spotify.com/album/{t.album_id}"},
        "href": f"{base}/albums/{t.album_id}",
        "id": t.album_id,
        "images": _image("album", t.album_id),
        "is_playable": t.playable,
        "name": t.album_name,
        "release_date": t.release_date,
        "release_date_precision": _precision(t.release_date),
        "total_tracks": 1 if t.album_type == "single" else max(t.track_number, 12),
        "type": "album",
        "uri": f"spotify:album:{t.album_id}",
    }
    obj: dict[str, Any] = {
        "album": album,
        "artists": [artist_obj(base, a) for a in t.artists],
        "disc_number": 1,
        "duration_ms": t.duration_ms,
        "explicit": t.explicit,
        "external_ids": {"isrc": t.isrc} if t.isrc else {},
        "external_urls": {"spotify": f"https://open.spotify.com/track/{t.id}"},
        "href": f"{base}/tracks/{t.id}",
        "id": t.id,
        "is_local": False,
        "name": t.name,
        "track_number": t.track_number,
        "type": "track",
        "uri": f"spotify:track:{t.id}",
    }
    if market:
        obj["is_playable"] = t.playable
        if not t.playable:
            obj["restrictions"] = {"reason": "market"}
    else:
        del album["is_playable"]
    if not cur:
        markets = MARKETS if t.playable else [m for m in MARKETS if m not in ("GB", "US", "FR")]
        album["available_markets"] = markets
        obj["available_markets"] = markets
        obj["popularity"] = t.popularity
        obj["preview_url"] = None
    if in_playlist:
        obj["episode"] = False
        obj["track"] = True
    return obj


def user_ref(base: str, user_id: str, name: str | None = None) -> dict[str, Any]:
    ref: dict[str, Any] = {
        "external_urls": {"spotify": f"https://open.spotify.com/user/{user_id}"},
        "href": f"{base}/users/{user_id}",
        "id": user_id,
        "type": "user",
        "uri": f"spotify:user:{user_id}",
    }
    if name is not None:
        ref["display_name"] = name
    return ref


def snapshot_id(pl: Playlist) -> str:
    digest = hashlib.sha1(f"{pl.id}:{pl.version}".encode(), usedforsecurity=False).hexdigest()
    return base64.b64encode(f"{pl.version},{digest}".encode()).decode()


def parse_snapshot(value: str) -> int | None:
    try:
        version, _, _ = base64.b64decode(value, validate=True).decode().partition(",")
        return int(version)
    except (ValueError, UnicodeDecodeError):
        return None


def entries_for_snapshot(pl: Playlist, value: Any) -> list[Entry]:
    """The entries that positions refer to: the given snapshot's (recent ones kept), else the current."""
    if value is None:
        return pl.entries
    version = parse_snapshot(str(value))
    if version is None:
        raise SpotifyError(400, "Invalid snapshot id")
    entries = pl.entries_at(version)
    if entries is None:
        raise SpotifyError(400, "Invalid snapshot id")
    return entries


def local_track_obj(uri: str) -> dict[str, Any]:
    """A local file in a playlist: ``spotify:local:<artist>:<album>:<title>:<seconds>``, no ids."""
    artist, album, title, seconds = ([*uri.split(":")[2:], "", "", "", ""])[:4]
    artist, album, title = (unquote_plus(x) for x in (artist, album, title))
    return {
        "album": {
            "album_type": None,
            "artists": [],
            "available_markets": [],
            "external_urls": {},
            "href": None,
            "id": None,
            "images": [],
            "name": album,
            "release_date": None,
            "release_date_precision": None,
            "type": "album",
            "uri": None,
        },
        "artists": [
            {"external_urls": {}, "href": None, "id": None, "name": artist, "type": "artist", "uri": None}
        ],
        "available_markets": [],
        "disc_number": 0,
        "duration_ms": int(seconds) * 1000 if seconds.isdigit() else 0,
        "explicit": False,
        "external_ids": {},
        "external_urls": {},
        "href": None,
        "id": None,
        "is_local": True,
        "name": title,
        "popularity": 0,
        "preview_url": None,
        "track_number": 0,
        "type": "track",
        "uri": uri,
    }


def entry_obj(e: Emulator, base: str, entry: Entry, market: str | None) -> dict[str, Any]:
    t = e.catalogs.spotify.get(entry.track_id)
    track = track_obj(e, base, t, market, in_playlist=True) if t is not None else None
    local = entry.track_id.startswith("spotify:local:")
    if local:
        track = local_track_obj(entry.track_id)
    obj: dict[str, Any] = {
        "added_at": iso(entry.added_at),
        "added_by": user_ref(base, entry.added_by) if entry.added_by else None,
        "is_local": local,
        "primary_color": None,
    }
    if current(e):
        obj["item"] = track
    obj["track"] = track
    obj["video_thumbnail"] = {"url": None}
    return obj


def paging(
    base_url: str, items: list[Any], total: int, offset: int, limit: int, extra: dict[str, Any]
) -> dict[str, Any]:
    def link(off: int) -> str:
        return url_with(base_url, {"offset": off, "limit": limit, **extra})

    return {
        "href": link(offset),
        "items": items,
        "limit": limit,
        "next": link(offset + limit) if offset + limit < total else None,
        "offset": offset,
        "previous": link(max(0, offset - limit)) if offset > 0 else None,
        "total": total,
    }


def items_path(e: Emulator) -> str:
    return "items" if current(e) else "tracks"


def playlist_obj(
    e: Emulator, base: str, pl: Playlist, viewer: User | None, *, full: bool, market: str | None = None
) -> dict[str, Any]:
    owner = e.store.user("spotify", pl.owner_id)
    obj: dict[str, Any] = {
        "collaborative": pl.collaborative,
        "description": pl.description,
        "external_urls": {"spotify": f"https://open.spotify.com/playlist/{pl.id}"},
    }
    if full:
        obj["followers"] = {"href": None, "total": pl.followers}
    obj.update(
        {
            "href": f"{base}/playlists/{pl.id}",
            "id": pl.id,
            "images": _image("playlist", pl.id) if pl.entries else [],
            "name": pl.name,
            "owner": user_ref(base, pl.owner_id, owner.name if owner else pl.owner_name),
            "primary_color": None,
            "public": pl.public,
            "snapshot_id": snapshot_id(pl),
        }
    )
    total = len(pl.entries)
    may_read = not current(e) or (viewer is not None and (viewer.id == pl.owner_id or pl.collaborative))
    if full and may_read:
        limit = 100
        page_url = f"{base}/playlists/{pl.id}/{items_path(e)}"
        entries = [entry_obj(e, base, x, market) for x in pl.entries[:limit]]
        page = paging(page_url, entries, total, 0, limit, {})
    else:
        page = None
    if current(e):
        if page is not None:
            obj["items"] = page
            obj["tracks"] = page
        elif not full:
            obj["items"] = {"href": f"{base}/playlists/{pl.id}/items", "total": total}
            obj["tracks"] = {"href": f"{base}/playlists/{pl.id}/tracks", "total": total}
    else:
        obj["tracks"] = (
            page if page is not None else {"href": f"{base}/playlists/{pl.id}/tracks", "total": total}
        )
    obj["type"] = "playlist"
    obj["uri"] = f"spotify:playlist:{pl.id}"
    return obj


def base_of(request: web.Request) -> str:
    return link_base(request, HOST) + "/v1"


def market_of(request: web.Request, user: User | None) -> str | None:
    market = request.query.get("market")
    if market == "from_token":
        return user.country if user else None
    return market


def limit_offset(
    request: web.Request, default: int, maximum: int, max_offset: int = 100_000
) -> tuple[int, int]:
    limit = int_param(request.query.get("limit"), default)
    offset = int_param(request.query.get("offset"), 0)
    if limit is None or not 1 <= limit <= maximum:
        raise SpotifyError(400, "Invalid limit")
    if offset is None or not 0 <= offset <= max_offset:
        raise SpotifyError(400, "Invalid offset")
    return limit, offset


def respond(request: web.Request, body: Any, status: int = 200) -> web.Response:
    spec = request.query.get("fields")
    if spec:
        try:
            body = filter_fields(body, spec)
        except FieldsSyntaxError as err:
            raise SpotifyError(400, f"Invalid fields: {err}") from err
    return json_response(body, status)


def get_playlist(e: Emulator, playlist_id: str) -> Playlist:
    if not BASE62_RE.match(playlist_id):
        raise SpotifyError(400, "Invalid base62 id")
    pl = e.store.playlist("spotify", playlist_id)
    if pl is None:
        raise SpotifyError(404, "Resource not found")
    return pl


def check_can_read(e: Emulator, pl: Playlist, user: User | None) -> None:
    if current(e) and (user is None or (user.id != pl.owner_id and not pl.collaborative)):
        raise SpotifyError(403, "Forbidden")
    if not pl.public and (user is None or (user.id != pl.owner_id and pl.id not in user.playlist_ids)):
        raise SpotifyError(404, "Resource not found")


def check_can_modify(pl: Playlist, token: AccessToken, user: User) -> None:
    if user.id != pl.owner_id and not pl.collaborative:
        raise SpotifyError(403, "You cannot add tracks to a playlist you don't own.")
    scope = "playlist-modify-public" if pl.public else "playlist-modify-private"
    if scope not in token.scopes:
        raise SpotifyError(403, "Insufficient client scope")


def track_id_of_uri(e: Emulator, uri: str) -> str:
    if uri.startswith("spotify:local:"):
        raise SpotifyError(400, "Local tracks cannot be added to a playlist via the API")
    m = re.fullmatch(r"spotify:(track|episode):([0-9A-Za-z]+)", uri.strip())
    if m is None:
        raise SpotifyError(400, "Unsupported URL / URI.")
    if m.group(1) == "episode" or m.group(2) not in e.catalogs.spotify:
        raise SpotifyError(400, "Payload contains a non-existing ID")
    return m.group(2)


# ---------------------------------------------------------------- profile


@api()
async def me(request: web.Request, e: Emulator, token: AccessToken, user: User | None) -> web.Response:
    u = need_user(user)
    base = base_of(request)
    body: dict[str, Any] = {
        "display_name": u.name,
        "external_urls": {"spotify": f"https://open.spotify.com/user/{u.id}"},
        "href": f"{base}/users/{u.id}",
        "id": u.id,
        "images": [],
        "type": "user",
        "uri": f"spotify:user:{u.id}",
    }
    if current(e):
        body["account_id"] = hashlib.sha256(f"account:{u.id}".encode()).hexdigest()[:32]
    else:
        body["followers"] = {"href": None, "total": 0}
        if "user-read-private" in token.scopes:
            body.update(
                {
                    "country": u.country,
                    "explicit_content": {"filter_enabled": False, "filter_locked": False},
                    "product": "premium",
                }
            )
        if "user-read-email" in token.scopes:
            body["email"] = u.email
    return json_response(body)


# ---------------------------------------------------------------- playlists


@api("playlist-read-private")
async def my_playlists(
    request: web.Request, e: Emulator, token: AccessToken, user: User | None
) -> web.Response:
    u = need_user(user)
    limit, offset = limit_offset(request, 20, 50)
    base = base_of(request)
    pls = e.store.library_playlists(u)
    if "playlist-read-collaborative" not in token.scopes:
        pls = [p for p in pls if not (p.collaborative and p.owner_id != u.id)]
    items = [playlist_obj(e, base, p, u, full=False) for p in pls[offset : offset + limit]]
    return json_response(
        paging(
            f"{base}/users/{u.id}/playlists" if not current(e) else f"{base}/me/playlists",
            items,
            len(pls),
            offset,
            limit,
            {},
        )
    )


@api("playlist-read-private")
async def user_playlists(
    request: web.Request, e: Emulator, token: AccessToken, user: User | None
) -> web.Response:
    if current(e):
        raise SpotifyError(403, "Forbidden")
    owner = e.store.user("spotify", request.match_info["user_id"])
    if owner is None:
        raise SpotifyError(404, "Resource not found")
    limit, offset = limit_offset(request, 20, 50)
    base = base_of(request)
    viewer_is_owner = user is not None and user.id == owner.id
    pls = [p for p in e.store.library_playlists(owner) if viewer_is_owner or p.public]
    items = [playlist_obj(e, base, p, user, full=False) for p in pls[offset : offset + limit]]
    return json_response(paging(f"{base}/users/{owner.id}/playlists", items, len(pls), offset, limit, {}))


async def _create(request: web.Request, e: Emulator, token: AccessToken, user: User) -> web.Response:
    body = await read_json(request)
    if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"]:
        raise SpotifyError(400, "Missing required field: name")
    public = bool(body.get("public", True))
    collaborative = bool(body.get("collaborative", False))
    if collaborative and public:
        raise SpotifyError(400, "Collaborative playlists can only be private.")
    scope = "playlist-modify-public" if public else "playlist-modify-private"
    if scope not in token.scopes:
        raise SpotifyError(403, "Insufficient client scope")
    pl = e.store.create_playlist(
        "spotify",
        user,
        body["name"],
        description=str(body.get("description") or ""),
        public=public,
        collaborative=collaborative,
    )
    return json_response(playlist_obj(e, base_of(request), pl, user, full=True), 201)


@api("playlist-modify-public", "playlist-modify-private", any_scope=True)
async def create_my_playlist(
    request: web.Request, e: Emulator, token: AccessToken, user: User | None
) -> web.Response:
    return await _create(request, e, token, need_user(user))


@api("playlist-modify-public", "playlist-modify-private", any_scope=True)
async def create_user_playlist(
    request: web.Request, e: Emulator, token: AccessToken, user: User | None
) -> web.Response:
    u = need_user(user)
    if current(e):
        raise SpotifyError(403, "Forbidden")
    if request.match_info["user_id"] != u.id:
        raise SpotifyError(403, "You cannot create a playlist for another user")
    return await _create(request, e, token, u)


@api()
async def playlist(request: web.Request, e: Emulator, token: AccessToken, user: User | None) -> web.Response:
    pl = get_playlist(e, request.match_info["playlist_id"])
    if not pl.public and (user is None or (user.id != pl.owner_id and pl.id not in user.playlist_ids)):
        raise SpotifyError(404, "Resource not found")
    body = playlist_obj(e, base_of(request), pl, user, full=True, market=market_of(request, user))
    return respond(request, body)


@api("playlist-modify-public", "playlist-modify-private", any_scope=True)
async def change_details(
    request: web.Request, e: Emulator, token: AccessToken, user: User | None
) -> web.Response:
    u = need_user(user)
    pl = get_playlist(e, request.match_info["playlist_id"])
    check_can_modify(pl, token, u)
    body = await read_json(request)
    if not isinstance(body, dict):
        raise SpotifyError(400, "Error parsing JSON.")
    if "name" in body:
        if not isinstance(body["name"], str) or not body["name"]:
            raise SpotifyError(400, "Invalid name")
        pl.name = body["name"]
    if "description" in body:
        pl.description = str(body["description"] or "")
    if "public" in body:
        pl.public = bool(body["public"])
    if "collaborative" in body:
        pl.collaborative = bool(body["collaborative"])
    pl.touch(e.clock.now())
    return web.Response(status=200)


@api("playlist-read-private")
async def get_items(request: web.Request, e: Emulator, token: AccessToken, user: User | None) -> web.Response:
    legacy_path = request.path.endswith("/tracks")
    if legacy_path and current(e):
        raise SpotifyError(403, "Forbidden")
    if not legacy_path and not current(e):
        raise SpotifyError(404, "Service not found")
    pl = get_playlist(e, request.match_info["playlist_id"])
    check_can_read(e, pl, user)
    limit, offset = limit_offset(request, 100 if legacy_path else 50, 100 if legacy_path else 50)
    base = base_of(request)
    market = market_of(request, user)
    entries = [entry_obj(e, base, x, market) for x in pl.entries[offset : offset + limit]]
    extra = {k: request.query[k] for k in ("market", "fields", "additional_types") if k in request.query}
    page = paging(
        f"{base}/playlists/{pl.id}/{'tracks' if legacy_path else 'items'}",
        entries,
        len(pl.entries),
        offset,
        limit,
        extra,
    )
    return respond(request, page)


def _check_path_mode(request: web.Request, e: Emulator) -> None:
    legacy_path = request.path.endswith("/tracks")
    if legacy_path and current(e):
        raise SpotifyError(403, "Forbidden")
    if not legacy_path and not current(e):
        raise SpotifyError(404, "Service not found")


@api("playlist-modify-public", "playlist-modify-private", any_scope=True)
async def add_items(request: web.Request, e: Emulator, token: AccessToken, user: User | None) -> web.Response:
    _check_path_mode(request, e)
    u = need_user(user)
    pl = get_playlist(e, request.match_info["playlist_id"])
    check_can_modify(pl, token, u)
    pl.remember()
    body = await read_json(request)
    position: int | None = None
    if "uris" in request.query:
        uris = [x for x in request.query["uris"].split(",") if x]
    elif isinstance(body, list):
        uris = body
    elif isinstance(body, dict) and isinstance(body.get("uris"), list):
        uris = body["uris"]
        if body.get("position") is not None:
            position = body["position"]
    else:
        raise SpotifyError(400, "No uris provided")
    if "position" in request.query:
        position = int_param(request.query["position"], 0)
        if position is None:
            raise SpotifyError(400, "Invalid position")
    if not uris:
        raise SpotifyError(400, "No uris provided")
    if len(uris) > MAX_ADD:
        raise SpotifyError(400, "You can add a maximum of 100 tracks per request.")
    if not all(isinstance(x, str) for x in uris):
        raise SpotifyError(400, "Unsupported URL / URI.")
    ids = [track_id_of_uri(e, uri) for uri in uris]
    now = e.clock.now()
    new = [e.store.entry("spotify", tid, now, u.id) for tid in ids]
    try:
        pl.entries = playlist_ops.insert_at(pl.entries, new, position if isinstance(position, int) else None)
    except playlist_ops.PositionError as err:
        raise SpotifyError(400, "Index out of bounds") from err
    pl.touch(now)
    return json_response({"snapshot_id": snapshot_id(pl)}, 201)


@api("playlist-modify-public", "playlist-modify-private", any_scope=True)
async def update_items(
    request: web.Request, e: Emulator, token: AccessToken, user: User | None
) -> web.Response:
    _check_path_mode(request, e)
    u = need_user(user)
    pl = get_playlist(e, request.match_info["playlist_id"])
    check_can_modify(pl, token, u)
    pl.remember()
    body = await read_json(request)
    body = body if isinstance(body, dict) else {}
    query_uris = request.query.get("uris")
    replacing = query_uris is not None or "uris" in body
    reordering = "range_start" in body or "insert_before" in body
    now = e.clock.now()
    if replacing and reordering:
        raise SpotifyError(400, "Can't combine uris and range_start/insert_before")
    if replacing:
        uris = [x for x in query_uris.split(",") if x] if query_uris is not None else body.get("uris") or []
        if not isinstance(uris, list) or len(uris) > MAX_ADD:
            raise SpotifyError(400, "You can add a maximum of 100 tracks per request.")
        ids = [track_id_of_uri(e, uri) for uri in uris]
        pl.entries = [e.store.entry("spotify", tid, now, u.id) for tid in ids]
    elif reordering:
        try:
            start = int(body["range_start"])
            before = int(body["insert_before"])
            length = int(body.get("range_length", 1))
        except (KeyError, TypeError, ValueError) as err:
            raise SpotifyError(400, "range_start and insert_before are required") from err
        base = entries_for_snapshot(pl, body.get("snapshot_id"))
        if not (start >= 0 and length >= 1 and start + length <= len(base) and 0 <= before <= len(base)):
            raise SpotifyError(400, "Index out of bounds")
        # positions refer to the snapshot: move its entries before the snapshot's entry at insert_before
        block = base[start : start + length]
        moving = {id(x) for x in block}
        current_ids = {id(x) for x in pl.entries}
        if not moving <= current_ids:
            raise SpotifyError(400, "Could not reorder: items changed since the snapshot")
        anchor = base[before] if before < len(base) else None
        if anchor is None or id(anchor) not in moving:
            rest = [x for x in pl.entries if id(x) not in moving]
            at = next((i for i, x in enumerate(rest) if x is anchor), len(rest))
            pl.entries = rest[:at] + block + rest[at:]
    else:
        raise SpotifyError(400, "Missing uris or range_start")
    pl.touch(now)
    return json_response({"snapshot_id": snapshot_id(pl)})


@api("playlist-modify-public", "playlist-modify-private", any_scope=True)
async def remove_items(
    request: web.Request, e: Emulator, token: AccessToken, user: User | None
) -> web.Response:
    _check_path_mode(request, e)
    u = need_user(user)
    pl = get_playlist(e, request.match_info["playlist_id"])
    check_can_modify(pl, token, u)
    body = await read_json(request)
    key = "items" if current(e) else "tracks"
    if not isinstance(body, dict) or not isinstance(body.get(key, body.get("tracks")), list):
        raise SpotifyError(400, f"Missing {key}")
    specs: list[Any] = body.get(key, body.get("tracks")) or []
    if len(specs) > MAX_ADD:
        raise SpotifyError(400, "Too many ids requested")
    base = entries_for_snapshot(pl, body.get("snapshot_id"))
    pl.remember()
    drop_entries: list[Entry] = []
    for spec in specs:
        if not isinstance(spec, dict) or not isinstance(spec.get("uri"), str):
            raise SpotifyError(400, "Invalid track uri")
        tid = track_id_of_uri(e, spec["uri"])
        positions = spec.get("positions")
        if positions is None:
            drop_entries += [x for x in pl.entries if x.track_id == tid]
            continue
        for pos in positions:  # positions refer to the snapshot's order
            if not isinstance(pos, int) or not 0 <= pos < len(base) or base[pos].track_id != tid:
                raise SpotifyError(400, "Could not remove tracks, please check parameters.")
            drop_entries.append(base[pos])
    dropped = {id(x) for x in drop_entries}
    pl.entries = [x for x in pl.entries if id(x) not in dropped]
    pl.touch(e.clock.now())
    return json_response({"snapshot_id": snapshot_id(pl)})


@api("playlist-modify-public", "playlist-modify-private", any_scope=True)
async def unfollow(request: web.Request, e: Emulator, token: AccessToken, user: User | None) -> web.Response:
    u = need_user(user)
    pl = get_playlist(e, request.match_info["playlist_id"])
    _unfollow(u, pl)
    return web.Response(status=200)


def _unfollow(u: User, pl: Playlist) -> None:
    """Spotify has no deletion: even the owner's unfollow only takes the playlist out of the library
    (it stays readable by id and for its other followers; following it again restores it)."""
    if pl.id in u.playlist_ids:
        u.playlist_ids.remove(pl.id)
        pl.followers = max(0, pl.followers - 1)


@api("playlist-modify-public", "playlist-modify-private", any_scope=True)
async def follow(request: web.Request, e: Emulator, token: AccessToken, user: User | None) -> web.Response:
    u = need_user(user)
    pl = get_playlist(e, request.match_info["playlist_id"])
    if pl.id not in u.playlist_ids:
        u.playlist_ids.insert(0, pl.id)
        pl.followers += 1
    return web.Response(status=200)


# ---------------------------------------------------------------- library


@api("user-library-read")
async def saved_tracks(
    request: web.Request, e: Emulator, token: AccessToken, user: User | None
) -> web.Response:
    u = need_user(user)
    limit, offset = limit_offset(request, 20, 50)
    base = base_of(request)
    market = market_of(request, u)
    items = [
        {"added_at": iso(x.added_at), "track": track_obj(e, base, e.catalogs.spotify[x.track_id], market)}
        for x in u.liked[offset : offset + limit]
        if x.track_id in e.catalogs.spotify
    ]
    extra = {"market": market} if market else {}
    return json_response(paging(f"{base}/me/tracks", items, len(u.liked), offset, limit, extra))


def _save(e: Emulator, u: User, ids: list[str]) -> None:
    now = e.clock.now()
    have = {x.track_id for x in u.liked}
    for tid in ids:
        if tid not in have:
            u.liked.insert(0, e.store.entry("spotify", tid, now, u.id))
            have.add(tid)


def _unsave(u: User, ids: list[str]) -> None:
    drop = set(ids)
    u.liked = [x for x in u.liked if x.track_id not in drop]


def _ids_param(request: web.Request, body: Any, limit: int) -> list[str]:
    raw = request.query.get("ids")
    ids = [x for x in raw.split(",") if x] if raw else (body.get("ids") if isinstance(body, dict) else None)
    if not ids:
        raise SpotifyError(400, "Missing required parameter: ids")
    if len(ids) > limit:
        raise SpotifyError(400, "Too many ids requested")
    for i in ids:
        if not BASE62_RE.match(i):
            raise SpotifyError(400, "Invalid base62 id")
    return list(ids)


@api("user-library-modify")
async def save_tracks_legacy(
    request: web.Request, e: Emulator, token: AccessToken, user: User | None
) -> web.Response:
    if current(e):
        raise SpotifyError(403, "Forbidden")
    u = need_user(user)
    ids = _ids_param(request, await read_json(request), 50)
    if request.method == "PUT":
        _save(e, u, [i for i in ids if i in e.catalogs.spotify])
    else:
        _unsave(u, ids)
    return web.Response(status=200)


@api("user-library-read")
async def saved_contains_legacy(
    request: web.Request, e: Emulator, token: AccessToken, user: User | None
) -> web.Response:
    u = need_user(user)
    ids = _ids_param(request, None, 50)
    have = {x.track_id for x in u.liked}
    return json_response([i in have for i in ids])


def _uris_param(request: web.Request) -> list[str]:
    uris = [x for x in request.query.get("uris", "").split(",") if x]
    if not uris:
        raise SpotifyError(400, "Missing required parameter: uris")
    if len(uris) > MAX_LIBRARY_URIS:
        raise SpotifyError(400, "Too many uris requested")
    return uris


@api("user-library-modify")
async def library_modify(
    request: web.Request, e: Emulator, token: AccessToken, user: User | None
) -> web.Response:
    u = need_user(user)
    track_ids: list[str] = []
    for uri in _uris_param(request):
        m = re.fullmatch(r"spotify:(track|playlist|album|artist|show|episode|user):([0-9A-Za-z]+)", uri)
        if m is None:
            raise SpotifyError(400, "Unsupported URL / URI.")
        kind, ident = m.groups()
        if kind == "track":
            if ident not in e.catalogs.spotify:
                raise SpotifyError(400, "Payload contains a non-existing ID")
            track_ids.append(ident)
        elif kind == "playlist":
            pl = get_playlist(e, ident)
            if request.method == "PUT" and pl.id not in u.playlist_ids:
                u.playlist_ids.insert(0, pl.id)
            elif request.method == "DELETE":
                _unfollow(u, pl)
    if request.method == "PUT":
        _save(e, u, track_ids)
    else:
        _unsave(u, track_ids)
    return web.Response(status=200)


@api("user-library-read")
async def library_contains(
    request: web.Request, e: Emulator, token: AccessToken, user: User | None
) -> web.Response:
    u = need_user(user)
    liked = {x.track_id for x in u.liked}
    out = []
    for uri in _uris_param(request):
        kind, _, ident = uri.removeprefix("spotify:").partition(":")
        out.append(
            ident in liked if kind == "track" else ident in u.playlist_ids if kind == "playlist" else False
        )
    return json_response(out)


# ---------------------------------------------------------------- catalog


SEARCH_TYPES = ("album", "artist", "playlist", "track", "show", "episode", "audiobook")


@api()
async def search(request: web.Request, e: Emulator, token: AccessToken, user: User | None) -> web.Response:
    # the paging links name the query ``query=`` (as Spotify's do), and Spotify accepts it back
    q = request.query.get("q") or request.query.get("query", "")
    if not q.strip():
        raise SpotifyError(400, "No search query")
    types = [t for t in request.query.get("type", "").split(",") if t]
    if not types:
        raise SpotifyError(400, "Missing parameter type")
    if any(t not in SEARCH_TYPES for t in types):
        raise SpotifyError(400, "Bad search type field")
    max_limit, default_limit = (10, 5) if current(e) else (50, 20)
    limit, offset = limit_offset(request, default_limit, max_limit, max_offset=1000)
    base = base_of(request)
    market = market_of(request, user)
    body: dict[str, Any] = {}
    for t in types:
        extra = {"query": q, "type": t}
        if t == "track":
            ids = e.catalogs.spotify_index.search(parse_field_query(q))
            items = [track_obj(e, base, e.catalogs.spotify[i], market) for i in ids[offset : offset + limit]]
            body["tracks"] = paging(f"{base}/search", items, len(ids), offset, limit, extra)
        else:
            body[t + "s"] = paging(f"{base}/search", [], 0, offset, limit, extra)
    return json_response(body)


@api()
async def track(request: web.Request, e: Emulator, token: AccessToken, user: User | None) -> web.Response:
    tid = request.match_info["track_id"]
    if not BASE62_RE.match(tid):
        raise SpotifyError(400, "Invalid base62 id")
    t = e.catalogs.spotify.get(tid)
    if t is None:
        raise SpotifyError(404, "Resource not found")
    return json_response(track_obj(e, base_of(request), t, market_of(request, user)))


@api()
async def tracks(request: web.Request, e: Emulator, token: AccessToken, user: User | None) -> web.Response:
    if current(e):
        raise SpotifyError(403, "Forbidden")
    ids = _ids_param(request, None, 50)
    base = base_of(request)
    market = market_of(request, user)
    out = [
        track_obj(e, base, e.catalogs.spotify[i], market) if i in e.catalogs.spotify else None for i in ids
    ]
    return json_response({"tracks": out})


def routes() -> list[web.RouteDef]:
    p = PREFIX
    r = [
        web.get(f"{p}/me", me),
        web.get(f"{p}/me/playlists", my_playlists),
        web.post(f"{p}/me/playlists", create_my_playlist),
        web.get(f"{p}/users/{{user_id}}/playlists", user_playlists),
        web.post(f"{p}/users/{{user_id}}/playlists", create_user_playlist),
        web.get(f"{p}/playlists/{{playlist_id}}", playlist),
        web.put(f"{p}/playlists/{{playlist_id}}", change_details),
        web.put(f"{p}/playlists/{{playlist_id}}/followers", follow),
        web.delete(f"{p}/playlists/{{playlist_id}}/followers", unfollow),
        web.get(f"{p}/me/tracks", saved_tracks),
        web.put(f"{p}/me/tracks", save_tracks_legacy),
        web.delete(f"{p}/me/tracks", save_tracks_legacy),
        web.get(f"{p}/me/tracks/contains", saved_contains_legacy),
        web.put(f"{p}/me/library", library_modify),
        web.delete(f"{p}/me/library", library_modify),
        web.get(f"{p}/me/library/contains", library_contains),
        web.get(f"{p}/search", search),
        web.get(f"{p}/tracks/{{track_id}}", track),
        web.get(f"{p}/tracks", tracks),
    ]
    for sub in ("items", "tracks"):
        r += [
            web.get(f"{p}/playlists/{{playlist_id}}/{sub}", get_items),
            web.post(f"{p}/playlists/{{playlist_id}}/{sub}", add_items),
            web.put(f"{p}/playlists/{{playlist_id}}/{sub}", update_items),
            web.delete(f"{p}/playlists/{{playlist_id}}/{sub}", remove_items),
        ]
    return r
