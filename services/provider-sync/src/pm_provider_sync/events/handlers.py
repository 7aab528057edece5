"""Event handlers of provider-sync: each runs in the transaction that records the event id and calls a
use case. A deleted user's data is erased by the chassis (app.py declares what it keeps)."""

from pm_contracts.playlists import PlaylistDeleted
from pm_contracts.provider_links import ProviderLinked, ProviderReconsentRequired, ProviderUnlinked
from pm_platform.consumers import EventContext, EventHandlers
from pm_provider_sync.usecases import imports, links, sync

handlers = EventHandlers()


@handlers.on(ProviderLinked)
async def on_provider_linked(ctx: EventContext, event: ProviderLinked) -> None:
    await links.record_linked(ctx.conn, ctx.runtime.jobs, event)


@handlers.on(ProviderUnlinked)
async def on_provider_unlinked(ctx: EventContext, event: ProviderUnlinked) -> None:
    await links.record_unlinked(ctx.conn, event)


@handlers.on(ProviderReconsentRequired)
async def on_reconsent_required(ctx: EventContext, event: ProviderReconsentRequired) -> None:
    await links.record_reconsent_required(ctx.conn, event)


@handlers.on(PlaylistDeleted)
async def on_playlist_deleted(ctx: EventContext, event: PlaylistDeleted) -> None:
    await imports.forget_deleted(ctx.conn, event)
    await sync.forget_library_playlist(ctx.runtime, ctx.conn, event)
