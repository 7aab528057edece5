"""One job shape and lifecycle for every long-running piece of work, in any service.

    queued ──▶ running ──▶ succeeded | failed | cancelled
     │   ▲        │
     │   └──── paused ──▶ cancelled    paused: waits for what only its user can give (consent to a
     │                                 provider again; resume_waiting() puts it back in the queue), or
     │                                 until its resume_at (a quota's reset: the runners' upkeep does)
     └──────────────────▶ cancelled

Every transition and every progress step is a row change plus a ``job.updated`` event in the same
transaction, so a client sees imports, transfers, exports and enrichment the same way (the gateway
streams the events). The runner claims queued jobs with ``FOR UPDATE SKIP LOCKED``, so any number of
replicas share the work, at most ``WORKER_CONCURRENCY`` at a time per process.

A handler resumes from its own checkpoint: what it saved with ``JobStore.save_checkpoint`` in the
transaction of the work it stands for, read back as ``JobContext.checkpoint`` when the job runs again.
``JobStore.create_unless_active`` gives a user at most one queued or running job of a kind.

The package: ``model`` (the job, its states and the exceptions handlers raise), ``store`` (its SQL and
events), ``context`` (what a running handler sees), ``runner`` (claiming and running jobs).
"""

from pm_platform.jobs.context import JobContext
from pm_platform.jobs.model import (
    LEASE,
    MAX_ATTEMPTS,
    TERMINAL,
    Job,
    JobCancelled,
    JobFailed,
    JobNotFound,
    JobPaused,
    JobStateError,
)
from pm_platform.jobs.runner import JobHandler, JobRunner
from pm_platform.jobs.store import JobStore

__all__ = [
    "LEASE",
    "MAX_ATTEMPTS",
    "TERMINAL",
    "Job",
    "JobCancelled",
    "JobContext",
    "JobFailed",
    "JobHandler",
    "JobNotFound",
    "JobPaused",
    "JobRunner",
    "JobStateError",
    "JobStore",
]
