"""Library backups in the public API (usecases/backups.py):

- ``POST /api/v1/backups`` (optionally ``{"versions": "latest" | "all" | N}``: which versions of each
  playlist to keep, the current one by default) → 202 with the job (``Location: /api/v1/jobs/{id}``); its
  result, once it succeeded, is the stored backup with a presigned ``download_url``.
- ``GET /api/v1/backups/{job_id}`` → the stored backup with a fresh link; ``…/download`` → 303 to one.
- restoring one is http/uploads.py's (it receives a file).
"""

from __future__ import annotations

from aiohttp import web

from pm_export.domain.backups import BACKUP_JOB, BackupRequest
from pm_export.usecases import backups
from pm_export.usecases.exports import stored_export
from pm_platform.api import NO_STORE
from pm_platform.http import job_accepted, read_json, uuid_in_path
from pm_platform.identity import require_identity
from pm_platform.service import RUNTIME

MAX_BODY_BYTES = 1 << 10


async def start_backup(request: web.Request) -> web.Response:
    rt = request.app[RUNTIME]
    identity = require_identity(request, rt.identities)
    # No body: the defaults (the current version of each playlist).
    body = await read_json(request, BackupRequest, MAX_BODY_BYTES) if request.body_exists else BackupRequest()
    return job_accepted(rt.name, await backups.request_backup(rt, identity.user_id, body))


async def get_backup(request: web.Request) -> web.Response:
    rt = request.app[RUNTIME]
    identity = require_identity(request, rt.identities)
    view = await stored_export(rt, identity.user_id, uuid_in_path(request, "job_id", "backup"), BACKUP_JOB)
    return web.json_response(view, headers=NO_STORE)


async def download_backup(request: web.Request) -> web.Response:
    rt = request.app[RUNTIME]
    identity = require_identity(request, rt.identities)
    view = await stored_export(rt, identity.user_id, uuid_in_path(request, "job_id", "backup"), BACKUP_JOB)
    raise web.HTTPSeeOther(location=view["download_url"], headers=NO_STORE)
