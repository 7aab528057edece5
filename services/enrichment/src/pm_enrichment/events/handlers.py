"""Event handlers of the enrichment service: each runs in the transaction that records the event id and
calls a use case. A deleted user's data is erased by the chassis (app.py declares what it keeps)."""

from pm_contracts.library import PlaylistImported
from pm_contracts.transfers import TrackMatched, TrackNotFound
from pm_enrichment.usecases import catalog, clustering
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


@handlers.on(PlaylistImported)
async def on_playlist_imported(ctx: EventContext, event: PlaylistImported) -> None:
    """A provider import's tracks, as the provider described them: the catalog keeps the descriptions and
    places each track on its recording. File imports are not taken: a file says what a user wrote, and
    the shared catalog must not learn from claims anyone can forge (docs/catalog.md)."""
    if not event.entries:
        return
    provider = event.provider.value
    rows = [row for e in event.entries if (row := clustering.seen_row(provider, e.track, event.read_at))]
    await clustering.record_seen(ctx.conn, rows, job_id=event.job_id, seen_at=event.read_at)
