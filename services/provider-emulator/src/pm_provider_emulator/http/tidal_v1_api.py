"""api.tidal.com: the private API of TIDAL's own apps (v1, plus v2's playlist-folder create), as tidalapi uses it.

Not the developer platform (that is openapi.tidal.com, ``tidal_api.py``): the same users, playlists
and catalog, seen through the shapes TIDAL's apps get. TIDAL publishes nothing about this API; the
shapes follow live probes recorded by other clients (envelopes ``{limit, offset, totalNumberOfItems,
items}``, ``/items`` entries ``{item, type, cut}`` with a default page of 10 and at most 100,
``404 {"status", "subStatus": 2001, "userMessage": "Track [1] not found"}``, a quoted number as a
playlist's ``ETag``) and the fields tidalapi and TidalSwift read. What no probe shows is marked
"unverified" where it is decided. Only the subset below is served:

- ``GET /v1/sessions``, ``GET /v1/users/{id}``, ``/users/{id}/subscription``, ``/users/{id}/playlists``
- ``GET, POST, DELETE /v1/playlists/{uuid}`` (read with ``ETag``; title/description; delete)
- ``GET /v1/playlists/{uuid}/tracks`` and ``/items``; ``POST /v1/playlists/{uuid}/items`` (add);
  ``POST, DELETE /v1/playlists/{uuid}/items/{indices}`` (move, remove); writes check ``If-None-Match``
- ``GET /v1/tracks/{id}``, ``GET /v1/search`` (tracks; the other types answer empty pages)
- ``PUT /v2/my-collection/playlists/folders/create-playlist``
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from pm_provider_emulator.domain import playlist_ops
from pm_provider_emulator.domain.catalog import TidalTrack
from pm_provider_emulator.domain.oauth import AccessToken
from pm_provider_emulator.domain.search import parse_field_query
from pm_provider_emulator.http.common import emu, int_param, json_response, read_form
from pm_provider_emulator.http.context import Emulator
from pm_provider_emulator.http.tidal_api import artist_id
from pm_provider_emulator.storage.state import Entry, Playlist, User

HOST = "api.tidal.com"
V1 = f"/{HOST}/v1"
V2 = f"/{HOST}/v2"
DEFAULT_PAGE = 10
MAX_ITEMS_PAGE = 100  # /items (probed: larger limits answer 400/1001)
MAX_PAGE = 10_000  # elsewhere (tidalapi asks 1000 on /tracks and /users/{id}/playlists; unverified)
MAX_SEARCH = 300
WRITE_SCOPES = frozenset({"w_usr", "playlists.write"})
NOT_FOUND = 2001


class V1Error(Exception):
    def __init__(self, status: int, sub_status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.sub_status, self.message = status, sub_status, message


class Ctx:
    def __init__(self, request: web.Request, e: Emulator, token: AccessToken, user: User) -> None:
        self.request, self.e, self.token, self.user = request, e, token, user
        self.country = request.query.get("countryCode") or user.country

    def need_write(self) -> None:
        if not (self.token.scopes & WRITE_SCOPES):
            raise V1Error(403, 4005, "Insufficient scope")  # sub-status unverified

    def page(self, maximum: int = MAX_PAGE) -> tuple[int, int]:
        limit = int_param(self.request.query.get("limit"), DEFAULT_PAGE)
        offset = int_param(self.request.query.get("offset"), 0)
        if limit is None or offset is None or limit < 0 or offset < 0:
            raise V1Error(400, 1002, "Invalid limit or offset")  # wording unverified
        if limit > maximum:
            raise V1Error(400, 1001, f"Too big page, max page size is [{maximum}]")
        return limit, offset


Handler = Callable[[Ctx], Awaitable[web.Response]]


def api(fn: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Bearer token of a TIDAL user (401 ``The token has expired.`` is what tidalapi refreshes on)."""

    async def handler(request: web.Request) -> web.Response:
        e = emu(request)
        header = request.headers.get("Authorization", "")
        token = e.store.access_token("tidal", header[7:].strip() if header[:7].lower() == "bearer " else "")
        if token is None:
            return error(401, 11002, "Token could not be verified")
        if token.expires_at is not None and e.clock.now() >= token.expires_at:
            return error(401, 11003, "The token has expired. (Expired on time)")
        user = e.store.user("tidal", token.user_id)
        if user is None:  # a client-credentials token
            return error(401, 11001, "User credentials required")  # wording unverified
        try:
            return await fn(Ctx(request, e, token, user))
        except V1Error as err:
            return error(err.status, err.sub_status, err.message)

    return handler


