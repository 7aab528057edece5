"""HTTP routes of the provider-sync service. Public routes arrive through the gateway under /api/v1."""

from aiohttp import web

from pm_platform.service import Runtime
from pm_provider_sync.http import imports, sync, transfers

T = "/api/v1/transfers/{job_id}"
S = "/api/v1/sync"


def add_routes(app: web.Application, rt: Runtime) -> None:
    r = app.router
    r.add_post("/api/v1/library/imports", imports.start_import)
    r.add_post("/api/v1/transfers", transfers.start_transfer)
    r.add_get("/api/v1/transfers", transfers.list_transfers)
    r.add_get(T, transfers.get_transfer)
    r.add_get(f"{T}/tracks", transfers.list_tracks)
    r.add_get(f"{T}/report", transfers.get_report)
    r.add_get(f"{T}/report.csv", transfers.get_report_csv)
    r.add_post(f"{T}/apply", transfers.apply_transfer)
    # The runs' routes first: "runs" is no link id.
    r.add_get(f"{S}/runs/{{run_id}}", sync.get_run)
    r.add_post(f"{S}/runs/{{run_id}}/confirm", sync.confirm_run)
    r.add_post(f"{S}/runs/{{run_id}}/undo", sync.undo_run)
    r.add_post(S, sync.create_link)
    r.add_get(S, sync.list_links)
    r.add_get(f"{S}/{{link_id}}", sync.get_link)
    r.add_patch(f"{S}/{{link_id}}", sync.change_link)
    r.add_delete(f"{S}/{{link_id}}", sync.delete_link)
    r.add_post(f"{S}/{{link_id}}/run", sync.run_link)
    r.add_get(f"{S}/{{link_id}}/runs", sync.list_runs)
