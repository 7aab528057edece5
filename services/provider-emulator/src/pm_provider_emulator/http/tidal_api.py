"""openapi.tidal.com/v2 (JSON:API): users, playlists and items, collection tracks/playlists, tracks, search.

Conventions reproduced: ``application/vnd.api+json``; relationships are paged by opaque cursors
(``links.next`` relative to ``/v2``, ``links.meta.nextCursor``), 20 per page; ``include=`` puts related
resources in ``included[]`` (unknown include paths and unknown ``filter[...]`` answer 400); durations
are ISO-8601; playlist ids are UUIDs; ``Idempotency-Key`` replays a mutation for one hour (409 while
in flight never happens here: handlers complete atomically; 422 when the payload differs).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web

from pm_provider_emulator.domain import playlist_ops
from pm_provider_emulator.domain.catalog import TidalTrack
from pm_provider_emulator.domain.derive import base62_id, hash_int
from pm_provider_emulator.domain.oauth import AccessToken
from pm_provider_emulator.domain.pagination import parse_tidal_cursor, tidal_cursor
from pm_provider_emulator.domain.search import parse_field_query
from pm_provider_emulator.http import errors
from pm_provider_emulator.http.common import emu, iso, iso_duration, json_response, read_body, read_json
from pm_provider_emulator.http.context import Emulator
from pm_provider_emulator.storage.state import Entry, IdempotentResult, Playlist, User

HOST = "openapi.tidal.com"
PREFIX = f"/{HOST}/v2"
PAGE = 20
MAX_ADD = 50
MAX_MOVE = 20
MAX_DELETE = 50
IDEMPOTENCY_TTL = 3600.0
ACCESS_TYPES = ("PUBLIC", "UNLISTED", "PRIVATE")


class TidalError(Exception):
    def __init__(
        self, status: int, detail: str, *, parameter: str | None = None, pointer: str | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.parameter = parameter
        self.pointer = pointer


class Ctx:
    def __init__(self, request: web.Request, e: Emulator, token: AccessToken, user: User | None) -> None:
        self.request = request
        self.e = e
        self.token = token
        self.user = user
        self.country = request.query.get("countryCode") or (user.country if user else "US")
        self.includes = parse_include(request.query.get("include", ""))

    def need_user(self, scope: str | None = None) -> User:
        if self.user is None:
            raise TidalError(403, "This endpoint requires a user token")
        if scope is not None and scope not in self.token.scopes:
            raise TidalError(403, f"Missing required scope {scope}")
        return self.user


def parse_include(raw: str) -> set[str]:
    paths = {x.strip() for x in raw.split(",") if x.strip()}
    if len(paths) > 10 or any(p.count(".") >= 3 for p in paths):
        raise TidalError(400, "Too many or too deep include paths", parameter="include")
    return paths


def check_params(request: web.Request, includes_allowed: set[str], filters_allowed: set[str]) -> None:
    for key in request.query:
        if key.startswith("filter[") and key not in filters_allowed:
            raise TidalError(400, f"Unknown filter {key}", parameter=key)
    for inc in parse_include(request.query.get("include", "")):
        if inc not in includes_allowed:
            raise TidalError(400, f"Invalid include path {inc}", parameter="include")


Handler = Callable[[Ctx], Awaitable[web.Response]]


def api(
    scope: str | None = None, mutation: bool = False
) -> Callable[[Handler], Callable[[web.Request], Awaitable[web.Response]]]:
    def wrap(fn: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handler(request: web.Request) -> web.Response:
            e = emu(request)
            header = request.headers.get("Authorization", "")
            token = e.store.access_token(
                "tidal", header[7:].strip() if header[:7].lower() == "bearer " else ""
            )
            if token is None:
                return errors.tidal(401, "Missing or invalid access token", header="Authorization")
            if token.expires_at is not None and e.clock.now() >= token.expires_at:
                return errors.tidal(401, "Access token expired", header="Authorization")
            try:
                if scope is not None and scope not in token.scopes:
                    raise TidalError(403, f"Missing required scope {scope}")
                ctx = Ctx(request, e, token, e.store.user("tidal", token.user_id))
                if mutation and "Idempotency-Key" in request.headers:
                    return await idempotent(ctx, fn)
                return await fn(ctx)
            except TidalError as err:
                return errors.tidal(err.status, err.detail, parameter=err.parameter, pointer=err.pointer)

        return handler

    return wrap


async def idempotent(ctx: Ctx, fn: Handler) -> web.Response:
    key = (
        ctx.token.client_id + ":" + (ctx.user.id if ctx.user else ""),
        ctx.request.headers["Idempotency-Key"],
    )
    raw = await read_body(ctx.request)
    fingerprint = hashlib.sha256(f"{ctx.request.method} {ctx.request.path_qs}\n".encode() + raw).hexdigest()
    now = ctx.e.clock.now()
    prior = ctx.e.store.idempotency.get(key)
    if prior is not None and now - prior.at < IDEMPOTENCY_TTL:
        if prior.fingerprint != fingerprint:
            raise TidalError(422, "Idempotency-Key reused with a different payload")
        return web.Response(status=prior.status, body=prior.body, content_type=errors.JSONAPI)
    resp = await fn(ctx)
    if resp.status < 500:
        ctx.e.store.idempotency[key] = IdempotentResult(fingerprint, resp.status, resp.body, now)
    return resp


def out(body: Any, status: int = 200) -> web.Response:
    return json_response(body, status, content_type=errors.JSONAPI)


# ---------------------------------------------------------------- resources


def artist_id(name: str) -> str:
    return str(1_000_000 + hash_int("td-artist", name) % 40_000_000)


def artist_res(name: str, cc: str) -> dict[str, Any]:
    aid = artist_id(name)
    rels = {
        r: {"links": {"self": f"/artists/{aid}/relationships/{r}?countryCode={cc}"}}
        for r in ("albums", "radio", "roles", "similarArtists", "trackProviders", "tracks", "videos")
    }
    return {
        "attributes": {
            "externalLinks": [
                {"href": f"https://tidal.com/browse/artist/{aid}", "meta": {"type": "TIDAL_SHARING"}}
            ],
            "name": name,
            "popularity": round((hash_int("pop", name) % 1000) / 1000, 3),
        },
        "id": aid,
        "relationships": rels,
        "type": "artists",
    }


def album_res(t: TidalTrack, cc: str) -> dict[str, Any]:
    h = hashlib.sha1(f"album:{t.album_id}".encode(), usedforsecurity=False).hexdigest()
    img = f"https://resources.tidal.com/images/{h[:8]}/{h[8:12]}/{h[12:16]}/{h[16:20]}/{h[20:32]}"
    return {
        "attributes": {
            "title": t.album_title,
            "barcodeId": f"{hash_int('upc', t.album_id) % 10**12:012d}",
            "numberOfVolumes": 1,
            "numberOfItems": 1,
            "duration": iso_duration(t.duration),
            "explicit": t.explicit,
            "releaseDate": t.release_date,
            "popularity": t.popularity,
            "availability": ["STREAM", "DJ"] if t.available else [],
            "mediaTags": ["LOSSLESS"],
            "imageLinks": [
                {"href": f"{img}/{s}x{s}.jpg", "meta": {"width": s, "height": s}} for s in (1280, 640, 320)
            ],
            "videoLinks": [],
            "externalLinks": [
                {"href": f"https://tidal.com/browse/album/{t.album_id}", "meta": {"type": "TIDAL_SHARING"}}
            ],
            "type": "ALBUM",
        },
        "id": t.album_id,
        "relationships": {
            r: {"links": {"self": f"/albums/{t.album_id}/relationships/{r}?countryCode={cc}"}}
            for r in ("artists", "items", "providers", "similarAlbums")
        },
        "type": "albums",
    }


def track_res(t: TidalTrack, cc: str, rel_data: set[str]) -> dict[str, Any]:
    rels: dict[str, Any] = {
        r: {"links": {"self": f"/tracks/{t.id}/relationships/{r}?countryCode={cc}"}}
        for r in (
            "albums",
            "artists",
            "genres",
            "lyrics",
            "owners",
            "providers",
            "radio",
            "shares",
            "similarTracks",
            "sourceFile",
            "trackStatistics",
        )
    }
    if "artists" in rel_data:
        rels["artists"]["data"] = [{"id": artist_id(a), "type": "artists"} for a in t.artists]
    if "albums" in rel_data:
        rels["albums"]["data"] = [{"id": t.album_id, "type": "albums"}]
    return {
        "attributes": {
            "accessType": "PUBLIC",
            "availability": ["STREAM", "DJ"] if t.available else [],
            "copyright": {"text": f"℗ {t.release_date[:4]} {t.artists[0]}"},
            "duration": iso_duration(t.duration),
            "explicit": t.explicit,
            "externalLinks": [
                {"href": f"https://tidal.com/browse/track/{t.id}", "meta": {"type": "TIDAL_SHARING"}}
            ],
            "isrc": t.isrc,
            "mediaTags": ["LOSSLESS"],
            "popularity": t.popularity,
            "spotlighted": False,
            "title": t.title,
            "version": t.version,
        },
        "id": t.id,
        "relationships": rels,
        "type": "tracks",
    }


def iso_ms(ts: float) -> str:
    """A modification time to the millisecond (``2026-05-28T20:53:20.123Z``)."""
    ms = round(ts * 1000)
    return datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


# The square sizes TIDAL renders playlist images in (its v1 API names the same image squareImage).
COVER_SIZES = (1080, 750, 640, 480, 320, 160)


def cover_art_id(pl: Playlist) -> str:
    return base62_id("tidal-artwork", pl.id)


def cover_art_res(pl: Playlist) -> dict[str, Any]:
    """A playlist's ``coverArt``: an ``artworks`` resource listing the image's files (largest first)."""
    h = hashlib.sha1(f"playlist:{pl.id}".encode(), usedforsecurity=False).hexdigest()
    img = f"https://resources.tidal.com/images/{h[:8]}/{h[8:12]}/{h[12:16]}/{h[16:20]}/{h[20:32]}"
    aid = cover_art_id(pl)
    return {
        "attributes": {
            "files": [{"href": f"{img}/{s}x{s}.jpg", "meta": {"height": s, "width": s}} for s in COVER_SIZES],
            "mediaType": "IMAGE",
        },
        "id": aid,
        "relationships": {"owners": {"links": {"self": f"/artworks/{aid}/relationships/owners"}}},
        "type": "artworks",
    }


class Included:
    """Collects ``included[]`` without duplicates, in first-seen order."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, str], dict[str, Any]] = {}

    def add(self, res: dict[str, Any]) -> None:
        self._items.setdefault((res["type"], res["id"]), res)

    def track(self, t: TidalTrack, cc: str, nested: set[str]) -> None:
        """Add a track and, for nested ``artists``/``albums``, those too."""
        self.add(track_res(t, cc, nested))
        if "artists" in nested:
            for a in t.artists:
                self.add(artist_res(a, cc))
        if "albums" in nested:
            self.add(album_res(t, cc))

    def items(self) -> list[dict[str, Any]]:
        return list(self._items.values())