def error(status: int, sub_status: int, message: str) -> web.Response:
    return json_response({"status": status, "subStatus": sub_status, "userMessage": message}, status)


# ---------------------------------------------------------------- rendering


def date(ts: float) -> str:
    """TIDAL v1's timestamps: ``2021-03-24T12:11:56.386+0000``."""
    dt = datetime.fromtimestamp(ts, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}+0000"


def image_uuid(kind: str, ident: str) -> str:
    """Image ids are UUIDs (``resources.tidal.com/images/<uuid with / for ->/640x640.jpg``)."""
    return str(uuid.UUID(hashlib.sha1(f"{kind}:{ident}".encode(), usedforsecurity=False).hexdigest()[:32]))


def artist_obj(name: str, main: bool) -> dict[str, Any]:
    return {
        "id": int(artist_id(name)),
        "name": name,
        "handle": None,
        "type": "MAIN" if main else "FEATURED",
        "picture": image_uuid("artist", name),
    }


def track_obj(t: TidalTrack, entry: Entry | None = None, index: int | None = None) -> dict[str, Any]:
    """A track as ``/tracks/{id}`` and ``/playlists/{uuid}/tracks`` give it; with ``entry``, as an
    ``/items`` entry's ``item`` (adds ``dateAdded``, ``index``, ``itemUuid``, ``description`` and
    the album's ``releaseDate``)."""
    artists = [artist_obj(a, i == 0) for i, a in enumerate(t.artists)]
    album: dict[str, Any] = {
        "id": int(t.album_id),
        "title": t.album_title,
        "cover": image_uuid("album", t.album_id),
        "vibrantColor": "#" + hashlib.sha1(t.album_id.encode(), usedforsecurity=False).hexdigest()[:6],
        "videoCover": None,
    }
    obj: dict[str, Any] = {
        "id": int(t.id),
        "title": t.title,
        "duration": t.duration,
        "replayGain": -8.5,
        "peak": 0.988,
        "allowStreaming": t.available,
        "streamReady": t.available,
        "payToStream": False,
        "adSupportedStreamReady": t.available,
        "djReady": t.available,
        "stemReady": False,
        "streamStartDate": f"{t.release_date[:10]}T00:00:00.000+0000" if t.available else None,
        "premiumStreamingOnly": False,
        "trackNumber": 1,
        "volumeNumber": 1,
        "version": t.version,
        "popularity": round(t.popularity * 100),
        "copyright": f"℗ {t.release_date[:4]} {t.artists[0]}",
        "bpm": None,
        "key": None,
        "keyScale": None,
        "url": f"http://www.tidal.com/track/{t.id}",
        "isrc": t.isrc,
        "editable": False,
        "explicit": t.explicit,
        "audioQuality": "LOSSLESS",
        "audioModes": ["STEREO"],
        "mediaMetadata": {"tags": ["LOSSLESS"]},
        "upload": False,
        "accessType": "PUBLIC",
        "spotlighted": False,
        "artist": artists[0],
        "artists": artists,
        "album": album,
        "mixes": {"TRACK_MIX": hashlib.sha1(f"mix:{t.id}".encode(), usedforsecurity=False).hexdigest()[:30]},
    }
    if entry is not None:
        album["releaseDate"] = t.release_date
        obj.update(
            {
                "dateAdded": date(entry.added_at),
                "index": index,
                "itemUuid": entry.item_id,
                "description": None,
            }
        )
    return obj


def playlist_obj(e: Emulator, pl: Playlist) -> dict[str, Any]:
    tracks = [t for x in pl.entries if (t := e.catalogs.tidal.get(x.track_id)) is not None]
    image = image_uuid("playlist", pl.id)
    return {
        "uuid": pl.id,
        "title": pl.name,
        "numberOfTracks": len(pl.entries),
        "numberOfVideos": 0,
        "creator": {"id": int(pl.owner_id)},
        "description": pl.description,
        "duration": sum(t.duration for t in tracks),
        "lastUpdated": date(pl.modified_at),
        "created": date(pl.created_at),
        "type": "USER",
        "publicPlaylist": pl.public,
        "url": f"http://www.tidal.com/playlist/{pl.id}",
        "image": image,
        "popularity": 0,
        "squareImage": image,
        "customImageUrl": None,
        "promotedArtists": [],
        "lastItemAddedAt": date(max(x.added_at for x in pl.entries)) if pl.entries else None,
    }


def etag(pl: Playlist) -> str:
    """A quoted number, as TIDAL's, that changes whenever the items do (title and description edits
    leave it as it is: tidalapi's ``edit`` does not re-read it; what TIDAL does there is unverified)."""
    digest = hashlib.sha1(",".join(x.item_id for x in pl.entries).encode(), usedforsecurity=False)
    return f'"{1_500_000_000_000 + int(digest.hexdigest()[:12], 16) % 10**12}"'


