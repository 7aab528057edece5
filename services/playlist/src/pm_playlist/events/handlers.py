"""Event handlers of the playlist service: each runs in the transaction that records the event id and
calls a use case; the cache hears of the change once it is committed. A deleted user's data is erased by
the chassis (app.py declares what it keeps)."""

from pm_contracts.enrichment import TrackEnriched
from pm_contracts.library import (
    FilePlaylistImported,
    LibraryImportFinished,
    PlaylistImported,
    PlaylistRestored,
)
from pm_platform.consumers import EventContext, EventHandlers
from pm_playlist.usecases import enrichment, file_imports, imports, restores

handlers = EventHandlers()


@handlers.on(PlaylistImported)
async def on_playlist_imported(ctx: EventContext, event: PlaylistImported) -> None:
    committed = await imports.apply_part(ctx.conn, ctx.runtime, event)
    ctx.after_commit.append(lambda: committed.tell_cache(ctx.runtime))


@handlers.on(LibraryImportFinished)
async def on_import_finished(ctx: EventContext, event: LibraryImportFinished) -> None:
    committed = await imports.apply_finished(ctx.conn, ctx.runtime, event)
    ctx.after_commit.append(lambda: committed.tell_cache(ctx.runtime))


@handlers.on(FilePlaylistImported)
async def on_file_playlist_imported(ctx: EventContext, event: FilePlaylistImported) -> None:
    committed = await file_imports.apply_file_part(ctx.conn, ctx.runtime, event)
    ctx.after_commit.append(lambda: committed.tell_cache(ctx.runtime))


@handlers.on(PlaylistRestored)
async def on_playlist_restored(ctx: EventContext, event: PlaylistRestored) -> None:
    committed = await restores.apply_restored_part(ctx.conn, ctx.runtime, event)
    ctx.after_commit.append(lambda: committed.tell_cache(ctx.runtime))


@handlers.on(TrackEnriched)
async def on_track_enriched(ctx: EventContext, event: TrackEnriched) -> None:
    committed = await enrichment.apply_enrichment(ctx.conn, event)
    ctx.after_commit.append(lambda: committed.tell_cache(ctx.runtime))
