"""What a running job handler sees: its job, progress reporting and cancellation."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import asyncpg

from pm_platform.jobs.model import Job, JobCancelled
from pm_platform.jobs.store import JobStore

if TYPE_CHECKING:
    from pm_platform.service import Runtime


class JobContext:
    """What a running job handler sees: its job, progress reporting and cancellation."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        store: JobStore,
        job: Job,
        min_interval_s: float = 0.5,
        runtime: Runtime | None = None,
    ) -> None:
        self.job = job
        self._runtime = runtime
        self._pool = pool
        self._store = store
        self._min_interval_s = min_interval_s
        self._last_report = 0.0
        # The handler's latest message, recorded or not: a job that succeeds ends with it, not with the
        # last one the throttle let through.
        self.last_message: str | None = None

    async def progress(self, fraction: float, message: str | None = None, force: bool = False) -> None:
        """Record progress (throttled) and raise JobCancelled if cancellation was requested."""
        if message is not None:
            self.last_message = message
        loop = asyncio.get_running_loop()
        if not force and loop.time() - self._last_report < self._min_interval_s:
            return
        self._last_report = loop.time()
        async with self._pool.acquire() as conn, conn.transaction():
            if await self._store.cancel_requested(conn, self.job.id):
                raise JobCancelled()
            self.job = await self._store.report_progress(conn, self.job.id, fraction, message)

    @property
    def runtime(self) -> Runtime:
        """The service's runtime (its pool, resources, settings), as event handlers get it."""
        if self._runtime is None:
            raise RuntimeError("this job runs without a service runtime")
        return self._runtime

    @property
    def params(self) -> dict[str, Any]:
        return self.job.params

    @property
    def checkpoint(self) -> dict[str, Any]:
        """What an earlier run of this job saved to resume from (``JobStore.save_checkpoint``), or {}."""
        return self.job.checkpoint or {}
