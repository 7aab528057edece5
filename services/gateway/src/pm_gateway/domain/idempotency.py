"""Idempotency-Key on POST (draft-ietf-httpapi-idempotency-key-header), pure.

A key is scoped to who sent it (the user, or the client IP when anonymous), the method and the path,
so two users can never see each other's stored responses. The request is fingerprinted by the SHA-256
of its body: the same key with the same body replays the stored response; with another body it is a
client error (422); while the first request is still in flight a duplicate gets 409.

Credentials are never kept or replayed: routes whose answers carry them are not idempotent at all
(domain/routes.py, every route of auth), and an answer that carries one anyway (a token field in its
body, a cookie) is not stored, on any route.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_VALID_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
# Response headers worth replaying; the rest (rate limits, correlation id, security headers) belong to
# the replaying request.
_REPLAYED_HEADERS = frozenset({"content-type", "location", "etag", "last-modified", "content-language"})


def valid_key(value: str) -> bool:
    """1 to 255 visible ASCII characters (a UUID, typically)."""
    return bool(_VALID_KEY.match(value))


def storage_id(scope: str, method: str, path: str, key: str) -> str:
    """A fixed-length id for (who, method, path, key): the Redis key suffix."""
    raw = "\x00".join((scope, method.upper(), path, key)).encode()
    return hashlib.sha256(raw).hexdigest()


def fingerprint(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True)
class StoredResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


@dataclass(frozen=True)
class Record:
    """What Redis holds under a key: in flight (no response yet) or completed."""

    fingerprint: str
    response: StoredResponse | None = None

    def dumps(self) -> str:
        data: dict[str, Any] = {"fp": self.fingerprint}
        if self.response is not None:
            data["status"] = self.response.status
            data["headers"] = self.response.headers
            data["body"] = base64.b64encode(self.response.body).decode()
        return json.dumps(data)

    @classmethod
    def loads(cls, raw: str | bytes) -> Record:
        data = json.loads(raw)
        response = None
        if "status" in data:
            response = StoredResponse(
                int(data["status"]),
                [(str(n), str(v)) for n, v in data["headers"]],
                base64.b64decode(data["body"]),
            )
        return cls(str(data["fp"]), response)


def replayable_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(n, v) for n, v in headers if n.lower() in _REPLAYED_HEADERS]


# Fields of an answer that hold a credential: OAuth 2's token response (RFC 6749 §5.1) and OpenID
# Connect's id_token, wherever they appear, compared without regard to case.
CREDENTIAL_FIELDS = frozenset({"access_token", "refresh_token", "id_token"})
_CREDENTIAL_NEEDLES = tuple(name.encode() for name in CREDENTIAL_FIELDS)
_CREDENTIAL_HEADERS = frozenset({"set-cookie", "set-cookie2"})


def carries_credentials(headers: list[tuple[str, str]], body: bytes) -> bool:
    """Whether an answer hands out a credential (never to be stored): a cookie, or a body naming one of
    CREDENTIAL_FIELDS as a JSON member (at any depth, escapes decoded) or anywhere in a body that is not
    JSON. A JSON value that merely spells such a name is not a credential. Unreadable → True: so is an
    encoded body (the gateway passes bodies through undecoded: gzip would hide the names)."""
    content_type = ""
    for name, value in headers:
        lowered = name.lower()
        if lowered in _CREDENTIAL_HEADERS:
            return True
        if lowered == "content-type":
            content_type = value.partition(";")[0].strip().lower()
        elif lowered == "content-encoding" and value.strip().lower() not in ("", "identity"):
            return True
    folded = body.lower()
    named = any(needle in folded for needle in _CREDENTIAL_NEEDLES)
    if not (content_type == "application/json" or content_type.endswith("+json")):
        return named
    if not named and b"\\u" not in body:  # a JSON escape could spell a name in other bytes
        return False
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return True
    return _names_credential(document)


def _names_credential(document: Any) -> bool:
    pending = [document]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            if any(isinstance(key, str) and key.lower() in CREDENTIAL_FIELDS for key in item):
                return True
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def worth_storing(status: int) -> bool:
    """Completed outcomes are stored; a 5xx (or a refusal by the gateway before the upstream saw the
    request, such as 429) is not, so the client can retry with the same key."""
    return status < 500 and status not in (408, 409, 425, 429)
