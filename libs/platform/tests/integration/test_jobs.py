"""One job lifecycle for every service: claim, progress, finish, cancel — each step an event."""

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from pm_contracts.jobs import JobError
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


async def test_a_job_ends_with_its_latest_message_even_one_the_throttle_held_back(pool):
    store = JobStore("playlist", "playlist")

    async def chatty(ctx: JobContext):
        await ctx.progress(0.1, "reading playlist 1 of 3", force=True)
        for i in range(2, 4):  # within the throttle's hour: not recorded
            await ctx.progress(i / 4, f"reading playlist {i} of 3")
        async with pool.acquire() as conn:
            assert (await store.get(conn, ctx.job.id)).message == "reading playlist 1 of 3"
        return {}

    async with pool.acquire() as conn, conn.transaction():
        job = await store.create(conn, "test.chatty", uuid.uuid4())
    runner = JobRunner(
        pool, store, {"test.chatty": chatty}, concurrency=1, poll_interval_s=0.05, progress_interval_s=3600
    )
    task = asyncio.create_task(runner.run())
    try:
        done = await _wait_finished(pool, store, job.id)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert done.state == "succeeded" and done.message == "reading playlist 3 of 3"


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


async def _attempts(pool, job_id) -> int:
    async with pool.acquire() as conn:
        return int(await conn.fetchval("SELECT attempts FROM jobs WHERE id = $1", job_id))


async def test_a_pause_or_a_clean_shutdown_is_no_attempt_lost(pool):
    """A long job that pauses (a quota each day) or is given back at shutdown is not failed for it: only
    workers lost in a row count."""
    from pm_contracts.jobs import JobError

    store = JobStore("playlist", "playlist")
    async with pool.acquire() as conn, conn.transaction():
        job = await store.create(conn, "test.long", None)
    past = datetime.now(UTC) - timedelta(seconds=1)
    for _ in range(4):
        async with pool.acquire() as conn, conn.transaction():
            assert (await store.claim_next(conn, ["test.long"])) is not None
            await store.pause(
                conn, job.id, "quota", JobError(code="quota", message="later", retryable=True), past
            )
        assert await _attempts(pool, job.id) == 0
        async with pool.acquire() as conn, conn.transaction():
            assert job.id in [j.id for j in await store.resume_due(conn)]
    async with pool.acquire() as conn, conn.transaction():
        await store.claim_next(conn, ["test.long"])
        await store.requeue(conn, job.id, stopped_cleanly=True)
    assert await _attempts(pool, job.id) == 0
    async with pool.acquire() as conn, conn.transaction():
        await store.claim_next(conn, ["test.long"])
        await store.requeue(conn, job.id)  # its worker vanished: counted
    assert await _attempts(pool, job.id) == 1


async def test_the_lease_is_the_stores(pool):
    store = JobStore("playlist", "playlist", lease=timedelta(seconds=15))
    async with pool.acquire() as conn, conn.transaction():
        job = await store.create(conn, "test.leased", None)
        await store.claim_next(conn, ["test.leased"])
        left = await conn.fetchval("SELECT lease_until - now() FROM jobs WHERE id = $1", job.id)
    assert timedelta(seconds=14) <= left <= timedelta(seconds=15)


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


async def test_a_job_paused_until_a_time_goes_back_to_the_queue_once_that_time_has_passed(pool):
    """A quota that resets at midnight: the job pauses until then (the reason says until when) and
    resume_due puts it back in the queue only once that time has passed, once."""
    store = JobStore("playlist", "playlist")
    t0 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    resets = t0 + timedelta(hours=3)
    async with pool.acquire() as conn, conn.transaction():
        job = await store.create(conn, "test.quota", uuid.uuid4())
        await store.claim_next(conn, ["test.quota"])
        error = JobError(code="provider-quota", message=f"quota used up until {resets.isoformat()}")
        paused = await store.pause(conn, job.id, "provider-quota:youtube", error, resume_at=resets)
    assert paused.state == "paused" and paused.resume_at == resets
    async with pool.acquire() as conn, conn.transaction():
        assert await store.resume_due(conn, now=resets - timedelta(seconds=1)) == []
        [resumed] = await store.resume_due(conn, now=resets)
        assert await store.resume_due(conn, now=resets + timedelta(days=1)) == []  # once
    assert resumed.id == job.id and resumed.state == "queued"
    assert (resumed.resume_at, resumed.waiting_for, resumed.error) == (None, None, None)
    events = await _events(pool, job.id)
    assert [e["state"] for e in events] == ["queued", "running", "paused", "queued"]
    assert events[2]["error"]["message"] == f"quota used up until {resets.isoformat()}"


