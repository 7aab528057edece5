"""The routes that receive a file (usecases/imports.py, usecases/backups.py):

- ``POST /api/v1/imports/files``: a playlist file as ``multipart/form-data`` (one part named ``file``, at
  most MAX_UPLOAD_BYTES), or ``{"upload_id": …, "file_name": …}`` naming a presigned upload → 202 with the
  job (``Location: /api/v1/jobs/{id}``); its result lists the new playlists and what was skipped.
- ``POST /api/v1/backups/restore``: a library backup, sent the same ways → 202 with the restore's job.
- ``POST /api/v1/imports/uploads`` → a presigned PUT for a file too big to send through the gateway.
"""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from pathlib import Path
from typing import Annotated
from urllib.parse import unquote

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from pydantic import Field

from pm_export.domain.imports import MAX_UPLOAD_BYTES
from pm_export.domain.objects import upload_object
from pm_export.usecases import backups, imports
from pm_platform.api import NO_STORE, LenientId, RequestBody
from pm_platform.errors import PayloadTooLarge, RequestTimeout, UnsupportedMediaType, ValidationFailed
from pm_platform.http import job_accepted, read_json
from pm_platform.identity import require_identity
from pm_platform.s3 import OBJECT_STORE
from pm_platform.service import RUNTIME, Runtime

# The whole upload must arrive within this (a slow client holds a connection and a temporary file).
UPLOAD_TIMEOUT_S = 120.0
CHUNK = 1 << 16


class UploadedImport(RequestBody):
    upload_id: LenientId
    file_name: Annotated[str, Field(min_length=1, max_length=255)] | None = None


def _refused(message: str) -> ValidationFailed:
    return ValidationFailed(message, errors=[{"field": "file", "message": message, "type": "value_error"}])


async def _receive(request: web.Request, path: Path) -> str | None:
    """The multipart body's one ``file`` part, streamed to ``path``; its file name."""
    reader = await request.multipart()
    received: str | None = None
    found = False
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader) or part.name != "file" or found:
            raise _refused("send one part named file (and nothing else)")
        found = True
        received = part.filename
        size = 0
        with path.open("wb") as out:
            while chunk := await part.read_chunk(CHUNK):
                size += len(chunk)
                if size > MAX_UPLOAD_BYTES:
                    raise PayloadTooLarge(
                        f"a file through the API is at most {MAX_UPLOAD_BYTES >> 20} MB: "
                        "use POST /api/v1/imports/uploads for a bigger one"
                    )
                out.write(chunk)
    if not found:
        raise _refused("send the file as a part named file")
    return received


async def _received_upload(
    request: web.Request, rt: Runtime, user_id: uuid.UUID
) -> tuple[uuid.UUID, str | None]:
    """The upload a request names, and its file's name: the multipart body's ``file`` part, stored as an
    upload of the user's, or ``{"upload_id", "file_name"}`` naming one the user put at a presigned link
    (422 when there is none: another user's upload id is not theirs)."""
    if request.content_type == "multipart/form-data":
        with tempfile.TemporaryDirectory(prefix="pm-upload-") as scratch:
            path = Path(scratch) / "upload"
            try:
                async with asyncio.timeout(UPLOAD_TIMEOUT_S):
                    file_name = await _receive(request, path)
            except TimeoutError:
                raise RequestTimeout("the upload was too slow") from None
            except HttpProcessingError:  # a part's headers aiohttp cannot parse (control characters…)
                raise _refused("a malformed multipart body (a part's headers)") from None
            except ValueError as error:  # a malformed multipart body
                raise _refused(f"a malformed multipart body ({error})") from None
            return await imports.store_upload(rt, user_id, path), _base_name(file_name)
    if request.content_type == "application/json":
        body = await read_json(request, UploadedImport, 4096)
        if await rt[OBJECT_STORE].size(upload_object(user_id, body.upload_id)) is None:
            raise _refused("nothing was uploaded under that upload_id (or the upload expired)")
        return body.upload_id, _base_name(body.file_name)
    raise UnsupportedMediaType("send the file as multipart/form-data, or name an upload as application/json")


async def import_file(request: web.Request) -> web.Response:
    rt = request.app[RUNTIME]
    identity = require_identity(request, rt.identities)
    upload_id, file_name = await _received_upload(request, rt, identity.user_id)
    job = await imports.start_import(rt, identity.user_id, upload_id, file_name)
    return job_accepted(rt.name, job)


async def restore_backup(request: web.Request) -> web.Response:
    rt = request.app[RUNTIME]
    identity = require_identity(request, rt.identities)
    upload_id, _ = await _received_upload(request, rt, identity.user_id)
    return job_accepted(rt.name, await backups.start_restore(rt, identity.user_id, upload_id))


def _base_name(file_name: str | None) -> str | None:
    """Only the file's own name counts (a client may send a path). Clients percent-encode some of it
    (browsers a quote, aiohttp and others anything but letters): decoded."""
    if not file_name:
        return None
    base = unquote(file_name).replace("\\", "/").rsplit("/", 1)[-1].strip()
    return base[:255] or None


async def new_upload(request: web.Request) -> web.Response:
    rt = request.app[RUNTIME]
    identity = require_identity(request, rt.identities)
    return web.json_response(await imports.upload_slot(rt, identity.user_id), status=201, headers=NO_STORE)
