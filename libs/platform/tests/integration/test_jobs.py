"""One job lifecycle for every service: claim, progress, finish, cancel — each step an event."""

import asyncio
import json
import uuid

import pytest

from pm_platform.jobs import JobContext, JobFailed, JobPaused, JobRunner, JobStateError, JobStore

pytestmark = pytest.mark.integration


async def _events(pool, job_id) -> list[dict]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT envelope FROM outbox WHERE event_type = 'job.updated' AND partition_key = $1 ORDER BY seq",
            str(job_id),
        )
    return [json.loads(r["envelope"])["data"] for r in rows]


async def _wait_finished(pool, store, job_id):
    for _ in range(200):
        async with pool.acquire() as conn:
            job = await store.get(conn, job_id)
        if job.state in ("succeeded", "failed", "cancelled"):
            return job
        await asyncio.sleep(0.05)
    raise AssertionError("job did not finish")


async def test_runner_runs_jobs_and_publishes_each_step(pool):
    store = JobStore("playlist", "playlist")
    seen = []

    async def count(ctx: JobContext):
        for i in range(1, 5):
            await ctx.progress(i / 4, f"step {i}", force=True)
        seen.append(ctx.job.params)
        return {"counted": 4}

    async def broken(ctx: JobContext):
        raise JobFailed("source-gone", "the playlist no longer exists")

    user = uuid.uuid4()
    async with pool.acquire() as conn, conn.transaction():
        ok = await store.create(conn, "test.count", user, {"n": 4})
        bad = await store.create(conn, "test.broken", user)
    runner = JobRunner(
        pool, store, {"test.count": count, "test.broken": broken}, concurrency=2, poll_interval_s=0.05
    )
    task = asyncio.create_task(runner.run())
    try:
        done = await _wait_finished(pool, store, ok.id)
        failed = await _wait_finished(pool, store, bad.id)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    assert done.state == "succeeded" and done.result == {"counted": 4} and done.progress == 1
    assert seen == [{"n": 4}]
    assert failed.state == "failed" and failed.error.code == "source-gone"
    states = [e["state"] for e in await _events(pool, ok.id)]
    assert states[0] == "queued" and states[1] == "running" and states[-1] == "succeeded"
    assert [e["progress"] for e in await _events(pool, ok.id)][2:6] == [0.25, 0.5, 0.75, 1.0]


async def test_cancelling_queued_and_running_jobs(pool):
    store = JobStore("playlist", "playlist")
    started = asyncio.Event()

    async def slow(ctx: JobContext):
        started.set()
        while True:
            await ctx.progress(0.1, force=True)
            await asyncio.sleep(0.05)

    async with pool.acquire() as conn, conn.transaction():
        queued = await store.create(conn, "test.other", None)
        cancelled = await store.request_cancel(conn, queued.id)
        assert cancelled.state == "cancelled"
        with pytest.raises(JobStateError):
            await store.request_cancel(conn, queued.id)
        running = await store.create(conn, "test.slow", None)
    runner = JobRunner(pool, store, {"test.slow": slow}, concurrency=1, poll_interval_s=0.05)
    task = asyncio.create_task(runner.run())
    try:
        await asyncio.wait_for(started.wait(), 10)
        async with pool.acquire() as conn, conn.transaction():
            await store.request_cancel(conn, running.id)
        job = await _wait_finished(pool, store, running.id)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert job.state == "cancelled"


async def test_deleting_a_users_jobs(pool):
    store = JobStore("playlist", "playlist")
    user = uuid.uuid4()
    async with pool.acquire() as conn, conn.transaction():
        await store.create(conn, "a", user)
        await store.create(conn, "b", user)
        await store.create(conn, "c", uuid.uuid4())
        assert await store.delete_for_user(conn, user) == 2
        assert await store.list_for_user(conn, user) == []


async def test_a_job_interrupted_by_shutdown_goes_back_to_the_queue_with_an_event(pool):
    store = JobStore("playlist", "playlist")
    started = asyncio.Event()

    async def forever(ctx: JobContext):
        started.set()
        await asyncio.sleep(3600)

    async with pool.acquire() as conn, conn.transaction():
        job = await store.create(conn, "test.forever", None)
    runner = JobRunner(pool, store, {"test.forever": forever}, concurrency=1, poll_interval_s=0.05)
    task = asyncio.create_task(runner.run())
    await asyncio.wait_for(started.wait(), 10)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    async with pool.acquire() as conn:
        assert (await store.get(conn, job.id)).state == "queued"
    assert [e["state"] for e in await _events(pool, job.id)] == ["queued", "running", "queued"]


