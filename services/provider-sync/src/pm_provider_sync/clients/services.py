"""The internal endpoints a transfer reads (the service credential; never routed by the gateway):

- the library's ``GET /internal/users/{user}/playlists`` and ``…/playlists/{id}`` (playlist service): the
  public answers, for the user the job belongs to;
- the shared match cache's ``POST /internal/catalog/lookup`` (enrichment): one call per page of source
  tracks, answering per track a target track, "known absent" (``absent``: the last search that found
  none), or nothing.

A service that cannot be reached, or answers 5xx, raises :class:`ServiceUnavailable` (the job fails as
retryable and resumes from its rows); a 404 of a playlist raises :class:`LibraryPlaylistGone`.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from pm_contracts.transfers import CatalogLookup, CatalogLookupResult
from pm_platform.identity import service_credential
from pm_platform.service import Runtime
from pm_provider_sync.settings import provider_sync_settings

# Entries per page of the library's playlist read (its maximum).
LIBRARY_PAGE = 500
TIMEOUT = aiohttp.ClientTimeout(total=30)


class ServiceUnavailable(Exception):
    """Another service of this deployment did not answer as it should (a temporary condition)."""


class LibraryPlaylistGone(Exception):
    """A source playlist is not in the user's library (deleted, or never theirs)."""


class ServiceClients:
    """One HTTP session for the calls to the other services, for the service's lifetime."""

    def __init__(self, rt: Runtime) -> None:
        settings = provider_sync_settings(rt.settings)
        self._playlist = settings.playlist_url
        self._enrichment = settings.enrichment_url
        self._headers = {"Authorization": service_credential(settings.service_token.get_secret_value())}
        self._session = aiohttp.ClientSession(timeout=TIMEOUT, raise_for_status=False)

    async def close(self) -> None:
        await self._session.close()

    async def _call(self, method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
        try:
            async with self._session.request(method, url, headers=self._headers, **kwargs) as response:
                body = await response.json(content_type=None) if response.status != 204 else None
                status = response.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise ServiceUnavailable(
                f"{url.split('/internal/')[0]} unreachable ({type(exc).__name__})"
            ) from None
        if status >= 500 or status in (401, 403):
            raise ServiceUnavailable(f"{url.split('?')[0]} answered {status}")
        return status, body

    async def library_playlists(
        self, user_id: uuid.UUID, *, provider: str | None = None, collection: str | None = None
    ) -> list[dict[str, Any]]:
        """The user's library playlists (every page), filtered like the public list."""
        query: dict[str, str] = {"limit": "200", "sort": "created"}
        if provider is not None:
            query["provider"] = provider
        if collection is not None:
            query["collection"] = collection
        found: list[dict[str, Any]] = []
        while True:
            status, body = await self._call(
                "GET", f"{self._playlist}/internal/users/{user_id}/playlists", params=query
            )
            if status != 200:
                raise ServiceUnavailable(f"the library answered {status} to a listing")
            found += body["playlists"]
            cursor = body.get("next_cursor")
            if not cursor:
                return found
            query["cursor"] = cursor

    async def library_entries(
        self, user_id: uuid.UUID, playlist_id: uuid.UUID
    ) -> AsyncIterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
        """The playlist's details and its entries, page after page, in order."""
        offset: int | None = 0
        while offset is not None:
            page = await self._page(user_id, playlist_id, offset, LIBRARY_PAGE)
            yield page["playlist"], page["entries"]["items"]
            offset = page["entries"].get("next_offset")

    async def _page(
        self, user_id: uuid.UUID, playlist_id: uuid.UUID, offset: int, limit: int
    ) -> dict[str, Any]:
        status, body = await self._call(
            "GET",
            f"{self._playlist}/internal/users/{user_id}/playlists/{playlist_id}",
            params={"offset": str(offset), "limit": str(limit)},
        )
        if status == 404:
            raise LibraryPlaylistGone(str(playlist_id))
        if status != 200:
            raise ServiceUnavailable(f"the library answered {status} to a playlist read")
        return {"playlist": {k: v for k, v in body.items() if k != "entries"}, "entries": body["entries"]}

    async def catalog_lookup(self, lookup: CatalogLookup) -> CatalogLookupResult:
        status, body = await self._call(
            "POST", f"{self._enrichment}/internal/catalog/lookup", json=lookup.model_dump(mode="json")
        )
        if status != 200:
            raise ServiceUnavailable(f"the catalog answered {status} to a lookup")
        result = CatalogLookupResult.model_validate(body)
        if len(result.hits) != len(lookup.tracks):
            raise ServiceUnavailable("the catalog answered a lookup with the wrong number of hits")
        if not result.absent:  # a catalog that answers no misses
            return result.model_copy(update={"absent": [None] * len(result.hits)})
        if len(result.absent) != len(lookup.tracks):
            raise ServiceUnavailable("the catalog answered a lookup with the wrong number of misses")
        return result
