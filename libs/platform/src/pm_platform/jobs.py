"""One job shape and lifecycle for every long-running piece of work, in any service.

    queued ──▶ running ──▶ succeeded | failed | cancelled
     │   ▲        │
     │   └──── paused ──▶ cancelled    paused: waits for what only its user can give (consent to a
     │                                 provider again); resume_waiting() puts it back in the queue
     └──────────────────▶ cancelled

Every transition and every progress step is a row change plus a ``job.updated`` event in the same
transaction, so a client sees imports, transfers, exports and enrichment the same way (the gateway
streams the events). The runner claims queued jobs with ``FOR UPDATE SKIP LOCKED``, so any number of
replicas share the work, at most ``WORKER_CONCURRENCY`` at a time per process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from loguru import logger

from pm_contracts.jobs import JobError, JobState, JobUpdated
from pm_platform.metrics import Metrics
from pm_platform.outbox import add_event

TERMINAL: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})
# A worker renews the leases of its running jobs every LEASE / 4; a lease that runs out means the
# worker is gone.
LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 3


class JobNotFound(Exception):
    pass


class JobStateError(Exception):
    """The transition is not allowed from the job's current state."""


class JobCancelled(Exception):
    """Raised inside a job handler when cancellation was requested; the job ends ``cancelled``."""


class JobPaused(Exception):
    """Raised inside a job handler that cannot go on until something outside it happens (the user links
    a provider again): the job pauses, keeping its progress, until :meth:`JobStore.resume_waiting` is
    called with the same ``waiting_for``; then it runs again from the queue (handlers resume from their
    own checkpoints)."""

    def __init__(self, waiting_for: str, code: str, message: str) -> None:
        super().__init__(message)
        self.waiting_for = waiting_for
        self.error = JobError(code=code, message=message, retryable=True)


