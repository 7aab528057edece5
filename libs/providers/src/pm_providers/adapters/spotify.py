"""Spotify Web API (2026 development mode, and the pre-2026 shape it replaced).

- Playlist entries live at ``/playlists/{id}/items`` since February 2026 (``/tracks`` answers 403 to
  development-mode apps); older/extended apps answer ``/tracks`` and 404 on ``/items``. The adapter
  uses ``/items`` and switches to ``/tracks`` when the provider answers that way, for the rest of its
  life. Entries carry ``item`` (new) and/or ``track`` (deprecated): ``item`` first.
- Reading a playlist starts with ``GET /playlists/{id}``: its first page holds 100 entries (the
  ``/items`` pages hold 50), so a 10,000-entry playlist takes 1 + 198 calls instead of 200.
- Writes: 100 URIs per add/replace/remove; reorders are range moves; removals go by position from the
  end backwards, each with the snapshot the previous call returned, so positions stay valid.
- ``market=from_token`` gives ``is_playable`` (availability).
- ``snapshot_id`` (listing and ``GET /playlists/{id}``) is the playlist's version: every change of
  its entries gives a new one (a details edit may too). Covers: the largest of ``images`` (Spotify lists
  the largest first; custom uploads have no sizes). Release dates: the album's, cut to its
  ``release_date_precision``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, ClassVar

from pm_providers.adapters.common import (
    AdapterContext,
    as_dict,
    as_list,
    as_str,
    fielded_query,
    largest_image,
    parse_release_date,
    parse_time,
)
from pm_providers.base import ProviderAdapter, WriteProgress, entry_key
from pm_providers.domain.batching import fit_name
from pm_providers.domain.reorder import plan_moves, spotify_range_moves
from pm_providers.domain.responses import ProviderResponse
from pm_providers.errors import Forbidden, NotFound
from pm_providers.models import (
    MediaType,
    ProviderLimits,
    ProviderName,
    ProviderPlaylist,
    ProviderTrack,
    ProviderUser,
    WriteResult,
)

SPOTIFY = ProviderName.SPOTIFY
LEGACY_PAGE = 100  # /tracks accepted limit <= 100


def _same(payload: Any) -> Callable[[str], Any]:
    """A request body that is the same at ``/items`` and ``/tracks``."""

    def body(_path: str) -> Any:
        return payload

    return body


def spotify_uri(track: str) -> str:
    return track if track.startswith("spotify:") else f"spotify:track:{track}"


def parse_track(
    item: dict[str, Any],
    *,
    position: int | None = None,
    added_at: Any = None,
    is_local: bool = False,
) -> ProviderTrack:
    kind = MediaType.EPISODE if item.get("type") == "episode" else MediaType.TRACK
    album = as_dict(item.get("album"))
    artists = tuple(str(a.get("name")) for a in as_list(item.get("artists")) if isinstance(a, dict))
    if kind is MediaType.EPISODE and not artists:
        show = as_dict(item.get("show"))
        artists = (str(show["name"]),) if show.get("name") else ()
    local = bool(is_local or item.get("is_local"))
    playable = item.get("is_playable")
    return ProviderTrack(
        provider=SPOTIFY,
        id=None if local else as_str(item.get("id")),
        uri=as_str(item.get("uri")),
        title=str(item.get("name") or ""),
        artists=artists,
        album=as_str(album.get("name")) if album else None,
        duration_ms=item.get("duration_ms") if isinstance(item.get("duration_ms"), int) else None,
        isrc=as_str(as_dict(item.get("external_ids")).get("isrc")),
        explicit=item.get("explicit") if isinstance(item.get("explicit"), bool) else None,
        available=playable if isinstance(playable, bool) else None,
        is_local=local,
        media_type=kind,
        position=position,
        added_at=parse_time(added_at),
        release_date=parse_release_date(album.get("release_date"), album.get("release_date_precision")),
    )


def parse_entry(entry: dict[str, Any], position: int) -> ProviderTrack:
    """A playlist entry: ``item`` (2026) or ``track`` (deprecated); a null item keeps its position."""
    item = entry.get("item") if isinstance(entry.get("item"), dict) else entry.get("track")
    if not isinstance(item, dict):
        return ProviderTrack(
            provider=SPOTIFY,
            id=None,
            title="",
            media_type=MediaType.UNKNOWN,
            available=False,
            position=position,
            added_at=parse_time(entry.get("added_at")),
        )
    return parse_track(
        item, position=position, added_at=entry.get("added_at"), is_local=bool(entry.get("is_local"))
    )


def entries_page(playlist: dict[str, Any]) -> dict[str, Any] | None:
    """The embedded page of entries of a full playlist object (``items`` in 2026, ``tracks`` before)."""
    for key in ("items", "tracks"):
        page = playlist.get(key)
        if isinstance(page, dict) and isinstance(page.get("items"), list):
            return page
    return None


def parse_playlist(obj: dict[str, Any], me: str | None) -> ProviderPlaylist:
    owner = as_dict(obj.get("owner"))
    count_src = as_dict(obj.get("items")) or as_dict(obj.get("tracks"))
    total = count_src.get("total")
    owner_id = as_str(owner.get("id"))
    return ProviderPlaylist(
        provider=SPOTIFY,
        id=str(obj["id"]),
        name=str(obj.get("name") or ""),
        description=as_str(obj.get("description")),
        owner_id=owner_id,
        owner_name=as_str(owner.get("display_name")),
        is_owner=(owner_id == me) if me is not None and owner_id is not None else None,
        public=obj.get("public") if isinstance(obj.get("public"), bool) else None,
        collaborative=obj.get("collaborative") if isinstance(obj.get("collaborative"), bool) else None,
        track_count=total if isinstance(total, int) else None,
        snapshot_id=as_str(obj.get("snapshot_id")),
        url=as_str(as_dict(obj.get("external_urls")).get("spotify")),
        image_url=largest_image(as_list(obj.get("images"))),
    )


def track_query(title: str | None, artist: str | None, album: str | None, query: str | None) -> str:
    return fielded_query(query, ("track", title), ("artist", artist), ("album", album))


class SpotifyAdapter(ProviderAdapter):
    name: ClassVar[ProviderName] = SPOTIFY
    limits: ClassVar[ProviderLimits] = ProviderLimits(
        playlists_page=50,
        tracks_page=50,
        liked_page=50,
        max_add_batch=100,
        max_remove_batch=100,
        max_move_batch=10_000,
        max_playlist_size=10_000,
        search_page=10,  # 10 since February 2026 (was 50)
        max_name_length=None,
    )

    def __init__(self, ctx: AdapterContext) -> None:
        self._http = ctx.http
        self._market = ctx.settings.spotify_market
        self._items_path = "items"
        self._path_known = False
        self._me: ProviderUser | None = None

    # ------------------------------------------------------------------ reads

    async def current_user(self) -> ProviderUser:
        if self._me is None:
            body = (await self._http.request("GET", "/me", endpoint="me")).json_object
            self._me = ProviderUser(
                provider=SPOTIFY,
                id=str(body["id"]),
                display_name=as_str(body.get("display_name")),
                account_id=as_str(body.get("account_id")),
                country=as_str(body.get("country")),
                email=as_str(body.get("email")),
            )
        return self._me

    async def playlists(self) -> AsyncIterator[ProviderPlaylist]:
        me = (await self.current_user()).id
        offset, total = 0, None
        limit = self.limits.playlists_page
        while total is None or offset < total:
            page = (
                await self._http.request(
                    "GET", "/me/playlists", endpoint="my_playlists", params={"limit": limit, "offset": offset}
                )
            ).json_object
            items = as_list(page.get("items"))
            for obj in items:
                if isinstance(obj, dict):
                    yield parse_playlist(obj, me)
            total = int(page.get("total") or 0)
            offset += limit
            if not items:
                break

    async def playlist(self, playlist_id: str) -> ProviderPlaylist:
        body = await self._playlist_object(playlist_id)
        me = self._me.id if self._me else None
        return parse_playlist(body, me)

    async def _playlist_object(self, playlist_id: str) -> dict[str, Any]:
        resp = await self._http.request(
            "GET",
            f"/playlists/{playlist_id}",
            endpoint="playlist",
            params={"market": self._market, "additional_types": "track,episode"},
        )
        return resp.json_object

    async def playlist_tracks(self, playlist_id: str) -> AsyncIterator[ProviderTrack]:
        body = await self._playlist_object(playlist_id)
        if not self._path_known:
            # A full playlist object names its entries "items" only in the 2026 shape.
            if "items" in body:
                self._items_path = "items"
            elif "tracks" in body:
                self._items_path = "tracks"
        page = entries_page(body)
        offset, total = 0, None
        if page is not None:
            for i, entry in enumerate(page["items"]):
                if isinstance(entry, dict):
                    yield parse_entry(entry, i)
            offset = len(page["items"])
            total = int(page.get("total") or 0)
        while total is None or offset < total:
            limit = self.limits.tracks_page if self._items_path == "items" else LEGACY_PAGE
            params: dict[str, str | int] = {
                "limit": limit,
                "offset": offset,
                "market": self._market,
                "additional_types": "track,episode",
            }
            resp = await self._items_call("GET", playlist_id, "playlist_items", params=params)
            data = resp.json_object
            items = as_list(data.get("items"))
            for i, entry in enumerate(items):
                if isinstance(entry, dict):
                    yield parse_entry(entry, offset + i)
            total = int(data.get("total") or 0)
            offset += len(items)
            if not items:
                return

    async def liked_tracks(self) -> AsyncIterator[ProviderTrack]:
        offset, total = 0, None
        limit = self.limits.liked_page
        while total is None or offset < total:
            page = (
                await self._http.request(
                    "GET",
                    "/me/tracks",
                    endpoint="saved_tracks",
                    params={"limit": limit, "offset": offset, "market": self._market},
                )
            ).json_object
            items = as_list(page.get("items"))
            for i, entry in enumerate(items):
                if isinstance(entry, dict) and isinstance(entry.get("track"), dict):
                    yield parse_track(entry["track"], position=offset + i, added_at=entry.get("added_at"))
            total = int(page.get("total") or 0)
            offset += len(items)
            if not items:
                return

    async def search_isrc(self, isrc: str) -> list[ProviderTrack]:
        return await self._search(f"isrc:{isrc.strip().upper()}", self.limits.search_page)

    async def search_tracks(
        self,
        *,
        title: str | None = None,
        artist: str | None = None,
        album: str | None = None,
        query: str | None = None,
        limit: int = 10,
    ) -> list[ProviderTrack]:
        q = track_query(title, artist, album, query)
        if not q:
            return []
        return await self._search(q, min(limit, self.limits.search_page))

    async def _search(self, q: str, limit: int) -> list[ProviderTrack]:
        body = (
            await self._http.request(
                "GET",
                "/search",
                endpoint="search",
                params={"q": q, "type": "track", "limit": limit, "market": self._market},
            )
        ).json_object
        items = as_list(as_dict(body.get("tracks")).get("items"))
        return [parse_track(t) for t in items if isinstance(t, dict)]

    # ------------------------------------------------------------------ writes

    async def _items_call(
        self,
        method: str,
        playlist_id: str,
        endpoint: str,
        *,
        params: dict[str, str | int] | None = None,
        body: Callable[[str], Any] | None = None,
        idempotent: bool | None = None,
    ) -> ProviderResponse:
        """A call on the playlist's entries at ``/items`` or, once the provider says so, ``/tracks``."""
        path = self._items_path
        try:
            resp = await self._http.request(
                method,
                f"/playlists/{playlist_id}/{path}",
                endpoint=endpoint,
                params=params,
                json_body=body(path) if body else None,
                idempotent=idempotent,
            )
        except (NotFound, Forbidden):
            if self._path_known:
                raise
            other = "tracks" if path == "items" else "items"
            resp = await self._http.request(
                method,
                f"/playlists/{playlist_id}/{other}",
                endpoint=endpoint,
                params=params,
                json_body=body(other) if body else None,
                idempotent=idempotent,
            )
            self._items_path = other
        self._path_known = True
        return resp

    async def create_playlist(
        self, name: str, *, description: str = "", public: bool = False
    ) -> ProviderPlaylist:
        payload = {
            "name": fit_name(name, self.limits.max_name_length),
            "description": description,
            "public": public,
            "collaborative": False,
        }
        try:
            resp = await self._http.request(
                "POST", "/me/playlists", endpoint="create_playlist", json_body=payload
            )
        except (NotFound, Forbidden):
            # Before 2026 playlists were created under the user's path.
            me = await self.current_user()
            resp = await self._http.request(
                "POST", f"/users/{me.id}/playlists", endpoint="create_playlist", json_body=payload
            )
        return parse_playlist(resp.json_object, self._me.id if self._me else None)

    async def add_tracks(
        self, playlist_id: str, track_ids: Sequence[str], *, progress: WriteProgress | None = None
    ) -> WriteResult:
        return await self._post_items(playlist_id, track_ids, position=None, progress=progress)

    async def insert_tracks(
        self,
        playlist_id: str,
        track_ids: Sequence[str],
        *,
        index: int,
        before: ProviderTrack | None,
        progress: WriteProgress | None = None,
    ) -> WriteResult:
        return await self._post_items(
            playlist_id, track_ids, position=None if before is None else index, progress=progress
        )

    async def _post_items(
        self,
        playlist_id: str,
        track_ids: Sequence[str],
        *,
        position: int | None,
        progress: WriteProgress | None,
    ) -> WriteResult:
        # Progress and PartialWrite speak in the caller's ids; the provider gets URIs.
        ids = list(track_ids)

        async def send(batch: list[str], offset: int) -> str | None:
            payload: dict[str, Any] = {"uris": [spotify_uri(t) for t in batch]}
            if position is not None:
                payload["position"] = position + offset
            resp = await self._items_call("POST", playlist_id, "add_items", body=_same(payload))
            return as_str(resp.json_object.get("snapshot_id"))

        snaps = await self._write_batches(ids, self.limits.max_add_batch, send, progress, "add")
        return WriteResult(written=len(ids), snapshot_id=snaps[-1] if snaps else None)

    async def remove_tracks(
        self,
        playlist_id: str,
        entries: Sequence[ProviderTrack],
        *,
        snapshot_id: str | None = None,
        progress: WriteProgress | None = None,
    ) -> WriteResult:
        # From the end backwards: removing later positions never shifts earlier ones.
        ordered = sorted(entries, key=lambda e: -1 if e.position is None else e.position, reverse=True)
        keys = [f"{e.position}:{e.uri or e.id}" for e in ordered]
        snapshot = snapshot_id

        async def send(batch: list[str], offset: int) -> str | None:
            nonlocal snapshot
            specs = []
            for e in ordered[offset : offset + len(batch)]:
                spec: dict[str, Any] = {"uri": e.uri or spotify_uri(e.id or "")}
                if e.position is not None:
                    spec["positions"] = [e.position]
                specs.append(spec)

            def body(path: str) -> dict[str, Any]:
                payload: dict[str, Any] = {"items" if path == "items" else "tracks": specs}
                if snapshot is not None:
                    payload["snapshot_id"] = snapshot
                return payload

            resp = await self._items_call("DELETE", playlist_id, "remove_items", body=body)
            snapshot = as_str(resp.json_object.get("snapshot_id")) or snapshot
            return snapshot

        await self._write_batches(keys, self.limits.max_remove_batch, send, progress, "remove")
        return WriteResult(removed=len(keys), snapshot_id=snapshot)

    async def reorder(
        self,
        playlist_id: str,
        current: Sequence[ProviderTrack],
        target: Sequence[ProviderTrack],
        *,
        snapshot_id: str | None = None,
    ) -> WriteResult:
        cur = [entry_key(e) for e in current]
        moves = spotify_range_moves(cur, plan_moves(cur, [entry_key(e) for e in target]))
        snapshot = snapshot_id
        moved = 0
        for m in moves:
            payload: dict[str, Any] = {
                "range_start": m.range_start,
                "insert_before": m.insert_before,
                "range_length": m.range_length,
            }
            if snapshot is not None:
                payload["snapshot_id"] = snapshot
            resp = await self._items_call("PUT", playlist_id, "reorder_items", body=_same(payload))
            snapshot = as_str(resp.json_object.get("snapshot_id")) or snapshot
            moved += m.range_length
        return WriteResult(moved=moved, snapshot_id=snapshot)

    async def replace_tracks(
        self,
        playlist_id: str,
        track_ids: Sequence[str],
        *,
        current: Sequence[ProviderTrack] | None = None,
        progress: WriteProgress | None = None,
    ) -> WriteResult:
        """Without ``current``: Spotify's own replace (first 100 by PUT, the rest appended), one call
        per 100 tracks and no read. With ``current``: the fewest-edits plan (keeps added-at dates)."""
        if current is not None:
            return await super().replace_tracks(playlist_id, track_ids, current=current, progress=progress)
        ids = list(track_ids)

        async def send(batch: list[str], offset: int) -> str | None:
            uris = [spotify_uri(t) for t in batch]
            if offset == 0:
                resp = await self._items_call(
                    "PUT", playlist_id, "replace_items", body=_same({"uris": uris}), idempotent=True
                )
            else:
                resp = await self._items_call("POST", playlist_id, "add_items", body=_same({"uris": uris}))
            return as_str(resp.json_object.get("snapshot_id"))

        if not ids:
            resp = await self._items_call(
                "PUT", playlist_id, "replace_items", body=_same({"uris": []}), idempotent=True
            )
            return WriteResult(snapshot_id=as_str(resp.json_object.get("snapshot_id")))
        snaps = await self._write_batches(ids, self.limits.max_add_batch, send, progress, "replace")
        return WriteResult(written=len(ids), snapshot_id=snaps[-1] if snaps else None)

    async def update_details(
        self,
        playlist_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        public: bool | None = None,
    ) -> None:
        payload: dict[str, Any] = {}
        if name is not None:
            payload["name"] = fit_name(name, self.limits.max_name_length)
        if description is not None:
            payload["description"] = description
        if public is not None:
            payload["public"] = public
        if payload:
            await self._http.request(
                "PUT",
                f"/playlists/{playlist_id}",
                endpoint="update_playlist",
                json_body=payload,
                idempotent=True,
            )

    async def delete_playlist(self, playlist_id: str) -> None:
        # Spotify has no delete: the owner's unfollow removes it from every library.
        await self._http.request(
            "DELETE", f"/playlists/{playlist_id}/followers", endpoint="unfollow_playlist", idempotent=True
        )
