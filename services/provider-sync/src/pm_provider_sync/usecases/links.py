"""The user's provider links as auth announces them: which links a job may use, and the jobs that wait
for one. Events of a user arrive in order; each function still ignores an event older than the state it
finds (a replay), so applying one twice or late changes nothing."""

from __future__ import annotations

import asyncpg
from loguru import logger

from pm_contracts.provider_links import (
    ProviderLinked,
    ProviderReconsentRequired,
    ProviderUnlinked,
    waiting_for_link,
)
from pm_platform.jobs import JobStore
from pm_provider_sync.storage.links import delete_link, upsert_link


async def record_linked(conn: asyncpg.Connection, jobs: JobStore, event: ProviderLinked) -> None:
    """The link is usable; the user's jobs that paused waiting for it go back to the queue."""
    current = await upsert_link(
        conn,
        event.user_id,
        event.provider,
        event.provider_account_id,
        "linked",
        event.linked_at,
        event.display_name,
        event.scopes,
    )
    if not current:
        return  # a replayed older event: it resumes nothing
    resumed = await jobs.resume_waiting(conn, event.user_id, waiting_for_link(event.provider))
    if resumed:
        logger.info(
            "{} linked again: {} paused job(s) of user {} resumed",
            event.provider,
            len(resumed),
            event.user_id,
        )


async def record_unlinked(conn: asyncpg.Connection, event: ProviderUnlinked) -> None:
    await delete_link(conn, event.user_id, event.provider, event.unlinked_at)


async def record_reconsent_required(conn: asyncpg.Connection, event: ProviderReconsentRequired) -> None:
    """Jobs needing the link pause (pm_providers' ReconsentRequired) until it is linked again."""
    await upsert_link(
        conn,
        event.user_id,
        event.provider,
        event.provider_account_id,
        "needs_reconsent",
        event.detected_at,
    )
