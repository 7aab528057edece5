"""TIDAL API v2 (JSON:API, ``application/vnd.api+json``).

- Relationships page by opaque cursors: follow ``links.next`` (relative to ``/v2``), 20 per page.
- ``include=items,items.artists,items.albums`` puts tracks, artists and albums in ``included[]`` so
  one call per page gives everything; durations are ISO-8601.
- Paths moved in 2024-26: the collection is ``/userCollectionPlaylists/me`` and
  ``/userCollectionTracks/me`` (before: ``/userCollections/{id}/relationships/...``), search is
  ``/searchResults?filter[query]=`` (before: ``/searchResults/{query}``). The adapter uses the current
  path and falls back to the older one once when the provider answers 404.
- Writes: 50 items per add/delete, 20 per move (``meta.positionBefore``, an ``itemId``); every
  mutation carries an ``Idempotency-Key`` so a retry after a lost answer is never applied twice.
- The change marker is the playlist's ``lastModifiedAt`` (listing and ``GET /playlists/{id}``): it
  moves with every change of the playlist, items and details alike. Covers come from the
  ``coverArt`` artworks (``include=coverArt``; the listing ``items.coverArt``), the largest file;
  release dates from the track's album (tracks carry none).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

from pm_providers.adapters.common import (
    AdapterContext,
    as_dict,
    as_list,
    as_str,
    largest_image,
    parse_release_date,
    parse_time,
)
from pm_providers.base import ProviderAdapter, WriteProgress, entry_key, normalised_isrcs
from pm_providers.domain.batching import chunks, fit_name, iso_duration_ms
from pm_providers.domain.reorder import plan_moves
from pm_providers.errors import NotFound
from pm_providers.models import (
    MediaType,
    ProviderLimits,
    ProviderName,
    ProviderPlaylist,
    ProviderTrack,
    ProviderUser,
    WriteResult,
)

TIDAL = ProviderName.TIDAL
JSONAPI = "application/vnd.api+json"
ITEM_INCLUDES = "items,items.artists,items.albums"

Included = dict[tuple[str, str], dict[str, Any]]


def index_included(body: dict[str, Any]) -> Included:
    return {
        (str(r.get("type")), str(r.get("id"))): r
        for r in as_list(body.get("included"))
        if isinstance(r, dict)
    }


def next_link(body: dict[str, Any], base_url: str) -> str | None:
    """``links.next`` as a path under the configured base (TIDAL gives it relative to ``/v2``)."""
    nxt = as_dict(body.get("links")).get("next")
    if not isinstance(nxt, str) or not nxt:
        return None
    if nxt.startswith(("http://", "https://")):
        parts = urlsplit(nxt)
        path = parts.path
        base_path = urlsplit(base_url).path.rstrip("/")
        for prefix in (base_path, "/v2"):
            if prefix and path.startswith(prefix + "/"):
                path = path[len(prefix) :]
                break
        return path + (f"?{parts.query}" if parts.query else "")
    return nxt if nxt.startswith("/") else "/" + nxt


def _related(res: dict[str, Any], rel: str, included: Included) -> list[dict[str, Any]]:
    """The included resources a relationship of ``res`` names, in order (missing ones skipped)."""
    found = []
    for ref in as_list(as_dict(as_dict(res.get("relationships")).get(rel)).get("data")):
        if isinstance(ref, dict):
            other = included.get((str(ref.get("type")), str(ref.get("id"))))
            if other is not None:
                found.append(other)
    return found


def _related_names(res: dict[str, Any], rel: str, included: Included, attr: str) -> list[str]:
    names = []
    for other in _related(res, rel, included):
        name = as_dict(other.get("attributes")).get(attr)
        if name:
            names.append(str(name))
    return names


def cover_url(res: dict[str, Any], included: Included) -> str | None:
    """The largest file of the first ``coverArt`` artwork (``include=coverArt``), None without."""
    for artwork in _related(res, "coverArt", included):
        url = largest_image(as_list(as_dict(artwork.get("attributes")).get("files")))
        if url is not None:
            return url
    return None


def parse_track(
    res: dict[str, Any],
    included: Included,
    *,
    position: int | None = None,
    item_id: str | None = None,
    added_at: Any = None,
) -> ProviderTrack:
    attrs = as_dict(res.get("attributes"))
    title = str(attrs.get("title") or "")
    version = attrs.get("version")
    if version and str(version).lower() not in title.lower():
        title = f"{title} ({version})"
    availability = attrs.get("availability")
    albums = _related_names(res, "albums", included, "title")
    released = _related_names(res, "albums", included, "releaseDate")
    explicit = attrs.get("explicit")
    return ProviderTrack(
        provider=TIDAL,
        id=as_str(res.get("id")),
        uri=f"tidal:track:{res.get('id')}",
        title=title,
        artists=tuple(_related_names(res, "artists", included, "name")),
        album=albums[0] if albums else None,
        duration_ms=iso_duration_ms(as_str(attrs.get("duration"))),
        isrc=as_str(attrs.get("isrc")) or None,
        explicit=explicit if isinstance(explicit, bool) else None,
        available=bool(availability) if isinstance(availability, list) else None,
        media_type=MediaType.VIDEO if res.get("type") == "videos" else MediaType.TRACK,
        position=position,
        item_id=item_id,
        added_at=parse_time(added_at),
        # Tracks carry no date: the album's (``include=...albums``).
        release_date=parse_release_date(released[0]) if released else None,
    )


def parse_item(ref: dict[str, Any], included: Included, position: int) -> ProviderTrack:
    """One relationship entry ``{id, type, meta{itemId, addedAt}}`` with its included resource."""
    meta = as_dict(ref.get("meta"))
    res = included.get((str(ref.get("type")), str(ref.get("id"))))
    if res is None:  # not returned for this country, or gone
        return ProviderTrack(
            provider=TIDAL,
            id=as_str(ref.get("id")),
            title="",
            available=False,
            media_type=MediaType.UNKNOWN,
            position=position,
            item_id=as_str(meta.get("itemId")),
            added_at=parse_time(meta.get("addedAt")),
        )
    return parse_track(
        res, included, position=position, item_id=as_str(meta.get("itemId")), added_at=meta.get("addedAt")
    )


def parse_playlist(res: dict[str, Any], included: Included | None = None) -> ProviderPlaylist:
    """A playlist resource; ``included`` holds its ``coverArt`` artworks when they were asked for."""
    attrs = as_dict(res.get("attributes"))
    access = attrs.get("accessType") or attrs.get("privacy")
    count = attrs.get("numberOfItems")
    return ProviderPlaylist(
        provider=TIDAL,
        id=str(res["id"]),
        name=str(attrs.get("name") or ""),
        description=as_str(attrs.get("description")),
        public=(access == "PUBLIC") if isinstance(access, str) else None,
        track_count=count if isinstance(count, int) else None,
        snapshot_id=as_str(attrs.get("lastModifiedAt")),
        url=f"https://tidal.com/browse/playlist/{res['id']}",
        image_url=cover_url(res, included or {}),
    )


def ref(track: ProviderTrack) -> dict[str, Any]:
    return {
        "id": track.id,
        "type": "videos" if track.media_type is MediaType.VIDEO else "tracks",
        "meta": {"itemId": track.item_id},
    }


class TidalAdapter(ProviderAdapter):
    name: ClassVar[ProviderName] = TIDAL
    limits: ClassVar[ProviderLimits] = ProviderLimits(
        playlists_page=20,
        tracks_page=20,
        liked_page=20,
        max_add_batch=50,
        max_remove_batch=50,
        max_move_batch=20,
        max_playlist_size=None,
        search_page=20,
        max_name_length=None,
        isrc_lookup_batch=20,
    )

    def __init__(self, ctx: AdapterContext, *, country: str | None = None) -> None:
        self._http = ctx.http
        self._country = country or ctx.settings.tidal_country_code
        self._me: ProviderUser | None = None
        # Paths that answered 404 once: the older form is used from then on.
        self._legacy: set[str] = set()

    def _params(self, **extra: str) -> dict[str, str | int]:
        params: dict[str, str | int] = dict(extra)
        if self._country:
            params["countryCode"] = self._country
        return params

    async def _get(
        self, path: str, endpoint: str, params: dict[str, str | int] | None = None
    ) -> dict[str, Any]:
        return (await self._http.request("GET", path, endpoint=endpoint, params=params)).json_object

    async def _send(self, method: str, path: str, endpoint: str, body: Any) -> dict[str, Any]:
        """A mutation with its own Idempotency-Key: retried safely after a lost answer."""
        resp = await self._http.request(
            method,
            path,
            endpoint=endpoint,
            json_body=body,
            headers={"Content-Type": JSONAPI, "Idempotency-Key": str(uuid.uuid4())},
            idempotent=True,
        )
        return resp.json_object

    async def _pages(
        self, first_path: str, endpoint: str, params: dict[str, str | int]
    ) -> AsyncIterator[tuple[dict[str, Any], Included]]:
        body = await self._get(first_path, endpoint, params)
        while True:
            yield body, index_included(body)
            nxt = next_link(body, self._http.base_url)
            if nxt is None or not as_list(body.get("data")):
                return
            body = await self._get(nxt, endpoint)

    async def _moved(
        self,
        key: str,
        current: str,
        legacy: Callable[[], Awaitable[str]],
        endpoint: str,
        params: dict[str, str | int],
    ) -> AsyncIterator[tuple[dict[str, Any], Included]]:
        """Pages from the current path, or from the older one when the provider answers 404."""
        if key not in self._legacy:
            started = False
            try:
                async for page in self._pages(current, endpoint, params):
                    started = True
                    yield page
                return
            except NotFound:
                if started:
                    raise
                self._legacy.add(key)
        async for page in self._pages(await legacy(), endpoint, params):
            yield page

    async def _collection_path(self, relation: str) -> str:
        return f"/userCollections/{(await self.current_user()).id}/relationships/{relation}"

    # ------------------------------------------------------------------ reads

    async def current_user(self) -> ProviderUser:
        if self._me is None:
            data = as_dict((await self._get("/users/me", "me")).get("data"))
            attrs = as_dict(data.get("attributes"))
            self._me = ProviderUser(
                provider=TIDAL,
                id=str(data["id"]),
                display_name=as_str(attrs.get("username")),
                country=as_str(attrs.get("country")),
                email=as_str(attrs.get("email")),
            )
            if self._country is None and self._me.country:
                self._country = self._me.country
        return self._me

    async def playlists(self) -> AsyncIterator[ProviderPlaylist]:
        pages = self._moved(
            "collection_playlists",
            "/userCollectionPlaylists/me/relationships/items",
            lambda: self._collection_path("playlists"),
            "collection_playlists",
            self._params(include="items,items.coverArt", collectionView="FLAT"),
        )
        async for body, included in pages:
            for r in as_list(body.get("data")):
                if isinstance(r, dict):
                    res = included.get(("playlists", str(r.get("id"))))
                    if res is not None:
                        yield parse_playlist(res, included)

    async def playlist(self, playlist_id: str) -> ProviderPlaylist:
        body = await self._get(f"/playlists/{playlist_id}", "playlist", self._params(include="coverArt"))
        return parse_playlist(as_dict(body.get("data")), index_included(body))

    async def playlist_tracks(self, playlist_id: str) -> AsyncIterator[ProviderTrack]:
        position = 0
        async for body, included in self._pages(
            f"/playlists/{playlist_id}/relationships/items",
            "playlist_items",
            self._params(include=ITEM_INCLUDES),
        ):
            for r in as_list(body.get("data")):
                if isinstance(r, dict):
                    yield parse_item(r, included, position)
                    position += 1

    async def liked_tracks(self) -> AsyncIterator[ProviderTrack]:
        position = 0
        async for body, included in self._moved(
            "collection_tracks",
            "/userCollectionTracks/me/relationships/items",
            lambda: self._collection_path("tracks"),
            "collection_tracks",
            self._params(include=ITEM_INCLUDES),
        ):
            for r in as_list(body.get("data")):
                if isinstance(r, dict):
                    yield parse_item(r, included, position)
                    position += 1

    async def search_isrc(self, isrc: str) -> list[ProviderTrack]:
        body = await self._get(
            "/tracks",
            "tracks_by_isrc",
            self._params(**{"filter[isrc]": isrc.strip().upper(), "include": "artists,albums"}),
        )
        included = index_included(body)
        return [parse_track(r, included) for r in as_list(body.get("data")) if isinstance(r, dict)]

    async def search_isrcs(self, isrcs: Sequence[str]) -> dict[str, list[ProviderTrack]]:
        """Up to 20 ISRCs per call (``filter[isrc]=A,B,…``). TIDAL then answers one track per ISRC, so a
        batch of one asks for that ISRC alone (every re-release of it)."""
        wanted = normalised_isrcs(isrcs)
        found: dict[str, list[ProviderTrack]] = {isrc: [] for isrc in wanted}
        for batch in chunks(wanted, self.limits.isrc_lookup_batch):
            if len(batch) == 1:
                found[batch[0]] = await self.search_isrc(batch[0])
                continue
            params = self._params(**{"filter[isrc]": ",".join(batch), "include": "artists,albums"})
            async for body, included in self._pages("/tracks", "tracks_by_isrc", params):
                for r in as_list(body.get("data")):
                    if isinstance(r, dict):
                        track = parse_track(r, included)
                        if track.isrc in found:
                            found[track.isrc].append(track)
        return found

    async def search_tracks(
        self,
        *,
        title: str | None = None,
        artist: str | None = None,
        album: str | None = None,
        query: str | None = None,
        limit: int = 10,
    ) -> list[ProviderTrack]:
        """TIDAL search is free text; results are then read with artists and albums (one more call)."""
        q = " ".join(x.strip() for x in (query, artist, title, album) if x and x.strip())
        if not q:
            return []
        if "search" not in self._legacy:
            try:
                body = await self._get(
                    "/searchResults", "search", self._params(**{"filter[query]": q, "include": "tracks"})
                )
                data = as_list(body.get("data"))
                result = as_dict(data[0]) if data else {}
            except NotFound:
                self._legacy.add("search")
        if "search" in self._legacy:
            body = await self._get(
                f"/searchResults/{quote(q, safe='')}", "search", self._params(include="tracks")
            )
            result = as_dict(body.get("data"))
        ids = [
            str(r["id"])
            for r in as_list(as_dict(as_dict(result.get("relationships")).get("tracks")).get("data"))
            if isinstance(r, dict) and r.get("id")
        ][: min(limit, self.limits.search_page)]
        if not ids:
            return []
        full = await self._get(
            "/tracks", "tracks", self._params(**{"filter[id]": ",".join(ids), "include": "artists,albums"})
        )
        included = index_included(full)
        by_id = {str(r.get("id")): r for r in as_list(full.get("data")) if isinstance(r, dict)}
        return [parse_track(by_id[i], included) for i in ids if i in by_id]

    # ------------------------------------------------------------------ writes

    async def create_playlist(
        self, name: str, *, description: str = "", public: bool = False
    ) -> ProviderPlaylist:
        body = await self._send(
            "POST",
            "/playlists",
            "create_playlist",
            {
                "data": {
                    "type": "playlists",
                    "attributes": {
                        "name": fit_name(name, self.limits.max_name_length),
                        "description": description,
                        "accessType": "PUBLIC" if public else "UNLISTED",
                    },
                }
            },
        )
        return parse_playlist(as_dict(body.get("data"))).model_copy(update={"is_owner": True})

    async def add_tracks(
        self, playlist_id: str, track_ids: Sequence[str], *, progress: WriteProgress | None = None
    ) -> WriteResult:
        return await self.insert_tracks(playlist_id, track_ids, index=-1, before=None, progress=progress)

    async def insert_tracks(
        self,
        playlist_id: str,
        track_ids: Sequence[str],
        *,
        index: int,
        before: ProviderTrack | None,
        progress: WriteProgress | None = None,
    ) -> WriteResult:
        skipped: list[str] = []

        async def send(batch: list[str], offset: int) -> None:
            body: dict[str, Any] = {"data": [{"type": "tracks", "id": t} for t in batch]}
            if before is not None:
                body["meta"] = {"positionBefore": before.item_id}
            answer = await self._send(
                "POST", f"/playlists/{playlist_id}/relationships/items", "add_items", body
            )
            skipped.extend(
                str(s.get("id"))
                for s in as_list(as_dict(answer.get("meta")).get("skipped"))
                if isinstance(s, dict)
            )

        ids = [str(t) for t in track_ids]
        await self._write_batches(ids, self.limits.max_add_batch, send, progress, "add")
        return WriteResult(written=len(ids) - len(skipped), skipped=tuple(skipped))

    async def remove_tracks(
        self,
        playlist_id: str,
        entries: Sequence[ProviderTrack],
        *,
        snapshot_id: str | None = None,
        progress: WriteProgress | None = None,
    ) -> WriteResult:
        by_item = {e.item_id: e for e in entries if e.item_id}
        keys = list(by_item)

        async def send(batch: list[str], offset: int) -> None:
            await self._send(
                "DELETE",
                f"/playlists/{playlist_id}/relationships/items",
                "remove_items",
                {"data": [ref(by_item[k]) for k in batch]},
            )

        await self._write_batches(keys, self.limits.max_remove_batch, send, progress, "remove")
        return WriteResult(removed=len(keys))

    async def reorder(
        self,
        playlist_id: str,
        current: Sequence[ProviderTrack],
        target: Sequence[ProviderTrack],
        *,
        snapshot_id: str | None = None,
    ) -> WriteResult:
        by_key = {entry_key(e): e for e in current}
        moves = plan_moves(
            [entry_key(e) for e in current],
            [entry_key(e) for e in target],
            max_batch=self.limits.max_move_batch,
            end_anchor=True,  # TIDAL moves only before an item
        )
        moved = 0
        for m in moves:
            anchor = by_key[m.before] if m.before is not None else None
            await self._send(
                "PATCH",
                f"/playlists/{playlist_id}/relationships/items",
                "move_items",
                {
                    "data": [ref(by_key[k]) for k in m.keys],
                    "meta": {"positionBefore": anchor.item_id if anchor else None},
                },
            )
            moved += len(m.keys)
        return WriteResult(moved=moved)

    async def update_details(
        self,
        playlist_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        public: bool | None = None,
    ) -> None:
        attrs: dict[str, Any] = {}
        if name is not None:
            attrs["name"] = fit_name(name, self.limits.max_name_length)
        if description is not None:
            attrs["description"] = description
        if public is not None:
            attrs["accessType"] = "PUBLIC" if public else "UNLISTED"
        if attrs:
            await self._send(
                "PATCH",
                f"/playlists/{playlist_id}",
                "update_playlist",
                {"data": {"type": "playlists", "id": playlist_id, "attributes": attrs}},
            )

    async def delete_playlist(self, playlist_id: str) -> None:
        await self._send("DELETE", f"/playlists/{playlist_id}", "delete_playlist", None)