def paged(items: list[Any], total: int, limit: int, offset: int) -> dict[str, Any]:
    return {"limit": limit, "offset": offset, "totalNumberOfItems": total, "items": items}


def with_etag(body: Any, pl: Playlist) -> web.Response:
    return json_response(body, headers={"ETag": etag(pl)})


# ---------------------------------------------------------------- session and user


@api
async def sessions(ctx: Ctx) -> web.Response:
    return json_response(
        {
            "sessionId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"tidal-session:{ctx.token.token}")),
            "userId": int(ctx.user.id),
            "countryCode": ctx.user.country,
            "channelId": 1,
            "partnerId": 1,
            "client": {
                "id": int(
                    hashlib.sha1(ctx.token.client_id.encode(), usedforsecurity=False).hexdigest()[:6], 16
                ),
                "name": ctx.token.client_id,
                "authorizedForOffline": True,
                "authorizedForOfflineDate": None,
            },
        }
    )


def user_of(ctx: Ctx) -> User:
    u = ctx.e.store.user("tidal", ctx.request.match_info["user_id"])
    if u is None:
        raise V1Error(404, NOT_FOUND, "User not found")
    return u


@api
async def get_user(ctx: Ctx) -> web.Response:
    u = user_of(ctx)
    first, _, last = u.name.partition(" ")
    if u.id != ctx.user.id:  # another user: the public profile (unverified)
        return json_response({"id": int(u.id), "firstName": first, "lastName": last, "picture": None})
    return json_response(
        {
            "id": int(u.id),
            "username": u.email,
            "firstName": first,
            "lastName": last,
            "email": u.email,
            "countryCode": u.country,
            "created": date(u.created_at),
            "picture": None,
            "newsletter": False,
            "acceptedEULA": True,
            "gender": None,
            "dateOfBirth": None,
            "facebookUid": 0,
            "appleUid": None,
        }
    )


@api
async def subscription(ctx: Ctx) -> web.Response:
    """Every emulated user has an active subscription (tidalapi's ``check_login`` asks for it)."""
    u = user_of(ctx)
    if u.id != ctx.user.id:
        raise V1Error(403, 4005, "Not allowed")  # unverified
    return json_response(
        {
            "startDate": date(u.created_at),
            "validUntil": date(ctx.e.clock.now() + 30 * 86_400),
            "status": "ACTIVE",
            "subscription": {"type": "HIFI", "offlineGracePeriod": 30},
            "highestSoundQuality": "HI_RES_LOSSLESS",
            "premiumAccess": True,
            "canGetTrial": False,
            "paymentType": "ADYEN_CREDIT_CARD",
            "paymentOverdue": False,
        }
    )


@api
async def user_playlists(ctx: Ctx) -> web.Response:
    """The user's own playlists, newest first (followed ones are not listed here)."""
    u = user_of(ctx)
    limit, offset = ctx.page()
    own = [p for p in ctx.e.store.library_playlists(u) if p.owner_id == u.id]
    if u.id != ctx.user.id:
        own = [p for p in own if p.public]
    return json_response(
        paged([playlist_obj(ctx.e, p) for p in own[offset : offset + limit]], len(own), limit, offset)
    )


# ---------------------------------------------------------------- playlists


def playlist_of(ctx: Ctx) -> Playlist:
    pl = ctx.e.store.playlist("tidal", ctx.request.match_info["playlist_id"])
    if pl is None or (not pl.public and not pl.unlisted and pl.owner_id != ctx.user.id):
        raise V1Error(404, NOT_FOUND, "Playlist not found")
    return pl


def own_playlist(ctx: Ctx) -> Playlist:
    """A playlist the caller may edit, whose ``If-None-Match`` (when sent) is its current ``ETag``."""
    ctx.need_write()
    pl = playlist_of(ctx)
    if pl.owner_id != ctx.user.id and not pl.collaborative:
        raise V1Error(403, 4005, "User does not have write access to the playlist")  # unverified
    sent = ctx.request.headers.get("If-None-Match")
    if sent is not None and sent != etag(pl):
        raise V1Error(412, 1003, "The playlist has been modified since its ETag was read")  # unverified
    return pl


@api
async def get_playlist(ctx: Ctx) -> web.Response:
    pl = playlist_of(ctx)
    return with_etag(playlist_obj(ctx.e, pl), pl)


