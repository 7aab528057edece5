"""Hooks for `make test-api` (schemathesis against the running gateway, SCHEMATHESIS_HOOKS=this module).

Each generated request comes from its own simulated client address (X-Forwarded-For from loopback is
believed; 198.18.0.0/15, RFC 2544: header values only, nothing is sent there) and carries a real
access token of one of a few bench users, so the generated requests reach the services behind the
gateway instead of stopping at 401 or at the per-IP and per-user rate limits. Operations that end
sessions (logout, revoke all others) get a fresh session of their own, so they cannot revoke the
tokens the other requests use.
"""

from __future__ import annotations

import itertools
import os
import uuid
from typing import Any

import requests
import schemathesis

GATEWAY = os.environ.get("PM_GATEWAY_URL", "http://127.0.0.1:3101")
USERS = 8
_SESSION_ENDERS = {("POST", "/api/v1/auth/logout"), ("DELETE", "/api/v1/sessions")}
_state: dict[str, Any] = {}


def _ip() -> str:
    # Not `random`: hypothesis seeds it while generating, which would hand out the same address again.
    n = uuid.uuid4().int % (1 << 17)
    return f"198.{18 + (n >> 16)}.{(n >> 8) & 0xFF}.{n & 0xFF}"


def _login(email: str, password: str) -> str:
    response = requests.post(
        f"{GATEWAY}/api/v1/auth/login",
        json={"email": email, "password": password, "device_name": "schemathesis"},
        headers={"X-Forwarded-For": _ip()},
        timeout=30,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def _users() -> list[tuple[str, str, str]]:
    if "users" not in _state:
        users = []
        for _ in range(USERS):
            email, password = f"st-{uuid.uuid4().hex[:12]}@example.com", f"schemathesis {uuid.uuid4().hex}"
            requests.post(
                f"{GATEWAY}/api/v1/auth/register",
                json={"email": email, "password": password},
                headers={"X-Forwarded-For": _ip()},
                timeout=30,
            ).raise_for_status()
            users.append((email, password, _login(email, password)))
        _state["users"] = users
        _state["cycle"] = itertools.cycle(users)
    return list(_state["users"])


@schemathesis.hook
def before_call(ctx: Any, case: Any, **kwargs: Any) -> None:
    """Runs right before each request (including schemathesis' own sign-up probes)."""
    _users()
    email, password, token = next(_state["cycle"])
    if (case.method.upper(), case.operation.path) in _SESSION_ENDERS:
        token = _login(email, password)
    headers = dict(case.headers or {})
    headers["X-Forwarded-For"] = _ip()
    headers["Authorization"] = f"Bearer {token}"
    case.headers = headers