def playlist_res(
    ctx: Ctx, pl: Playlist, with_items: bool = False, with_cover: bool = False
) -> dict[str, Any]:
    """A playlist; relationships carry ``data`` only when included (``with_items``, ``with_cover``)."""
    tracks = [ctx.e.catalogs.tidal.get(x.track_id) for x in pl.entries]
    cover: dict[str, Any] = {
        "links": {"self": f"/playlists/{pl.id}/relationships/coverArt?countryCode={ctx.country}"}
    }
    if with_cover:
        cover = {"data": [{"id": cover_art_id(pl), "type": "artworks"}], **cover}
    rels: dict[str, Any] = {
        "coverArt": cover,
        "items": {"links": {"self": f"/playlists/{pl.id}/relationships/items?countryCode={ctx.country}"}},
        "owners": {"links": {"self": f"/playlists/{pl.id}/relationships/owners?countryCode={ctx.country}"}},
    }
    if with_items:
        rels["items"] = items_page(ctx, pl, 0, f"/playlists/{pl.id}/relationships/items")
    access = "PUBLIC" if pl.public else ("UNLISTED" if pl.unlisted else "PRIVATE")
    return {
        "attributes": {
            "accessType": access,
            "bounded": True,
            "createdAt": iso(pl.created_at),
            "description": pl.description,
            "duration": iso_duration(sum(t.duration for t in tracks if t is not None)),
            "externalLinks": [
                {"href": f"https://tidal.com/browse/playlist/{pl.id}", "meta": {"type": "TIDAL_SHARING"}}
            ],
            "lastModifiedAt": iso_ms(pl.modified_at),
            "name": pl.name,
            "numberOfItems": len(pl.entries),
            "playlistType": "USER",
        },
        "id": pl.id,
        "relationships": rels,
        "type": "playlists",
    }