@api
async def edit_playlist(ctx: Ctx) -> web.Response:
    pl = own_playlist(ctx)
    form = {**(await read_form(ctx.request)), **ctx.request.query}
    if "title" in form:
        if not form["title"].strip():
            raise V1Error(400, 1002, "Title must not be empty")  # unverified
        pl.name = form["title"]
    if "description" in form:
        pl.description = form["description"]
    pl.touch(ctx.e.clock.now())
    return with_etag(playlist_obj(ctx.e, pl), pl)


@api
async def delete_playlist(ctx: Ctx) -> web.Response:
    pl = own_playlist(ctx)
    ctx.e.store.remove_from_library(ctx.user, pl.id)
    pl.deleted = True
    return web.Response(status=204)


def playlist_tracks(ctx: Ctx, pl: Playlist) -> list[tuple[int, Entry, TidalTrack]]:
    out = []
    for i, x in enumerate(pl.entries):
        t = ctx.e.catalogs.tidal.get(x.track_id)
        if t is not None:
            out.append((i, x, t))
    return out


@api
async def get_tracks(ctx: Ctx) -> web.Response:
    pl = playlist_of(ctx)
    limit, offset = ctx.page()
    rows = playlist_tracks(ctx, pl)
    items = [track_obj(t) for _, _, t in rows[offset : offset + limit]]
    return with_etag(paged(items, len(pl.entries), limit, offset), pl)


@api
async def get_items(ctx: Ctx) -> web.Response:
    pl = playlist_of(ctx)
    limit, offset = ctx.page(MAX_ITEMS_PAGE)
    rows = playlist_tracks(ctx, pl)
    items = [
        {"item": track_obj(t, x, i), "type": "track", "cut": None}
        for i, x, t in rows[offset : offset + limit]
    ]
    return with_etag(paged(items, len(pl.entries), limit, offset), pl)


@api
async def add_items(ctx: Ctx) -> web.Response:
    """``trackIds``, ``toIndex`` (default: the end), ``onDupes`` FAIL|ADD|SKIP, ``onArtifactNotFound`` FAIL|SKIP."""
    pl = own_playlist(ctx)
    form = {**ctx.request.query, **(await read_form(ctx.request))}
    raw = [x.strip() for x in form.get("trackIds", "").split(",") if x.strip()]
    if not raw:
        raise V1Error(400, 1002, "trackIds must be provided")  # unverified
    on_dupes = form.get("onDupes", "FAIL").upper()
    on_missing = form.get("onArtifactNotFound", "FAIL").upper()
    present = {x.track_id for x in pl.entries}
    ids: list[str] = []
    for tid in raw:
        if tid not in ctx.e.catalogs.tidal:
            if on_missing == "SKIP":
                continue
            raise V1Error(404, NOT_FOUND, f"Track [{tid}] not found")
        if tid in present or tid in ids:
            if on_dupes == "SKIP":
                continue
            if on_dupes != "ADD":
                raise V1Error(409, 1004, "Playlist already contains the item(s)")  # unverified
        ids.append(tid)
    to_index = int_param(form.get("toIndex"), len(pl.entries))
    if to_index is None or not 0 <= to_index <= len(pl.entries):
        to_index = len(pl.entries)
    now = ctx.e.clock.now()
    pl.remember()
    new = [ctx.e.store.entry("tidal", tid, now, ctx.user.id) for tid in ids]
    pl.entries = playlist_ops.insert_at(pl.entries, new, to_index)
    if new:
        pl.touch(now)
    body = {"lastUpdated": int(pl.modified_at * 1000), "addedItemIds": [int(t) for t in ids]}
    return with_etag(body, pl)


def indices_of(ctx: Ctx, pl: Playlist) -> set[int]:
    try:
        indices = {int(x) for x in ctx.request.match_info["indices"].split(",") if x}
    except ValueError as err:
        raise V1Error(400, 1002, "Invalid item index") from err  # unverified
    if not indices or any(not 0 <= i < len(pl.entries) for i in indices):
        raise V1Error(400, 1002, "Invalid item index")  # unverified
    return indices


@api
async def move_items(ctx: Ctx) -> web.Response:
    """The items at ``indices`` (kept in playlist order) end up starting at position ``toIndex``
    (tidalapi: "the new position of the item"), or at the end; TIDAL's own counting is unverified."""
    pl = own_playlist(ctx)
    indices = indices_of(ctx, pl)
    form = {**ctx.request.query, **(await read_form(ctx.request))}
    block = [x for i, x in enumerate(pl.entries) if i in indices]
    rest = [x for i, x in enumerate(pl.entries) if i not in indices]
    to_index = int_param(form.get("toIndex"), len(rest))
    if to_index is None or not 0 <= to_index <= len(rest):
        to_index = len(rest)
    pl.remember()
    pl.entries = rest[:to_index] + block + rest[to_index:]
    pl.touch(ctx.e.clock.now())
    return with_etag({"lastUpdated": int(pl.modified_at * 1000)}, pl)


