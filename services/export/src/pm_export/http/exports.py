"""Exports in the public API (usecases/exports.py):

- ``POST /api/v1/exports`` ``{"playlists": [ids] | "all", "format": "m3u8"|"xspf"|"jspf"|"csv"|"json"}``
  → 202 with the job (``Location: /api/v1/jobs/{id}``, where the gateway serves its progress); its result,
  once succeeded, is the export below.
- ``GET /api/v1/exports/{job_id}`` → the stored file (name, size, SHA-256, expiry) with a fresh presigned
  ``download_url``.
- ``GET /api/v1/exports/{job_id}/download`` → 303 to a fresh presigned URL of the file.

Another user's job is the same 404 as an unknown one.
"""

from __future__ import annotations

from aiohttp import web

from pm_export.domain.exports import ExportRequest
from pm_export.usecases import exports
from pm_platform.api import NO_STORE
from pm_platform.http import job_accepted, read_json, uuid_in_path
from pm_platform.identity import require_identity
from pm_platform.service import RUNTIME

# 1,000 playlist ids of 36 characters, quoted, with commas: 40 kB.
MAX_BODY_BYTES = 64 << 10


async def start_export(request: web.Request) -> web.Response:
    rt = request.app[RUNTIME]
    identity = require_identity(request, rt.identities)
    body = await read_json(request, ExportRequest, MAX_BODY_BYTES)
    return job_accepted(rt.name, await exports.request_export(rt, identity.user_id, body))


async def get_export(request: web.Request) -> web.Response:
    rt = request.app[RUNTIME]
    identity = require_identity(request, rt.identities)
    view = await exports.stored_export(rt, identity.user_id, uuid_in_path(request, "job_id", "export"))
    return web.json_response(view, headers=NO_STORE)


async def download_export(request: web.Request) -> web.Response:
    rt = request.app[RUNTIME]
    identity = require_identity(request, rt.identities)
    view = await exports.stored_export(rt, identity.user_id, uuid_in_path(request, "job_id", "export"))
    raise web.HTTPSeeOther(location=view["download_url"], headers=NO_STORE)
