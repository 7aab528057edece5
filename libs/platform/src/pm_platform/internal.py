"""Calls between the services of one deployment: their ``/internal/…`` endpoints, with the service
credential (``SERVICE_TOKEN``), never routed by the gateway.

- :class:`InternalClient`: one HTTP session for a service's calls to the others. A service that cannot be
  reached, or answers 5xx, 401 or 403, raises :class:`PeerUnavailable` (a temporary condition: a job
  fails as retryable and resumes).
- :class:`AccountsReader`: auth's read of a user's provider links (references, never tokens).
- :class:`LibraryReader`: the library's internal reads (playlist service), for the user a job belongs to —
  ``GET /internal/users/{user}/playlists``, ``…/playlists/{id}``, its ``…/versions`` and ``…/diff``, the
  public answers. A 404 of a playlist raises :class:`LibraryPlaylistGone`.
- :class:`LibraryWriter`: the library's internal writes, for a sync link with a library playlist as an
  end — ``POST /internal/users/{user}/tracks`` (the library track of each described track, made when
  missing) and ``PUT …/playlists/{id}/entries`` (the playlist made exactly a list of tracks, only if it
  is still at the version read: :class:`LibraryPlaylistChanged` otherwise).
- :class:`CatalogReader`: the canonical catalog's ``POST /internal/catalog/lookup`` (enrichment): per
  track, the target's track of its recording, "known absent", or nothing; one call per page of tracks.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from pm_contracts.transfers import CatalogLookup, CatalogLookupResult
from pm_platform.identity import service_credential

TIMEOUT = aiohttp.ClientTimeout(total=30)
# Entries per page of the library's playlist read (its maximum).
LIBRARY_PAGE = 500
# Playlists per page of the library's listing (its maximum).
LISTING_PAGE = 200
# Versions per page of a playlist's history (its maximum).
VERSIONS_PAGE = 100


class PeerUnavailable(Exception):
    """Another service of this deployment did not answer as it should (a temporary condition)."""


class LibraryPlaylistGone(Exception):
    """A playlist is not in the user's library (deleted, or never theirs)."""


class LibraryPlaylistChanged(Exception):
    """A library playlist changed since it was read (a write's ``If-Match`` failed)."""


class LibraryWriteRefused(Exception):
    """The library refused a write (read-only playlist, unknown track, too large): not worth a retry."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.status, self.code, self.detail = status, code, detail


class InternalClient:
    """One HTTP session for a service's calls to the others' internal endpoints, for its lifetime."""

    def __init__(self, service_token: str) -> None:
        self._headers = {"Authorization": service_credential(service_token)}
        self._session = aiohttp.ClientSession(timeout=TIMEOUT, raise_for_status=False)

    async def close(self) -> None:
        await self._session.close()

    async def call(
        self, method: str, url: str, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> tuple[int, Any]:
        """The status and JSON body (None for a 204) of one call; :class:`PeerUnavailable` when the
        service is unreachable, answers something that is not JSON, 5xx, or refuses the credential."""
        sent = {**(headers or {}), **self._headers}
        try:
            async with self._session.request(method, url, headers=sent, **kwargs) as response:
                body = await response.json(content_type=None) if response.status != 204 else None
                status = response.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise PeerUnavailable(
                f"{url.split('/internal/')[0]} unreachable ({type(exc).__name__})"
            ) from None
        if status >= 500 or status in (401, 403):
            raise PeerUnavailable(f"{url.split('?')[0]} answered {status}")
        return status, body


class LibraryReader:
    """The library's internal reads (the playlist service at ``playlist_url``)."""

    def __init__(self, client: InternalClient, playlist_url: str) -> None:
        self._client = client
        self._base = playlist_url.rstrip("/")

    async def playlists(
        self, user_id: uuid.UUID, *, provider: str | None = None, collection: str | None = None
    ) -> list[dict[str, Any]]:
        """The user's library playlists (every page, oldest first), filtered like the public list."""
        query: dict[str, str] = {"limit": str(LISTING_PAGE), "sort": "created"}
        if provider is not None:
            query["provider"] = provider
        if collection is not None:
            query["collection"] = collection
        found: list[dict[str, Any]] = []
        while True:
            status, body = await self._client.call(
                "GET", f"{self._base}/internal/users/{user_id}/playlists", params=query
            )
            if status != 200:
                raise PeerUnavailable(f"the library answered {status} to a listing")
            found += body["playlists"]
            cursor = body.get("next_cursor")
            if not cursor:
                return found
            query["cursor"] = cursor

    async def entries(
        self, user_id: uuid.UUID, playlist_id: uuid.UUID, page: int = LIBRARY_PAGE
    ) -> AsyncIterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
        """The playlist's details and its entries, page after page, in order."""
        offset: int | None = 0
        while offset is not None:
            body = await self.page(user_id, playlist_id, offset, page)
            yield {k: v for k, v in body.items() if k != "entries"}, body["entries"]["items"]
            offset = body["entries"].get("next_offset")

    async def page(
        self, user_id: uuid.UUID, playlist_id: uuid.UUID, offset: int, limit: int
    ) -> dict[str, Any]:
        """One page of the playlist: its public answer (details, and ``entries`` from ``offset``)."""
        return await self._read(
            user_id, playlist_id, "", {"offset": str(offset), "limit": str(limit)}, "a playlist read"
        )

    async def versions(
        self, user_id: uuid.UUID, playlist_id: uuid.UUID, before: int | None = None
    ) -> dict[str, Any]:
        """One page of the playlist's versions, newest first, older than ``before`` when given:
        ``{"versions": [...], "next_before": n | None}``."""
        params = {"limit": str(VERSIONS_PAGE)}
        if before is not None:
            params["before"] = str(before)
        return await self._read(user_id, playlist_id, "/versions", params, "a history read")

    async def diff(
        self, user_id: uuid.UUID, playlist_id: uuid.UUID, older: int, newer: int
    ) -> dict[str, Any]:
        """What changed from version ``older`` to ``newer``: ``added``, ``removed``, ``moved`` entries."""
        params = {"from": str(older), "to": str(newer)}
        return await self._read(user_id, playlist_id, "/diff", params, "a diff")

    async def _read(
        self, user_id: uuid.UUID, playlist_id: uuid.UUID, suffix: str, params: dict[str, str], what: str
    ) -> dict[str, Any]:
        url = f"{self._base}/internal/users/{user_id}/playlists/{playlist_id}{suffix}"
        status, body = await self._client.call("GET", url, params=params)
        if status == 404:
            raise LibraryPlaylistGone(str(playlist_id))
        if status != 200:
            raise PeerUnavailable(f"the library answered {status} to {what}")
        result: dict[str, Any] = body
        return result


