"""The library import in the public API: ``POST /api/v1/library/imports`` starts one (usecases/imports.py).

Body (optional): ``{"providers": ["spotify", ...]}``, default every provider the user has linked. The
answer is 202 with the job (the gateway's public ``Job``) and ``Location: /api/v1/jobs/{id}``, where the
gateway serves its progress. While an import of the user is queued or running, the answer is that job; a paused one is superseded.
"""

from __future__ import annotations

from aiohttp import web
from pydantic import Field

from pm_contracts.providers import PROVIDERS
from pm_platform.api import LenientProvider, RequestBody
from pm_platform.http import job_accepted, read_json
from pm_platform.identity import require_identity
from pm_platform.service import RUNTIME
from pm_provider_sync.usecases import imports

# The body names at most every provider once: a few dozen bytes.
MAX_BODY_BYTES = 4096


class ImportRequest(RequestBody):
    providers: list[LenientProvider] | None = Field(default=None, min_length=1, max_length=len(PROVIDERS))


async def start_import(request: web.Request) -> web.Response:
    rt = request.app[RUNTIME]
    identity = require_identity(request, rt.identities)
    body = await read_json(request, ImportRequest, MAX_BODY_BYTES) if request.body_exists else ImportRequest()
    job, _ = await imports.request_import(rt, identity.user_id, body.providers)
    return job_accepted(rt.name, job)
