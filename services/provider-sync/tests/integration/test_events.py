"""provider-sync mirrors auth's link events: linked, needs re-consent, unlinked; stale events lose."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from pm_contracts.envelope import Envelope
from pm_contracts.jobs import JobError
from pm_contracts.provider_links import (
    ProviderLinked,
    ProviderReconsentRequired,
    ProviderUnlinked,
    waiting_for_link,
)
from pm_platform.consumers import Outcome
from pm_platform.testing import running_service
from pm_provider_sync.app import definition
from pm_provider_sync.storage.links import link_status

pytestmark = pytest.mark.integration


def _raw(event_type: str, data) -> bytes:
    return Envelope(
        source="/services/auth",
        type=event_type,
        subject=str(data.user_id),
        schemaversion=1,
        correlationid="t",
        data=data.model_dump(mode="json"),
    ).to_json()


def _deliverer(rt):
    """``await deliver(event_type, payload)``: one event from auth, handled by the running service."""
    assert rt.dispatcher is not None

    async def deliver(event_type, data):
        assert await rt.dispatcher.dispatch(_raw(event_type, data), "pm.provider-links") is Outcome.HANDLED

    return deliver


async def test_link_lifecycle(service_env_factory):
    user, t0 = uuid.uuid4(), datetime.now(UTC)
    async with running_service(definition(), await service_env_factory("provider-sync")) as (_, rt):
        deliver = _deliverer(rt)

        async def status():
            async with rt.pool.acquire() as conn:
                return await link_status(conn, user, "spotify")

        linked = ProviderLinked(
            user_id=user, provider="spotify", provider_account_id="a", scopes=["x"], linked_at=t0
        )
        await deliver("provider.linked", linked)
        assert await status() == "linked"
        await deliver(
            "provider.reconsent_required",
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
        await deliver("provider.linked", stale)
        assert await status() == "needs_reconsent"
        await deliver(
            "provider.unlinked",
            ProviderUnlinked(
                user_id=user,
                provider="spotify",
                provider_account_id="a",
                unlinked_at=t0 + timedelta(seconds=9),
            ),
        )
        assert await status() is None


async def test_linking_again_resumes_the_jobs_that_paused_for_it(service_env_factory):
    user, t0 = uuid.uuid4(), datetime.now(UTC)
    async with running_service(definition(), await service_env_factory("provider-sync")) as (_, rt):
        deliver = _deliverer(rt)

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

        await deliver(
            "provider.reconsent_required",
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
        await deliver("provider.linked", linked.model_copy(update={"linked_at": t0 - timedelta(seconds=1)}))
        assert await state(spotify_job) == "paused"
        await deliver("provider.linked", linked.model_copy(update={"linked_at": t0 + timedelta(seconds=1)}))
        assert await state(spotify_job) == "queued"
        assert await state(deezer_job) == "paused"  # it waits for deezer