async def test_resuming_for_its_user_also_ends_a_timed_pause(pool):
    store = JobStore("playlist", "playlist")
    user, later = uuid.uuid4(), datetime.now(UTC) + timedelta(days=1)
    async with pool.acquire() as conn, conn.transaction():
        job = await store.create(conn, "test.both", user)
        await store.claim_next(conn, ["test.both"])
        error = JobError(code="provider-rate-limit", message="wait")
        await store.pause(conn, job.id, "provider-rate-limit:spotify", error, resume_at=later)
        [resumed] = await store.resume_waiting(conn, user, "provider-rate-limit:spotify")
        assert resumed.resume_at is None and resumed.state == "queued"
        assert await store.resume_due(conn, now=later) == []


async def test_the_runner_resumes_a_timed_pause_by_itself_and_the_handler_finds_its_checkpoint(pool):
    """The runner's upkeep resumes a job whose resume_at has passed; the second run reads what the first
    saved with its work (save_checkpoint, in the work's transaction), not the work itself again."""
    store = JobStore("playlist", "playlist")
    seen: list[dict] = []

    async def chunks(ctx: JobContext):
        seen.append(ctx.checkpoint)
        done = ctx.checkpoint.get("done", 0)
        if done == 0:
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute("INSERT INTO counters VALUES ('chunks', 1)")
                await store.save_checkpoint(conn, ctx.job.id, {"done": 1})
            raise JobPaused("test-quota", "quota", "until now", resume_at=datetime.now(UTC))
        return {"done": done + 1}

    async with pool.acquire() as conn, conn.transaction():
        job = await store.create(conn, "test.chunks", None)
    runner = JobRunner(
        pool, store, {"test.chunks": chunks}, concurrency=1, poll_interval_s=0.05, upkeep_interval_s=0.05
    )
    task = asyncio.create_task(runner.run())
    try:
        done = await _wait_finished(pool, store, job.id)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert done.state == "succeeded" and done.result == {"done": 2}
    assert seen == [{}, {"done": 1}]
    assert done.checkpoint == {"done": 1}
    states = [e["state"] for e in await _events(pool, job.id)]
    assert states == ["queued", "running", "paused", "queued", "running", "succeeded"]
    assert all("checkpoint" not in e for e in await _events(pool, job.id))  # never published


async def test_a_checkpoint_is_kept_only_for_a_running_job(pool):
    store = JobStore("playlist", "playlist")
    async with pool.acquire() as conn, conn.transaction():
        job = await store.create(conn, "test.idle", None)
        with pytest.raises(JobStateError):
            await store.save_checkpoint(conn, job.id, {"done": 1})


async def test_one_queued_or_running_job_of_a_kind_per_user(pool):
    """Two requests at once create one job; while it is queued or running it is the answer; once it
    ended (or paused), the next request creates another. Other kinds and users are apart."""
    store = JobStore("playlist", "playlist")
    user = uuid.uuid4()

    async def request() -> tuple:
        async with pool.acquire() as conn, conn.transaction():
            result = await store.create_unless_active(conn, "test.import", user, {"n": 1})
            await asyncio.sleep(0.05)  # hold the transaction: the other request must wait, not create
            return result

    (first, created_a), (second, created_b) = await asyncio.gather(request(), request())
    assert first.id == second.id and sorted([created_a, created_b]) == [False, True]
    async with pool.acquire() as conn, conn.transaction():
        await store.claim_next(conn, ["test.import"])
        running, created = await store.create_unless_active(conn, "test.import", user)
        assert (running.id, running.state, created) == (first.id, "running", False)
        other_kind, created = await store.create_unless_active(conn, "test.export", user)
        assert created and other_kind.id != first.id
        other_user, created = await store.create_unless_active(conn, "test.import", uuid.uuid4())
        assert created and other_user.id != first.id
        error = JobError(code="reconsent-required", message="link again")
        await store.pause(conn, first.id, "provider-link:spotify", error)
        after_pause, created = await store.create_unless_active(conn, "test.import", user)
        assert created and after_pause.id != first.id
        assert after_pause.params == {}
