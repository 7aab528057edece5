"""Claiming and running queued jobs, renewing their leases, recording how they ended."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import asyncpg
from loguru import logger

from pm_contracts.jobs import JobError, JobState
from pm_platform.jobs.context import JobContext
from pm_platform.jobs.model import Job, JobCancelled, JobFailed, JobPaused, JobStateError
from pm_platform.jobs.store import JobStore
from pm_platform.retry import Backoff

if TYPE_CHECKING:
    from pm_platform.service import Runtime

# A job kind's handler: its result (stored on the job) or None; raises JobFailed, JobPaused or JobCancelled.
JobHandler = Callable[[JobContext], Awaitable[dict[str, Any] | None]]


class JobRunner:
    """Runs queued jobs of the kinds it has handlers for, ``concurrency`` at a time."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        store: JobStore,
        handlers: Mapping[str, JobHandler],
        concurrency: int,
        poll_interval_s: float = 1.0,
        runtime: Runtime | None = None,
        upkeep_interval_s: float | None = None,
        progress_interval_s: float = 0.5,
    ) -> None:
        """``upkeep_interval_s``: how often leases are renewed, abandoned jobs put back and paused jobs
        whose ``resume_at`` has passed resumed (a quarter of the lease; shorter only in tests).
        ``progress_interval_s``: a job's progress is recorded at most this often (unless forced)."""
        self._runtime = runtime
        self._progress_interval_s = progress_interval_s
        self._upkeep_interval_s = (
            upkeep_interval_s if upkeep_interval_s is not None else store.lease.total_seconds() / 4
        )
        self._pool = pool
        self._store = store
        self._handlers = handlers
        self._slots = asyncio.Semaphore(concurrency)
        self._poll_interval_s = poll_interval_s
        self._tasks: set[asyncio.Task[None]] = set()
        self.wake = asyncio.Event()

    async def run(self) -> None:
        if not self._handlers:
            return
        upkeep = asyncio.create_task(self._upkeep(), name="job-leases")
        try:
            while True:
                await self._slots.acquire()
                job = await self._claim()
                if job is None:
                    self._slots.release()
                    self.wake.clear()
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self.wake.wait(), self._poll_interval_s)
                    continue
                task = asyncio.create_task(self._execute(job), name=f"job-{job.id}")
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        finally:
            upkeep.cancel()
            running = list(self._tasks)
            for task in running:
                task.cancel()
            # Wait for them: each puts its job back in the queue before the pool closes.
            await asyncio.gather(*running, return_exceptions=True)

    async def _upkeep(self) -> None:
        """Renew the leases of this runner's jobs; put back jobs whose worker disappeared, and paused
        jobs whose ``resume_at`` has passed (by this process's clock, the one handlers compute it in)."""
        while True:
            await asyncio.sleep(self._upkeep_interval_s)
            try:
                async with self._pool.acquire() as conn, conn.transaction():
                    running = [uuid.UUID(t.get_name().removeprefix("job-")) for t in self._tasks]
                    if running:
                        await self._store.renew_leases(conn, running)
                    for job in await self._store.recover_abandoned(conn):
                        logger.warning("job {} ({}) lost its worker: now {}", job.id, job.kind, job.state)
                    resumed = await self._store.resume_due(conn, datetime.now(UTC))
                for job in resumed:
                    logger.info("job {} ({}) resumed: its pause ended", job.id, job.kind)
                if resumed:
                    self.wake.set()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                logger.warning("job lease upkeep failed ({})", type(exc).__name__)

    async def _claim(self) -> Job | None:
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                return await self._store.claim_next(conn, list(self._handlers))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            logger.warning("job runner cannot reach the database ({})", type(exc).__name__)
            return None

    async def _execute(self, job: Job) -> None:
        ctx = JobContext(
            self._pool, self._store, job, min_interval_s=self._progress_interval_s, runtime=self._runtime
        )
        state: JobState = "succeeded"
        result: dict[str, Any] | None = None
        error: JobError | None = None
        paused: JobPaused | None = None
        try:
            result = await self._handlers[job.kind](ctx)
        except JobCancelled:
            state = "cancelled"
        except JobPaused as exc:
            state, paused = "paused", exc
        except JobFailed as exc:
            state, error = "failed", exc.error
        except asyncio.CancelledError:
            # The process is stopping: put the job back (with its event) so another worker picks it up.
            try:
                async with self._pool.acquire() as conn, conn.transaction():
                    await self._store.requeue(conn, job.id, stopped_cleanly=True)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                logger.warning("job {} could not be put back in the queue: {}", job.id, type(exc).__name__)
            raise
        except Exception as exc:  # noqa: BLE001 - a failing job ends failed; the runner lives on
            logger.exception("job {} ({}) failed", job.id, job.kind)
            state, error = (
                "failed",
                JobError(code="internal-error", message=type(exc).__name__, retryable=True),
            )
        finally:
            self._slots.release()
        await self._record_outcome(job, state, result, error, paused, ctx.last_message)

    async def _record_outcome(
        self,
        job: Job,
        state: JobState,
        result: dict[str, Any] | None,
        error: JobError | None,
        paused: JobPaused | None = None,
        message: str | None = None,
    ) -> None:
        """Store how the job ended (or that it paused), retrying while the database is away (the work is
        already done)."""
        backoff = Backoff(initial_s=1.0, max_s=16.0)
        for attempt in range(1, 6):
            try:
                async with self._pool.acquire() as conn, conn.transaction():
                    if paused is not None:
                        await self._store.pause(
                            conn, job.id, paused.waiting_for, paused.error, paused.resume_at
                        )
                    else:
                        await self._store.finish(
                            conn, job.id, state, result=result, error=error, message=message
                        )
                return
            except JobStateError:
                return  # cancelled while finishing
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                logger.warning("recording job {} as {} failed ({}), attempt {}", job.id, state, exc, attempt)
                await backoff.sleep()
        logger.error("job {} finished {} but the outcome could not be stored", job.id, state)