@api
async def remove_items(ctx: Ctx) -> web.Response:
    pl = own_playlist(ctx)
    indices = indices_of(ctx, pl)
    pl.remember()
    pl.entries = playlist_ops.remove_indexes(pl.entries, indices)
    pl.touch(ctx.e.clock.now())
    return web.Response(status=200, headers={"ETag": etag(pl)})


@api
async def create_playlist(ctx: Ctx) -> web.Response:
    """v2's folder call, the way tidalapi creates playlists: ``name``, ``description``, ``folderId``."""
    ctx.need_write()
    name = ctx.request.query.get("name", "").strip()
    if not name:
        raise V1Error(400, 1002, "Playlist name must be provided")  # unverified
    if ctx.request.query.get("folderId", "root") != "root":
        raise V1Error(404, NOT_FOUND, "Folder not found")  # folders are not emulated
    pl = ctx.e.store.create_playlist(
        "tidal", ctx.user, name, description=ctx.request.query.get("description", ""), public=False
    )
    data = {**playlist_obj(ctx.e, pl), "trn": f"trn:playlist:{pl.id}", "itemType": "PLAYLIST"}
    return json_response(
        {
            "trn": f"trn:playlist:{pl.id}",
            "itemType": "PLAYLIST",
            "addedAt": date(pl.created_at),
            "lastModifiedAt": date(pl.modified_at),
            "name": pl.name,
            "parent": None,
            "data": data,
        }
    )


# ---------------------------------------------------------------- catalog


@api
async def get_track(ctx: Ctx) -> web.Response:
    tid = ctx.request.match_info["track_id"]
    t = ctx.e.catalogs.tidal.get(tid)
    if t is None:
        raise V1Error(404, NOT_FOUND, f"Track [{tid}] not found")
    return json_response(track_obj(t))


SEARCH_TYPES = ("ARTISTS", "ALBUMS", "PLAYLISTS", "TRACKS", "VIDEOS")


@api
async def search(ctx: Ctx) -> web.Response:
    """Tracks by free text (and the Spotify-style ``artist:``/``track:`` filters); other types empty."""
    query = ctx.request.query.get("query", "")
    if not query.strip():
        raise V1Error(400, 1002, "Query must be provided")  # unverified
    limit, offset = ctx.page(MAX_SEARCH)
    types = {x.strip().upper() for x in ctx.request.query.get("types", ",".join(SEARCH_TYPES)).split(",")}
    ids = (
        ctx.e.catalogs.tidal_index.search(parse_field_query(query))[:MAX_SEARCH] if "TRACKS" in types else []
    )
    tracks = [track_obj(ctx.e.catalogs.tidal[i]) for i in ids[offset : offset + limit]]
    body: dict[str, Any] = {t.lower(): paged([], 0, limit, offset) for t in SEARCH_TYPES}
    body["tracks"] = paged(tracks, len(ids), limit, offset)
    body["topHit"] = {"value": tracks[0], "type": "TRACKS"} if tracks and offset == 0 else None
    return json_response(body)


def routes() -> list[web.RouteDef]:
    return [
        web.get(f"{V1}/sessions", sessions),
        web.get(f"{V1}/users/{{user_id}}", get_user),
        web.get(f"{V1}/users/{{user_id}}/subscription", subscription),
        web.get(f"{V1}/users/{{user_id}}/playlists", user_playlists),
        web.get(f"{V1}/playlists/{{playlist_id}}", get_playlist),
        web.post(f"{V1}/playlists/{{playlist_id}}", edit_playlist),
        web.delete(f"{V1}/playlists/{{playlist_id}}", delete_playlist),
        web.get(f"{V1}/playlists/{{playlist_id}}/tracks", get_tracks),
        web.get(f"{V1}/playlists/{{playlist_id}}/items", get_items),
        web.post(f"{V1}/playlists/{{playlist_id}}/items", add_items),
        web.post(f"{V1}/playlists/{{playlist_id}}/items/{{indices}}", move_items),
        web.delete(f"{V1}/playlists/{{playlist_id}}/items/{{indices}}", remove_items),
        web.get(f"{V1}/tracks/{{track_id}}", get_track),
        web.get(f"{V1}/search", search),
        web.put(f"{V2}/my-collection/playlists/folders/create-playlist", create_playlist),
    ]
