"""Logging through loguru: JSON lines in production, readable lines in development.

Every line carries the service name and the correlation id of the request or event being handled.
Secrets never reach a log: known secret values (from settings) and anything shaped like a token,
password, key or Authorization header are replaced before the line is written.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
from collections.abc import Iterable
from datetime import UTC
from typing import TYPE_CHECKING, Any, TextIO

from loguru import logger

from pm_platform.correlation import current_correlation_id

if TYPE_CHECKING:
    from loguru import Message, Record

__all__ = ["Redactor", "configure_logging", "logger"]

_REDACTED = "[REDACTED]"

# Shapes of secrets that may appear in free text: bearer/basic credentials, JWTs, key=value pairs
# whose key names a secret, and passwords inside URLs.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"(?i)\b(authorization[\"']?\s*[:=]\s*[\"']?)(?:(?:bearer|basic|token)\s+)?[^\s\"',}]+"),
        rf"\1{_REDACTED}",
    ),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), rf"\1 {_REDACTED}"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), _REDACTED),
    (
        re.compile(
            r"(?i)([\"']?\b[\w-]*(?:password|passwd|secret|token|api[_-]?key|private[_-]?key|master[_-]?key"
            r"|client[_-]?secret|code[_-]?verifier|cookie)[\w-]*[\"']?\s*[:=]\s*)(\"[^\"]*\"|'[^']*'|[^\s,&;}]+)"
        ),
        rf"\1{_REDACTED}",
    ),
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/?#@\s]+:)[^@/\s]+@"), rf"\1{_REDACTED}@"),
)


class Redactor:
    """Scrubs secrets out of text. Known values are replaced exactly; shapes by pattern."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        # Short values would blank out ordinary words; settings enforce long secrets anyway.
        new = {s for s in secrets if s and len(s) >= 8}
        self._secrets = sorted(set(self._secrets) | new, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, _REDACTED)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text


class _InterceptHandler(logging.Handler):
    """Routes the standard library's logging (aiohttp, aiokafka, asyncpg) into loguru."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        logger.opt(depth=6, exception=record.exc_info).log(level, record.getMessage())


# Keys whose values are secrets whatever they look like.
_SECRET_KEY = re.compile(
    r"(?i)(password|passwd|secret|token|api[_-]?key|private[_-]?key|master[_-]?key|authorization|cookie"
    r"|code[_-]?verifier)"
)


def _redact_structure(value: Any, redact: Redactor, key: str = "") -> Any:
    """Redact field by field, so the result stays well-formed whatever a value contains."""
    if key and _SECRET_KEY.search(key):
        return _REDACTED
    if isinstance(value, dict):
        return {str(k): _redact_structure(v, redact, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_redact_structure(v, redact) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact(str(value))


def _extra(record: Record, redact: Redactor) -> dict[str, Any]:
    extra = {k: v for k, v in record["extra"].items() if k != "correlation_id"}
    redacted: dict[str, Any] = _redact_structure(extra, redact)
    return redacted


def _error(record: Record, redact: Redactor) -> tuple[str, str] | None:
    """(one-line summary, traceback) of the record's exception, both redacted."""
    if record["exception"] is None:
        return None
    exc_type, exc_value, tb = record["exception"]
    summary = f"{exc_type.__name__ if exc_type else 'Error'}: {exc_value}"
    trace = "".join(traceback.format_exception(exc_type, exc_value, tb)) if exc_type else ""
    return redact(summary), redact(trace.rstrip())


def _json_sink(stream: TextIO, service: str, redact: Redactor) -> Any:
    def sink(message: Message) -> None:
        record: Record = message.record
        entry: dict[str, Any] = {
            "time": record["time"].astimezone(UTC).isoformat(timespec="milliseconds"),
            "level": record["level"].name.lower(),
            "service": service,
            "correlation_id": record["extra"].get("correlation_id") or current_correlation_id(),
            "logger": record["name"],
            "message": redact(record["message"]),
        }
        extra = _extra(record, redact)
        if extra:
            entry["extra"] = extra
        error = _error(record, redact)
        if error is not None:
            entry["error"], entry["traceback"] = error
        stream.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")
        stream.flush()

    return sink


def _text_sink(stream: TextIO, service: str, redact: Redactor) -> Any:
    def sink(message: Message) -> None:
        record: Record = message.record
        corr = record["extra"].get("correlation_id") or current_correlation_id() or "-"
        when = record["time"].astimezone(UTC).strftime("%H:%M:%S.%f")[:-3]
        line = f"{when} {record['level'].name:<7} {service} [{corr}] {record['name']}: {record['message']}"
        line = redact(line)
        extra = _extra(record, redact)
        if extra:
            line += " " + " ".join(f"{k}={v}" for k, v in extra.items())
        error = _error(record, redact)
        if error is not None:
            line += f" | {error[0]}\n{error[1]}"
        stream.write(line + "\n")
        stream.flush()

    return sink


def configure_logging(
    service: str,
    level: str = "INFO",
    json_lines: bool = False,
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> Redactor:
    """Install the one log sink of this process; returns the redactor so more secrets can be added."""
    redact = Redactor(secrets)
    out = stream or sys.stderr
    logger.remove()
    sink = _json_sink(out, service, redact) if json_lines else _text_sink(out, service, redact)
    logger.add(sink, level=level.upper(), enqueue=False, backtrace=False, diagnose=False)
    logging.basicConfig(handlers=[_InterceptHandler()], level=logging.INFO, force=True)
    # Chatty libraries: their INFO lines are connection churn, not events worth keeping.
    for name in ("aiokafka", "aiokafka.consumer.group_coordinator", "faststream"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    return redact
