"""Topic ``pm.exports`` (owner export, key: the job id): the end of an export of playlist files and of a
library backup — what was written where, for how long. Their progress is the job's (``job.updated``).

The formats, as the public API names them: ``m3u8`` (extended M3U, UTF-8), ``xspf``, ``jspf``, ``csv``
(Exportify's columns) and ``json`` (our lossless JSON, proto/files/playlist-file.v1.json).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ExportFormat = Literal["m3u8", "xspf", "jspf", "csv", "json"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("m3u8", "xspf", "jspf", "csv", "json")


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore")  # a tolerant reader: see pm_contracts.compat


class ExportCompleted(_Payload):
    """An export's file is in object storage: ``object_name`` in the service's bucket until ``expires_at``
    (the bucket's lifecycle rule deletes it then)."""

    job_id: uuid.UUID
    user_id: uuid.UUID
    format: ExportFormat
    playlists: int = Field(ge=0)
    entries: int = Field(ge=0)
    object_name: str = Field(max_length=1_000)
    size_bytes: int = Field(ge=0)
    sha256: str = Field(min_length=64, max_length=64)
    expires_at: datetime
    completed_at: datetime


class ExportFailed(_Payload):
    job_id: uuid.UUID
    user_id: uuid.UUID
    format: ExportFormat
    code: str = Field(max_length=100)
    message: str = Field(max_length=1000)
    failed_at: datetime


class BackupCompleted(_Payload):
    """A library backup is in object storage: ``object_name`` until ``expires_at``."""

    job_id: uuid.UUID
    user_id: uuid.UUID
    playlists: int = Field(ge=0)
    entries: int = Field(ge=0)
    object_name: str = Field(max_length=1_000)
    size_bytes: int = Field(ge=0)
    sha256: str = Field(min_length=64, max_length=64)
    expires_at: datetime
    completed_at: datetime
