"""The two ends of a sync link (docs/sync.md): a playlist on a linked provider, or a playlist of the
user's library. A run reads, writes and pairs through these, whatever the end is.

- :class:`ProviderEnd`: the provider's API (a pm_providers adapter): its change marker, its tracks, and
  the fewest remove, move and insert calls that make it hold a list.
- :class:`LibraryEnd`: the playlist service's internal reads and writes. Its tracks are the library's
  (their ids the library's track ids), its change marker its version. A write makes the list exactly the
  tracks wanted, as one version of kind ``sync``, and only if the playlist is still at the version read:
  an edit by the owner in between raises ``LibraryPlaylistChanged`` and the run plans again. A track of
  the other end crosses to it without a search: the library adopts it as the provider describes it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from pm_platform.internal import LibraryPlaylistChanged
from pm_platform.service import Runtime
from pm_provider_sync.domain.imports import imported_track
from pm_provider_sync.domain.pauses import PROVIDER_TITLES
from pm_provider_sync.domain.sync import LIBRARY
from pm_provider_sync.domain.transfers import SourceTrack
from pm_provider_sync.resources import SERVICES
from pm_provider_sync.usecases.provider_calls import patiently, user_adapter
from pm_providers import ProviderAdapter, ProviderTrack
from pm_providers.domain.reorder import longest_increasing, plan_replace
from pm_providers.models import ProviderName, WriteResult

__all__ = ["LIBRARY", "LibraryEnd", "LinkEnd", "ProviderEnd", "link_ends"]

# The title a provider's untitled track takes in the library.
UNTITLED = "Untitled"


class ProviderEnd:
    """A playlist on a linked provider."""

    library = False

    def __init__(self, rt: Runtime, user_id: uuid.UUID, provider: ProviderName, playlist_id: str) -> None:
        self.provider, self.playlist_id = provider, playlist_id
        self.adapter: ProviderAdapter = user_adapter(rt, user_id, provider)
        self.title = PROVIDER_TITLES[provider]
        self.allows_duplicates = self.adapter.limits.allows_duplicates

    async def marker(self) -> str | None:
        found = await patiently(lambda: self.adapter.playlist(self.playlist_id))
        return found.snapshot_id

    async def read(self) -> list[ProviderTrack]:
        return await patiently(lambda: self.adapter.read_all(self.playlist_id))

    async def write(self, ids: Sequence[str | None], current: Sequence[ProviderTrack]) -> int:
        """Make the end hold ``ids`` (None: a local entry kept where it is) with the fewest edits; the
        entries moved."""
        first: list[Sequence[ProviderTrack] | None] = [current]

        async def step() -> WriteResult:
            # A retry after a short Retry-After reads the end again: the first attempt may have done part.
            read = first.pop() if first else None
            return await self.adapter.replace_tracks(self.playlist_id, ids, current=read)  # type: ignore[arg-type]

        return (await patiently(step)).moved

    def source(self, track: ProviderTrack) -> SourceTrack:
        return SourceTrack.from_provider(track)


class LibraryEnd:
    """A playlist of the user's library. Its tracks are read in the shape a provider's are (the run
    compares both alike) with the library's track id as ``id``; ``provider`` names the link's other end,
    and what the library knows of a track (every provider id) is kept aside for matching (:meth:`source`)."""

    library = True
    title = "library"
    # A library playlist holds a track as often as it is added.
    allows_duplicates = True

    def __init__(
        self, rt: Runtime, user_id: uuid.UUID, playlist_id: str, other: ProviderName, author: str
    ) -> None:
        self.user_id, self.playlist_id, self.other, self.author = (
            user_id,
            uuid.UUID(playlist_id),
            other,
            author,
        )
        clients = rt[SERVICES]
        self._reader, self._writer = clients.library, clients.library_writes
        self._sources: dict[str, SourceTrack] = {}
        self._version: int | None = None

    async def marker(self) -> str | None:
        page = await self._reader.page(self.user_id, self.playlist_id, 0, 1)
        return str(page["version"])

    async def read(self) -> list[ProviderTrack]:
        """Every entry, the pages all of one version (an edit between two pages: read again)."""
        for _ in range(3):
            tracks: list[ProviderTrack] = []
            versions: set[int] = set()
            async for details, items in self._reader.entries(self.user_id, self.playlist_id):
                versions.add(int(details["version"]))
                tracks += [self._track(item["track"], len(tracks) + i) for i, item in enumerate(items)]
            if len(versions) <= 1:
                self._version = versions.pop() if versions else None
                return tracks
        raise LibraryPlaylistChanged(str(self.playlist_id))

    def _track(self, track: dict[str, Any], position: int) -> ProviderTrack:
        source = SourceTrack.from_api(track)
        self._sources[str(track["id"])] = source
        return ProviderTrack(
            provider=self.other,
            id=str(track["id"]),
            title=source.title,
            artists=source.artists,
            album=source.album,
            duration_ms=source.duration_ms,
            isrc=source.isrc,
            explicit=source.explicit,
            is_local=source.is_local,
            position=position,
        )

    async def write(self, ids: Sequence[str | None], current: Sequence[ProviderTrack]) -> int:
        """Make the playlist hold ``ids`` (library track ids), if it is still as read; the entries moved."""
        if self._version is None:  # a write plans from a read: its version is the one written over
            raise RuntimeError("a library end is written only after it was read")
        wanted = [i for i in ids if i is not None]
        plan = plan_replace([t.id for t in current], wanted)
        answer = await self._writer.set_entries(
            self.user_id, self.playlist_id, wanted, self.author, self._version
        )
        self._version = int(answer["version"])
        return len(plan.keep_order) - len(longest_increasing(plan.keep_order))

    def source(self, track: ProviderTrack) -> SourceTrack:
        found = self._sources.get(track.id or "")
        return found if found is not None else SourceTrack.from_provider(track)

    def carrying(self, tracks: Sequence[ProviderTrack]) -> tuple[list[tuple[str, str]], list[ProviderTrack]]:
        """The tracks that carry the other end's id (imported from there), as (library id, that id), and
        the rest."""
        direct: list[tuple[str, str]] = []
        rest: list[ProviderTrack] = []
        for track in tracks:
            other_id = self.source(track).id_on(self.other)
            if track.id and other_id:
                direct.append((track.id, other_id))
            else:
                rest.append(track)
        return direct, rest

    async def adopt(self, tracks: Sequence[ProviderTrack]) -> list[str]:
        """The library track of each of the other end's tracks (made when the library has none),
        described as an import describes it (texts cut to the contract's lengths, the media type and
        availability kept: the two never undo each other's metadata)."""
        described = []
        for track in tracks:
            imported = imported_track(track).model_dump(mode="json")
            # The library's API wants a title; an import keeps a provider's empty one as it is.
            imported["title"] = imported["title"] or UNTITLED
            imported.pop("is_local", None)
            if imported["provider_track_id"] is not None:
                imported["provider"] = track.provider.value
            else:  # an id no library can keep: the track as it is described
                imported.pop("provider_track_id")
            described.append(imported)
        return await self._writer.adopt_tracks(self.user_id, described)


LinkEnd = ProviderEnd | LibraryEnd


def link_ends(rt: Runtime, link: Any, author: str) -> tuple[LinkEnd, LinkEnd]:
    """The link's end a and end b (at most one of them a library playlist)."""
    providers = [link["a_provider"], link["b_provider"]]
    ids = [link["a_playlist_id"], link["b_playlist_id"]]
    ends: list[LinkEnd] = []
    for index, (provider, playlist_id) in enumerate(zip(providers, ids, strict=True)):
        if provider == LIBRARY:
            other = ProviderName(providers[1 - index])
            ends.append(LibraryEnd(rt, link["user_id"], playlist_id, other, author))
        else:
            ends.append(ProviderEnd(rt, link["user_id"], ProviderName(provider), playlist_id))
    return ends[0], ends[1]
