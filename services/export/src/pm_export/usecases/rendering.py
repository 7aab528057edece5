"""What exports, imports and backups share: writing a file from the library's pages in a worker thread,
its digest, and reading spooled entries back in the parts of the library's events.

:class:`LibraryPages` lets a writer in a worker thread pull the entries of the user's playlists page by
page (500 entries a read), and a playlist's kept versions with their diffs: each read is made on the event
loop and handed over, so one page at a time is in memory whatever the library's size, and the job's
progress follows the entries written. A job that stops (failed, cancelled) stops the thread at its next
read. A playlist edited while its pages are read (its version changes between them) raises
:class:`PlaylistChanged`: what was written would mix two versions.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import threading
import uuid
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from pm_contracts.library import MAX_ENTRIES_PER_PART
from pm_export.resources import LIBRARY
from pm_platform.internal import LIBRARY_PAGE
from pm_platform.jobs import JobContext
from pm_platform.outbox import MAX_EVENT_BYTES

T = TypeVar("T")
# The share of a job's progress that writing takes; storing the file is the rest.
WRITTEN = 0.95
HASH_CHUNK = 1 << 20
# A part's items at most, as JSON, beside the rest of its event: the event stays under the outbox's limit
# (pm_platform.outbox.MAX_EVENT_BYTES) even when its items are far larger than usual (versions with long
# descriptions, tracks of fifty artists); 2,000 usual entries (~400 bytes each) fit. ENVELOPE_BYTES: the
# CloudEvents attributes around the data, generously.
ENVELOPE_BYTES = 4_000
MAX_PART_BYTES = MAX_EVENT_BYTES - ENVELOPE_BYTES


class PlaylistChanged(Exception):
    """A playlist changed while it was being read: its pages would mix two versions (read it again)."""


class LibraryPages:
    def __init__(self, ctx: JobContext, user_id: uuid.UUID, playlists: list[dict[str, Any]]) -> None:
        self._ctx, self._user_id = ctx, user_id
        self._library = ctx.runtime[LIBRARY]
        self._total = max(1, sum(int(p.get("entry_count") or 0) for p in playlists))
        self._stop = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.written = 0

    async def _page(self, playlist_id: uuid.UUID, offset: int) -> dict[str, Any]:
        body: dict[str, Any] = await self._library.page(self._user_id, playlist_id, offset, LIBRARY_PAGE)
        self.written += len(body["entries"]["items"])
        share = WRITTEN * min(1.0, self.written / self._total)
        await self._ctx.progress(share, f"{self.written} of {self._total} entries written")
        return body

    def _call(self, read: Coroutine[Any, Any, T]) -> T:
        """``read`` run on the event loop, from the thread."""
        assert self._loop is not None, "reads are for the thread run() starts"
        if self._stop.is_set():
            read.close()
            raise asyncio.CancelledError()
        return asyncio.run_coroutine_threadsafe(read, self._loop).result()

    def read(self, playlist: dict[str, Any]) -> tuple[dict[str, Any], Iterator[dict[str, Any]]]:
        """The playlist's details (its public answer when its first page was read) and its entries in
        order, every page of that same version; called in the thread."""
        playlist_id = uuid.UUID(playlist["id"])
        first = self._call(self._page(playlist_id, 0))
        details = {k: v for k, v in first.items() if k != "entries"}

        def entries() -> Iterator[dict[str, Any]]:
            body = first
            while True:
                yield from body["entries"]["items"]
                offset = body["entries"].get("next_offset")
                if offset is None:
                    return
                body = self._call(self._page(playlist_id, offset))
                if body.get("version") != details.get("version"):
                    raise PlaylistChanged(playlist["id"])

        return details, entries()

    def entries(self, playlist: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The playlist's entries (the library's public answers), in order; called in the thread."""
        return self.read(playlist)[1]

    def versions(self, playlist_id: uuid.UUID, newest: int, oldest: int) -> Iterator[dict[str, Any]]:
        """The playlist's versions from ``newest`` down to ``oldest`` as its history lists them; called in
        the thread. A version newer than ``newest`` is never listed (the playlist changed since its pages
        were read: it is not in this backup)."""
        before: int | None = newest + 1
        while before is not None:
            page = self._call(self._library.versions(self._user_id, playlist_id, before))
            for version in page["versions"]:
                if version["version"] < oldest:
                    return
                yield version
            before = page.get("next_before")

    def diff(self, playlist_id: uuid.UUID, older: int, newer: int) -> dict[str, Any]:
        """What changed from version ``older`` to ``newer`` (the library's diff); called in the thread."""
        return self._call(self._library.diff(self._user_id, playlist_id, older, newer))

    async def run(self, write: Callable[[], T]) -> T:
        """``write()`` in a worker thread, its pages fetched here."""
        self._loop = asyncio.get_running_loop()
        try:
            return await asyncio.to_thread(write)
        finally:
            self._stop.set()


def size_and_digest(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as stored:
        while chunk := stored.read(HASH_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Spooled:
    """Items spooled to a file as JSON lines of ``model``."""

    path: Path
    model: type[BaseModel]


def spooled_parts(
    spools: Sequence[Spooled], max_bytes: int = MAX_PART_BYTES
) -> Iterator[tuple[int, int, list[list[Any]]]]:
    """Every item spooled at ``spools`` in order (those of the first file, then of the next…) as
    (part, parts, the part's items of each file) of at most MAX_ENTRIES_PER_PART items and ``max_bytes``
    of JSON each (what the event leaves for them): one part, empty, when there are none. The parts are
    counted first (each event names how many there are), then read one at a time."""
    sizes: list[int] = []
    items = size = 0
    for spool in spools:
        with spool.path.open("rb") as spooled:
            for line in spooled:
                if items and (items == MAX_ENTRIES_PER_PART or size + len(line) > max_bytes):
                    sizes.append(items)
                    items = size = 0
                items += 1
                size += len(line)
    sizes.append(items)
    with contextlib.ExitStack() as files:
        readers = [files.enter_context(spool.path.open(encoding="utf-8")) for spool in spools]
        current = 0
        for part, count in enumerate(sizes, start=1):
            found: list[list[Any]] = [[] for _ in spools]
            while count:
                item = readers[current].readline()
                if not item:
                    current += 1
                    continue
                found[current].append(spools[current].model.model_validate_json(item))
                count -= 1
            yield part, len(sizes), found