def cursor_offset(request: web.Request) -> int:
    raw = request.query.get("page[cursor]")
    if raw is None:
        return 0
    offset = parse_tidal_cursor(raw)
    if offset is None:
        raise TidalError(400, "Invalid cursor", parameter="page[cursor]")
    return offset


def links(request: web.Request, path: str, offset: int, total: int) -> dict[str, Any]:
    """``self``/``next`` relative to /v2 (as TIDAL returns them), keeping the other query parameters."""
    params = [(k, v) for k, v in request.query.items() if k != "page[cursor]"]

    def link(off: int) -> str:
        q = params + ([("page[cursor]", tidal_cursor(off))] if off else [])
        return path + ("?" + urlencode(q, quote_via=quote) if q else "")

    out: dict[str, Any] = {"self": link(offset)}
    if offset + PAGE < total:
        nxt = tidal_cursor(offset + PAGE)
        out["meta"] = {"nextCursor": nxt}
        out["next"] = link(offset + PAGE)
    return out


def items_page(ctx: Ctx, pl: Playlist, offset: int, path: str) -> dict[str, Any]:
    data = [
        {"id": x.track_id, "meta": {"addedAt": iso(x.added_at), "itemId": x.item_id}, "type": "tracks"}
        for x in pl.entries[offset : offset + PAGE]
    ]
    return {"data": data, "links": links(ctx.request, path, offset, len(pl.entries))}


