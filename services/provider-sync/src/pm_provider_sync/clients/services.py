"""The internal endpoints transfers and sync call (the service credential; never routed by the gateway):

- the library's ``GET /internal/users/{user}/playlists`` and ``…/playlists/{id}`` (playlist service): the
  public answers, for the user the job belongs to; and, for a sync link with a library playlist as an
  end, its ``POST /internal/users/{user}/tracks`` and ``PUT …/playlists/{id}/entries``;
- the shared match cache's ``POST /internal/catalog/lookup`` (enrichment): one call per page of source
  tracks, answering per track a target track, "known absent" (``absent``: the last search that found
  none), or nothing.

A service that cannot be reached, or answers 5xx, raises pm_platform.internal's ``PeerUnavailable`` (the
job fails as retryable and resumes from its rows); a 404 of a playlist raises ``LibraryPlaylistGone``.
"""

from __future__ import annotations

from pm_contracts.transfers import CatalogLookup, CatalogLookupResult
from pm_platform.internal import CatalogReader, InternalClient, LibraryReader, LibraryWriter
from pm_platform.service import Runtime
from pm_provider_sync.settings import provider_sync_settings


class ServiceClients:
    """One HTTP session for the calls to the other services, for the service's lifetime: the library's
    reads (``library``, pm_platform.internal), its writes for sync (``library_writes``) and the shared
    match cache's lookup."""

    def __init__(self, rt: Runtime) -> None:
        settings = provider_sync_settings(rt.settings)
        self._client = InternalClient(settings.service_token.get_secret_value())
        self._catalog = CatalogReader(self._client, settings.enrichment_url)
        self.library = LibraryReader(self._client, settings.playlist_url)
        self.library_writes = LibraryWriter(self._client, settings.playlist_url)

    async def close(self) -> None:
        await self._client.close()

    async def catalog_lookup(self, lookup: CatalogLookup) -> CatalogLookupResult:
        return await self._catalog.lookup(lookup)
