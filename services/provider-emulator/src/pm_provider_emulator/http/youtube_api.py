"""YouTube Data API v3 under www.googleapis.com and youtube.googleapis.com (``/youtube/v3``).

playlists, playlistItems (one video per insert; ``LL`` is the liked-videos playlist), search,
videos (``id=`` or ``myRating=like``), videos/rate, channels?mine=true. Pages by ``pageToken``
(real token shape, see ``domain/pagination.py``), ``maxResults`` 0-50 (default 5). Quota is charged
in the middleware (``quota_cost``): 1 unit per read, 50 per write; search has its own 100 calls/day
since 2026-06 (``youtube_quota_mode=current``) or costs 100 units (``legacy``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from pm_provider_emulator.domain import playlist_ops
from pm_provider_emulator.domain.catalog import YoutubeVideo
from pm_provider_emulator.domain.oauth import AccessToken
from pm_provider_emulator.domain.pagination import parse_youtube_page_token, youtube_page_token
from pm_provider_emulator.domain.search import parse_field_query
from pm_provider_emulator.http import errors
from pm_provider_emulator.http.common import emu, int_param, iso, iso_duration, json_response, read_json
from pm_provider_emulator.http.context import Emulator
from pm_provider_emulator.storage.state import Entry, Playlist, User

HOSTS = ("www.googleapis.com", "youtube.googleapis.com")
MAX_PLAYLIST_ITEMS = 5000
LIKED_PLAYLIST = "LL"
READ_SCOPES = frozenset(
    {
        "https://www.googleapis.com/auth/youtube",
        "https://www.googleapis.com/auth/youtube.readonly",
        "https://www.googleapis.com/auth/youtube.force-ssl",
        "https://www.googleapis.com/auth/youtubepartner",
    }
)
WRITE_SCOPES = READ_SCOPES - {"https://www.googleapis.com/auth/youtube.readonly"}


def quota_cost(method: str, path: str, mode: str) -> tuple[str, int]:
    """(bucket, units) of one call: bucket ``units`` (10,000/day) or ``search`` (100 calls/day)."""
    resource = path.rsplit("/youtube/v3/", 1)[-1]
    if resource == "search":
        return ("search", 1) if mode == "current" else ("units", 100)
    if method in ("POST", "PUT", "DELETE"):
        return "units", 50
    return "units", 1


class YtError(Exception):
    def __init__(
        self, status: int, message: str, reason: str, domain: str = "youtube.api", location: str | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.reason, self.domain, self.location = (
            status,
            message,
            reason,
            domain,
            location,
        )


def required(name: str) -> YtError:
    return YtError(400, f"Required parameter: {name}", "required", "global", name)


class Ctx:
    def __init__(self, request: web.Request, e: Emulator, token: AccessToken, user: User | None) -> None:
        self.request, self.e, self.token, self.user = request, e, token, user
        self.q = request.query

    def need_user(self, write: bool = False) -> User:
        if self.user is None:
            raise YtError(401, "Login Required.", "required", "global", "Authorization")
        if not (self.token.scopes & (WRITE_SCOPES if write else READ_SCOPES)):
            raise YtError(
                403, "Request had insufficient authentication scopes.", "insufficientPermissions", "global"
            )
        return self.user

    def parts(self) -> set[str]:
        raw = self.q.get("part")
        if not raw:
            raise required("part")
        return {p.strip() for p in raw.split(",") if p.strip()}

    def max_results(self, default: int = 5) -> int:
        n = int_param(self.q.get("maxResults"), default)
        if n is None or not 0 <= n <= 50:
            raise YtError(
                400,
                f"Invalid value '{self.q.get('maxResults')}'. Values must be within the range: [0, 50]",
                "invalidParameter",
                "youtube.parameter",
                "maxResults",
            )
        return n

    def offset(self) -> int:
        token = self.q.get("pageToken")
        if not token:
            return 0
        off = parse_youtube_page_token(token)
        if off is None:
            raise YtError(
                400,
                "The request specifies an invalid page token.",
                "invalidPageToken",
                "youtube.parameter",
                "pageToken",
            )
        return off


Handler = Callable[[Ctx], Awaitable[web.Response]]


def api(fn: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        e = emu(request)
        header = request.headers.get("Authorization", "")
        token = e.store.access_token("youtube", header[7:].strip() if header[:7].lower() == "bearer " else "")
        if token is None or (token.expires_at is not None and e.clock.now() >= token.expires_at):
            return errors.youtube_unauthorized()
        try:
            return await fn(Ctx(request, e, token, e.store.user("youtube", token.user_id)))
        except YtError as err:
            return errors.youtube(err.status, err.message, err.reason, err.domain, location=err.location)

    return handler


def etag(*parts: object) -> str:
    return hashlib.sha1("|".join(map(str, parts)).encode(), usedforsecurity=False).hexdigest()[:27]


THUMBNAILS = (
    ("default", "default", 120, 90),
    ("medium", "mqdefault", 320, 180),
    ("high", "hqdefault", 480, 360),
    ("standard", "sddefault", 640, 480),
    ("maxres", "maxresdefault", 1280, 720),
)
NO_THUMBNAIL = "https://i.ytimg.com/img/no_thumbnail.jpg"


def thumbnails(video_id: str, *, hd: bool = False) -> dict[str, Any]:
    """A video's thumbnails. ``hd``: with ``standard`` (640) and ``maxres`` (1280), as videos,
    playlist items and playlists list them for HD videos (every catalog video is); search results
    and channels list the first three."""
    return {
        name: {"url": f"https://i.ytimg.com/vi/{video_id}/{file}.jpg", "width": w, "height": h}
        for name, file, w, h in THUMBNAILS[: 5 if hd else 3]
    }


def playlist_thumbnails(pl: Playlist) -> dict[str, Any]:
    """The first video's; an empty playlist shows YouTube's placeholder."""
    if not pl.entries:
        return {name: {"url": NO_THUMBNAIL, "width": w, "height": h} for name, _, w, h in THUMBNAILS[:3]}
    return thumbnails(pl.entries[0].track_id, hd=True)


def list_response(
    kind: str, items: list[Any], total: int, offset: int, limit: int, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": kind, "etag": etag(kind, total, offset, limit)}
    if offset + limit < total and limit > 0:
        body["nextPageToken"] = youtube_page_token(offset + limit)
    if offset > 0:
        body["prevPageToken"] = youtube_page_token(max(0, offset - limit), previous=True)
    body.update(extra or {})
    body["pageInfo"] = {"totalResults": total, "resultsPerPage": limit}
    body["items"] = items
    return body


def playlist_res(ctx: Ctx, pl: Playlist, parts: set[str]) -> dict[str, Any]:
    """A playlist resource with the requested parts. Its ``etag`` is that of this representation, as
    YouTube documents etags (a version of the resource): it moves when the title, description,
    privacy, item count or thumbnail (the first video) do, and not with the items otherwise, so a
    move that keeps the first video first leaves it as it was. Other ``part`` values, other etag."""
    res: dict[str, Any] = {"kind": "youtube#playlist", "etag": "", "id": pl.id}
    if "snippet" in parts:
        res["snippet"] = {
            "publishedAt": iso(pl.created_at),
            "channelId": pl.owner_id,
            "title": pl.name,
            "description": pl.description,
            "thumbnails": playlist_thumbnails(pl),
            "channelTitle": pl.owner_name,
            "localized": {"title": pl.name, "description": pl.description},
        }
    if "status" in parts:
        res["status"] = {
            "privacyStatus": "public" if pl.public else ("unlisted" if pl.unlisted else "private")
        }
    if "contentDetails" in parts:
        res["contentDetails"] = {"itemCount": len(pl.entries)}
    res["etag"] = etag(json.dumps({k: v for k, v in res.items() if k != "etag"}, sort_keys=True))
    return res


def item_res(ctx: Ctx, pl_id: str, owner: User | None, pos: int, x: Entry, parts: set[str]) -> dict[str, Any]:
    v = ctx.e.catalogs.youtube.get(x.track_id)
    res: dict[str, Any] = {"kind": "youtube#playlistItem", "etag": etag(x.item_id, pos), "id": x.item_id}
    available = v is not None and v.available
    if "snippet" in parts:
        snip: dict[str, Any] = {
            "publishedAt": iso(x.added_at),
            "channelId": owner.id if owner else "",
            "title": v.title if available and v else "Private video",
            "description": "" if available else "This video is private.",
            "thumbnails": thumbnails(x.track_id, hd=True) if available else {},
            "channelTitle": owner.name if owner else "",
            "playlistId": pl_id,
            "position": pos,
            "resourceId": {"kind": "youtube#video", "videoId": x.track_id},
        }
        if available and v:
            snip["videoOwnerChannelTitle"] = v.channel_title
            snip["videoOwnerChannelId"] = v.channel_id
        res["snippet"] = snip
    if "contentDetails" in parts:
        cd: dict[str, Any] = {"videoId": x.track_id}
        if available and v:
            cd["videoPublishedAt"] = v.published_at
        res["contentDetails"] = cd
    if "status" in parts:
        res["status"] = {"privacyStatus": "public" if available else "private"}
    return res


def video_res(v: YoutubeVideo, parts: set[str]) -> dict[str, Any]:
    res: dict[str, Any] = {"kind": "youtube#video", "etag": etag(v.id), "id": v.id}
    if "snippet" in parts:
        res["snippet"] = {
            "publishedAt": v.published_at,
            "channelId": v.channel_id,
            "title": v.title,
            "description": "",
            "thumbnails": thumbnails(v.id, hd=True),
            "channelTitle": v.channel_title,
            "categoryId": "10",
            "liveBroadcastContent": "none",
            "localized": {"title": v.title, "description": ""},
        }
    if "contentDetails" in parts:
        res["contentDetails"] = {
            "duration": iso_duration(v.duration),
            "dimension": "2d",
            "definition": "hd",
            "caption": "false",
            "licensedContent": True,
            "contentRating": {},
            "projection": "rectangular",
        }
    if "status" in parts:
        res["status"] = {
            "uploadStatus": "processed",
            "privacyStatus": "public" if v.available else "private",
            "license": "youtube",
            "embeddable": True,
            "publicStatsViewable": True,
            "madeForKids": False,
        }
    return res


# ---------------------------------------------------------------- channels


@api
async def channels(ctx: Ctx) -> web.Response:
    parts = ctx.parts()
    if ctx.q.get("mine") != "true" and not ctx.q.get("id"):
        raise YtError(
            400,
            "No filter selected. Expected one of: forHandle, forUsername, id, mine",
            "missingRequiredParameter",
            "youtube.parameter",
        )
    u = ctx.need_user()
    items = []
    if ctx.q.get("mine") == "true" or u.id in ctx.q.get("id", "").split(","):
        res: dict[str, Any] = {"kind": "youtube#channel", "etag": etag(u.id), "id": u.id}
        if "snippet" in parts:
            res["snippet"] = {
                "title": u.name,
                "description": "",
                "publishedAt": iso(u.created_at),
                "thumbnails": thumbnails(u.id),
                "country": u.country,
            }
        if "contentDetails" in parts:
            res["contentDetails"] = {
                "relatedPlaylists": {"likes": LIKED_PLAYLIST, "uploads": "UU" + u.id[2:]}
            }
        items.append(res)
    return json_response(list_response("youtube#channelListResponse", items, len(items), 0, 5))


# ---------------------------------------------------------------- playlists


def playlist_for(ctx: Ctx, pid: str) -> Playlist:
    pl = ctx.e.store.playlist("youtube", pid)
    if pl is None or (not pl.public and not pl.unlisted and (ctx.user is None or ctx.user.id != pl.owner_id)):
        raise YtError(
            404,
            "The playlist identified with the request's <code>playlistId</code> parameter cannot be found.",
            "playlistNotFound",
            "youtube.playlistItem",
            "playlistId",
        )
    return pl


def own_playlist(ctx: Ctx, pid: str) -> tuple[User, Playlist]:
    u = ctx.need_user(write=True)
    pl = playlist_for(ctx, pid)
    if pl.owner_id != u.id:
        raise YtError(
            403,
            "The request is not properly authorized.",
            "playlistItemsNotAccessible",
            "youtube.playlistItem",
        )
    return u, pl


@api
async def list_playlists(ctx: Ctx) -> web.Response:
    parts = ctx.parts()
    limit = ctx.max_results()
    offset = ctx.offset()
    if ctx.q.get("mine") == "true":
        u = ctx.need_user()
        pls = [p for p in ctx.e.store.library_playlists(u) if p.owner_id == u.id]
    elif ctx.q.get("id"):
        pls = [p for i in ctx.q["id"].split(",") if (p := ctx.e.store.playlist("youtube", i)) is not None]
    elif ctx.q.get("channelId"):
        owner = ctx.e.store.user("youtube", ctx.q["channelId"])
        pls = [p for p in ctx.e.store.library_playlists(owner) if p.public] if owner else []
    else:
        raise YtError(
            400,
            "No filter selected. Expected one of: channelId, id, mine",
            "missingRequiredParameter",
            "youtube.parameter",
        )
    items = [playlist_res(ctx, p, parts) for p in pls[offset : offset + limit]]
    return json_response(list_response("youtube#playlistListResponse", items, len(pls), offset, limit))


def _privacy(status: Any) -> str:
    value = status.get("privacyStatus", "public") if isinstance(status, dict) else "public"
    if value not in ("public", "private", "unlisted"):
        raise YtError(400, "Invalid privacy status.", "invalidPlaylistSnippet", "youtube.playlist")
    return str(value)


@api
async def insert_playlist(ctx: Ctx) -> web.Response:
    parts = ctx.parts()
    u = ctx.need_user(write=True)
    body = await read_json(ctx.request)
    snippet = body.get("snippet") if isinstance(body, dict) else None
    if not isinstance(snippet, dict) or not str(snippet.get("title") or "").strip():
        raise YtError(400, "Must specify playlist title.", "playlistTitleRequired", "youtube.playlist")
    privacy = _privacy(body.get("status"))
    pl = ctx.e.store.create_playlist(
        "youtube",
        u,
        str(snippet["title"]),
        description=str(snippet.get("description") or ""),
        public=privacy == "public",
        unlisted=privacy == "unlisted",
    )
    return json_response(playlist_res(ctx, pl, parts | {"snippet", "status"}))


@api
async def update_playlist(ctx: Ctx) -> web.Response:
    parts = ctx.parts()
    body = await read_json(ctx.request)
    if not isinstance(body, dict) or not body.get("id"):
        raise YtError(400, "No filter selected.", "playlistIdRequired", "youtube.playlist")
    _, pl = own_playlist(ctx, str(body["id"]))
    snippet = body.get("snippet")
    if "snippet" in parts:
        if not isinstance(snippet, dict) or not str(snippet.get("title") or "").strip():
            raise YtError(400, "Must specify playlist title.", "playlistTitleRequired", "youtube.playlist")
        pl.name = str(snippet["title"])
        pl.description = str(snippet.get("description") or "")
    if "status" in parts:
        privacy = _privacy(body.get("status"))
        pl.public, pl.unlisted = privacy == "public", privacy == "unlisted"
    pl.touch(ctx.e.clock.now())
    return json_response(playlist_res(ctx, pl, parts))


@api
async def delete_playlist(ctx: Ctx) -> web.Response:
    pid = ctx.q.get("id")
    if not pid:
        raise required("id")
    u, pl = own_playlist(ctx, pid)
    ctx.e.store.remove_from_library(u, pl.id)
    pl.deleted = True
    return web.Response(status=204)


# ---------------------------------------------------------------- playlist items


def _entries(ctx: Ctx, pid: str) -> tuple[list[Entry], User | None, Playlist | None]:
    if pid == LIKED_PLAYLIST:
        u = ctx.need_user()
        return u.liked, u, None
    pl = playlist_for(ctx, pid)
    return pl.entries, ctx.e.store.user("youtube", pl.owner_id), pl


@api
async def list_items(ctx: Ctx) -> web.Response:
    parts = ctx.parts()
    limit = ctx.max_results()
    offset = ctx.offset()
    if ctx.q.get("id"):
        wanted = set(ctx.q["id"].split(","))
        found = []
        for pl in ctx.e.store.playlists["youtube"].values():
            for pos, x in enumerate(pl.entries):
                if x.item_id in wanted:
                    found.append(
                        item_res(ctx, pl.id, ctx.e.store.user("youtube", pl.owner_id), pos, x, parts)
                    )
        return json_response(list_response("youtube#playlistItemListResponse", found, len(found), 0, limit))
    pid = ctx.q.get("playlistId")
    if not pid:
        raise YtError(
            400,
            "No filter selected. Expected one of: id, playlistId",
            "missingRequiredParameter",
            "youtube.parameter",
        )
    entries, owner, _ = _entries(ctx, pid)
    if ctx.q.get("videoId"):
        indexed = [(i, x) for i, x in enumerate(entries) if x.track_id == ctx.q["videoId"]]
    else:
        indexed = list(enumerate(entries))
    items = [item_res(ctx, pid, owner, i, x, parts) for i, x in indexed[offset : offset + limit]]
    return json_response(
        list_response("youtube#playlistItemListResponse", items, len(indexed), offset, limit)
    )


def _snippet(body: Any) -> dict[str, Any]:
    snippet = body.get("snippet") if isinstance(body, dict) else None
    if not isinstance(snippet, dict):
        raise YtError(400, "Required parameter: snippet", "required", "global", "snippet")
    return snippet


def _video_id(ctx: Ctx, snippet: dict[str, Any]) -> str:
    rid = snippet.get("resourceId")
    vid = rid.get("videoId") if isinstance(rid, dict) else None
    if not isinstance(vid, str) or not vid:
        raise YtError(400, "Resource id required.", "resourceIdRequired", "youtube.playlistItem")
    if vid not in ctx.e.catalogs.youtube:
        raise YtError(404, "Video not found.", "videoNotFound", "youtube.playlistItem")
    return vid


def _position(snippet: dict[str, Any], size: int, *, insert: bool) -> int | None:
    pos = snippet.get("position")
    if pos is None:
        return None
    if not isinstance(pos, int) or pos < 0 or pos > (size if insert else size - 1):
        raise YtError(
            400, "Invalid playlist item position.", "invalidPlaylistItemPosition", "youtube.playlistItem"
        )
    return pos


@api
async def insert_item(ctx: Ctx) -> web.Response:
    parts = ctx.parts()
    snippet = _snippet(await read_json(ctx.request))
    pid = str(snippet.get("playlistId") or "")
    if not pid:
        raise YtError(400, "Playlist id not specified.", "playlistIdRequired", "youtube.playlistItem")
    vid = _video_id(ctx, snippet)
    now = ctx.e.clock.now()
    if pid == LIKED_PLAYLIST:
        u = ctx.need_user(write=True)
        u.liked.insert(0, ctx.e.store.entry("youtube", vid, now, u.id))
        return json_response(item_res(ctx, pid, u, 0, u.liked[0], parts | {"snippet"}))
    u, pl = own_playlist(ctx, pid)
    if len(pl.entries) >= MAX_PLAYLIST_ITEMS:
        raise YtError(
            403,
            "The playlist contains the maximum number of items allowed.",
            "playlistContainsMaximumNumberOfVideos",
            "youtube.playlistItem",
        )
    pos = _position(snippet, len(pl.entries), insert=True)
    entry = ctx.e.store.entry("youtube", vid, now, u.id)
    pl.entries = playlist_ops.insert_at(pl.entries, [entry], pos)
    pl.touch(now)
    return json_response(item_res(ctx, pl.id, u, pl.entries.index(entry), entry, parts | {"snippet"}))


def _find_item(ctx: Ctx, item_id: str) -> tuple[Playlist, int]:
    for pl in ctx.e.store.playlists["youtube"].values():
        if pl.deleted:
            continue
        for i, x in enumerate(pl.entries):
            if x.item_id == item_id:
                return pl, i
    raise YtError(404, "Playlist item not found.", "playlistItemNotFound", "youtube.playlistItem", "id")


@api
async def update_item(ctx: Ctx) -> web.Response:
    parts = ctx.parts()
    body = await read_json(ctx.request)
    snippet = _snippet(body)
    item_id = body.get("id") if isinstance(body, dict) else None
    if not isinstance(item_id, str):
        raise YtError(
            400, "Playlist item id not specified.", "playlistItemIdRequired", "youtube.playlistItem"
        )
    pl, index = _find_item(ctx, item_id)
    u, _ = own_playlist(ctx, pl.id)
    vid = _video_id(ctx, snippet)
    if vid != pl.entries[index].track_id:
        raise YtError(
            400, "Cannot change the video of a playlist item.", "invalidResourceId", "youtube.playlistItem"
        )
    pos = _position(snippet, len(pl.entries), insert=False)
    if pos is not None:
        pl.entries = playlist_ops.move_to(pl.entries, index, pos)
        index = pos
    pl.touch(ctx.e.clock.now())
    return json_response(item_res(ctx, pl.id, u, index, pl.entries[index], parts | {"snippet"}))


@api
async def delete_item(ctx: Ctx) -> web.Response:
    item_id = ctx.q.get("id")
    if not item_id:
        raise required("id")
    u = ctx.need_user(write=True)
    for i, x in enumerate(u.liked):
        if x.item_id == item_id:
            del u.liked[i]
            return web.Response(status=204)
    pl, index = _find_item(ctx, item_id)
    own_playlist(ctx, pl.id)
    pl.entries = playlist_ops.remove_indexes(pl.entries, {index})
    pl.touch(ctx.e.clock.now())
    return web.Response(status=204)


# ---------------------------------------------------------------- search and videos


@api
async def search(ctx: Ctx) -> web.Response:
    parts = ctx.parts()
    if parts != {"snippet"} and parts != {"id"} and parts != {"id", "snippet"}:
        raise YtError(400, "'part' must be 'snippet' or 'id'", "invalidPart", "youtube.parameter", "part")
    limit = ctx.max_results()
    offset = ctx.offset()
    kind = ctx.q.get("type", "video,channel,playlist")
    q = ctx.q.get("q", "")
    ids = ctx.e.catalogs.youtube_index.search(parse_field_query(q)) if "video" in kind and q.strip() else []
    ids = ids[:500]  # search never pages past ~500 results
    items = []
    for vid in ids[offset : offset + limit]:
        v = ctx.e.catalogs.youtube[vid]
        res: dict[str, Any] = {
            "kind": "youtube#searchResult",
            "etag": etag("s", vid),
            "id": {"kind": "youtube#video", "videoId": vid},
        }
        if "snippet" in parts:
            res["snippet"] = {
                "publishedAt": v.published_at,
                "channelId": v.channel_id,
                "title": v.title,
                "description": "",
                "thumbnails": thumbnails(vid),
                "channelTitle": v.channel_title,
                "liveBroadcastContent": "none",
                "publishTime": v.published_at,
            }
        items.append(res)
    return json_response(
        list_response(
            "youtube#searchListResponse",
            items,
            len(ids),
            offset,
            limit,
            {"regionCode": ctx.q.get("regionCode", "US")},
        )
    )


@api
async def videos(ctx: Ctx) -> web.Response:
    parts = ctx.parts()
    c = ctx.e.catalogs
    if ctx.q.get("id"):
        ids = [i for i in ctx.q["id"].split(",") if i]
        if len(ids) > 50:
            raise YtError(
                400, "The request specifies too many video IDs.", "tooManyIds", "youtube.parameter", "id"
            )
        items = [video_res(c.youtube[i], parts) for i in ids if i in c.youtube]
        return json_response(list_response("youtube#videoListResponse", items, len(items), 0, len(items)))
    if ctx.q.get("myRating"):
        if ctx.q["myRating"] != "like":
            return json_response(list_response("youtube#videoListResponse", [], 0, 0, 5))
        u = ctx.need_user()
        limit = ctx.max_results()
        offset = ctx.offset()
        liked = [x for x in u.liked if x.track_id in c.youtube]
        items = [video_res(c.youtube[x.track_id], parts) for x in liked[offset : offset + limit]]
        return json_response(list_response("youtube#videoListResponse", items, len(liked), offset, limit))
    raise YtError(
        400,
        "No filter selected. Expected one of: chart, id, myRating",
        "missingRequiredParameter",
        "youtube.parameter",
    )


@api
async def rate(ctx: Ctx) -> web.Response:
    u = ctx.need_user(write=True)
    vid = ctx.q.get("id")
    rating = ctx.q.get("rating")
    if not vid:
        raise required("id")
    if rating not in ("like", "dislike", "none"):
        raise required("rating")
    if vid not in ctx.e.catalogs.youtube:
        raise YtError(404, "Video not found.", "videoNotFound", "youtube.video", "id")
    u.liked = [x for x in u.liked if x.track_id != vid]
    if rating == "like":
        u.liked.insert(0, ctx.e.store.entry("youtube", vid, ctx.e.clock.now(), u.id))
    return web.Response(status=204)


@api
async def get_rating(ctx: Ctx) -> web.Response:
    u = ctx.need_user()
    ids = [i for i in ctx.q.get("id", "").split(",") if i]
    if not ids:
        raise required("id")
    liked = {x.track_id for x in u.liked}
    return json_response(
        {
            "kind": "youtube#videoGetRatingResponse",
            "etag": etag("r", *ids),
            "items": [{"videoId": i, "rating": "like" if i in liked else "none"} for i in ids],
        }
    )


def routes() -> list[web.RouteDef]:
    out: list[web.RouteDef] = []
    for host in HOSTS:
        p = f"/{host}/youtube/v3"
        out += [
            web.get(f"{p}/channels", channels),
            web.get(f"{p}/playlists", list_playlists),
            web.post(f"{p}/playlists", insert_playlist),
            web.put(f"{p}/playlists", update_playlist),
            web.delete(f"{p}/playlists", delete_playlist),
            web.get(f"{p}/playlistItems", list_items),
            web.post(f"{p}/playlistItems", insert_item),
            web.put(f"{p}/playlistItems", update_item),
            web.delete(f"{p}/playlistItems", delete_item),
            web.get(f"{p}/search", search),
            web.get(f"{p}/videos", videos),
            web.post(f"{p}/videos/rate", rate),
            web.get(f"{p}/videos/getRating", get_rating),
        ]
    return out