# ---------------------------------------------------------------- users


@api()
async def users_me(ctx: Ctx) -> web.Response:
    u = ctx.need_user("user.read")
    first, _, last = u.name.partition(" ")
    return out(
        {
            "data": {
                "attributes": {
                    "country": u.country,
                    "email": u.email,
                    "emailVerified": True,
                    "firstName": first,
                    "lastName": last,
                    "username": u.name,
                },
                "id": u.id,
                "type": "users",
            },
            "links": {"self": "/users/me"},
        }
    )


# ---------------------------------------------------------------- playlists


def get_pl(ctx: Ctx, pid: str) -> Playlist:
    pl = ctx.e.store.playlist("tidal", pid)
    if pl is None:
        raise TidalError(404, "Playlist not found", parameter="id")
    if not pl.public and not pl.unlisted and (ctx.user is None or ctx.user.id != pl.owner_id):
        raise TidalError(404, "Playlist not found", parameter="id")
    return pl


def own_pl(ctx: Ctx, pid: str) -> tuple[User, Playlist]:
    u = ctx.need_user("playlists.write")
    pl = get_pl(ctx, pid)
    if pl.owner_id != u.id:
        raise TidalError(403, "Only the owner can modify the playlist")
    return u, pl


@api("playlists.read")
async def list_playlists(ctx: Ctx) -> web.Response:
    check_params(ctx.request, {"items", "owners", "coverArt"}, {"filter[owners.id]", "filter[id]"})
    owners = ctx.request.query.get("filter[owners.id]")
    ids = ctx.request.query.get("filter[id]")
    if owners is None and ids is None:
        raise TidalError(
            400, "One of filter[owners.id] or filter[id] is required", parameter="filter[owners.id]"
        )
    if owners is not None:
        owner_id = ctx.need_user().id if owners == "me" else owners
        pls = [
            p
            for p in ctx.e.store.playlists["tidal"].values()
            if p.owner_id == owner_id
            and not p.deleted
            and (p.public or owner_id == (ctx.user.id if ctx.user else None))
        ]
        sort = ctx.request.query.get("sort", "-lastModifiedAt")
        key = {
            "name": lambda p: (p.name.lower(), p.id),
            "createdAt": lambda p: (p.created_at, p.id),
            "lastModifiedAt": lambda p: (p.modified_at, p.id),
        }.get(sort.lstrip("-"))
        if key is None:
            raise TidalError(400, f"Invalid sort {sort}", parameter="sort")
        pls.sort(key=key, reverse=sort.startswith("-"))
    else:
        pls = [p for i in (ids or "").split(",") if (p := ctx.e.store.playlist("tidal", i)) is not None]
    offset = cursor_offset(ctx.request)
    cover = "coverArt" in ctx.includes
    body: dict[str, Any] = {
        "data": [playlist_res(ctx, p, with_cover=cover) for p in pls[offset : offset + PAGE]],
        "links": links(ctx.request, "/playlists", offset, len(pls)),
    }
    if "items" in ctx.includes or cover:
        inc = Included()
        for p in pls[offset : offset + PAGE]:
            if cover:
                inc.add(cover_art_res(p))
            for x in p.entries[:PAGE] if "items" in ctx.includes else []:
                if (t := ctx.e.catalogs.tidal.get(x.track_id)) is not None:
                    inc.track(t, ctx.country, set())
        body["included"] = inc.items()
    return out(body)


