"""SQL for the ``jobs`` table; every write also emits ``job.updated`` through the outbox."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from pm_contracts.jobs import JobError, JobState
from pm_platform.db import lock_until_commit
from pm_platform.jobs.model import LEASE, MAX_ATTEMPTS, TERMINAL, Job, JobNotFound, JobStateError
from pm_platform.metrics import Metrics
from pm_platform.outbox import add_event


class JobStore:
    """SQL for the ``jobs`` table; every write also emits ``job.updated`` through the outbox.

    Each method takes a connection inside the caller's transaction (the edge owns the transaction).
    """

    def __init__(
        self, service: str, schema: str, metrics: Metrics | None = None, lease: timedelta = LEASE
    ) -> None:
        """``lease``: how long a claimed job stays its worker's without a renewal (JOB_LEASE_S)."""
        self.service = service
        self.schema = schema
        self._metrics = metrics
        self.lease = lease

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

    async def create_unless_active(
        self,
        conn: asyncpg.Connection,
        kind: str,
        user_id: uuid.UUID,
        params: dict[str, Any] | None = None,
        active: Sequence[JobState] = ("queued", "running"),
    ) -> tuple[Job, bool]:
        """The user's oldest job of ``kind`` in one of the ``active`` states, or a new one: ``(job,
        created)``. Requests of one user and kind are serialised (a transaction-scoped advisory lock), so
        two at once never both create one."""
        await lock_until_commit(conn, f"jobs:{kind}:{user_id}")
        row = await conn.fetchrow(
            """SELECT * FROM jobs WHERE user_id = $1 AND kind = $2 AND state = ANY($3::text[])
               ORDER BY created_at LIMIT 1""",
            user_id,
            kind,
            list(active),
        )
        if row is not None:
            return Job.from_row(row), False
        return await self.create(conn, kind, user_id, params), True

    async def count_active(
        self,
        conn: asyncpg.Connection,
        user_id: uuid.UUID,
        kind: str,
        active: Sequence[JobState] = ("queued", "running"),
    ) -> int:
        """How many of the user's jobs of ``kind`` are in one of the ``active`` states."""
        count: int = await conn.fetchval(
            "SELECT count(*) FROM jobs WHERE user_id = $1 AND kind = $2 AND state = ANY($3::text[])",
            user_id,
            kind,
            list(active),
        )
        return count

    async def get(self, conn: asyncpg.Connection, job_id: uuid.UUID) -> Job:
        row = await conn.fetchrow("SELECT * FROM jobs WHERE id = $1", job_id)
        if row is None:
            raise JobNotFound(str(job_id))
        return Job.from_row(row)

    async def cancel_requested(self, conn: asyncpg.Connection, job_id: uuid.UUID) -> bool:
        return bool(await conn.fetchval("SELECT cancel_requested FROM jobs WHERE id = $1", job_id))

    async def list_for_user(
        self,
        conn: asyncpg.Connection,
        user_id: uuid.UUID,
        limit: int = 50,
        *,
        kind: str | None = None,
        before: tuple[datetime, uuid.UUID] | None = None,
    ) -> list[Job]:
        """The user's jobs (of ``kind``), newest first; ``before``: only those after that job in this
        order, by its (created_at, id) (a page's last)."""
        at, job_id = before if before is not None else (None, None)
        rows = await conn.fetch(
            """SELECT * FROM jobs
               WHERE user_id = $1 AND ($2::text IS NULL OR kind = $2)
                 AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4::uuid))
               ORDER BY created_at DESC, id DESC LIMIT $5""",
            user_id,
            kind,
            at,
            job_id,
            limit,
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
            self.lease,
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
        message: str | None = None,
    ) -> Job:
        """The job's end; ``message`` (if given) replaces its progress message."""
        if state not in TERMINAL:
            raise JobStateError(f"{state} is not a terminal state")
        row = await conn.fetchrow(
            """UPDATE jobs SET state = $2, result = $3::jsonb, error = $4::jsonb, finished_at = now(),
                      updated_at = now(), progress = CASE WHEN $2 = 'succeeded' THEN 1 ELSE progress END,
                      message = COALESCE($5, message)
               WHERE id = $1 AND state IN ('queued', 'running', 'paused') RETURNING *""",
            job_id,
            state,
            json.dumps(result) if result is not None else None,
            error.model_dump_json() if error is not None else None,
            message,
        )
        if row is None:
            raise JobStateError(f"job {job_id} has already finished")
        return await self._emit(conn, row)

    async def pause(
        self,
        conn: asyncpg.Connection,
        job_id: uuid.UUID,
        waiting_for: str,
        error: JobError,
        resume_at: datetime | None = None,
    ) -> Job:
        """A running job waits for ``waiting_for`` (and, with ``resume_at``, at most until then: see
        :meth:`resume_due`); its progress stays. Its attempts start again: a job that paused ended its run
        cleanly, so a long job that pauses often (a quota each day) is not failed for the runs it made."""
        row = await conn.fetchrow(
            """UPDATE jobs SET state = 'paused', waiting_for = $2, error = $3::jsonb, resume_at = $4,
                      lease_until = NULL, updated_at = now(), attempts = 0
               WHERE id = $1 AND state = 'running' RETURNING *""",
            job_id,
            waiting_for,
            error.model_dump_json(),
            resume_at,
        )
        if row is None:
            raise JobStateError(f"job {job_id} is not running")
        return await self._emit(conn, row)

    async def resume_waiting(
        self, conn: asyncpg.Connection, user_id: uuid.UUID, waiting_for: str
    ) -> list[Job]:
        """Back to the queue: the user's jobs paused for ``waiting_for`` (idempotent)."""
        rows = await conn.fetch(
            """UPDATE jobs SET state = 'queued', waiting_for = NULL, error = NULL, resume_at = NULL,
                      started_at = NULL, updated_at = now()
               WHERE user_id = $1 AND state = 'paused' AND waiting_for = $2 RETURNING *""",
            user_id,
            waiting_for,
        )
        return [await self._emit(conn, row) for row in rows]

    async def resume_due(
        self, conn: asyncpg.Connection, now: datetime | None = None, limit: int = 100
    ) -> list[Job]:
        """Back to the queue: paused jobs whose ``resume_at`` is at or before ``now`` (default: the
        database's clock), at most ``limit`` (the oldest first). Rows another transaction holds are
        skipped, so replicas doing this at once resume each job once."""
        rows = await conn.fetch(
            """UPDATE jobs SET state = 'queued', waiting_for = NULL, error = NULL, resume_at = NULL,
                      started_at = NULL, updated_at = now()
               WHERE id IN (SELECT id FROM jobs
                            WHERE state = 'paused' AND resume_at <= COALESCE($1, now())
                            ORDER BY resume_at FOR UPDATE SKIP LOCKED LIMIT $2)
               RETURNING *""",
            now,
            limit,
        )
        return [await self._emit(conn, row) for row in rows]

    async def save_checkpoint(
        self, conn: asyncpg.Connection, job_id: uuid.UUID, checkpoint: dict[str, Any]
    ) -> None:
        """Keep what the running job's handler resumes from (``Job.checkpoint`` when it runs again), in
        the caller's transaction: commit it with the work it stands for. Not published."""
        status = await conn.execute(
            "UPDATE jobs SET checkpoint = $2::jsonb WHERE id = $1 AND state = 'running'",
            job_id,
            json.dumps(checkpoint),
        )
        if status.split()[-1] != "1":
            raise JobStateError(f"job {job_id} is not running")

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
            self.lease,
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

    async def requeue(
        self, conn: asyncpg.Connection, job_id: uuid.UUID, stopped_cleanly: bool = False
    ) -> Job | None:
        """Put a running job back in the queue (its worker stopped); None if it is no longer running.
        ``stopped_cleanly``: its worker is shutting down and gave it back, which is not an attempt lost."""
        row = await conn.fetchrow(
            """UPDATE jobs SET state = 'queued', started_at = NULL, lease_until = NULL, updated_at = now(),
                              attempts = CASE WHEN $2 THEN greatest(attempts - 1, 0) ELSE attempts END
               WHERE id = $1 AND state = 'running' RETURNING *""",
            job_id,
            stopped_cleanly,
        )
        return await self._emit(conn, row) if row is not None else None

    async def delete_for_user(self, conn: asyncpg.Connection, user_id: uuid.UUID) -> int:
        result = await conn.execute("DELETE FROM jobs WHERE user_id = $1", user_id)
        return int(result.split()[-1])
