"""HTTP routes of the playlist service. Public routes arrive through the gateway under /api/v1
(proto/openapi.yaml describes them); editing here changes the library only — writing back to a provider
is sync's job. Internal routes (``/internal/…``) serve other services with the service credential: reads
of a user's playlists and their history, and the writes provider-sync makes when a library playlist is
one end of a sync link (its tracks described, the playlist's list made the other end's)."""

from __future__ import annotations

from aiohttp import web

from pm_platform.service import Runtime
from pm_playlist.http import insights, playlists
from pm_playlist.http.playlists import EDIT_MAX_BYTES

__all__ = ["EDIT_MAX_BYTES", "add_routes"]

P = "/api/v1/playlists/{playlist_id}"


def add_routes(app: web.Application, rt: Runtime) -> None:
    r = app.router
    r.add_get("/api/v1/playlists", playlists.list_playlists)
    r.add_post("/api/v1/playlists", playlists.create_playlist)
    r.add_get("/api/v1/library/liked", playlists.liked_collections)
    r.add_get("/api/v1/library/insights/duplicates", insights.duplicates)
    r.add_get("/api/v1/library/insights/availability", insights.availability)
    r.add_get("/api/v1/library/insights/statistics", insights.statistics)
    r.add_get(P, playlists.get_playlist)
    r.add_patch(P, playlists.change_details)
    r.add_delete(P, playlists.delete_playlist)
    r.add_post(f"{P}/entries", playlists.add_entries)
    r.add_post(f"{P}/entries/remove", playlists.remove_entries)
    r.add_post(f"{P}/entries/move", playlists.move_entries)
    r.add_post(f"{P}/edits", playlists.batch_edit)
    r.add_post(f"{P}/reorder", playlists.reorder)
    r.add_post(f"{P}/sort", playlists.sort)
    r.add_post(f"{P}/dedupe", playlists.dedupe)
    r.add_post(f"{P}/merge", playlists.merge)
    r.add_get(f"{P}/versions", playlists.list_versions)
    r.add_get(f"{P}/diff", playlists.diff_versions)
    r.add_post(f"{P}/versions/{{version}}/restore", playlists.restore)
    # Internal reads for other services (the service credential; never routed by the gateway): a
    # transfer reads its source playlists here, a backup the library and each playlist's history.
    r.add_get("/internal/users/{user_id}/playlists", playlists.list_user_playlists)
    r.add_get("/internal/users/{user_id}/playlists/{playlist_id}", playlists.get_user_playlist)
    r.add_get("/internal/users/{user_id}/playlists/{playlist_id}/versions", playlists.list_user_versions)
    r.add_get("/internal/users/{user_id}/playlists/{playlist_id}/diff", playlists.diff_user_versions)
    # Internal writes for provider-sync (docs/library.md, "Internal writes for sync"): the tracks it read,
    # then a library playlist made exactly the list at the link's other end.
    r.add_post("/internal/users/{user_id}/tracks", playlists.write_user_tracks)
    r.add_put("/internal/users/{user_id}/playlists/{playlist_id}/entries", playlists.write_user_entries)
