"""Sync in the public API (usecases/sync.py does the work; docs/sync.md):

- ``POST /api/v1/sync`` (domain/sync.py's LinkRequest) → 201 with the link;
- ``GET /api/v1/sync``: the user's links; ``GET|PATCH|DELETE /api/v1/sync/{link_id}``;
- ``POST /api/v1/sync/{link_id}/run`` → 202 with the run's job (or the run already under way);
- ``GET /api/v1/sync/{link_id}/runs?limit=``: its runs, newest first;
- ``GET /api/v1/sync/runs/{run_id}``: a run and what it did;
- ``POST /api/v1/sync/runs/{run_id}/confirm``: a run the removal brake stopped goes on (202);
- ``POST /api/v1/sync/runs/{run_id}/undo``: both ends back to how that run found them (202, the undo's job).

Another user's link or run, or an id that is not one, is the same 404.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from aiohttp import web

from pm_platform.api import NO_STORE, parse_uuid, whole_number
from pm_platform.errors import NotFound
from pm_platform.http import read_json
from pm_platform.identity import Identity, require_identity
from pm_platform.jobs import Job
from pm_platform.service import RUNTIME, Runtime
from pm_provider_sync.domain.sync import LinkChange, LinkRequest
from pm_provider_sync.usecases import sync

MAX_REQUEST_BYTES = 8 << 10
RUNS_PAGE = 20
MAX_RUNS_PAGE = 100


def _json(body: Any, status: int = 200, **headers: str) -> web.Response:
    return web.json_response(
        body,
        status=status,
        headers={**NO_STORE, **headers},
        dumps=lambda v: json.dumps(v, separators=(",", ":")),
    )


def _accepted(rt: Runtime, job: Job) -> web.Response:
    return _json(job.to_event(rt.name).model_dump(mode="json"), 202, Location=f"/api/v1/jobs/{job.id}")


def _id(request: web.Request, name: str) -> uuid.UUID:
    """The path's link or run id; one that is no UUID names nothing (the same 404 as another user's)."""
    found = parse_uuid(request.match_info[name])
    if found is None:
        raise NotFound("no such sync run" if name == "run_id" else "no such sync link")
    return found


def _caller(request: web.Request) -> tuple[Runtime, Identity]:
    rt = request.app[RUNTIME]
    return rt, require_identity(request, rt.identities)


async def create_link(request: web.Request) -> web.Response:
    rt, identity = _caller(request)
    body = await read_json(request, LinkRequest, MAX_REQUEST_BYTES)
    link = await sync.create_link(rt, identity.user_id, body)
    return _json(link, 201, Location=f"/api/v1/sync/{link['id']}")


async def list_links(request: web.Request) -> web.Response:
    rt, identity = _caller(request)
    return _json({"links": await sync.list_links(rt, identity.user_id)})


async def get_link(request: web.Request) -> web.Response:
    rt, identity = _caller(request)
    return _json(await sync.get_link(rt, identity.user_id, _id(request, "link_id")))


async def change_link(request: web.Request) -> web.Response:
    rt, identity = _caller(request)
    link_id = _id(request, "link_id")
    body = await read_json(request, LinkChange, MAX_REQUEST_BYTES)
    return _json(await sync.change_link(rt, identity.user_id, link_id, body))


async def delete_link(request: web.Request) -> web.Response:
    rt, identity = _caller(request)
    await sync.delete_link(rt, identity.user_id, _id(request, "link_id"))
    return web.Response(status=204, headers=NO_STORE)


async def run_link(request: web.Request) -> web.Response:
    rt, identity = _caller(request)
    return _accepted(rt, await sync.run_now(rt, identity.user_id, _id(request, "link_id")))


async def list_runs(request: web.Request) -> web.Response:
    rt, identity = _caller(request)
    link_id = _id(request, "link_id")
    limit = whole_number(request.query.get("limit"), "limit", 1, MAX_RUNS_PAGE, RUNS_PAGE)
    return _json({"runs": await sync.list_runs(rt, identity.user_id, link_id, limit)})


async def get_run(request: web.Request) -> web.Response:
    rt, identity = _caller(request)
    return _json(await sync.run_view(rt, identity.user_id, _id(request, "run_id")))


async def confirm_run(request: web.Request) -> web.Response:
    rt, identity = _caller(request)
    return _accepted(rt, await sync.confirm_run(rt, identity.user_id, _id(request, "run_id")))


async def undo_run(request: web.Request) -> web.Response:
    rt, identity = _caller(request)
    return _accepted(rt, await sync.undo_run(rt, identity.user_id, _id(request, "run_id")))
