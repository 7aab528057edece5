"""Transfers in the public API (usecases/transfers.py does the work):

- ``POST /api/v1/transfers`` (domain/transfers.py's TransferRequest) → 202 with the job and
  ``Location: /api/v1/jobs/{id}`` (progress there, or over SSE at ``/api/v1/jobs/{id}/events``);
- ``GET /api/v1/transfers?limit=&cursor=``: the user's transfers, newest first, a page at a time;
- ``GET /api/v1/transfers/{id}``: the job, its request, per-status counts and the target playlists;
- ``GET /api/v1/transfers/{id}/tracks?status=&offset=&limit=``: the per-track results;
- ``GET /api/v1/transfers/{id}/report`` and ``…/report.csv``: the not-found report (every track not
  written, with its reason and best candidates);
- ``POST /api/v1/transfers/{id}/apply`` (``{"choices": [...]}``): a succeeded dry run, with the user's
  picks, becomes a transfer that writes → 202 with the new job.

Another user's transfer, or an id that is not one, is the same 404.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from aiohttp import web

from pm_platform.api import NO_STORE, cursor_refused, decode_cursor, encode_cursor, parse_uuid, whole_number
from pm_platform.errors import ValidationFailed
from pm_platform.http import read_json
from pm_platform.identity import require_identity
from pm_platform.jobs import Job
from pm_platform.service import RUNTIME, Runtime
from pm_provider_sync.domain.transfers import ApplyRequest, Status, TransferRequest, report_csv
from pm_provider_sync.usecases import transfers

# A request names at most 500 playlist ids; an apply at most 10,000 choices of ~100 bytes.
MAX_REQUEST_BYTES = 64 << 10
MAX_APPLY_BYTES = 2 << 20
TRACKS_PAGE = 100
MAX_TRACKS_PAGE = 1_000
TRANSFERS_PAGE = 50
MAX_TRANSFERS_PAGE = 200
STATUSES = frozenset(s.value for s in Status)


def _json(body: Any, status: int = 200, **headers: str) -> web.Response:
    return web.json_response(body, status=status, headers={**NO_STORE, **headers}, dumps=_dumps)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _accepted(rt: Runtime, job: Job) -> web.Response:
    return _json(job.to_event(rt.name).model_dump(mode="json"), 202, Location=f"/api/v1/jobs/{job.id}")


async def _job(request: web.Request) -> tuple[Runtime, Job]:
    rt = request.app[RUNTIME]
    identity = require_identity(request, rt.identities)
    job = await transfers.transfer_job(rt, identity.user_id, parse_uuid(request.match_info["job_id"]))
    return rt, job


async def start_transfer(request: web.Request) -> web.Response:
    rt = request.app[RUNTIME]
    identity = require_identity(request, rt.identities)
    body = await read_json(request, TransferRequest, MAX_REQUEST_BYTES)
    return _accepted(rt, await transfers.request_transfer(rt, identity.user_id, body))


async def list_transfers(request: web.Request) -> web.Response:
    rt = request.app[RUNTIME]
    identity = require_identity(request, rt.identities)
    limit = whole_number(request.query.get("limit"), "limit", 1, MAX_TRANSFERS_PAGE, TRANSFERS_PAGE)
    raw = request.query.get("cursor")
    before = _listed_before(raw) if raw is not None else None
    found = await transfers.list_transfers(rt, identity.user_id, limit + 1, before)
    page = found[:limit]
    following = (
        encode_cursor(page[-1].created_at.isoformat(), str(page[-1].id)) if len(found) > limit else None
    )
    return _json(
        {"transfers": [j.to_event(rt.name).model_dump(mode="json") for j in page], "next_cursor": following}
    )


def _listed_before(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The (created_at, id) of the job a page ended with, from the cursor the list gave."""
    at, job_id = decode_cursor(cursor, 2)
    try:
        moment, listed = datetime.fromisoformat(at), uuid.UUID(job_id)
    except ValueError:
        raise cursor_refused() from None
    if moment.tzinfo is None:
        raise cursor_refused()
    return moment, listed


async def get_transfer(request: web.Request) -> web.Response:
    rt, job = await _job(request)
    return _json(await transfers.transfer_view(rt, job))


async def list_tracks(request: web.Request) -> web.Response:
    rt, job = await _job(request)
    offset = whole_number(request.query.get("offset"), "offset", 0, 10_000_000, 0)
    limit = whole_number(request.query.get("limit"), "limit", 1, MAX_TRACKS_PAGE, TRACKS_PAGE)
    raw = request.query.get("status")
    statuses = raw.split(",") if raw else None
    if statuses is not None and not set(statuses) <= STATUSES:
        message = f"status must be among {', '.join(sorted(STATUSES))}"
        raise ValidationFailed(
            message, errors=[{"field": "status", "message": message, "type": "value_error"}]
        )
    rows = await transfers.track_results(rt, job, statuses, offset, limit + 1)
    following = offset + limit if len(rows) > limit else None
    return _json({"tracks": rows[:limit], "offset": offset, "limit": limit, "next_offset": following})


async def get_report(request: web.Request) -> web.Response:
    rt, job = await _job(request)
    rows = await transfers.not_found_report(rt, job)
    return _json({"job_id": str(job.id), "not_written": len(rows), "tracks": rows})


async def get_report_csv(request: web.Request) -> web.Response:
    rt, job = await _job(request)
    rows = await transfers.not_found_report(rt, job)
    return web.Response(
        text=report_csv(rows),
        content_type="text/csv",
        charset="utf-8",
        headers={
            **NO_STORE,
            "Content-Disposition": f'attachment; filename="transfer-{job.id}-not-found.csv"',
        },
    )


async def apply_transfer(request: web.Request) -> web.Response:
    rt, job = await _job(request)
    assert job.user_id is not None
    body = await read_json(request, ApplyRequest, MAX_APPLY_BYTES) if request.body_exists else ApplyRequest()
    return _accepted(rt, await transfers.apply_transfer(rt, job.user_id, job, body))
