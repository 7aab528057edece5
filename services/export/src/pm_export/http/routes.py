"""HTTP routes of the export service. Public routes arrive through the gateway under /api/v1
(proto/openapi.yaml describes them)."""

from aiohttp import web

from pm_export.http import backups, exports, uploads
from pm_platform.service import Runtime


def add_routes(app: web.Application, rt: Runtime) -> None:
    r = app.router
    r.add_post("/api/v1/exports", exports.start_export)
    r.add_get("/api/v1/exports/{job_id}", exports.get_export)
    r.add_get("/api/v1/exports/{job_id}/download", exports.download_export)
    r.add_post("/api/v1/imports/files", uploads.import_file)
    r.add_post("/api/v1/imports/uploads", uploads.new_upload)
    r.add_post("/api/v1/backups", backups.start_backup)
    r.add_post("/api/v1/backups/restore", uploads.restore_backup)
    r.add_get("/api/v1/backups/{job_id}", backups.get_backup)
    r.add_get("/api/v1/backups/{job_id}/download", backups.download_backup)
