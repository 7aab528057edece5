"""What every service's public API has in common, whatever it does (pure).

Request bodies are closed and strict; timestamps are written ISO 8601 in UTC with a ``Z``; ids in paths
and queries are UUIDs, and anything else names nothing (the caller answers 404, as for an id that is
not there); a list's next page is named by an opaque cursor.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Strict, ValidationInfo, model_validator

from pm_contracts.providers import ProviderField
from pm_platform.errors import ValidationFailed

# Answers that must never be stored by a cache on the way (tokens, personal data).
NO_STORE = {"Cache-Control": "no-store"}


class RequestBody(BaseModel):
    """The base of every request body: unknown fields, wrong types and oversized values are 422s, and so
    is a NUL character in any text (PostgreSQL cannot store one: it would be a 500 later). A body whose
    own rules name NUL characters (a password policy's ``control_character``) sets ``allow_nul``."""

    model_config = ConfigDict(extra="forbid", strict=True)
    allow_nul: ClassVar[bool] = False

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any, info: ValidationInfo) -> Any:
        if cls.allow_nul or (isinstance(info.context, dict) and info.context.get(_NUL_FREE)):
            return data
        if _holds_nul(data):
            raise ValueError("text may not contain a NUL character")
        return data


_NUL_FREE = "pm_platform.nul_free"


def nul_free(raw: bytes) -> dict[str, bool]:
    """The validation context for a body parsed from ``raw``: whether its text can hold no NUL. In UTF-8
    JSON a NUL is only ever the escape ``\\u0000`` (a bare one is refused by the parser), so a body
    without it needs no walk of every string (10,000 described tracks: 100 ms). Other encodings are
    walked."""
    return {_NUL_FREE: b"\\u0000" not in raw and b"\x00" not in raw}


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_holds_nul(v) for v in value)
    return False


# JSON has no UUID, date or enum type: in a strict body these take their string forms.
LenientId = Annotated[uuid.UUID, Strict(False)]
LenientDate = Annotated[date, Strict(False)]
LenientProvider = Annotated[ProviderField, Strict(False)]


def whole_number(raw: str | None, name: str, minimum: int, maximum: int, default: int) -> int:
    """A query parameter that must be a whole number in range (ASCII digits only: "²" is a digit to
    ``str.isdigit`` but not to ``int``); 422 naming it otherwise."""
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18) or not minimum <= int(raw) <= maximum:
        message = f"{name} must be a whole number from {minimum} to {maximum}"
        raise ValidationFailed(message, errors=[{"field": name, "message": message, "type": "value_error"}])
    return int(raw)


# Longer than any cursor a list gives: anything longer is refused before it is decoded.
MAX_CURSOR = 512


def encode_cursor(*parts: str) -> str:
    """An opaque cursor holding ``parts`` (where the next page starts); :func:`decode_cursor` reads it."""
    raw = json.dumps(list(parts), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, count: int, name: str = "cursor") -> list[str]:
    """The ``count`` strings :func:`encode_cursor` put in ``cursor``; 422 naming ``name`` when it is not
    a cursor (the caller checks what the strings say)."""
    try:
        if len(cursor) <= MAX_CURSOR:
            parts = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
            if isinstance(parts, list) and len(parts) == count and all(isinstance(p, str) for p in parts):
                return parts
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise cursor_refused(name)


def cursor_refused(name: str = "cursor") -> ValidationFailed:
    """The 422 for a cursor no list gave (or whose contents name no place in it)."""
    message = f"{name} is not one this list gave"
    return ValidationFailed(message, errors=[{"field": name, "message": message, "type": "value_error"}])


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value is not None else None


def parse_uuid(value: str) -> uuid.UUID | None:
    """The id ``value`` names, or None when it is no UUID (so it names nothing)."""
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
