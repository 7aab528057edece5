"""api.deezer.com: user, playlists and their tracks, loved tracks, tracks (incl. ``isrc:``), albums, search.

Deezer answers errors with HTTP 200 and ``{"error": {"type", "message", "code"}}``; the token comes as
the ``access_token`` query parameter; writes may be sent as GET with ``request_method=post|delete``.
Write parameters are read from the query string and from a form body.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from pm_provider_emulator.domain.catalog import DeezerTrack
from pm_provider_emulator.domain.derive import hash_int
from pm_provider_emulator.domain.oauth import AccessToken
from pm_provider_emulator.domain.search import parse_field_query
from pm_provider_emulator.http import errors
from pm_provider_emulator.http.common import emu, json_response, link_base, read_form, url_with
from pm_provider_emulator.http.context import Emulator
from pm_provider_emulator.storage.state import Entry, Playlist, User

HOST = "api.deezer.com"
PREFIX = f"/{HOST}"
DEFAULT_LIMIT = 25
MAX_LIMIT = 2000  # undocumented upstream; large limits are accepted in practice
MAX_SONGS_PER_REQUEST = 500  # undocumented upstream; keeps the request line within common limits
MAX_PLAYLIST_TRACKS = 10_000
EMBEDDED_PLAYLIST_TRACKS = 400


class DeezerError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


NOT_FOUND = DeezerError(800, "no data")


def ts(value: float) -> str:
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S")


class Ctx:
    """One request's context: emulator, params (query + form), token and user (if any)."""

    def __init__(self, request: web.Request, e: Emulator, params: dict[str, str]) -> None:
        self.request = request
        self.e = e
        self.params = params
        self.base = link_base(request, HOST)
        self.token: AccessToken | None = None
        self.user: User | None = None

    def need_user(self, perm: str | None = None) -> User:
        if self.user is None:
            if self.params.get("access_token"):
                raise DeezerError(300, "Invalid OAuth access token.")
            raise DeezerError(
                200, "An active access token must be used to query information about the current user"
            )
        if perm is not None and self.token is not None and perm not in self.token.scopes:
            raise DeezerError(200, "Permission denied")
        return self.user

    def index_limit(self) -> tuple[int, int]:
        try:
            index = int(self.params.get("index", 0) or 0)
            limit = int(self.params.get("limit", DEFAULT_LIMIT) or DEFAULT_LIMIT)
        except ValueError as err:
            raise DeezerError(500, "Wrong parameter") from err
        return max(0, index), max(0, min(limit, MAX_LIMIT))


Handler = Callable[[Ctx], Awaitable[Any]]


