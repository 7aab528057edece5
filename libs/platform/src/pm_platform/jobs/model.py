"""A job as a value, its states, and the exceptions a handler raises to end or pause it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from pm_contracts.jobs import JobError, JobState, JobUpdated
from pm_platform.db import from_json_column

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
    a provider again, a provider's quota resets): the job pauses, keeping its progress, until
    :meth:`JobStore.resume_waiting` is called with the same ``waiting_for``, or, with ``resume_at`` (an
    aware time), until that time has passed (the runners' upkeep, :meth:`JobStore.resume_due`); then it
    runs again from the queue (handlers resume from their own checkpoints). ``message`` is what the
    user reads (``job.updated``'s error): with ``resume_at`` it should say until when."""

    def __init__(self, waiting_for: str, code: str, message: str, resume_at: datetime | None = None) -> None:
        super().__init__(message)
        if resume_at is not None and resume_at.utcoffset() is None:
            raise ValueError("resume_at must be an aware datetime")
        self.waiting_for = waiting_for
        self.resume_at = resume_at
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
    # While paused: when the job goes back to the queue by itself (None: only resume_waiting resumes it).
    resume_at: datetime | None = None
    # What the handler saved to resume from (JobStore.save_checkpoint); never published.
    checkpoint: dict[str, Any] | None = None

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Job:
        error = from_json_column(row["error"])
        return cls(
            id=row["id"],
            kind=row["kind"],
            user_id=row["user_id"],
            state=row["state"],
            progress=float(row["progress"]),
            message=row["message"],
            params=from_json_column(row["params"]) or {},
            result=from_json_column(row["result"]),
            error=JobError.model_validate(error) if error else None,
            waiting_for=row["waiting_for"],
            cancel_requested=row["cancel_requested"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            resume_at=row["resume_at"],
            checkpoint=from_json_column(row["checkpoint"]),
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
