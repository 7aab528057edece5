"""What every endpoint of auth's API has in common, whatever it does (pure).

Request bodies are small, closed and strict; answers are never cached (they carry tokens and personal
data); timestamps are written ISO 8601 in UTC with a ``Z``; ids in paths and queries are UUIDs, and
anything else names nothing.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

# Small bodies only: anything larger is refused with 413 before it is parsed.
MAX_BODY_BYTES = 16 * 1024
# The headers of every JSON answer.
NO_STORE = {"Cache-Control": "no-store"}


class RequestBody(BaseModel):
    """The base of every request body: unknown fields, wrong types and oversized values are 422s."""

    model_config = ConfigDict(extra="forbid", strict=True)


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value is not None else None


def parse_uuid(value: str) -> uuid.UUID | None:
    """The id ``value`` names, or None when it is no UUID (so it names nothing)."""
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
