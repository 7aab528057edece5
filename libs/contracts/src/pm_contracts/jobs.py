"""Topic ``pm.jobs``: progress of long-running work in any service. Key: the job id."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

JobState = Literal["queued", "running", "paused", "succeeded", "failed", "cancelled"]


class JobError(BaseModel):
    model_config = ConfigDict(extra="ignore")  # a tolerant reader: see pm_contracts.compat

    code: str = Field(max_length=64)
    message: str = Field(max_length=2000)
    retryable: bool = False


class JobUpdated(BaseModel):
    """A job changed state or progress. The latest event per job is its current snapshot."""

    model_config = ConfigDict(extra="ignore")  # a tolerant reader: see pm_contracts.compat

    job_id: uuid.UUID
    service: str
    kind: str
    user_id: uuid.UUID | None
    state: JobState
    progress: float = Field(ge=0, le=1)
    message: str | None = None
    result: dict[str, Any] | None = None
    # While paused, why: e.g. code "reconsent-required" (the user links the provider again, and the job
    # goes on by itself).
    error: JobError | None = None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
