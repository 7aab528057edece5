"""The correlation id: one id per user action, carried through HTTP headers and Kafka headers."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar, Token

CORRELATION_HEADER = "X-Correlation-ID"
KAFKA_CORRELATION_HEADER = "correlation_id"

_current: ContextVar[str | None] = ContextVar("correlation_id", default=None)
# An id from outside is kept only when it is short and plain, so it cannot inject into logs.
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def accept_correlation_id(value: str | None) -> str:
    """The given id if it is well formed, else a new one."""
    if value and _VALID.match(value):
        return value
    return new_correlation_id()


def current_correlation_id() -> str | None:
    return _current.get()


def bind_correlation_id(value: str) -> Token[str | None]:
    return _current.set(value)


def reset_correlation_id(token: Token[str | None]) -> None:
    _current.reset(token)