@api("playlists.read")
async def get_playlist(ctx: Ctx) -> web.Response:
    check_params(ctx.request, {"items", "items.artists", "items.albums", "owners", "coverArt"}, set())
    pl = get_pl(ctx, ctx.request.match_info["playlist_id"])
    with_items = any(i.startswith("items") for i in ctx.includes)
    cover = "coverArt" in ctx.includes
    res = playlist_res(ctx, pl, with_items=with_items, with_cover=cover)
    body: dict[str, Any] = {"data": res, "links": {"self": f"/playlists/{pl.id}"}}
    if with_items or cover:
        nested = {i.split(".", 1)[1] for i in ctx.includes if i.startswith("items.")}
        inc = Included()
        for x in pl.entries[:PAGE] if with_items else []:
            if (t := ctx.e.catalogs.tidal.get(x.track_id)) is not None:
                inc.track(t, ctx.country, nested)
        if cover:
            inc.add(cover_art_res(pl))
        body["included"] = inc.items()
    return out(body)


def _attributes(body: Any, type_: str = "playlists") -> dict[str, Any]:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or data.get("type") != type_:
        raise TidalError(400, f"Request body must be a '{type_}' resource", pointer="/data")
    attrs = data.get("attributes") or {}
    if not isinstance(attrs, dict):
        raise TidalError(400, "attributes must be an object", pointer="/data/attributes")
    if "accessType" in attrs and attrs["accessType"] not in ACCESS_TYPES:
        raise TidalError(
            400, "accessType must be PUBLIC, UNLISTED or PRIVATE", pointer="/data/attributes/accessType"
        )
    return attrs


def _apply_access(pl: Playlist, access: str) -> None:
    pl.public = access == "PUBLIC"
    pl.unlisted = access == "UNLISTED"


@api("playlists.write", mutation=True)
async def create_playlist(ctx: Ctx) -> web.Response:
    u = ctx.need_user()
    attrs = _attributes(await read_json(ctx.request))
    name = attrs.get("name")
    if not isinstance(name, str) or not name.strip():
        raise TidalError(400, "name is required", pointer="/data/attributes/name")
    pl = ctx.e.store.create_playlist("tidal", u, name, description=str(attrs.get("description") or ""))
    _apply_access(pl, attrs.get("accessType", "UNLISTED"))
    return out({"data": playlist_res(ctx, pl), "links": {"self": f"/playlists/{pl.id}"}}, 201)


@api("playlists.write", mutation=True)
async def update_playlist(ctx: Ctx) -> web.Response:
    _, pl = own_pl(ctx, ctx.request.match_info["playlist_id"])
    attrs = _attributes(await read_json(ctx.request))
    if "name" in attrs:
        if not isinstance(attrs["name"], str) or not attrs["name"].strip():
            raise TidalError(400, "name must not be empty", pointer="/data/attributes/name")
        pl.name = attrs["name"]
    if "description" in attrs:
        pl.description = str(attrs["description"] or "")
    if "accessType" in attrs:
        _apply_access(pl, attrs["accessType"])
    pl.touch(ctx.e.clock.now())
    return web.Response(status=204)


@api("playlists.write", mutation=True)
async def delete_playlist(ctx: Ctx) -> web.Response:
    u, pl = own_pl(ctx, ctx.request.match_info["playlist_id"])
    ctx.e.store.remove_from_library(u, pl.id)
    pl.deleted = True
    return web.Response(status=204)


@api("playlists.read")
async def playlist_items(ctx: Ctx) -> web.Response:
    check_params(ctx.request, {"items", "items.artists", "items.albums"}, set())
    pl = get_pl(ctx, ctx.request.match_info["playlist_id"])
    offset = cursor_offset(ctx.request)
    body = items_page(ctx, pl, offset, f"/playlists/{pl.id}/relationships/items")
    if any(i.startswith("items") for i in ctx.includes):
        nested = {i.split(".", 1)[1] for i in ctx.includes if i.startswith("items.")}
        inc = Included()
        for x in pl.entries[offset : offset + PAGE]:
            if (t := ctx.e.catalogs.tidal.get(x.track_id)) is not None:
                inc.track(t, ctx.country, nested)
        body["included"] = inc.items()
    return out(body)


