"""Secret files a running process re-reads without a restart: on SIGHUP, and when they change.

One registry per process (``Runtime.reloads``), run by the chassis: it installs the one SIGHUP handler a
process can have (so no service installs its own) and every ``SECRET_FILE_WATCH_INTERVAL_S`` compares
each registered file's (mtime, size) with what it saw last. A registration is a name, the files it
watches and an async reload that re-reads them; the reload decides whether to take what it read and
reports its own errors (it keeps the keys in use on any problem: see auth's master keys, the identity
keys). Registered today: the identity public keys (every service, ``IDENTITY_PUBLIC_KEYS_FILE``), the
gateway's identity signing key (``IDENTITY_SIGNING_KEY_FILE``), auth's master keys (``MASTER_KEY_FILE``,
``MASTER_KEY_PREVIOUS_FILE``). docs/operations.md has the rotations that rely on it.

Guarantees: reloads never run concurrently with each other (one lock), run in registration order (so the
chassis's public keys are re-read before the gateway's signing key, which must be among them), and a
reload that raises is logged and does not stop the others or the watcher.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass

from loguru import logger

from pm_platform.tasks import cancel_and_wait

Reload = Callable[[], Awaitable[object]]
Fingerprint = tuple[tuple[str, float, int], ...]


def fingerprint(paths: Iterable[str]) -> Fingerprint:
    """(path, mtime, size) of each file; a missing or unreadable one is (path, -1, -1)."""
    marks = []
    for path in paths:
        try:
            st = os.stat(path)
            marks.append((path, st.st_mtime, st.st_size))
        except OSError:
            marks.append((path, -1.0, -1))
    return tuple(marks)


@dataclass
class _Registration:
    name: str
    paths: tuple[str, ...]
    reload: Reload
    seen: Fingerprint


class Reloads:
    """The registry of reloadable secret files. :meth:`run` is the resource context that watches them."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._registrations: list[_Registration] = []
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        # Whether SIGHUP reaches :meth:`reload_soon` (only a process's main thread may install it).
        self.listening_to_sighup = False

    @contextlib.contextmanager
    def registered(self, name: str, paths: Iterable[str], reload: Reload) -> Iterator[None]:
        """Call ``reload`` on SIGHUP and when one of ``paths`` changes, while inside the block.

        ``paths`` may be empty: then SIGHUP alone triggers the reload."""
        entry = _Registration(name, tuple(paths), reload, fingerprint(paths))
        self._registrations.append(entry)
        try:
            yield
        finally:
            self._registrations.remove(entry)

    @property
    def names(self) -> list[str]:
        return [r.name for r in self._registrations]

    async def _reload(self, entry: _Registration) -> None:
        # The fingerprint first: a change while the files are read is seen by the next poll.
        entry.seen = fingerprint(entry.paths)
        try:
            await entry.reload()
        except Exception:  # noqa: BLE001 - one broken reload must not stop the others or the watcher
            logger.exception("reloading {} failed", entry.name)

    async def reload_all(self) -> None:
        """Re-read everything registered (what SIGHUP does), in registration order."""
        async with self._lock:
            logger.info("reloading {}", ", ".join(self.names) or "nothing (no secret files registered)")
            for entry in list(self._registrations):
                await self._reload(entry)

    async def reload_changed(self) -> list[str]:
        """Re-read the registrations whose files changed since last seen (one poll); their names."""
        async with self._lock:
            changed = [r for r in self._registrations if r.paths and fingerprint(r.paths) != r.seen]
            for entry in changed:
                logger.info("{} changed on disk: reloading", entry.name)
                await self._reload(entry)
        return [r.name for r in changed]

    def reload_soon(self) -> None:
        """For the SIGHUP handler (synchronous): :meth:`reload_all` in a task."""
        task = asyncio.get_running_loop().create_task(self.reload_all(), name="secret-files-reload")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            await self.reload_changed()

    async def run(self) -> AsyncIterator[None]:
        """Install the SIGHUP handler and poll the files every ``interval_s`` (0: SIGHUP only) while
        the caller is suspended at the ``yield``. A resource context."""
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGHUP, self.reload_soon)
            self.listening_to_sighup = True
        task = asyncio.create_task(self._poll(), name="secret-files-watch") if self.interval_s > 0 else None
        try:
            yield
        finally:
            await cancel_and_wait(task)
            for pending in list(self._tasks):
                await cancel_and_wait(pending)
            if self.listening_to_sighup:
                loop.remove_signal_handler(signal.SIGHUP)
                self.listening_to_sighup = False
