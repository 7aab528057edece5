"""The gateway keeps the newest snapshot of each job in Redis, and forgets a deleted user's jobs."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis

from pm_contracts.jobs import JobUpdated
from pm_gateway.storage.jobs import JobSnapshots

pytestmark = pytest.mark.integration


def _event(job_id, user_id, state, at) -> JobUpdated:
    return JobUpdated(
        job_id=job_id,
        service="export",
        kind="export.playlist",
        user_id=user_id,
        state=state,
        progress=1.0 if state == "succeeded" else 0.5,
        created_at=at,
        updated_at=at,
    )


@pytest.fixture
async def snapshots(infra):
    client = aioredis.from_url(infra.redis_url)
    prefix = f"test:{uuid.uuid4().hex}"
    yield JobSnapshots(client, prefix)
    keys = [k async for k in client.scan_iter(f"{prefix}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def test_newest_snapshot_wins_even_when_events_arrive_late(snapshots):
    job, user, now = uuid.uuid4(), uuid.uuid4(), datetime.now(UTC)
    await snapshots.store(_event(job, user, "succeeded", now))
    await snapshots.store(_event(job, user, "running", now - timedelta(seconds=5)))
    stored = await snapshots.get(job)
    assert stored is not None
    assert stored.state == "succeeded"


async def test_user_deletion_removes_their_snapshots(snapshots):
    user, other = uuid.uuid4(), uuid.uuid4()
    mine = [uuid.uuid4(), uuid.uuid4()]
    theirs = uuid.uuid4()
    now = datetime.now(UTC)
    for job in mine:
        await snapshots.store(_event(job, user, "running", now))
    await snapshots.store(_event(theirs, other, "running", now))
    assert await snapshots.delete_for_user(user) == 3  # two jobs and the index
    assert [await snapshots.get(j) for j in mine] == [None, None]
    assert await snapshots.get(theirs) is not None
