"""Event handlers of the enrichment service: each runs in the transaction that records the event id and
calls a use case. A deleted user's data is erased by the chassis (app.py declares what it keeps)."""

from pm_contracts.transfers import TrackMatched
from pm_enrichment.usecases import catalog
from pm_platform.consumers import EventContext, EventHandlers

handlers = EventHandlers()


@handlers.on(TrackMatched)
async def on_track_matched(ctx: EventContext, event: TrackMatched) -> None:
    """A transfer's confident match: the canonical catalog records that both tracks are one recording."""
    await catalog.record_match(ctx.conn, event)
