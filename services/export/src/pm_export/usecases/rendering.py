"""What exports, imports and backups share: writing a file from the library's pages in a worker thread,
its digest, and reading spooled entries back in the parts of the library's events.

:class:`LibraryPages` lets a writer in a worker thread pull the entries of the user's playlists page by
page (500 entries a read): each page is fetched on the event loop and handed over, so one page at a time
is in memory whatever the library's size, and the job's progress follows the entries written. A job
that stops (failed, cancelled) stops the thread at its next page.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from pm_contracts.library import MAX_ENTRIES_PER_PART
from pm_export.domain.imports import parts_of
from pm_export.resources import LIBRARY
from pm_platform.internal import LIBRARY_PAGE
from pm_platform.jobs import JobContext

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
# The share of a job's progress that writing takes; storing the file is the rest.
WRITTEN = 0.95
HASH_CHUNK = 1 << 20


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

    def entries(self, playlist: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The playlist's entries (the library's public answers), in order; called in the thread."""
        assert self._loop is not None, "entries() is for the thread run() starts"
        offset: int | None = 0
        while offset is not None:
            if self._stop.is_set():
                raise asyncio.CancelledError()
            future = asyncio.run_coroutine_threadsafe(
                self._page(uuid.UUID(playlist["id"]), offset), self._loop
            )
            body = future.result()
            yield from body["entries"]["items"]
            offset = body["entries"].get("next_offset")

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


def spooled_parts(path: Path, model: type[M], count: int) -> Iterator[tuple[int, int, list[M]]]:
    """The ``count`` entries spooled at ``path`` (JSON lines of ``model``), as (part, parts, entries) of
    at most MAX_ENTRIES_PER_PART each: one part, empty, when there are none."""
    parts = parts_of(count)
    with path.open(encoding="utf-8") as spooled:
        for part in range(1, parts + 1):
            lines = zip(range(MAX_ENTRIES_PER_PART), spooled, strict=False)
            yield part, parts, [model.model_validate(json.loads(line)) for _, line in lines]