def _data_list(body: Any, limit: int) -> list[dict[str, Any]]:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list) or not data:
        raise TidalError(400, "data must be a non-empty array", pointer="/data")
    if len(data) > limit:
        raise TidalError(400, f"At most {limit} items per request", pointer="/data")
    for i, d in enumerate(data):
        if (
            not isinstance(d, dict)
            or not isinstance(d.get("id"), str)
            or d.get("type") not in ("tracks", "videos")
        ):
            raise TidalError(
                400, "Each item needs a string id and type tracks or videos", pointer=f"/data/{i}"
            )
    return data


def _position_before(ctx: Ctx, pl: Playlist, body: Any, required: bool) -> int | None:
    meta = body.get("meta") if isinstance(body, dict) else None
    before = meta.get("positionBefore") if isinstance(meta, dict) else None
    if before is None:
        if required:
            raise TidalError(400, "meta.positionBefore is required", pointer="/meta/positionBefore")
        return None
    for i, x in enumerate(pl.entries):
        if x.item_id == before:
            return i
    raise TidalError(400, "positionBefore is not an item of this playlist", pointer="/meta/positionBefore")


@api("playlists.write", mutation=True)
async def add_items(ctx: Ctx) -> web.Response:
    u, pl = own_pl(ctx, ctx.request.match_info["playlist_id"])
    body = await read_json(ctx.request)
    data = _data_list(body, MAX_ADD)
    position = _position_before(ctx, pl, body, required=False)
    now = ctx.e.clock.now()
    new: list[Entry] = []
    skipped = []
    for d in data:
        if d["type"] == "tracks" and d["id"] in ctx.e.catalogs.tidal:
            new.append(ctx.e.store.entry("tidal", d["id"], now, u.id))
        else:
            skipped.append({"id": d["id"], "type": d["type"], "reason": "NOT_FOUND"})
    pl.entries = playlist_ops.insert_at(pl.entries, new, position)
    pl.touch(now)
    return out({"meta": {"skipped": skipped}}, 201)


def _find_items(pl: Playlist, data: list[dict[str, Any]]) -> list[int]:
    index = {x.item_id: i for i, x in enumerate(pl.entries)}
    found = []
    for n, d in enumerate(data):
        meta = d.get("meta")
        item_id = meta.get("itemId") if isinstance(meta, dict) else None
        i = index.get(item_id) if isinstance(item_id, str) else None
        if i is None or pl.entries[i].track_id != d["id"]:
            raise TidalError(
                400,
                "meta.itemId does not identify an item of this playlist",
                pointer=f"/data/{n}/meta/itemId",
            )
        found.append(i)
    return found


@api("playlists.write", mutation=True)
async def move_items(ctx: Ctx) -> web.Response:
    _, pl = own_pl(ctx, ctx.request.match_info["playlist_id"])
    body = await read_json(ctx.request)
    data = _data_list(body, MAX_MOVE)
    idx = _find_items(pl, data)
    before = _position_before(ctx, pl, body, required=True)
    assert before is not None
    target = pl.entries[before]
    moving = [pl.entries[i] for i in idx]
    if target in moving:
        raise TidalError(
            400, "positionBefore cannot be one of the moved items", pointer="/meta/positionBefore"
        )
    rest = [x for i, x in enumerate(pl.entries) if i not in set(idx)]
    at = rest.index(target)
    pl.entries = rest[:at] + moving + rest[at:]
    pl.touch(ctx.e.clock.now())
    return web.Response(status=204)


@api("playlists.write", mutation=True)
async def remove_items(ctx: Ctx) -> web.Response:
    _, pl = own_pl(ctx, ctx.request.match_info["playlist_id"])
    body = await read_json(ctx.request)
    data = _data_list(body, MAX_DELETE)
    idx = set(_find_items(pl, data))
    pl.entries = playlist_ops.remove_indexes(pl.entries, idx)
    pl.touch(ctx.e.clock.now())
    return web.Response(status=204)


# ---------------------------------------------------------------- collection


def _collection_user(ctx: Ctx) -> User:
    uid = ctx.request.match_info.get("user_id", "me")
    u = ctx.need_user()
    if uid not in ("me", u.id):
        raise TidalError(403, "Only the user's own collection is accessible")
    return u