# Described tracks per call of the library's track adoption (its maximum).
ADOPT_PAGE = 2000


class LibraryWriter:
    """The library's internal writes (the playlist service at ``playlist_url``), for sync."""

    def __init__(self, client: InternalClient, playlist_url: str) -> None:
        self._client = client
        self._base = playlist_url.rstrip("/")

    async def adopt_tracks(self, user_id: uuid.UUID, tracks: list[dict[str, Any]]) -> list[str]:
        """The user's library track id of each described track (``provider``, ``provider_track_id``,
        ``title``...), in order; made when the library has none. Idempotent."""
        ids: list[str] = []
        for start in range(0, len(tracks), ADOPT_PAGE):
            page = tracks[start : start + ADOPT_PAGE]
            status, body = await self._client.call(
                "POST", f"{self._base}/internal/users/{user_id}/tracks", json={"tracks": page}
            )
            _refused(status, body, "an adoption of tracks")
            found = [str(i) for i in body["track_ids"]]
            if len(found) != len(page):
                raise PeerUnavailable("the library answered an adoption with the wrong number of ids")
            ids += found
        return ids

    async def set_entries(
        self, user_id: uuid.UUID, playlist_id: uuid.UUID, track_ids: list[str], author: str, version: int
    ) -> dict[str, Any]:
        """Make the playlist hold exactly ``track_ids`` in that order (entries that stay keep their ids),
        if it is still at ``version``; the playlist's answer."""
        status, body = await self._client.call(
            "PUT",
            f"{self._base}/internal/users/{user_id}/playlists/{playlist_id}/entries",
            json={"track_ids": track_ids, "author": author},
            headers={"If-Match": f'"{version}"'},
        )
        if status == 404:
            raise LibraryPlaylistGone(str(playlist_id))
        if status == 412:
            raise LibraryPlaylistChanged(str(playlist_id))
        _refused(status, body, "a write of entries")
        result: dict[str, Any] = body
        return result


def _refused(status: int, body: Any, what: str) -> None:
    if status == 200:
        return
    if 400 <= status < 500 and isinstance(body, dict):
        raise LibraryWriteRefused(status, str(body.get("code", status)), str(body.get("detail", "")))
    raise PeerUnavailable(f"the library answered {status} to {what}")


class AccountsReader:
    """Auth's internal read of a user's provider links: references (provider, account, status), never a
    token."""

    def __init__(self, client: InternalClient, auth_url: str) -> None:
        self._client = client
        self._base = auth_url.rstrip("/")

    async def user_links(self, user_id: uuid.UUID) -> list[dict[str, Any]]:
        status, body = await self._client.call("GET", f"{self._base}/internal/users/{user_id}/providers")
        if status != 200:
            raise PeerUnavailable(f"auth answered {status} to a read of links")
        links: list[dict[str, Any]] = body["links"]
        return links


class CatalogReader:
    """The canonical catalog's lookup (enrichment at ``enrichment_url``): transfers ask it which track on
    the target each source track is, the library which recording each of its tracks is."""

    def __init__(self, client: InternalClient, enrichment_url: str) -> None:
        self._client = client
        self._base = enrichment_url.rstrip("/")

    async def lookup(self, lookup: CatalogLookup) -> CatalogLookupResult:
        """The answer for each track, in order; ``absent`` always as long as ``hits`` (a catalog that
        answers no misses answers None for each)."""
        status, body = await self._client.call(
            "POST", f"{self._base}/internal/catalog/lookup", json=lookup.model_dump(mode="json")
        )
        if status != 200:
            raise PeerUnavailable(f"the catalog answered {status} to a lookup")
        result = CatalogLookupResult.model_validate(body)
        if len(result.hits) != len(lookup.tracks):
            raise PeerUnavailable("the catalog answered a lookup with the wrong number of hits")
        if not result.absent:  # a catalog that answers no misses
            return result.model_copy(update={"absent": [None] * len(result.hits)})
        if len(result.absent) != len(lookup.tracks):
            raise PeerUnavailable("the catalog answered a lookup with the wrong number of misses")
        return result
