"""Event handlers of the enrichment service: each runs in the transaction that records the event id and
calls a use case. A deleted user's data is erased by the chassis (app.py declares what it keeps)."""

from pm_contracts.transfers import TrackMatched, TrackNotFound
from pm_enrichment.usecases import catalog
from pm_platform.consumers import EventContext, EventHandlers

handlers = EventHandlers()


@handlers.on(TrackMatched)
async def on_track_matched(ctx: EventContext, event: TrackMatched) -> None:
    """A transfer's confident match: the canonical catalog records that both tracks are one recording."""
    await catalog.record_match(ctx.conn, event)


@handlers.on(TrackNotFound)
async def on_track_not_found(ctx: EventContext, event: TrackNotFound) -> None:
    """A transfer's search found nothing: the catalog answers the track "known absent" for a while."""
    await catalog.record_miss(ctx.conn, event)
