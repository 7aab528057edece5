"""HTTP routes of the export service. Public routes arrive through the gateway under /api/v1
(proto/openapi.yaml describes them)."""

from aiohttp import web

from pm_export.http import exports, imports
from pm_platform.service import Runtime


def add_routes(app: web.Application, rt: Runtime) -> None:
    r = app.router
    r.add_post("/api/v1/exports", exports.start_export)
    r.add_get("/api/v1/exports/{job_id}", exports.get_export)
    r.add_get("/api/v1/exports/{job_id}/download", exports.download_export)
    r.add_post("/api/v1/imports/files", imports.import_file)
    r.add_post("/api/v1/imports/uploads", imports.new_upload)
