"""Accounts in the public API: register, log in, refresh, me, change the password, delete the account.
Each handler parses the request, calls its use case (usecases/accounts.py) and renders the answer."""

from __future__ import annotations

from aiohttp import web
from pydantic import Field

from pm_auth.domain.api import MAX_BODY_BYTES
from pm_auth.domain.passwords import MAX_LENGTH as MAX_PASSWORD
from pm_auth.domain.sessions import MAX_DEVICE_NAME, ClientInfo, client_info
from pm_auth.usecases import accounts
from pm_auth.usecases.accounts import Account, SessionTokens
from pm_auth.usecases.sessions import require_live_session
from pm_platform.api import NO_STORE, RequestBody, iso
from pm_platform.http import read_json
from pm_platform.identity import CLIENT_IP_HEADER, open_client_ip, require_identity
from pm_platform.service import RUNTIME


class RegisterBody(RequestBody):
    allow_nul = True  # the password policy names NUL characters (control_character)
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD)


class LoginBody(RequestBody):
    allow_nul = True  # the password policy names NUL characters (control_character)
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD)
    device_name: str | None = Field(default=None, max_length=MAX_DEVICE_NAME)


class RefreshBody(RequestBody):
    refresh_token: str = Field(min_length=1, max_length=256)


class PasswordBody(RequestBody):
    allow_nul = True  # the password policy names NUL characters (control_character)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD)


class ChangePasswordBody(RequestBody):
    allow_nul = True  # the password policy names NUL characters (control_character)
    current_password: str = Field(min_length=1, max_length=MAX_PASSWORD)
    new_password: str = Field(min_length=1, max_length=MAX_PASSWORD)


def _client(request: web.Request) -> ClientInfo:
    """Where the request comes from: the address the gateway identified (X-PM-Client-IP, believed only
    when sealed with SERVICE_TOKEN and fresh: a caller reaching auth's port directly could write any),
    else the TCP peer; never X-Forwarded-For."""
    service_token = request.app[RUNTIME].settings.service_token.get_secret_value()
    gateway_ip = open_client_ip(request.headers.get(CLIENT_IP_HEADER), service_token)
    return client_info(gateway_ip, request.remote, request.headers.get("User-Agent"))


def _account_json(account: Account) -> dict[str, str | None]:
    return {"id": str(account.id), "email": account.email, "created_at": iso(account.created_at)}


def _tokens_json(tokens: SessionTokens) -> web.Response:
    return web.json_response(
        {
            "access_token": tokens.access_token,
            "token_type": "Bearer",
            "expires_in": tokens.expires_in,
            "refresh_token": tokens.refresh_token,
            "session_id": str(tokens.claims.session_id),
        },
        headers=NO_STORE,
    )


async def register(request: web.Request) -> web.Response:
    body = await read_json(request, RegisterBody, MAX_BODY_BYTES)
    account = await accounts.register(request.app[RUNTIME], body.email, body.password, _client(request))
    return web.json_response({"user": _account_json(account)}, status=201, headers=NO_STORE)


async def login(request: web.Request) -> web.Response:
    body = await read_json(request, LoginBody, MAX_BODY_BYTES)
    rt = request.app[RUNTIME]
    return _tokens_json(
        await accounts.login(rt, body.email, body.password, body.device_name, _client(request))
    )


async def refresh(request: web.Request) -> web.Response:
    body = await read_json(request, RefreshBody, MAX_BODY_BYTES)
    return _tokens_json(await accounts.refresh(request.app[RUNTIME], body.refresh_token, _client(request)))


async def me(request: web.Request) -> web.Response:
    rt = request.app[RUNTIME]
    identity = await require_live_session(rt, require_identity(request, rt.identities))
    return web.json_response(_account_json(await accounts.account(rt, identity)), headers=NO_STORE)


async def change_password(request: web.Request) -> web.Response:
    rt = request.app[RUNTIME]
    identity = await require_live_session(rt, require_identity(request, rt.identities))
    body = await read_json(request, ChangePasswordBody, MAX_BODY_BYTES)
    await accounts.change_password(rt, identity, body.current_password, body.new_password, _client(request))
    return web.Response(status=204)


async def delete_me(request: web.Request) -> web.Response:
    rt = request.app[RUNTIME]
    identity = await require_live_session(rt, require_identity(request, rt.identities))
    body = await read_json(request, PasswordBody, MAX_BODY_BYTES)
    deleted_at = await accounts.delete_account(rt, identity, body.password, _client(request))
    return web.json_response(
        {"user_id": str(identity.user_id), "deleted_at": iso(deleted_at)}, status=202, headers=NO_STORE
    )