async def test_a_job_whose_worker_vanished_is_requeued_then_failed_after_too_many_attempts(pool):
    store = JobStore("playlist", "playlist")
    async with pool.acquire() as conn, conn.transaction():
        job = await store.create(conn, "test.crashy", None)
    for attempt in (1, 2, 3):
        async with pool.acquire() as conn, conn.transaction():
            claimed = await store.claim_next(conn, ["test.crashy"])
            assert claimed is not None
            assert claimed.id == job.id
            # The worker dies: nobody renews the lease.
            await conn.execute(
                "UPDATE jobs SET lease_until = now() - interval '1 second' WHERE id = $1", job.id
            )
        async with pool.acquire() as conn, conn.transaction():
            [recovered] = await store.recover_abandoned(conn, max_attempts=3)
        assert recovered.state == ("queued" if attempt < 3 else "failed")
    assert recovered.error is not None
    assert recovered.error.code == "worker-lost"


async def test_a_live_lease_is_left_alone(pool):
    store = JobStore("playlist", "playlist")
    async with pool.acquire() as conn, conn.transaction():
        job = await store.create(conn, "test.busy", None)
        await store.claim_next(conn, ["test.busy"])
        await store.renew_leases(conn, [job.id])
        assert await store.recover_abandoned(conn) == []


async def _wait_state(pool, store, job_id, state: str):
    for _ in range(200):
        async with pool.acquire() as conn:
            job = await store.get(conn, job_id)
        if job.state == state:
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job did not become {state}")


async def test_a_job_waiting_for_its_user_pauses_then_resumes_where_it_was(pool):
    """A transfer whose provider wants the user's consent again pauses (progress kept, the reason and
    what it waits for published), goes back to the queue when the user links again, and finishes."""
    store = JobStore("playlist", "playlist")
    runs: dict[uuid.UUID, list[float]] = {}

    async def transfer(ctx: JobContext):
        runs.setdefault(ctx.job.id, []).append(ctx.job.progress)
        if len(runs[ctx.job.id]) == 1:
            await ctx.progress(0.3, "copied 30 of 100 tracks", force=True)
            raise JobPaused("provider-link:spotify", "reconsent-required", "link spotify again")
        return {"copied": 100}

    user = uuid.uuid4()
    async with pool.acquire() as conn, conn.transaction():
        job = await store.create(conn, "test.transfer", user)
        other = await store.create(conn, "test.transfer", uuid.uuid4())
    runner = JobRunner(pool, store, {"test.transfer": transfer}, concurrency=1, poll_interval_s=0.05)
    task = asyncio.create_task(runner.run())
    try:
        paused = await _wait_state(pool, store, job.id, "paused")
        assert paused.progress == pytest.approx(0.3)
        assert paused.waiting_for == "provider-link:spotify"
        assert paused.error is not None and paused.error.code == "reconsent-required"
        await _wait_state(pool, store, other.id, "paused")
        async with pool.acquire() as conn, conn.transaction():
            # Another provider, or another user's consent, resumes nothing.
            assert await store.resume_waiting(conn, user, "provider-link:deezer") == []
            resumed = await store.resume_waiting(conn, user, "provider-link:spotify")
        assert [j.id for j in resumed] == [job.id] and resumed[0].state == "queued"
        done = await _wait_finished(pool, store, job.id)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert done.state == "succeeded" and done.result == {"copied": 100} and done.waiting_for is None
    assert runs[job.id] == [0, pytest.approx(0.3)]  # the second run starts from the progress it had
    events = await _events(pool, job.id)
    assert [e["error"]["code"] for e in events if e["state"] == "paused"] == ["reconsent-required"]
    assert events[-1]["state"] == "succeeded" and events[-1]["error"] is None
    async with pool.acquire() as conn, conn.transaction():  # a paused job is cancelled at once
        cancelled = await store.request_cancel(conn, other.id)
        assert cancelled.state == "cancelled"
        with pytest.raises(JobStateError):
            await store.pause(conn, other.id, "provider-link:spotify", paused.error)
