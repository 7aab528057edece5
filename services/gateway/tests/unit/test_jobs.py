"""The public view of a job snapshot, and its SSE framing."""

import json
import uuid
from datetime import UTC, datetime

from pm_contracts.jobs import JobUpdated
from pm_gateway.domain.jobs import is_terminal, public_job, sse_event

T0 = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


def _snapshot(state="running") -> JobUpdated:
    return JobUpdated(
        job_id=uuid.UUID(int=1),
        service="export",
        kind="export.playlist",
        user_id=uuid.UUID(int=2),
        state=state,
        progress=0.5,
        created_at=T0,
        updated_at=T0,
    )


def test_public_job_is_the_snapshot():
    job = public_job(_snapshot())
    assert job["job_id"] == str(uuid.UUID(int=1))
    assert job["kind"] == "export.playlist"
    assert job["state"] == "running"
    assert job["updated_at"] == "2026-11-29T09:00:00Z"


def test_sse_event():
    raw = sse_event(_snapshot()).decode()
    assert raw.startswith("event: job\nid: 2026-11-29T09:00:00+00:00\ndata: ")
    assert raw.endswith("\n\n")
    assert json.loads(raw.split("data: ", 1)[1])["progress"] == 0.5


def test_terminal_states():
    assert not is_terminal(_snapshot("running"))
    assert all(is_terminal(_snapshot(s)) for s in ("succeeded", "failed", "cancelled"))
