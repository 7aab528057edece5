"""provider-sync's event handling, through its real subscriber and dispatcher on FastStream's in-memory
broker (delivery itself is tested against Kafka in libs/platform): it mirrors auth's link events
(linked, needs re-consent, unlinked; stale events lose) and resumes the jobs that waited for a link."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from pm_contracts.jobs import JobError
from pm_contracts.playlists import PlaylistDeleted, PlaylistOrigin
from pm_contracts.provider_links import (
    ProviderLinked,
    ProviderReconsentRequired,
    ProviderUnlinked,
    waiting_for_link,
)
from pm_contracts.users import UserDeleted
from pm_platform.consumers import Outcome
from pm_platform.testing import deliver
from pm_provider_sync.app import definition
from pm_provider_sync.domain.imports import Remembered
from pm_provider_sync.storage.imports import remember, remembered
from pm_provider_sync.storage.links import link_status

pytestmark = pytest.mark.integration


@pytest.fixture
async def runtime(start_in_memory):
    return await start_in_memory(definition())


async def handled(rt, event) -> None:
    assert await deliver(rt, event) is Outcome.HANDLED


async def test_a_deleted_users_links_are_erased_and_nobody_elses(runtime):
    user, other, t0 = uuid.uuid4(), uuid.uuid4(), datetime.now(UTC)
    for owner in (user, other):
        await handled(
            runtime,
            ProviderLinked(
                user_id=owner, provider="deezer", provider_account_id="d", scopes=[], linked_at=t0
            ),
        )
    await handled(runtime, UserDeleted(user_id=user, deleted_at=t0))
    async with runtime.pool.acquire() as conn:
        assert await link_status(conn, user, "deezer") is None
        assert await link_status(conn, other, "deezer") == "linked"


async def test_link_lifecycle(runtime):
    user, t0 = uuid.uuid4(), datetime.now(UTC)
    rt = runtime

    async def status():
        async with rt.pool.acquire() as conn:
            return await link_status(conn, user, "spotify")

    linked = ProviderLinked(
        user_id=user, provider="spotify", provider_account_id="a", scopes=["x"], linked_at=t0
    )
    await handled(rt, linked)
    assert await status() == "linked"
    await handled(
        rt,
        ProviderReconsentRequired(
            user_id=user,
            provider="spotify",
            provider_account_id="a",
            detected_at=t0 + timedelta(seconds=5),
            reason="invalid_grant",
        ),
    )
    assert await status() == "needs_reconsent"
    # A replayed older "linked" event does not undo the newer state.
    stale = linked.model_copy(update={"linked_at": t0 + timedelta(seconds=1)})
    await handled(rt, stale)
    assert await status() == "needs_reconsent"
    await handled(
        rt,
        ProviderUnlinked(
            user_id=user,
            provider="spotify",
            provider_account_id="a",
            unlinked_at=t0 + timedelta(seconds=9),
        ),
    )
    assert await status() is None


async def test_linking_again_resumes_the_jobs_that_paused_for_it(runtime):
    user, t0 = uuid.uuid4(), datetime.now(UTC)
    rt = runtime

    async def paused_job(provider: str) -> uuid.UUID:
        async with rt.pool.acquire() as conn, conn.transaction():
            job = await rt.jobs.create(conn, "test.waits", user)
            await conn.execute("UPDATE jobs SET state = 'running' WHERE id = $1", job.id)
            error = JobError(code="reconsent-required", message="link again", retryable=True)
            await rt.jobs.pause(conn, job.id, waiting_for_link(provider), error)
        return job.id

    async def state(job_id: uuid.UUID) -> str:
        async with rt.pool.acquire() as conn:
            return (await rt.jobs.get(conn, job_id)).state

    await handled(
        rt,
        ProviderReconsentRequired(
            user_id=user,
            provider="spotify",
            provider_account_id="a",
            detected_at=t0,
            reason="invalid_grant",
        ),
    )
    spotify_job, deezer_job = await paused_job("spotify"), await paused_job("deezer")
    linked = ProviderLinked(
        user_id=user, provider="spotify", provider_account_id="a", scopes=[], linked_at=t0
    )
    # An older "linked" event (replayed) is not the user linking again: nothing resumes.
    await handled(rt, linked.model_copy(update={"linked_at": t0 - timedelta(seconds=1)}))
    assert await state(spotify_job) == "paused"
    await handled(rt, linked.model_copy(update={"linked_at": t0 + timedelta(seconds=1)}))
    assert await state(spotify_job) == "queued"
    assert await state(deezer_job) == "paused"  # it waits for deezer


async def _imported(rt, user, provider: str, *playlist_ids: str) -> None:
    async with rt.transaction() as conn:
        for playlist_id in playlist_ids:
            await remember(conn, user, provider, playlist_id, Remembered("v1", "d", "e"), datetime.now(UTC))


async def _remembered(rt, user, provider: str) -> set[str]:
    async with rt.pool.acquire() as conn:
        return set(await remembered(conn, user, provider))


async def test_a_playlist_deleted_from_the_library_is_forgotten_so_the_next_import_brings_it_back(runtime):
    user, other, t0 = uuid.uuid4(), uuid.uuid4(), datetime.now(UTC)
    await _imported(runtime, user, "spotify", "keep", "gone", "liked")
    await _imported(runtime, user, "deezer", "gone")
    await _imported(runtime, other, "spotify", "gone")

    def deleted(provider: str | None, playlist_id: str, owner: uuid.UUID = user) -> PlaylistDeleted:
        origin = PlaylistOrigin(provider=provider, provider_playlist_id=playlist_id) if provider else None
        return PlaylistDeleted(playlist_id=uuid.uuid4(), user_id=owner, origin=origin, deleted_at=t0)

    await handled(runtime, deleted("spotify", "gone"))
    await handled(runtime, deleted("spotify", "liked"))  # the liked collection, by its one id
    await handled(runtime, deleted(None, "created-here"))  # not from a provider: nothing to forget
    await handled(runtime, deleted("spotify", "never-imported"))
    assert await _remembered(runtime, user, "spotify") == {"keep"}
    assert await _remembered(runtime, user, "deezer") == {"gone"}  # another provider's
    assert await _remembered(runtime, other, "spotify") == {"gone"}  # another user's


async def test_a_deleted_users_imports_are_forgotten(runtime):
    user, other, t0 = uuid.uuid4(), uuid.uuid4(), datetime.now(UTC)
    await _imported(runtime, user, "spotify", "a", "b")
    await _imported(runtime, other, "spotify", "a")
    await handled(runtime, UserDeleted(user_id=user, deleted_at=t0))
    assert await _remembered(runtime, user, "spotify") == set()
    assert await _remembered(runtime, other, "spotify") == {"a"}
