"""The gateway's event handling, through its real subscriber and dispatcher on FastStream's in-memory
broker (delivery itself is tested against Kafka in libs/platform): job snapshots, revoked sessions,
announced instances, and a deleted user's snapshots."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from pm_contracts.jobs import JobUpdated
from pm_contracts.sessions import SessionRevoked
from pm_contracts.system import ServiceStarted
from pm_contracts.users import UserDeleted
from pm_gateway.app import definition
from pm_gateway.usecases.instances import announced
from pm_gateway.usecases.jobs import job_snapshots
from pm_gateway.usecases.sessions import revoked_sessions
from pm_platform.consumers import Outcome
from pm_platform.testing import deliver

pytestmark = pytest.mark.integration


@pytest.fixture
async def runtime(start_in_memory):
    return await start_in_memory(definition())


def _job(user: uuid.UUID, state: str = "running") -> JobUpdated:
    now = datetime.now(UTC)
    return JobUpdated(
        job_id=uuid.uuid4(),
        service="export",
        kind="export.playlist",
        user_id=user,
        state=state,
        progress=0.5,
        created_at=now,
        updated_at=now,
        started_at=now,
    )


async def test_a_deleted_users_job_snapshots_are_erased_and_nobody_elses(runtime):
    user, other = uuid.uuid4(), uuid.uuid4()
    mine, theirs = _job(user), _job(other)
    for event in (mine, theirs):
        assert await deliver(runtime, event) is Outcome.HANDLED
    assert await job_snapshots(runtime).get(mine.job_id) == mine
    assert await deliver(runtime, UserDeleted(user_id=user, deleted_at=datetime.now(UTC))) is Outcome.HANDLED
    assert await job_snapshots(runtime).get(mine.job_id) is None
    assert await job_snapshots(runtime).get(theirs.job_id) == theirs


async def test_a_revoked_session_is_refused_from_then_on(runtime):
    session, now = uuid.uuid4(), datetime.now(UTC)
    assert not await revoked_sessions(runtime).is_revoked(session)
    revoked = SessionRevoked(
        user_id=uuid.uuid4(),
        session_id=session,
        reason="logout",
        revoked_at=now,
        access_expires_at=now + timedelta(minutes=10),
    )
    assert await deliver(runtime, revoked) is Outcome.HANDLED
    assert await revoked_sessions(runtime).is_revoked(session)


async def test_a_started_instance_is_announced(runtime):
    instance = f"export-test-{uuid.uuid4().hex[:8]}"
    started = ServiceStarted(
        service="export",
        instance=instance,
        version="9.9.9",
        schema_migrations=[],
        started_at=datetime.now(UTC),
    )
    assert await deliver(runtime, started) is Outcome.HANDLED
    assert (await announced(runtime))["services"]["export"]["instance"] == instance
