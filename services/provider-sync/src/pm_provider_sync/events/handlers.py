"""Event handlers of the provider-sync service. Each runs in the transaction that records the event id."""

import asyncpg
from loguru import logger

from pm_contracts.envelope import Envelope
from pm_contracts.provider_links import (
    ProviderLinked,
    ProviderReconsentRequired,
    ProviderUnlinked,
    waiting_for_link,
)
from pm_contracts.users import UserDeleted
from pm_platform.consumers import Handler
from pm_platform.service import Runtime
from pm_provider_sync.storage.links import delete_link, upsert_link
from pm_provider_sync.storage.users import delete_user_data


def event_handlers(rt: Runtime) -> dict[str, Handler]:
    async def on_user_deleted(conn: asyncpg.Connection, envelope: Envelope, event: UserDeleted) -> None:
        removed = await delete_user_data(conn, rt.jobs, event.user_id)
        logger.info("removed {} row(s) of deleted user {}", removed, event.user_id)

    async def on_linked(conn: asyncpg.Connection, envelope: Envelope, event: ProviderLinked) -> None:
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
        if current:  # linked (again): the jobs that paused for the user's consent go on
            resumed = await rt.jobs.resume_waiting(conn, event.user_id, waiting_for_link(event.provider))
            if resumed:
                logger.info(
                    "{} linked again: {} paused job(s) of user {} resumed",
                    event.provider,
                    len(resumed),
                    event.user_id,
                )

    async def on_unlinked(conn: asyncpg.Connection, envelope: Envelope, event: ProviderUnlinked) -> None:
        await delete_link(conn, event.user_id, event.provider, event.unlinked_at)

    async def on_reconsent(
        conn: asyncpg.Connection, envelope: Envelope, event: ProviderReconsentRequired
    ) -> None:
        await upsert_link(
            conn,
            event.user_id,
            event.provider,
            event.provider_account_id,
            "needs_reconsent",
            event.detected_at,
        )

    return {
        "user.deleted": on_user_deleted,
        "provider.linked": on_linked,
        "provider.unlinked": on_unlinked,
        "provider.reconsent_required": on_reconsent,
    }