@api("collection.read")
async def collection_tracks(ctx: Ctx) -> web.Response:
    check_params(ctx.request, {"items", "items.artists", "items.albums"}, set())
    u = _collection_user(ctx)
    offset = cursor_offset(ctx.request)
    path = ctx.request.path.removeprefix(PREFIX)
    data = [
        {"id": x.track_id, "meta": {"addedAt": iso(x.added_at)}, "type": "tracks"}
        for x in u.liked[offset : offset + PAGE]
    ]
    body: dict[str, Any] = {"data": data, "links": links(ctx.request, path, offset, len(u.liked))}
    if any(i.startswith("items") for i in ctx.includes) or "tracks" in ctx.includes:
        nested = {i.split(".", 1)[1] for i in ctx.includes if i.startswith("items.")}
        inc = Included()
        for x in u.liked[offset : offset + PAGE]:
            if (t := ctx.e.catalogs.tidal.get(x.track_id)) is not None:
                inc.track(t, ctx.country, nested)
        body["included"] = inc.items()
    return out(body)


@api("collection.write", mutation=True)
async def collection_tracks_write(ctx: Ctx) -> web.Response:
    u = _collection_user(ctx)
    data = _data_list(await read_json(ctx.request), MAX_ADD)
    now = ctx.e.clock.now()
    ids = [d["id"] for d in data]
    if ctx.request.method == "POST":
        for tid in ids:
            if tid not in ctx.e.catalogs.tidal:
                raise TidalError(404, f"Track {tid} not found", pointer="/data")
        have = {x.track_id for x in u.liked}
        for tid in ids:
            if tid not in have:
                u.liked.insert(0, ctx.e.store.entry("tidal", tid, now, u.id))
                have.add(tid)
    else:
        drop = set(ids)
        u.liked = [x for x in u.liked if x.track_id not in drop]
    return web.Response(status=204)


@api("collection.read")
async def collection_playlists(ctx: Ctx) -> web.Response:
    check_params(ctx.request, {"items", "playlists", "items.coverArt", "playlists.coverArt"}, set())
    u = _collection_user(ctx)
    pls = ctx.e.store.library_playlists(u)
    offset = cursor_offset(ctx.request)
    path = ctx.request.path.removeprefix(PREFIX)
    data = [
        {"id": p.id, "meta": {"addedAt": iso(p.created_at)}, "type": "playlists"}
        for p in pls[offset : offset + PAGE]
    ]
    body: dict[str, Any] = {"data": data, "links": links(ctx.request, path, offset, len(pls))}
    if ctx.includes:
        cover = bool(ctx.includes & {"items.coverArt", "playlists.coverArt"})
        inc = Included()
        for p in pls[offset : offset + PAGE]:
            inc.add(playlist_res(ctx, p, with_cover=cover))
        for p in pls[offset : offset + PAGE] if cover else []:
            inc.add(cover_art_res(p))
        body["included"] = inc.items()
    return out(body)


# ---------------------------------------------------------------- catalog


@api()
async def list_tracks(ctx: Ctx) -> web.Response:
    check_params(ctx.request, {"artists", "albums"}, {"filter[isrc]", "filter[id]"})
    c = ctx.e.catalogs
    isrcs = [x for x in ctx.request.query.get("filter[isrc]", "").split(",") if x]
    ids = [x for x in ctx.request.query.get("filter[id]", "").split(",") if x]
    if not isrcs and not ids:
        raise TidalError(400, "filter[isrc] or filter[id] is required", parameter="filter[isrc]")
    if len(isrcs) > 20 or len(ids) > 20:
        raise TidalError(400, "At most 20 filter values", parameter="filter[isrc]" if isrcs else "filter[id]")
    found: list[TidalTrack] = []
    if len(isrcs) == 1 and not ids:
        found = [c.tidal[i] for i in c.tidal_index.by_isrc(isrcs[0])]
    else:
        for isrc in isrcs:
            hits = c.tidal_index.by_isrc(isrc)
            if hits:
                found.append(c.tidal[hits[0]])
        found += [c.tidal[i] for i in ids if i in c.tidal]
    offset = cursor_offset(ctx.request)
    page = found[offset : offset + PAGE]
    inc = Included()
    nested = ctx.includes & {"artists", "albums"}
    for t in page:
        if nested:
            inc.track(t, ctx.country, nested)
    body: dict[str, Any] = {
        "data": [track_res(t, ctx.country, nested) for t in page],
        "links": links(ctx.request, "/tracks", offset, len(found)),
    }
    if nested:
        body["included"] = [r for r in inc.items() if r["type"] != "tracks"]
    return out(body)