def endpoint(methods: dict[str, Handler]) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Dispatch on the effective method (``request_method`` overrides), resolve the token, render errors."""

    async def handler(request: web.Request) -> web.Response:
        e = emu(request)
        params = {**(await read_form(request)), **request.query}
        method = params.get("request_method", request.method).upper()
        fn = methods.get(method)
        if fn is None:
            return errors.deezer(600, "Invalid query")
        ctx = Ctx(request, e, params)
        token_value = params.get("access_token")
        try:
            if token_value:
                token = e.store.access_token("deezer", token_value)
                if token is None or (token.expires_at is not None and e.clock.now() >= token.expires_at):
                    raise DeezerError(300, "Invalid OAuth access token.")
                ctx.token = token
                ctx.user = e.store.user("deezer", token.user_id)
            body = await fn(ctx)
        except DeezerError as err:
            return errors.deezer(err.code, err.message)
        return json_response(body)

    return handler


# ---------------------------------------------------------------- rendering


def _md5(kind: str, ident: object) -> str:
    return hashlib.md5(f"{kind}:{ident}".encode(), usedforsecurity=False).hexdigest()


def artist_obj(base: str, name: str, full: bool = False) -> dict[str, Any]:
    aid = 1000 + hash_int("dz-artist", name) % 90_000_000
    obj: dict[str, Any] = {"id": aid, "name": name}
    if full:
        md5 = _md5("artist", aid)
        obj.update(
            {
                "link": f"https://www.deezer.com/artist/{aid}",
                "share": f"https://www.deezer.com/artist/{aid}?utm_source=deezer&utm_content=artist-{aid}",
                "picture": f"{base}/artist/{aid}/image",
                "picture_small": f"https://cdn-images.dzcdn.net/images/artist/{md5}/56x56-000000-80-0-0.jpg",
                "picture_medium": f"https://cdn-images.dzcdn.net/images/artist/{md5}/250x250-000000-80-0-0.jpg",
                "picture_big": f"https://cdn-images.dzcdn.net/images/artist/{md5}/500x500-000000-80-0-0.jpg",
                "picture_xl": f"https://cdn-images.dzcdn.net/images/artist/{md5}/1000x1000-000000-80-0-0.jpg",
                "radio": True,
            }
        )
    else:
        obj["link"] = f"https://www.deezer.com/artist/{aid}"
    obj["tracklist"] = f"{base}/artist/{aid}/top?limit=50"
    obj["type"] = "artist"
    return obj


def album_obj(base: str, t: DeezerTrack, full: bool = False) -> dict[str, Any]:
    md5 = _md5("album", t.album_id)
    obj: dict[str, Any] = {"id": t.album_id, "title": t.album_title}
    if full:
        obj["link"] = f"https://www.deezer.com/album/{t.album_id}"
    obj.update(
        {
            "cover": f"{base}/album/{t.album_id}/image",
            "cover_small": f"https://cdn-images.dzcdn.net/images/cover/{md5}/56x56-000000-80-0-0.jpg",
            "cover_medium": f"https://cdn-images.dzcdn.net/images/cover/{md5}/250x250-000000-80-0-0.jpg",
            "cover_big": f"https://cdn-images.dzcdn.net/images/cover/{md5}/500x500-000000-80-0-0.jpg",
            "cover_xl": f"https://cdn-images.dzcdn.net/images/cover/{md5}/1000x1000-000000-80-0-0.jpg",
            "md5_image": md5,
        }
    )
    if full:
        obj["release_date"] = t.release_date
    obj["tracklist"] = f"{base}/album/{t.album_id}/tracks"
    obj["type"] = "album"
    return obj


def _preview(t: DeezerTrack) -> str:
    h = _md5("preview", t.id)
    return f"https://cdnt-preview.dzcdn.net/api/1/1/{h[0]}/{h[1]}/{h[2]}/0/{h}.mp3"


def track_obj(
    base: str, t: DeezerTrack, *, full: bool = False, time_add: float | None = None
) -> dict[str, Any]:
    """A track as listed (playlist, search) or, with ``full``, as ``GET /track/{id}`` returns it."""
    obj: dict[str, Any] = {
        "id": t.id,
        "readable": t.readable,
        "title": t.title,
        "title_short": t.title_short,
        "title_version": t.title_version,
    }
    if full:
        obj["isrc"] = t.isrc
    obj["link"] = f"https://www.deezer.com/track/{t.id}"
    if full:
        obj["share"] = f"https://www.deezer.com/track/{t.id}?utm_source=deezer&utm_content=track-{t.id}"
    obj["duration"] = t.duration
    if full:
        obj.update({"track_position": 1 + t.id % 12, "disk_number": 1})
    obj.update(
        {
            "rank": t.rank,
            "explicit_lyrics": t.explicit,
            "explicit_content_lyrics": 1 if t.explicit else 0,
            "explicit_content_cover": 0,
            "preview": _preview(t),
        }
    )
    if full:
        obj.update(
            {
                "release_date": t.release_date,
                "bpm": 0,
                "gain": -8.5,
                "available_countries": []
                if not t.readable
                else ["BE", "CH", "DE", "ES", "FR", "GB", "IT", "NL", "US"],
                "contributors": [
                    {**artist_obj(base, a, True), "role": "Main" if i == 0 else "Featured"}
                    for i, a in enumerate(t.artists)
                ],
            }
        )
    obj["md5_image"] = _md5("album", t.album_id)
    if time_add is not None:
        obj["time_add"] = int(time_add)
    obj["artist"] = artist_obj(base, t.artists[0], full)
    obj["album"] = album_obj(base, t, full)
    obj["type"] = "track"
    return obj


def entries_tracks(e: Emulator, entries: list[Entry]) -> list[tuple[Entry, DeezerTrack]]:
    out = []
    for x in entries:
        t = e.catalogs.deezer.get(int(x.track_id))
        if t is not None:
            out.append((x, t))
    return out


def checksum(pl: Playlist) -> str:
    return hashlib.md5(",".join(x.track_id for x in pl.entries).encode(), usedforsecurity=False).hexdigest()


def creator_obj(base: str, e: Emulator, pl: Playlist) -> dict[str, Any]:
    return {
        "id": int(pl.owner_id),
        "name": pl.owner_name,
        "tracklist": f"{base}/user/{pl.owner_id}/flow",
        "type": "user",
    }


def playlist_obj(ctx: Ctx, pl: Playlist, *, full: bool, time_add: float | None = None) -> dict[str, Any]:
    e, base = ctx.e, ctx.base
    pairs = entries_tracks(e, pl.entries)
    md5 = _md5("playlist", pl.id)
    obj: dict[str, Any] = {"id": int(pl.id), "title": pl.name}
    if full:
        obj["description"] = pl.description
    obj.update(
        {
            "duration": sum(t.duration for _, t in pairs),
            "public": pl.public,
            "is_loved_track": pl.is_loved,
            "collaborative": pl.collaborative,
            "nb_tracks": len(pl.entries),
        }
    )
    if full:
        obj["unseen_track_count"] = 0
    obj.update(
        {
            "fans": pl.followers,
            "link": f"https://www.deezer.com/playlist/{pl.id}",
            "share": f"https://www.deezer.com/playlist/{pl.id}?utm_source=deezer&utm_content=playlist-{pl.id}",
            "picture": f"{base}/playlist/{pl.id}/image",
            "picture_small": f"https://cdn-images.dzcdn.net/images/playlist/{md5}/56x56-000000-80-0-0.jpg",
            "picture_medium": f"https://cdn-images.dzcdn.net/images/playlist/{md5}/250x250-000000-80-0-0.jpg",
            "picture_big": f"https://cdn-images.dzcdn.net/images/playlist/{md5}/500x500-000000-80-0-0.jpg",
            "picture_xl": f"https://cdn-images.dzcdn.net/images/playlist/{md5}/1000x1000-000000-80-0-0.jpg",
            "checksum": checksum(pl),
        }
    )
    if not full:
        obj["time_add"] = int(time_add if time_add is not None else pl.created_at)
        obj["time_mod"] = int(pl.modified_at)
    obj.update(
        {
            "tracklist": f"{base}/playlist/{pl.id}/tracks",
            "creation_date": ts(pl.created_at),
            "md5_image": md5,
            "picture_type": "playlist",
        }
    )
    obj["creator"] = creator_obj(base, e, pl)
    obj["type"] = "playlist"
    if full:
        obj["tracks"] = {
            "data": [track_obj(base, t, time_add=x.added_at) for x, t in pairs[:EMBEDDED_PLAYLIST_TRACKS]],
            "checksum": checksum(pl),
        }
    return obj


def page(
    ctx: Ctx,
    path: str,
    data: list[Any],
    total: int,
    index: int,
    limit: int,
    extra: dict[str, str] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"data": data, "total": total}
    if index > 0:
        body["prev"] = url_with(
            f"{ctx.base}{path}", {**(extra or {}), "limit": limit, "index": max(0, index - limit)}
        )
    if index + limit < total:
        body["next"] = url_with(
            f"{ctx.base}{path}", {**(extra or {}), "limit": limit, "index": index + limit}
        )
    return body


# ---------------------------------------------------------------- users


def user_obj(ctx: Ctx, u: User, me: bool) -> dict[str, Any]:
    md5 = _md5("user", u.id)
    obj: dict[str, Any] = {"id": int(u.id), "name": u.name}
    if me:
        first, _, last = u.name.partition(" ")
        obj.update({"lastname": last, "firstname": first})
        if ctx.token is not None and "email" in ctx.token.scopes:
            obj["email"] = u.email
        obj.update(
            {"status": 0, "birthday": "0000-00-00", "inscription_date": ts(u.created_at)[:10], "gender": ""}
        )
    obj.update(
        {
            "link": f"https://www.deezer.com/profile/{u.id}",
            "picture": f"{ctx.base}/user/{u.id}/image",
            "picture_small": f"https://cdn-images.dzcdn.net/images/user/{md5}/56x56-000000-80-0-0.jpg",
            "picture_medium": f"https://cdn-images.dzcdn.net/images/user/{md5}/250x250-000000-80-0-0.jpg",
            "picture_big": f"https://cdn-images.dzcdn.net/images/user/{md5}/500x500-000000-80-0-0.jpg",
            "picture_xl": f"https://cdn-images.dzcdn.net/images/user/{md5}/1000x1000-000000-80-0-0.jpg",
            "country": u.country,
        }
    )
    if me:
        obj.update(
            {
                "lang": u.country,
                "is_kid": False,
                "explicit_content_level": "explicit_display",
                "explicit_content_levels_available": [
                    "explicit_display",
                    "explicit_no_recommendation",
                    "explicit_hide",
                ],
            }
        )
    obj["tracklist"] = f"{ctx.base}/user/{u.id}/flow"
    obj["type"] = "user"
    return obj


def resolve_user(ctx: Ctx) -> tuple[User, bool]:
    uid = ctx.request.match_info["user_id"]
    if uid == "me":
        return ctx.need_user(), True
    u = ctx.e.store.user("deezer", uid)
    if u is None:
        raise NOT_FOUND
    return u, ctx.user is not None and ctx.user.id == u.id


async def get_user(ctx: Ctx) -> Any:
    u, me = resolve_user(ctx)
    return user_obj(ctx, u, me)


async def user_playlists(ctx: Ctx) -> Any:
    u, me = resolve_user(ctx)
    index, limit = ctx.index_limit()
    pls = [p for p in ctx.e.store.library_playlists(u) if me or p.public]
    if u.loved_playlist_id is not None:
        loved = ctx.e.store.playlist("deezer", u.loved_playlist_id)
        if loved is not None and (me or loved.public):
            pls.insert(0, loved)
    data = [playlist_obj(ctx, p, full=False) for p in pls[index : index + limit]]
    return page(ctx, f"/user/{ctx.request.match_info['user_id']}/playlists", data, len(pls), index, limit)


async def create_or_follow_playlist(ctx: Ctx) -> Any:
    if ctx.request.match_info["user_id"] != "me":
        u, me = resolve_user(ctx)
        if not me:
            raise DeezerError(200, "Permission denied")
    u = ctx.need_user("manage_library")
    if "playlist_id" in ctx.params:
        pl = ctx.e.store.playlist("deezer", ctx.params["playlist_id"])
        if pl is None:
            raise NOT_FOUND
        if pl.id not in u.playlist_ids:
            u.playlist_ids.insert(0, pl.id)
            pl.followers += 1
        return True
    title = ctx.params.get("title", "").strip()
    if not title:
        raise DeezerError(501, "Missing parameters: title")
    pl = ctx.e.store.create_playlist("deezer", u, title, public=True)
    return {"id": int(pl.id)}


async def unfollow_playlist(ctx: Ctx) -> Any:
    u = ctx.need_user("manage_library")
    pid = ctx.params.get("playlist_id")
    if not pid:
        raise DeezerError(501, "Missing parameters: playlist_id")
    if pid not in u.playlist_ids:
        raise NOT_FOUND
    pl = ctx.e.store.playlist("deezer", pid)
    if pl is not None and pl.owner_id == u.id:
        raise DeezerError(200, "Permission denied")  # owners delete with DELETE /playlist/{id}
    u.playlist_ids.remove(pid)
    return True


# ---------------------------------------------------------------- playlists


def get_pl(ctx: Ctx) -> Playlist:
    pl = ctx.e.store.playlist("deezer", ctx.request.match_info["playlist_id"])
    if pl is None:
        raise NOT_FOUND
    if not pl.public and (ctx.user is None or ctx.user.id != pl.owner_id):
        raise DeezerError(200, "Permission denied") if ctx.user is not None else NOT_FOUND
    return pl


def own_pl(ctx: Ctx, perm: str = "manage_library") -> tuple[User, Playlist]:
    u = ctx.need_user(perm)
    pl = get_pl(ctx)
    if pl.owner_id != u.id and not pl.collaborative:
        raise DeezerError(200, "Permission denied")
    return u, pl


async def get_playlist(ctx: Ctx) -> Any:
    return playlist_obj(ctx, get_pl(ctx), full=True)


async def update_playlist(ctx: Ctx) -> Any:
    _, pl = own_pl(ctx)
    if "title" in ctx.params:
        if not ctx.params["title"].strip():
            raise DeezerError(500, "Wrong parameter: title")
        pl.name = ctx.params["title"]
    if "description" in ctx.params:
        pl.description = ctx.params["description"]
    if "public" in ctx.params:
        pl.public = ctx.params["public"].lower() in ("1", "true")
    if "collaborative" in ctx.params:
        pl.collaborative = ctx.params["collaborative"].lower() in ("1", "true")
    pl.touch(ctx.e.clock.now())
    return True


async def delete_playlist(ctx: Ctx) -> Any:
    u = ctx.need_user("delete_library")
    pl = get_pl(ctx)
    if pl.owner_id != u.id or pl.is_loved:
        raise DeezerError(200, "Permission denied")
    ctx.e.store.remove_from_library(u, pl.id)
    pl.deleted = True
    return True


async def playlist_tracks(ctx: Ctx) -> Any:
    pl = get_pl(ctx)
    index, limit = ctx.index_limit()
    pairs = entries_tracks(ctx.e, pl.entries)
    data = [track_obj(ctx.base, t, time_add=x.added_at) for x, t in pairs[index : index + limit]]
    body = page(ctx, f"/playlist/{pl.id}/tracks", data, len(pairs), index, limit)
    body["checksum"] = checksum(pl)
    return {
        "data": body["data"],
        "checksum": body["checksum"],
        "total": body["total"],
        **{k: body[k] for k in ("prev", "next") if k in body},
    }


def _ids(ctx: Ctx, key: str) -> list[str]:
    raw = ctx.params.get(key, "")
    ids = [x.strip() for x in raw.split(",") if x.strip()]
    if not ids:
        raise DeezerError(501, f"Missing parameters: {key}")
    if len(ids) > MAX_SONGS_PER_REQUEST:
        raise DeezerError(100, "Items limit exceeded")
    for i in ids:
        if not i.isdigit():
            raise DeezerError(500, f"Wrong parameter: {key}")
    return ids


def _sync_loved(e: Emulator, u: User) -> None:
    if u.loved_playlist_id is not None:
        e.store.playlists["deezer"][u.loved_playlist_id].entries = list(u.liked)


async def add_or_order_tracks(ctx: Ctx) -> Any:
    u, pl = own_pl(ctx)
    e = ctx.e
    now = e.clock.now()
    if "order" in ctx.params:
        order = _ids(ctx, "order")
        by_id = {x.track_id: x for x in pl.entries}
        if any(i not in by_id for i in order):
            raise DeezerError(500, "Wrong parameter: order")
        listed = [by_id[i] for i in dict.fromkeys(order)]
        rest = [x for x in pl.entries if x.track_id not in set(order)]
        pl.entries = listed + rest
        pl.touch(now)
        return True
    ids = _ids(ctx, "songs")
    present = {x.track_id for x in pl.entries}
    for i in ids:
        if int(i) not in e.catalogs.deezer:
            raise NOT_FOUND
        if i in present:
            raise DeezerError(500, "This song already exists in this playlist")
    if len(set(ids)) != len(ids):
        raise DeezerError(500, "This song already exists in this playlist")
    if len(pl.entries) + len(ids) > MAX_PLAYLIST_TRACKS:
        raise DeezerError(100, "Items limit exceeded")
    new = [e.store.entry("deezer", i, now, u.id) for i in ids]
    if pl.is_loved:  # the loved-tracks playlist is the library's liked list, newest first
        u.liked = list(reversed(new)) + u.liked
        _sync_loved(e, u)
    else:
        pl.entries = pl.entries + new
    pl.touch(now)
    return True


async def remove_tracks(ctx: Ctx) -> Any:
    u, pl = own_pl(ctx)
    drop = set(_ids(ctx, "songs"))
    pl.entries = [x for x in pl.entries if x.track_id not in drop]
    if pl.is_loved:
        u.liked = [x for x in u.liked if x.track_id not in drop]
    pl.touch(ctx.e.clock.now())
    return True


# ---------------------------------------------------------------- loved tracks


async def user_tracks(ctx: Ctx) -> Any:
    u, _ = resolve_user(ctx)
    index, limit = ctx.index_limit()
    pairs = entries_tracks(ctx.e, u.liked)
    data = [track_obj(ctx.base, t, time_add=x.added_at) for x, t in pairs[index : index + limit]]
    return page(ctx, f"/user/{ctx.request.match_info['user_id']}/tracks", data, len(pairs), index, limit)


async def love_track(ctx: Ctx) -> Any:
    u = ctx.need_user("manage_library")
    tid = ctx.params.get("track_id", "")
    if not tid.isdigit():
        raise DeezerError(501, "Missing parameters: track_id")
    if int(tid) not in ctx.e.catalogs.deezer:
        raise NOT_FOUND
    if all(x.track_id != tid for x in u.liked):
        u.liked.insert(0, ctx.e.store.entry("deezer", tid, ctx.e.clock.now(), u.id))
        _sync_loved(ctx.e, u)
    return True


async def unlove_track(ctx: Ctx) -> Any:
    u = ctx.need_user("manage_library")
    tid = ctx.params.get("track_id", "")
    if not tid.isdigit():
        raise DeezerError(501, "Missing parameters: track_id")
    u.liked = [x for x in u.liked if x.track_id != tid]
    _sync_loved(ctx.e, u)
    return True


# ---------------------------------------------------------------- catalog


async def get_track(ctx: Ctx) -> Any:
    ref = ctx.request.match_info["track_id"]
    c = ctx.e.catalogs
    if ref.lower().startswith("isrc:"):
        ids = c.deezer_index.by_isrc(ref[5:])
        if not ids:
            raise NOT_FOUND
        return track_obj(ctx.base, c.deezer[int(ids[0])], full=True)
    if not ref.isdigit() or int(ref) not in c.deezer:
        raise NOT_FOUND
    return track_obj(ctx.base, c.deezer[int(ref)], full=True)


async def get_album(ctx: Ctx) -> Any:
    ref = ctx.request.match_info["album_id"]
    tracks = ctx.e.catalogs.deezer_albums.get(int(ref)) if ref.isdigit() else None
    if not tracks:
        raise NOT_FOUND
    first = tracks[0]
    obj = album_obj(ctx.base, first, full=True)
    obj.update(
        {
            "nb_tracks": len(tracks),
            "duration": sum(t.duration for t in tracks),
            "record_type": "single" if len(tracks) == 1 else "album",
            "available": True,
            "explicit_lyrics": any(t.explicit for t in tracks),
            "artist": artist_obj(ctx.base, first.artists[0], True),
            "tracks": {"data": [track_obj(ctx.base, t) for t in sorted(tracks, key=lambda t: t.id)]},
        }
    )
    return obj


async def search(ctx: Ctx) -> Any:
    q = ctx.params.get("q", "")
    if not q.strip():
        raise DeezerError(501, "Missing parameters: q")
    index, limit = ctx.index_limit()
    query = parse_field_query(q)
    ids = ctx.e.catalogs.deezer_index.search(query)
    order = ctx.params.get("order", "RANKING").upper()
    tracks = [ctx.e.catalogs.deezer[int(i)] for i in ids]
    if order.startswith("DURATION"):
        tracks.sort(key=lambda t: (t.duration, t.id), reverse=order.endswith("DESC"))
    elif order.startswith("TRACK"):
        tracks.sort(key=lambda t: (t.title.lower(), t.id), reverse=order.endswith("DESC"))
    data = [track_obj(ctx.base, t) for t in tracks[index : index + limit]]
    extra: dict[str, str] = {k: ctx.params[k] for k in ("q", "order", "strict") if k in ctx.params}
    return page(ctx, ctx.request.path.removeprefix(PREFIX), data, len(tracks), index, limit, extra)


def routes() -> list[web.RouteDef]:
    p = PREFIX

    def r(path: str, **methods: Handler) -> list[web.RouteDef]:
        h = endpoint({m.upper(): f for m, f in methods.items()})
        return [web.route(m, f"{p}{path}", h) for m in ("GET", "POST", "DELETE")]

    return [
        *r("/user/{user_id}", get=get_user),
        *r(
            "/user/{user_id}/playlists",
            get=user_playlists,
            post=create_or_follow_playlist,
            delete=unfollow_playlist,
        ),
        *r("/user/{user_id}/tracks", get=user_tracks, post=love_track, delete=unlove_track),
        *r("/playlist/{playlist_id}", get=get_playlist, post=update_playlist, delete=delete_playlist),
        *r(
            "/playlist/{playlist_id}/tracks",
            get=playlist_tracks,
            post=add_or_order_tracks,
            delete=remove_tracks,
        ),
        *r("/track/{track_id}", get=get_track),
        *r("/album/{album_id}", get=get_album),
        *r("/search", get=search),
        *r("/search/track", get=search),
    ]
