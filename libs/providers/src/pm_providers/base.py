"""The one interface every provider adapter implements, and what they share.

Reads are async iterators that fetch every page lazily, in order. Writes are batched at the
provider's maximum per request; a write that stops part-way raises :class:`PartialWrite` naming what
was written, what was not sent and the batch whose outcome is unknown. Callers can follow a write
(and stop it between batches) through a :class:`WriteProgress`; if the task itself is cancelled the
``CancelledError`` propagates unchanged and the progress object still tells the truth.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, TypeVar

from pm_platform.logging import logger
from pm_providers.domain.batching import chunks
from pm_providers.domain.reorder import plan_replace
from pm_providers.errors import InvalidRequest, PartialWrite, ProviderError, ProviderUnavailable
from pm_providers.models import (
    ProviderLimits,
    ProviderName,
    ProviderPlaylist,
    ProviderTrack,
    ProviderUser,
    WriteResult,
)

R = TypeVar("R")


@dataclass
class WriteProgress:
    """Live state of one batched write, owned by the caller.

    ``written``: items the provider confirmed, in order; ``in_flight``: the batch sent but not yet
    answered (after a cancellation: its outcome is unknown). :meth:`request_cancel` stops the write
    after the batch in flight, which then raises :class:`PartialWrite` with nothing uncertain.
    ``on_batch`` is called after every confirmed batch (report progress, decide to cancel there).
    """

    items: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    in_flight: list[str] = field(default_factory=list)
    cancel_requested: bool = False
    batches_sent: int = 0
    on_batch: Callable[[WriteProgress], None] | None = None

    def request_cancel(self) -> None:
        self.cancel_requested = True

    @property
    def remaining(self) -> list[str]:
        done = len(self.written) + len(self.in_flight)
        return self.items[done:]


def normalised_isrcs(isrcs: Sequence[str]) -> list[str]:
    """Each ISRC once, upper case and trimmed, in order; blanks dropped."""
    return list(dict.fromkeys(i.strip().upper() for i in isrcs if i and i.strip()))


def entry_key(entry: ProviderTrack) -> Hashable:
    """Identity of a playlist entry within one read: its position (or the provider's item id)."""
    if entry.position is not None:
        return entry.position
    if entry.item_id is not None:
        return entry.item_id
    raise InvalidRequest("playlist entries need a position or item id (read them from the playlist)")


class ProviderAdapter(ABC):
    """One provider behind the common interface. Instances are per user (they hold its token source)."""

    name: ClassVar[ProviderName]
    limits: ClassVar[ProviderLimits]

    # ------------------------------------------------------------------ reads

    @abstractmethod
    async def current_user(self) -> ProviderUser:
        """The user the token belongs to."""

    @abstractmethod
    def playlists(self) -> AsyncIterator[ProviderPlaylist]:
        """The user's playlists, every page (owned and, where the provider lists them, followed)."""

    @abstractmethod
    async def playlist(self, playlist_id: str) -> ProviderPlaylist:
        """One playlist's details."""

    @abstractmethod
    def playlist_tracks(self, playlist_id: str) -> AsyncIterator[ProviderTrack]:
        """The playlist's entries in order, every page, each with its ``position``."""

    @abstractmethod
    def liked_tracks(self) -> AsyncIterator[ProviderTrack]:
        """Liked / saved / loved tracks, newest first, every page."""

    @abstractmethod
    async def search_isrc(self, isrc: str) -> list[ProviderTrack]:
        """Tracks with this ISRC (several for re-releases; empty when the provider has no ISRC search)."""

    @abstractmethod
    async def search_tracks(
        self,
        *,
        title: str | None = None,
        artist: str | None = None,
        album: str | None = None,
        query: str | None = None,
        limit: int = 10,
    ) -> list[ProviderTrack]:
        """Text search; title/artist/album become field filters where the provider has them."""

    async def search_isrcs(self, isrcs: Sequence[str]) -> dict[str, list[ProviderTrack]]:
        """Tracks for each of several ISRCs (normalised: upper case, trimmed), in as few calls as the
        provider allows (``limits.isrc_lookup_batch`` per call); an ISRC nothing has maps to []."""
        found: dict[str, list[ProviderTrack]] = {}
        for isrc in normalised_isrcs(isrcs):
            found[isrc] = await self.search_isrc(isrc)
        return found

    async def remaining_search_quota(self) -> int | None:
        """Searches left today under a daily search quota (YouTube); None when there is none."""
        return None

    async def would_exceed(self, *, searches: int = 0, reads: int = 0, writes: int = 0) -> bool:
        """Whether that many calls would exceed today's quota (always False without a daily quota)."""
        return False

    async def read_all(self, playlist_id: str) -> list[ProviderTrack]:
        return [t async for t in self.playlist_tracks(playlist_id)]

    # ------------------------------------------------------------------ writes

    @abstractmethod
    async def create_playlist(
        self, name: str, *, description: str = "", public: bool = False
    ) -> ProviderPlaylist:
        """Create an empty playlist (names longer than ``limits.max_name_length`` are cut)."""

    @abstractmethod
    async def add_tracks(
        self, playlist_id: str, track_ids: Sequence[str], *, progress: WriteProgress | None = None
    ) -> WriteResult:
        """Append tracks in batches of ``limits.max_add_batch``, in order."""

    @abstractmethod
    async def remove_tracks(
        self,
        playlist_id: str,
        entries: Sequence[ProviderTrack],
        *,
        snapshot_id: str | None = None,
        progress: WriteProgress | None = None,
    ) -> WriteResult:
        """Remove these entries (as read from the playlist: positions / item ids identify them)."""

    @abstractmethod
    async def reorder(
        self,
        playlist_id: str,
        current: Sequence[ProviderTrack],
        target: Sequence[ProviderTrack],
        *,
        snapshot_id: str | None = None,
    ) -> WriteResult:
        """Reorder: ``target`` is ``current`` (entries as read) in the wanted order."""

    @abstractmethod
    async def insert_tracks(
        self,
        playlist_id: str,
        track_ids: Sequence[str],
        *,
        index: int,
        before: ProviderTrack | None,
        progress: WriteProgress | None = None,
    ) -> WriteResult:
        """Insert so the first track lands at ``index``, right before entry ``before`` (None: append)."""

    @abstractmethod
    async def update_details(
        self,
        playlist_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        public: bool | None = None,
    ) -> None:
        """Rename / describe / change visibility."""

    @abstractmethod
    async def delete_playlist(self, playlist_id: str) -> None:
        """Delete an owned playlist, unfollow another's."""

    async def replace_tracks(
        self,
        playlist_id: str,
        track_ids: Sequence[str],
        *,
        current: Sequence[ProviderTrack] | None = None,
        progress: WriteProgress | None = None,
    ) -> WriteResult:
        """Make the playlist exactly ``track_ids`` with the fewest edits: remove what goes, reorder
        what stays, insert what is new (entries that stay keep their added-at dates).

        ``current``: the entries as just read (saves reading them again).
        """
        if current is None:
            current = await self.read_all(playlist_id)
        plan = plan_replace([t.id for t in current], list(track_ids))
        removed = moved = written = 0
        skipped: list[str] = []
        snapshot: str | None = None
        if plan.remove:
            res = await self.remove_tracks(playlist_id, [current[i] for i in plan.remove])
            removed, snapshot = res.removed, res.snapshot_id
        kept = [current[i] for i in plan.kept_in_current_order]
        target = [current[i] for i in plan.keep_order]
        if kept != target:
            res = await self.reorder(playlist_id, kept, target, snapshot_id=snapshot)
            moved, snapshot = res.moved, res.snapshot_id or snapshot
        for ins in plan.inserts:
            before = current[ins.before] if ins.before is not None else None
            res = await self.insert_tracks(
                playlist_id, list(ins.ids), index=ins.index, before=before, progress=progress
            )
            written += res.written
            skipped += res.skipped
            snapshot = res.snapshot_id or snapshot
        return WriteResult(
            written=written, removed=removed, moved=moved, skipped=tuple(skipped), snapshot_id=snapshot
        )

    # ------------------------------------------------------------------ shared machinery

    async def _write_batches(
        self,
        items: Sequence[str],
        batch_size: int,
        send: Callable[[list[str], int], Awaitable[R]],
        progress: WriteProgress | None,
        what: str,
    ) -> list[R]:
        """Send ``items`` in batches (``send(batch, offset)``), keeping ``progress`` true at every point.

        A failure after something was written (or with an uncertain batch) raises PartialWrite; a
        failure of the first batch that certainly wrote nothing raises the provider's error itself.
        """
        progress = progress if progress is not None else WriteProgress()
        progress.items = list(items)
        progress.written = []
        progress.in_flight = []
        results: list[R] = []
        offset = 0
        for batch in chunks(items, batch_size):
            if progress.cancel_requested:
                raise PartialWrite(
                    f"{what} cancelled after {len(progress.written)} of {len(items)}",
                    written=progress.written,
                    remaining=items[offset:],
                    provider=self.name,
                )
            progress.in_flight = batch
            try:
                results.append(await send(batch, offset))
            except asyncio.CancelledError:
                logger.warning(
                    "{} {} cancelled: {} written, a batch of {} in flight (outcome unknown), {} not sent",
                    self.name.value,
                    what,
                    len(progress.written),
                    len(batch),
                    len(items) - offset - len(batch),
                )
                raise
            except ProviderError as err:
                uncertain = batch if isinstance(err, ProviderUnavailable) and err.uncertain else []
                progress.in_flight = list(uncertain)
                if not progress.written and not uncertain:
                    raise
                raise PartialWrite(
                    f"{what} stopped after {len(progress.written)} of {len(items)}: {err.message}",
                    written=progress.written,
                    remaining=items[offset + len(uncertain) :],
                    uncertain_batch=uncertain,
                    cause=err,
                    provider=self.name,
                ) from err
            progress.written = progress.written + batch
            progress.in_flight = []
            progress.batches_sent += 1
            offset += len(batch)
            if progress.on_batch is not None:
                progress.on_batch(progress)
        return results