@api()
async def get_track(ctx: Ctx) -> web.Response:
    check_params(ctx.request, {"artists", "albums"}, set())
    t = ctx.e.catalogs.tidal.get(ctx.request.match_info["track_id"])
    if t is None:
        raise TidalError(404, "Track not found", parameter="id")
    nested = ctx.includes & {"artists", "albums"}
    body: dict[str, Any] = {"data": track_res(t, ctx.country, nested), "links": {"self": f"/tracks/{t.id}"}}
    if nested:
        inc = Included()
        inc.track(t, ctx.country, nested)
        body["included"] = [r for r in inc.items() if r["type"] != "tracks"]
    return out(body)


def _search(ctx: Ctx, query: str, as_list: bool) -> web.Response:
    if not query.strip():
        raise TidalError(400, "A search query is required", parameter="filter[query]" if as_list else "id")
    ids = ctx.e.catalogs.tidal_index.search(parse_field_query(query))
    offset = cursor_offset(ctx.request)
    page = ids[offset : offset + PAGE]
    rel = {
        "data": [{"id": i, "type": "tracks"} for i in page],
        "links": links(
            ctx.request, f"/searchResults/{quote(query, safe='')}/relationships/tracks", offset, len(ids)
        ),
    }
    res = {
        "attributes": {"trackingId": hashlib.sha1(query.encode(), usedforsecurity=False).hexdigest()[:32]},
        "id": query,
        "relationships": {"tracks": rel},
        "type": "searchResults",
    }
    body: dict[str, Any] = {
        "data": [res] if as_list else res,
        "links": {"self": ctx.request.path_qs.removeprefix(PREFIX)},
    }
    if "tracks" in ctx.includes:
        body["included"] = [track_res(ctx.e.catalogs.tidal[i], ctx.country, set()) for i in page]
    return out(body)


@api()
async def search_results_filter(ctx: Ctx) -> web.Response:
    check_params(ctx.request, {"tracks"}, {"filter[query]"})
    return _search(ctx, ctx.request.query.get("filter[query]", ""), as_list=True)


@api()
async def search_results(ctx: Ctx) -> web.Response:
    check_params(ctx.request, {"tracks"}, set())
    return _search(ctx, ctx.request.match_info["query"], as_list=False)


@api()
async def search_result_tracks(ctx: Ctx) -> web.Response:
    check_params(ctx.request, {"tracks"}, set())
    resp = _search(ctx, ctx.request.match_info["query"], as_list=False)
    body = json.loads(resp.text or "{}")
    rel = body["data"]["relationships"]["tracks"]
    out_body: dict[str, Any] = {"data": rel["data"], "links": rel["links"]}
    if "included" in body:
        out_body["included"] = body["included"]
    return out(out_body)


def routes() -> list[web.RouteDef]:
    p = PREFIX
    return [
        web.get(f"{p}/users/me", users_me),
        web.get(f"{p}/playlists", list_playlists),
        web.post(f"{p}/playlists", create_playlist),
        web.get(f"{p}/playlists/{{playlist_id}}", get_playlist),
        web.patch(f"{p}/playlists/{{playlist_id}}", update_playlist),
        web.delete(f"{p}/playlists/{{playlist_id}}", delete_playlist),
        web.get(f"{p}/playlists/{{playlist_id}}/relationships/items", playlist_items),
        web.post(f"{p}/playlists/{{playlist_id}}/relationships/items", add_items),
        web.patch(f"{p}/playlists/{{playlist_id}}/relationships/items", move_items),
        web.delete(f"{p}/playlists/{{playlist_id}}/relationships/items", remove_items),
        web.get(f"{p}/userCollectionTracks/{{user_id}}/relationships/items", collection_tracks),
        web.post(f"{p}/userCollectionTracks/{{user_id}}/relationships/items", collection_tracks_write),
        web.delete(f"{p}/userCollectionTracks/{{user_id}}/relationships/items", collection_tracks_write),
        web.get(f"{p}/userCollectionPlaylists/{{user_id}}/relationships/items", collection_playlists),
        # deprecated forms, still served
        web.get(f"{p}/userCollections/{{user_id}}/relationships/tracks", collection_tracks),
        web.get(f"{p}/userCollections/{{user_id}}/relationships/playlists", collection_playlists),
        web.get(f"{p}/tracks", list_tracks),
        web.get(f"{p}/tracks/{{track_id}}", get_track),
        web.get(f"{p}/searchResults", search_results_filter),
        web.get(f"{p}/searchResults/{{query}}", search_results),
        web.get(f"{p}/searchResults/{{query}}/relationships/tracks", search_result_tracks),
    ]
