"""YouTube Data API v3 (YouTube Music playlists are YouTube playlists of videos).

Quota is the real limit: 10,000 units a day per project (1 per read, 50 per write), and since
2026-06-01 ``search.list`` has its own 100 calls a day (``legacy``: 100 units a search). Every call is
counted in Redis before it is sent, so a call over quota is refused without spending anything, and
``remaining_search_quota()`` / ``would_exceed()`` let callers avoid searches: the adapter itself never
searches by ISRC (YouTube has none) and reads durations with ``videos.list`` (1 unit per 50).

- Pages by ``pageToken``, 50 per page. One video per insert; playlists hold at most 5,000 items
  (checked up front; the provider's ``playlistContainsMaximumNumberOfVideos`` maps to the same error).
- A write larger than today's remaining units is refused before its first call.
- Renaming sends the whole snippet (YouTube clears fields left out), so it reads it first when needed.

Change marker (``snapshot_id``): the playlist resource's ``etag``, from the listing and from
``playlists.list?id=`` alike (both ask for the same parts, ``snippet,contentDetails,status``: the
etag is that of the representation, so other parts would give another one). YouTube's etag versions
the playlist *resource* (title, description, privacy, item count, thumbnail), not its items, so it
cannot see a change that leaves all of those as they were:

- a move that keeps the first video first (the thumbnail is the first video's);
- a video replaced by another, or a removal and an addition between two reads, that keep the count
  and the first video.

Add and remove (the count), and any change of the first video, do change it. A caller that must not
miss reorders reads the items (1 unit per 50) instead of trusting an unchanged marker. Covers: the
largest of ``snippet.thumbnails``. No release dates: the Data API has none (``videoPublishedAt`` is
when the video was uploaded).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, ClassVar

from pm_providers.adapters.common import AdapterContext, as_dict, as_list, as_str, largest_image, parse_time
from pm_providers.base import ProviderAdapter, WriteProgress, entry_key
from pm_providers.domain.batching import chunks, fit_name, iso_duration_ms
from pm_providers.domain.classify import YOUTUBE_MAX_PLAYLIST
from pm_providers.domain.reorder import plan_moves, single_item_moves
from pm_providers.domain.responses import ProviderResponse
from pm_providers.errors import NotFound, PlaylistTooLarge, QuotaExceeded
from pm_providers.models import (
    MediaType,
    ProviderLimits,
    ProviderName,
    ProviderPlaylist,
    ProviderTrack,
    ProviderUser,
    WriteResult,
)
from pm_providers.ratelimit import DailyQuota

YOUTUBE = ProviderName.YOUTUBE
READ_UNITS = 1
WRITE_UNITS = 50
LEGACY_SEARCH_UNITS = 100
UNAVAILABLE_TITLES = frozenset({"Private video", "Deleted video"})
ITEM_PARTS = "snippet,contentDetails,status"


def artist_of_channel(channel: str | None) -> tuple[str, ...]:
    """YouTube Music's auto-generated channels are named ``<Artist> - Topic``."""
    if not channel:
        return ()
    return (channel.removesuffix(" - Topic").strip(),)


def parse_item(item: dict[str, Any], position: int, durations: dict[str, int]) -> ProviderTrack:
    snip = as_dict(item.get("snippet"))
    details = as_dict(item.get("contentDetails"))
    vid = as_str(details.get("videoId")) or as_str(as_dict(snip.get("resourceId")).get("videoId"))
    title = str(snip.get("title") or "")
    privacy = as_dict(item.get("status")).get("privacyStatus")
    if isinstance(privacy, str):
        available: bool | None = privacy in ("public", "unlisted")
    else:
        available = False if title in UNAVAILABLE_TITLES else None
    pos = snip.get("position")
    return ProviderTrack(
        provider=YOUTUBE,
        id=vid,
        uri=f"https://www.youtube.com/watch?v={vid}" if vid else None,
        title=title,
        artists=artist_of_channel(as_str(snip.get("videoOwnerChannelTitle"))),
        duration_ms=durations.get(vid or ""),
        available=available,
        media_type=MediaType.VIDEO,
        position=pos if isinstance(pos, int) else position,
        item_id=as_str(item.get("id")),
        added_at=parse_time(snip.get("publishedAt")),
    )


