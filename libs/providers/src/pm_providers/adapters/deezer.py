"""Deezer API.

- The token travels as the ``access_token`` query parameter (as deezer-python sends it).
- Every answer is checked for ``{"error": {...}}``, HTTP 200 included (the pipeline's classifier);
  code 4 (quota: 50 requests per 5 s) is waited out a bounded number of times, then QuotaExceeded.
- Pages by ``index``/``limit``; the maximum limit is undocumented (2,000 is accepted), the adapter
  follows ``total`` so a smaller cap only costs more pages.
- Writes: ``songs=`` with up to 500 ids a call; no duplicates in a playlist (refused up front);
  no positions: inserts append and ``order=`` (listed ids to the front) puts things in place.
- Listings carry no ISRC (``GET /track/isrc:{ISRC}`` finds a track by it) and no release date.
- ``checksum`` (listing and ``GET /playlist/{id}``) is a checksum of the playlist's tracks in order:
  it changes with every add, removal and reorder, not with details. Covers: ``picture_xl``
  (1000 px), else the next size down.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, ClassVar

from pm_providers.adapters.common import (
    AdapterContext,
    as_dict,
    as_list,
    as_str,
    fielded_query,
    parse_release_date,
    parse_time,
)
from pm_providers.base import ProviderAdapter, WriteProgress
from pm_providers.domain.batching import fit_name
from pm_providers.domain.classify import DEEZER_ITEMS_LIMIT
from pm_providers.domain.reorder import plan_prepend_order
from pm_providers.errors import Forbidden, InvalidRequest, NotFound, PlaylistTooLarge
from pm_providers.models import (
    ProviderLimits,
    ProviderName,
    ProviderPlaylist,
    ProviderTrack,
    ProviderUser,
    WriteResult,
)

DEEZER = ProviderName.DEEZER


def parse_track(obj: dict[str, Any], *, position: int | None = None) -> ProviderTrack:
    duration = obj.get("duration")
    readable = obj.get("readable")
    explicit = obj.get("explicit_lyrics")
    album = as_dict(obj.get("album"))
    return ProviderTrack(
        provider=DEEZER,
        id=as_str(obj.get("id")),
        uri=as_str(obj.get("link")),
        title=str(obj.get("title") or ""),
        artists=tuple(
            str(a["name"])
            for a in (obj.get("contributors") or [obj.get("artist")])
            if isinstance(a, dict) and a.get("name")
        ),
        album=as_str(album.get("title")),
        duration_ms=int(duration) * 1000 if isinstance(duration, int | float) else None,
        isrc=as_str(obj.get("isrc")) or None,
        explicit=explicit if isinstance(explicit, bool) else None,
        available=readable if isinstance(readable, bool) else None,
        position=position,
        added_at=parse_time(obj.get("time_add")),
        # Only full tracks (GET /track/...) carry dates; listings leave them out.
        release_date=parse_release_date(album.get("release_date"))
        or parse_release_date(obj.get("release_date")),
    )


def parse_playlist(obj: dict[str, Any], me: str | None) -> ProviderPlaylist:
    creator = as_dict(obj.get("creator") or obj.get("user"))
    owner_id = as_str(creator.get("id"))
    return ProviderPlaylist(
        provider=DEEZER,
        id=str(obj["id"]),
        name=str(obj.get("title") or ""),
        description=as_str(obj.get("description")),
        owner_id=owner_id,
        owner_name=as_str(creator.get("name")),
        is_owner=(owner_id == me) if me is not None and owner_id is not None else None,
        public=obj.get("public") if isinstance(obj.get("public"), bool) else None,
        collaborative=obj.get("collaborative") if isinstance(obj.get("collaborative"), bool) else None,
        track_count=obj.get("nb_tracks") if isinstance(obj.get("nb_tracks"), int) else None,
        snapshot_id=as_str(obj.get("checksum")),
        is_liked_collection=bool(obj.get("is_loved_track")),
        url=as_str(obj.get("link")),
        image_url=next(
            (u for k in ("picture_xl", "picture_big", "picture_medium") if (u := as_str(obj.get(k)))), None
        ),
    )


def search_query(title: str | None, artist: str | None, album: str | None, query: str | None) -> str:
    return fielded_query(query, ("artist", artist), ("track", title), ("album", album))


class DeezerAdapter(ProviderAdapter):
    name: ClassVar[ProviderName] = DEEZER
    limits: ClassVar[ProviderLimits] = ProviderLimits(
        playlists_page=2000,
        tracks_page=2000,
        liked_page=2000,
        max_add_batch=500,
        max_remove_batch=500,
        max_move_batch=500,
        max_playlist_size=10_000,
        search_page=100,
        max_name_length=None,
        allows_duplicates=False,
    )

    def __init__(self, ctx: AdapterContext) -> None:
        self._http = ctx.http
        self._me: ProviderUser | None = None

    async def _get(self, path: str, endpoint: str, params: dict[str, str | int] | None = None) -> Any:
        return (await self._http.request("GET", path, endpoint=endpoint, params=params)).body

    async def _pages(self, path: str, endpoint: str, limit: int) -> AsyncIterator[tuple[int, dict[str, Any]]]:
        index, total = 0, None
        while total is None or index < total:
            page = as_dict(await self._get(path, endpoint, {"index": index, "limit": limit}))
            data = as_list(page.get("data"))
            for i, obj in enumerate(data):
                if isinstance(obj, dict):
                    yield index + i, obj
            total = int(page.get("total") or 0)
            index += len(data)
            if not data:
                return

    # ------------------------------------------------------------------ reads

    async def current_user(self) -> ProviderUser:
        if self._me is None:
            body = as_dict(await self._get("/user/me", "me"))
            self._me = ProviderUser(
                provider=DEEZER,
                id=str(body["id"]),
                display_name=as_str(body.get("name")),
                country=as_str(body.get("country")),
                email=as_str(body.get("email")),
            )
        return self._me

    async def playlists(self) -> AsyncIterator[ProviderPlaylist]:
        me = (await self.current_user()).id
        async for _, obj in self._pages("/user/me/playlists", "my_playlists", self.limits.playlists_page):
            yield parse_playlist(obj, me)

    async def playlist(self, playlist_id: str) -> ProviderPlaylist:
        body = as_dict(await self._get(f"/playlist/{playlist_id}", "playlist"))
        return parse_playlist(body, self._me.id if self._me else None)

    async def playlist_tracks(self, playlist_id: str) -> AsyncIterator[ProviderTrack]:
        async for pos, obj in self._pages(
            f"/playlist/{playlist_id}/tracks", "playlist_tracks", self.limits.tracks_page
        ):
            yield parse_track(obj, position=pos)

    async def liked_tracks(self) -> AsyncIterator[ProviderTrack]:
        async for pos, obj in self._pages("/user/me/tracks", "loved_tracks", self.limits.liked_page):
            yield parse_track(obj, position=pos)

    async def search_isrc(self, isrc: str) -> list[ProviderTrack]:
        try:
            body = as_dict(await self._get(f"/track/isrc:{isrc.strip().upper()}", "track_by_isrc"))
        except NotFound:
            return []
        return [parse_track(body)] if body.get("id") else []

    async def search_tracks(
        self,
        *,
        title: str | None = None,
        artist: str | None = None,
        album: str | None = None,
        query: str | None = None,
        limit: int = 10,
    ) -> list[ProviderTrack]:
        q = search_query(title, artist, album, query)
        if not q:
            return []
        body = as_dict(
            await self._get("/search/track", "search", {"q": q, "limit": min(limit, self.limits.search_page)})
        )
        return [parse_track(t) for t in as_list(body.get("data")) if isinstance(t, dict)]

    # ------------------------------------------------------------------ writes

    async def _write(
        self, method: str, path: str, endpoint: str, params: dict[str, str | int], *, idempotent: bool
    ) -> Any:
        return (
            await self._http.request(method, path, endpoint=endpoint, params=params, idempotent=idempotent)
        ).body

    async def create_playlist(
        self, name: str, *, description: str = "", public: bool = False
    ) -> ProviderPlaylist:
        title = fit_name(name, self.limits.max_name_length)
        body = as_dict(
            await self._write(
                "POST", "/user/me/playlists", "create_playlist", {"title": title}, idempotent=False
            )
        )
        pid = str(body["id"])
        # Deezer creates public playlists with a title only: one more call sets the rest.
        extra: dict[str, str | int] = {}
        if description:
            extra["description"] = description
        if not public:
            extra["public"] = "false"
        if extra:
            await self._write("POST", f"/playlist/{pid}", "update_playlist", extra, idempotent=True)
        me = self._me  # not fetched for this: creating costs no extra call
        return ProviderPlaylist(
            provider=DEEZER,
            id=pid,
            name=title,
            description=description,
            owner_id=me.id if me else None,
            owner_name=me.display_name if me else None,
            is_owner=True,
            public=public,
            collaborative=False,
            track_count=0,
        )

    async def add_tracks(
        self, playlist_id: str, track_ids: Sequence[str], *, progress: WriteProgress | None = None
    ) -> WriteResult:
        ids = [str(t) for t in track_ids]
        if len(set(ids)) != len(ids):
            raise InvalidRequest("Deezer playlists cannot hold the same track twice", provider=DEEZER)
        if self.limits.max_playlist_size is not None and len(ids) > self.limits.max_playlist_size:
            raise PlaylistTooLarge(
                f"{len(ids)} tracks exceed Deezer's {self.limits.max_playlist_size} per playlist",
                limit=self.limits.max_playlist_size,
                provider=DEEZER,
            )

        async def send(batch: list[str], offset: int) -> None:
            try:
                await self._write(
                    "POST",
                    f"/playlist/{playlist_id}/tracks",
                    "add_tracks",
                    {"songs": ",".join(batch)},
                    idempotent=False,
                )
            except InvalidRequest as err:
                if err.code == str(DEEZER_ITEMS_LIMIT):
                    raise PlaylistTooLarge(
                        err.message, limit=self.limits.max_playlist_size, provider=DEEZER
                    ) from err
                raise

        await self._write_batches(ids, self.limits.max_add_batch, send, progress, "add")
        return WriteResult(written=len(ids))

    async def insert_tracks(
        self,
        playlist_id: str,
        track_ids: Sequence[str],
        *,
        index: int,
        before: ProviderTrack | None,
        progress: WriteProgress | None = None,
    ) -> WriteResult:
        """Deezer only appends: with ``before``, append then move the new ids into place."""
        result = await self.add_tracks(playlist_id, track_ids, progress=progress)
        if before is not None:
            ids = [t.id or "" for t in await self.read_all(playlist_id)]
            new = [str(t) for t in track_ids]
            rest = [i for i in ids if i not in set(new)]
            at = rest.index(before.id or "")
            await self._order(playlist_id, ids, rest[:at] + new + rest[at:])
        return result

    async def remove_tracks(
        self,
        playlist_id: str,
        entries: Sequence[ProviderTrack],
        *,
        snapshot_id: str | None = None,
        progress: WriteProgress | None = None,
    ) -> WriteResult:
        ids = list(dict.fromkeys(e.id for e in entries if e.id))

        async def send(batch: list[str], offset: int) -> None:
            await self._write(
                "DELETE",
                f"/playlist/{playlist_id}/tracks",
                "remove_tracks",
                {"songs": ",".join(batch)},
                idempotent=True,
            )

        await self._write_batches(ids, self.limits.max_remove_batch, send, progress, "remove")
        return WriteResult(removed=len(ids))

    async def _order(self, playlist_id: str, current: Sequence[str], target: Sequence[str]) -> int:
        batches = plan_prepend_order(current, target, batch=self.limits.max_move_batch)
        for batch in batches:
            await self._write(
                "POST",
                f"/playlist/{playlist_id}/tracks",
                "order_tracks",
                {"order": ",".join(batch)},
                idempotent=True,
            )
        return sum(len(b) for b in batches)

    async def reorder(
        self,
        playlist_id: str,
        current: Sequence[ProviderTrack],
        target: Sequence[ProviderTrack],
        *,
        snapshot_id: str | None = None,
    ) -> WriteResult:
        moved = await self._order(playlist_id, [t.id or "" for t in current], [t.id or "" for t in target])
        return WriteResult(moved=moved)

    async def replace_tracks(
        self,
        playlist_id: str,
        track_ids: Sequence[str],
        *,
        current: Sequence[ProviderTrack] | None = None,
        progress: WriteProgress | None = None,
    ) -> WriteResult:
        """Remove what goes, append what is new, then one ``order=`` per 500 ids still out of place."""
        target = [str(t) for t in track_ids]
        if len(set(target)) != len(target):
            raise InvalidRequest("Deezer playlists cannot hold the same track twice", provider=DEEZER)
        if current is None:
            current = await self.read_all(playlist_id)
        have = [t.id for t in current if t.id]
        wanted = set(target)
        gone = [t for t in current if t.id and t.id not in wanted]
        present = set(have)
        new = [t for t in target if t not in present]
        removed = written = 0
        if gone:
            removed = (await self.remove_tracks(playlist_id, gone)).removed
        if new:
            written = (await self.add_tracks(playlist_id, new, progress=progress)).written
        after = [i for i in have if i in wanted] + new
        moved = await self._order(playlist_id, after, target) if after != target else 0
        return WriteResult(written=written, removed=removed, moved=moved)

    async def update_details(
        self,
        playlist_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        public: bool | None = None,
    ) -> None:
        params: dict[str, str | int] = {}
        if name is not None:
            params["title"] = fit_name(name, self.limits.max_name_length)
        if description is not None:
            params["description"] = description
        if public is not None:
            params["public"] = "true" if public else "false"
        if params:
            await self._write("POST", f"/playlist/{playlist_id}", "update_playlist", params, idempotent=True)

    async def delete_playlist(self, playlist_id: str) -> None:
        try:
            await self._write("DELETE", f"/playlist/{playlist_id}", "delete_playlist", {}, idempotent=True)
        except Forbidden:
            # Not the owner: take it out of the library instead.
            await self._write(
                "DELETE",
                "/user/me/playlists",
                "unfollow_playlist",
                {"playlist_id": playlist_id},
                idempotent=True,
            )