class JobFailed(Exception):
    """A handler's expected failure: the job ends ``failed`` with this code and message."""

    def __init__(self, code: str, message: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.error = JobError(code=code, message=message, retryable=retryable)


@dataclass(frozen=True)
class Job:
    id: uuid.UUID
    kind: str
    user_id: uuid.UUID | None
    state: JobState
    progress: float
    message: str | None
    params: dict[str, Any]
    result: dict[str, Any] | None
    error: JobError | None
    waiting_for: str | None
    cancel_requested: bool
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Job:
        def _json(value: Any) -> Any:
            return json.loads(value) if isinstance(value, str) else value

        error = _json(row["error"])
        return cls(
            id=row["id"],
            kind=row["kind"],
            user_id=row["user_id"],
            state=row["state"],
            progress=float(row["progress"]),
            message=row["message"],
            params=_json(row["params"]) or {},
            result=_json(row["result"]),
            error=JobError.model_validate(error) if error else None,
            waiting_for=row["waiting_for"],
            cancel_requested=row["cancel_requested"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
        )

    def to_event(self, service: str) -> JobUpdated:
        return JobUpdated(
            job_id=self.id,
            service=service,
            kind=self.kind,
            user_id=self.user_id,
            state=self.state,
            progress=self.progress,
            message=self.message,
            result=self.result,
            error=self.error,
            created_at=self.created_at,
            updated_at=self.updated_at,
            started_at=self.started_at,
            finished_at=self.finished_at,
        )


class JobStore:
    """SQL for the ``jobs`` table; every write also emits ``job.updated`` through the outbox.

    Each method takes a connection inside the caller's transaction (the edge owns the transaction).
    """

    def __init__(self, service: str, schema: str, metrics: Metrics | None = None) -> None:
        self.service = service
        self.schema = schema
        self._metrics = metrics

    async def _emit(self, conn: asyncpg.Connection, row: asyncpg.Record, transition: bool = True) -> Job:
        job = Job.from_row(row)
        await add_event(
            conn,
            schema=self.schema,
            source=self.service,
            event_type="job.updated",
            subject=str(job.id),
            data=job.to_event(self.service),
        )
        if self._metrics is not None and transition:
            self._metrics.jobs.labels(job.kind, job.state).inc()
        return job

    async def create(
        self,
        conn: asyncpg.Connection,
        kind: str,
        user_id: uuid.UUID | None,
        params: dict[str, Any] | None = None,
    ) -> Job:
        row = await conn.fetchrow(
            """INSERT INTO jobs (id, kind, user_id, state, params) VALUES ($1, $2, $3, 'queued', $4::jsonb)
               RETURNING *""",
            uuid.uuid4(),
            kind,
            user_id,
            json.dumps(params or {}),
        )
        assert row is not None
        return await self._emit(conn, row)

    async def get(self, conn: asyncpg.Connection, job_id: uuid.UUID) -> Job:
        row = await conn.fetchrow("SELECT * FROM jobs WHERE id = $1", job_id)
        if row is None:
            raise JobNotFound(str(job_id))
        return Job.from_row(row)

    async def list_for_user(self, conn: asyncpg.Connection, user_id: uuid.UUID, limit: int = 50) -> list[Job]:
        rows = await conn.fetch(
            "SELECT * FROM jobs WHERE user_id = $1 ORDER BY created_at DESC LIMIT $2", user_id, limit
        )
        return [Job.from_row(r) for r in rows]

    async def claim_next(self, conn: asyncpg.Connection, kinds: list[str]) -> Job | None:
        row = await conn.fetchrow(
            """UPDATE jobs SET state = 'running', started_at = now(), updated_at = now(), attempts = attempts + 1,
                              lease_until = now() + $2::interval
               WHERE id = (SELECT id FROM jobs WHERE state = 'queued' AND kind = ANY($1)
                           ORDER BY created_at FOR UPDATE SKIP LOCKED LIMIT 1)
               RETURNING *""",
            kinds,
            LEASE,
        )
        return await self._emit(conn, row) if row is not None else None

    async def report_progress(
        self, conn: asyncpg.Connection, job_id: uuid.UUID, progress: float, message: str | None = None
    ) -> Job:
        row = await conn.fetchrow(
            """UPDATE jobs SET progress = GREATEST(progress, LEAST($2::real, 1)), message = COALESCE($3, message),
                      updated_at = now()
               WHERE id = $1 AND state = 'running' RETURNING *""",
            job_id,
            progress,
            message,
        )
        if row is None:
            raise JobStateError(f"job {job_id} is not running")
        return await self._emit(conn, row, transition=False)

    async def finish(
        self,
        conn: asyncpg.Connection,
        job_id: uuid.UUID,
        state: JobState,
        result: dict[str, Any] | None = None,
        error: JobError | None = None,
    ) -> Job:
        if state not in TERMINAL:
            raise JobStateError(f"{state} is not a terminal state")
        row = await conn.fetchrow(
            """UPDATE jobs SET state = $2, result = $3::jsonb, error = $4::jsonb, finished_at = now(),
                      updated_at = now(), progress = CASE WHEN $2 = 'succeeded' THEN 1 ELSE progress END
               WHERE id = $1 AND state IN ('queued', 'running', 'paused') RETURNING *""",
            job_id,
            state,
            json.dumps(result) if result is not None else None,
            error.model_dump_json() if error is not None else None,
        )
        if row is None:
            raise JobStateError(f"job {job_id} has already finished")
        return await self._emit(conn, row)

    async def pause(
        self, conn: asyncpg.Connection, job_id: uuid.UUID, waiting_for: str, error: JobError
    ) -> Job:
        """A running job waits for ``waiting_for``; its progress stays."""
        row = await conn.fetchrow(
            """UPDATE jobs SET state = 'paused', waiting_for = $2, error = $3::jsonb, lease_until = NULL,
                      updated_at = now()
               WHERE id = $1 AND state = 'running' RETURNING *""",
            job_id,
            waiting_for,
            error.model_dump_json(),
        )
        if row is None:
            raise JobStateError(f"job {job_id} is not running")
        return await self._emit(conn, row)

    async def resume_waiting(
        self, conn: asyncpg.Connection, user_id: uuid.UUID, waiting_for: str
    ) -> list[Job]:
        """Back to the queue: the user's jobs paused for ``waiting_for`` (idempotent)."""
        rows = await conn.fetch(
            """UPDATE jobs SET state = 'queued', waiting_for = NULL, error = NULL, started_at = NULL,
                      updated_at = now()
               WHERE user_id = $1 AND state = 'paused' AND waiting_for = $2 RETURNING *""",
            user_id,
            waiting_for,
        )
        return [await self._emit(conn, row) for row in rows]

    async def request_cancel(self, conn: asyncpg.Connection, job_id: uuid.UUID) -> Job:
        """A queued or paused job is cancelled at once; a running one stops at its next progress check.

        The row is locked first, so a runner cannot claim the job between the check and the change.
        """
        row = await conn.fetchrow("SELECT * FROM jobs WHERE id = $1 FOR UPDATE", job_id)
        if row is None:
            raise JobNotFound(str(job_id))
        if row["state"] in ("queued", "paused"):
            return await self.finish(conn, job_id, "cancelled")
        if row["state"] in TERMINAL:
            raise JobStateError(f"job {job_id} has already finished")
        row = await conn.fetchrow(
            """UPDATE jobs SET cancel_requested = true, message = 'cancellation requested', updated_at = now()
               WHERE id = $1 AND state = 'running' RETURNING *""",
            job_id,
        )
        assert row is not None
        return await self._emit(conn, row, transition=False)

    async def renew_leases(self, conn: asyncpg.Connection, job_ids: list[uuid.UUID]) -> None:
        await conn.execute(
            "UPDATE jobs SET lease_until = now() + $2::interval WHERE id = ANY($1) AND state = 'running'",
            job_ids,
            LEASE,
        )

    async def recover_abandoned(
        self, conn: asyncpg.Connection, max_attempts: int = MAX_ATTEMPTS
    ) -> list[Job]:
        """Running jobs whose lease ran out lost their worker: back to the queue, or failed after
        ``max_attempts`` (a job that kills its worker every time must not loop forever)."""
        rows = await conn.fetch(
            """SELECT id, attempts FROM jobs WHERE state = 'running' AND lease_until < now()
               FOR UPDATE SKIP LOCKED LIMIT 100"""
        )
        recovered: list[Job] = []
        for row in rows:
            if row["attempts"] >= max_attempts:
                error = JobError(code="worker-lost", message="the job's worker stopped too many times")
                recovered.append(await self.finish(conn, row["id"], "failed", error=error))
            elif (job := await self.requeue(conn, row["id"])) is not None:
                recovered.append(job)
        return recovered

    async def requeue(self, conn: asyncpg.Connection, job_id: uuid.UUID) -> Job | None:
        """Put a running job back in the queue (its worker stopped); None if it is no longer running."""
        row = await conn.fetchrow(
            """UPDATE jobs SET state = 'queued', started_at = NULL, lease_until = NULL, updated_at = now()
               WHERE id = $1 AND state = 'running' RETURNING *""",
            job_id,
        )
        return await self._emit(conn, row) if row is not None else None

    async def delete_for_user(self, conn: asyncpg.Connection, user_id: uuid.UUID) -> int:
        result = await conn.execute("DELETE FROM jobs WHERE user_id = $1", user_id)
        return int(result.split()[-1])


class JobContext:
    """What a running job handler sees: its job, progress reporting and cancellation."""

    def __init__(self, pool: asyncpg.Pool, store: JobStore, job: Job, min_interval_s: float = 0.5) -> None:
        self.job = job
        self._pool = pool
        self._store = store
        self._min_interval_s = min_interval_s
        self._last_report = 0.0

    async def progress(self, fraction: float, message: str | None = None, force: bool = False) -> None:
        """Record progress (throttled) and raise JobCancelled if cancellation was requested."""
        loop = asyncio.get_running_loop()
        if not force and loop.time() - self._last_report < self._min_interval_s:
            return
        self._last_report = loop.time()
        async with self._pool.acquire() as conn, conn.transaction():
            if await conn.fetchval("SELECT cancel_requested FROM jobs WHERE id = $1", self.job.id):
                raise JobCancelled()
            self.job = await self._store.report_progress(conn, self.job.id, fraction, message)


JobHandler = Callable[[JobContext], Awaitable[dict[str, Any] | None]]


class JobRunner:
    """Runs queued jobs of the kinds it has handlers for, ``concurrency`` at a time."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        store: JobStore,
        handlers: dict[str, JobHandler],
        concurrency: int,
        poll_interval_s: float = 1.0,
    ) -> None:
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
        """Renew the leases of this runner's jobs; put back jobs whose worker disappeared."""
        while True:
            await asyncio.sleep(LEASE.total_seconds() / 4)
            try:
                async with self._pool.acquire() as conn, conn.transaction():
                    running = [uuid.UUID(t.get_name().removeprefix("job-")) for t in self._tasks]
                    if running:
                        await self._store.renew_leases(conn, running)
                    for job in await self._store.recover_abandoned(conn):
                        logger.warning("job {} ({}) lost its worker: now {}", job.id, job.kind, job.state)
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
        ctx = JobContext(self._pool, self._store, job)
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
                    await self._store.requeue(conn, job.id)
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
        await self._record_outcome(job, state, result, error, paused)

    async def _record_outcome(
        self,
        job: Job,
        state: JobState,
        result: dict[str, Any] | None,
        error: JobError | None,
        paused: JobPaused | None = None,
    ) -> None:
        """Store how the job ended (or that it paused), retrying while the database is away (the work is
        already done)."""
        for attempt in range(1, 6):
            try:
                async with self._pool.acquire() as conn, conn.transaction():
                    if paused is not None:
                        await self._store.pause(conn, job.id, paused.waiting_for, paused.error)
                    else:
                        await self._store.finish(conn, job.id, state, result=result, error=error)
                return
            except JobStateError:
                return  # cancelled while finishing
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                logger.warning("recording job {} as {} failed ({}), attempt {}", job.id, state, exc, attempt)
                await asyncio.sleep(0.5 * 2**attempt)
        logger.error("job {} finished {} but the outcome could not be stored", job.id, state)