def parse_video(video: dict[str, Any]) -> ProviderTrack:
    snip = as_dict(video.get("snippet"))
    vid = as_str(video.get("id"))
    privacy = as_dict(video.get("status")).get("privacyStatus")
    return ProviderTrack(
        provider=YOUTUBE,
        id=vid,
        uri=f"https://www.youtube.com/watch?v={vid}" if vid else None,
        title=str(snip.get("title") or ""),
        artists=artist_of_channel(as_str(snip.get("channelTitle"))),
        duration_ms=iso_duration_ms(as_str(as_dict(video.get("contentDetails")).get("duration"))),
        available=privacy in ("public", "unlisted") if isinstance(privacy, str) else None,
        media_type=MediaType.VIDEO,
    )


def parse_playlist(res: dict[str, Any], me: str | None) -> ProviderPlaylist:
    snip = as_dict(res.get("snippet"))
    privacy = as_dict(res.get("status")).get("privacyStatus")
    count = as_dict(res.get("contentDetails")).get("itemCount")
    owner = as_str(snip.get("channelId"))
    return ProviderPlaylist(
        provider=YOUTUBE,
        id=str(res["id"]),
        name=str(snip.get("title") or ""),
        description=as_str(snip.get("description")),
        owner_id=owner,
        owner_name=as_str(snip.get("channelTitle")),
        is_owner=(owner == me) if me is not None and owner is not None else None,
        public=(privacy == "public") if isinstance(privacy, str) else None,
        track_count=count if isinstance(count, int) else None,
        snapshot_id=as_str(res.get("etag")),
        url=f"https://music.youtube.com/playlist?list={res['id']}",
        image_url=largest_image(as_dict(snip.get("thumbnails")).values()),
    )


class YoutubeAdapter(ProviderAdapter):
    name: ClassVar[ProviderName] = YOUTUBE
    limits: ClassVar[ProviderLimits] = ProviderLimits(
        playlists_page=50,
        tracks_page=50,
        liked_page=50,
        max_add_batch=1,
        max_remove_batch=1,
        max_move_batch=1,
        max_playlist_size=YOUTUBE_MAX_PLAYLIST,
        search_page=50,
        max_name_length=150,
    )

    def __init__(self, ctx: AdapterContext) -> None:
        if ctx.quota is None:
            raise ValueError("the YouTube adapter needs its daily quota ledger")
        self._http = ctx.http
        self._quota: DailyQuota = ctx.quota
        self._legacy_search = ctx.settings.youtube_quota.mode == "legacy"
        self._video_details = ctx.settings.youtube_video_details
        self._me: ProviderUser | None = None

    # ------------------------------------------------------------------ quota

    def _charge(self, bucket: str, units: int) -> Callable[[], Awaitable[None]]:
        async def charge() -> None:
            await self._quota.charge(bucket, units)

        return charge

    async def _call(
        self,
        method: str,
        path: str,
        endpoint: str,
        *,
        params: dict[str, str | int],
        body: Any = None,
        search: bool = False,
        idempotent: bool | None = None,
    ) -> ProviderResponse:
        if search and not self._legacy_search:
            bucket, units = "search", 1
        else:
            bucket = "units"
            units = LEGACY_SEARCH_UNITS if search else (READ_UNITS if method == "GET" else WRITE_UNITS)
        try:
            return await self._http.request(
                method,
                path,
                endpoint=endpoint,
                params=params,
                json_body=body,
                idempotent=idempotent,
                before_attempt=self._charge(bucket, units),
            )
        except QuotaExceeded as err:
            if err.code == "provider_quota":  # the provider counted more than we did (shared project)
                await self._quota.exhaust(bucket, until=err.resets_at)
            raise

    async def remaining_units(self) -> int:
        return await self._quota.remaining("units")

    async def remaining_search_quota(self) -> int | None:
        if self._legacy_search:
            return await self._quota.remaining("units") // LEGACY_SEARCH_UNITS
        return await self._quota.remaining("search")

    async def would_exceed(self, *, searches: int = 0, reads: int = 0, writes: int = 0) -> bool:
        units = reads * READ_UNITS + writes * WRITE_UNITS
        if self._legacy_search:
            units += searches * LEGACY_SEARCH_UNITS
        elif searches > await self._quota.remaining("search"):
            return True
        return units > await self._quota.remaining("units")

    # ------------------------------------------------------------------ reads

    async def current_user(self) -> ProviderUser:
        if self._me is None:
            body = (
                await self._call("GET", "/channels", "channel", params={"part": "snippet", "mine": "true"})
            ).json_object
            items = as_list(body.get("items"))
            if not items:
                raise NotFound("this Google account has no YouTube channel", provider=YOUTUBE)
            ch = as_dict(items[0])
            snip = as_dict(ch.get("snippet"))
            self._me = ProviderUser(
                provider=YOUTUBE,
                id=str(ch["id"]),
                display_name=as_str(snip.get("title")),
                country=as_str(snip.get("country")),
            )
        return self._me

    async def _list(
        self, path: str, endpoint: str, params: dict[str, str | int]
    ) -> AsyncIterator[dict[str, Any]]:
        token: str | None = None
        while True:
            page_params = dict(params)
            if token:
                page_params["pageToken"] = token
            body = (await self._call("GET", path, endpoint, params=page_params)).json_object
            yield body
            token = as_str(body.get("nextPageToken"))
            if not token or not as_list(body.get("items")):
                return

    async def playlists(self) -> AsyncIterator[ProviderPlaylist]:
        me = self._me.id if self._me else None
        params: dict[str, str | int] = {
            "part": "snippet,contentDetails,status",
            "mine": "true",
            "maxResults": 50,
        }
        async for body in self._list("/playlists", "my_playlists", params):
            for res in as_list(body.get("items")):
                if isinstance(res, dict):
                    yield parse_playlist(res, me).model_copy(update={"is_owner": True})

    async def playlist(self, playlist_id: str) -> ProviderPlaylist:
        body = (
            await self._call(
                "GET",
                "/playlists",
                "playlist",
                params={"part": "snippet,contentDetails,status", "id": playlist_id},
            )
        ).json_object
        items = as_list(body.get("items"))
        if not items:
            raise NotFound(f"playlist {playlist_id} not found", provider=YOUTUBE)
        return parse_playlist(as_dict(items[0]), self._me.id if self._me else None)

    async def _durations(self, video_ids: Sequence[str]) -> dict[str, int]:
        if not self._video_details or not video_ids:
            return {}
        out: dict[str, int] = {}
        for batch in chunks(list(dict.fromkeys(video_ids)), 50):
            body = (
                await self._call(
                    "GET",
                    "/videos",
                    "videos",
                    params={"part": "contentDetails", "id": ",".join(batch), "maxResults": 50},
                )
            ).json_object
            for v in as_list(body.get("items")):
                ms = iso_duration_ms(as_str(as_dict(as_dict(v).get("contentDetails")).get("duration")))
                if ms is not None:
                    out[str(as_dict(v).get("id"))] = ms
        return out

    async def playlist_tracks(self, playlist_id: str) -> AsyncIterator[ProviderTrack]:
        position = 0
        params: dict[str, str | int] = {"part": ITEM_PARTS, "playlistId": playlist_id, "maxResults": 50}
        async for body in self._list("/playlistItems", "playlist_items", params):
            items = [as_dict(i) for i in as_list(body.get("items"))]
            playable = [
                str(as_dict(i.get("contentDetails")).get("videoId"))
                for i in items
                if as_dict(i.get("status")).get("privacyStatus") in ("public", "unlisted", None)
                and as_dict(i.get("snippet")).get("title") not in UNAVAILABLE_TITLES
                and as_dict(i.get("contentDetails")).get("videoId")
            ]
            durations = await self._durations(playable)
            for item in items:
                yield parse_item(item, position, durations)
                position += 1

    async def liked_tracks(self) -> AsyncIterator[ProviderTrack]:
        position = 0
        params: dict[str, str | int] = {
            "part": "snippet,contentDetails,status",
            "myRating": "like",
            "maxResults": 50,
        }
        async for body in self._list("/videos", "liked_videos", params):
            for v in as_list(body.get("items")):
                if isinstance(v, dict):
                    yield parse_video(v).model_copy(update={"position": position})
                    position += 1

    async def search_isrc(self, isrc: str) -> list[ProviderTrack]:
        # YouTube has no ISRC field; a text search would spend one of 100 daily searches for a guess.
        return []

    async def search_tracks(
        self,
        *,
        title: str | None = None,
        artist: str | None = None,
        album: str | None = None,
        query: str | None = None,
        limit: int = 10,
    ) -> list[ProviderTrack]:
        """Free-text search of music videos (category 10): one search call, one videos.list call."""
        q = " ".join(x.strip() for x in (query, artist, title) if x and x.strip())
        if not q:
            return []
        body = (
            await self._call(
                "GET",
                "/search",
                "search",
                params={
                    "part": "snippet",
                    "q": q,
                    "type": "video",
                    "videoCategoryId": "10",
                    "maxResults": min(limit, self.limits.search_page),
                },
                search=True,
            )
        ).json_object
        hits = [as_dict(i) for i in as_list(body.get("items"))]
        ids = [str(as_dict(h.get("id")).get("videoId")) for h in hits if as_dict(h.get("id")).get("videoId")]
        durations = await self._durations(ids)
        out = []
        for h in hits:
            vid = as_str(as_dict(h.get("id")).get("videoId"))
            if vid is None:
                continue
            snip = as_dict(h.get("snippet"))
            out.append(
                ProviderTrack(
                    provider=YOUTUBE,
                    id=vid,
                    uri=f"https://www.youtube.com/watch?v={vid}",
                    title=str(snip.get("title") or ""),
                    artists=artist_of_channel(as_str(snip.get("channelTitle"))),
                    duration_ms=durations.get(vid),
                    media_type=MediaType.VIDEO,
                )
            )
        return out

    # ------------------------------------------------------------------ writes

    async def _require_units(self, writes: int) -> None:
        if await self.would_exceed(writes=writes):
            raise QuotaExceeded(
                f"{writes} writes need {writes * WRITE_UNITS} units; "
                f"{await self._quota.remaining('units')} are left today",
                resets_at=self._quota.resets_at(),
                provider=YOUTUBE,
                code="quota_exceeded",
            )

    async def create_playlist(
        self, name: str, *, description: str = "", public: bool = False
    ) -> ProviderPlaylist:
        body = (
            await self._call(
                "POST",
                "/playlists",
                "create_playlist",
                params={"part": "snippet,status"},
                body={
                    "snippet": {
                        "title": fit_name(name, self.limits.max_name_length),
                        "description": description,
                    },
                    "status": {"privacyStatus": "public" if public else "private"},
                },
            )
        ).json_object
        # Its etag versions the snippet,status representation, not the one reads compare: none.
        return parse_playlist(body, None).model_copy(
            update={"is_owner": True, "track_count": 0, "snapshot_id": None}
        )

    async def add_tracks(
        self, playlist_id: str, track_ids: Sequence[str], *, progress: WriteProgress | None = None
    ) -> WriteResult:
        return await self._insert(playlist_id, track_ids, None, progress)

    async def insert_tracks(
        self,
        playlist_id: str,
        track_ids: Sequence[str],
        *,
        index: int,
        before: ProviderTrack | None,
        progress: WriteProgress | None = None,
    ) -> WriteResult:
        return await self._insert(playlist_id, track_ids, None if before is None else index, progress)

    async def _insert(
        self, playlist_id: str, track_ids: Sequence[str], position: int | None, progress: WriteProgress | None
    ) -> WriteResult:
        ids = list(track_ids)
        if len(ids) > YOUTUBE_MAX_PLAYLIST:
            raise PlaylistTooLarge(
                f"{len(ids)} videos exceed YouTube's {YOUTUBE_MAX_PLAYLIST} per playlist",
                limit=YOUTUBE_MAX_PLAYLIST,
                provider=YOUTUBE,
            )
        await self._require_units(len(ids))

        async def send(batch: list[str], offset: int) -> None:
            snippet: dict[str, Any] = {
                "playlistId": playlist_id,
                "resourceId": {"kind": "youtube#video", "videoId": batch[0]},
            }
            if position is not None:
                snippet["position"] = position + offset
            await self._call(
                "POST", "/playlistItems", "insert_item", params={"part": "snippet"}, body={"snippet": snippet}
            )

        await self._write_batches(ids, 1, send, progress, "add")
        return WriteResult(written=len(ids))

    async def remove_tracks(
        self,
        playlist_id: str,
        entries: Sequence[ProviderTrack],
        *,
        snapshot_id: str | None = None,
        progress: WriteProgress | None = None,
    ) -> WriteResult:
        items = [e.item_id for e in entries if e.item_id]
        await self._require_units(len(items))

        async def send(batch: list[str], offset: int) -> None:
            await self._call("DELETE", "/playlistItems", "delete_item", params={"id": batch[0]})

        await self._write_batches(items, 1, send, progress, "remove")
        return WriteResult(removed=len(items))

    async def reorder(
        self,
        playlist_id: str,
        current: Sequence[ProviderTrack],
        target: Sequence[ProviderTrack],
        *,
        snapshot_id: str | None = None,
    ) -> WriteResult:
        by_key = {entry_key(e): e for e in current}
        cur = [entry_key(e) for e in current]
        moves = single_item_moves(cur, plan_moves(cur, [entry_key(e) for e in target]))
        await self._require_units(len(moves))
        for m in moves:
            e = by_key[m.key]
            await self._call(
                "PUT",
                "/playlistItems",
                "move_item",
                params={"part": "snippet"},
                body={
                    "id": e.item_id,
                    "snippet": {
                        "playlistId": playlist_id,
                        "resourceId": {"kind": "youtube#video", "videoId": e.id},
                        "position": m.position,
                    },
                },
                idempotent=True,
            )
        return WriteResult(moved=len(moves))

    async def update_details(
        self,
        playlist_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        public: bool | None = None,
    ) -> None:
        if name is None and description is None and public is None:
            return
        parts = []
        body: dict[str, Any] = {"id": playlist_id}
        if name is not None or description is not None:
            if name is None or description is None:
                current = await self.playlist(playlist_id)
                name = current.name if name is None else name
                description = (current.description or "") if description is None else description
            body["snippet"] = {
                "title": fit_name(name, self.limits.max_name_length),
                "description": description,
            }
            parts.append("snippet")
        if public is not None:
            body["status"] = {"privacyStatus": "public" if public else "private"}
            parts.append("status")
        await self._call(
            "PUT",
            "/playlists",
            "update_playlist",
            params={"part": ",".join(parts)},
            body=body,
            idempotent=True,
        )

    async def delete_playlist(self, playlist_id: str) -> None:
        await self._call(
            "DELETE", "/playlists", "delete_playlist", params={"id": playlist_id}, idempotent=True
        )
