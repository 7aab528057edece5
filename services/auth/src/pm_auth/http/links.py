"""Provider linking in the public API: authorize (redirect and polling flows), the start URL the browser
opens, the OAuth callback, the attempt's status, the linked accounts and unlinking. Each handler parses
the request, calls its use case (usecases/links.py) and renders the answer: JSON, or for the browser a
redirect or a small HTML page."""

from __future__ import annotations

import html

from aiohttp import web
from pydantic import Field

from pm_auth.domain.api import MAX_BODY_BYTES
from pm_auth.domain.oauth_flow import AttemptMode, failure_message, parse_callback, with_query
from pm_auth.errors import InvalidState
from pm_auth.usecases import links
from pm_auth.usecases.links import LinkOutcome, known_provider
from pm_auth.usecases.sessions import require_live_session
from pm_platform.api import NO_STORE, RequestBody, iso, parse_uuid
from pm_platform.http import read_json
from pm_platform.identity import require_identity, require_service
from pm_platform.service import RUNTIME


class AuthorizeBody(RequestBody):
    mode: AttemptMode
    return_to: str | None = Field(default=None, min_length=1, max_length=2000)


async def authorize(request: web.Request) -> web.Response:
    rt = request.app[RUNTIME]
    identity = await require_live_session(rt, require_identity(request, rt.identities))
    provider = known_provider(request.match_info["provider"])
    body = await read_json(request, AuthorizeBody, MAX_BODY_BYTES)
    started = await links.authorize(rt, identity.user_id, provider, body.mode, body.return_to)
    return web.json_response(
        {
            "attempt_id": str(started.attempt_id),
            "authorization_url": started.authorization_url,
            "expires_at": iso(started.expires_at),
            "mode": started.mode,
        },
        headers=NO_STORE,
    )


async def start(request: web.Request) -> web.StreamResponse:
    """The link attempt's ``authorization_url``: binds the browser (a cookie), then sends it to the
    provider's consent page."""
    provider = known_provider(request.match_info["provider"])
    attempt_id = parse_uuid(request.query.get("attempt", "")[:64])
    binding = await links.start_attempt(request.app[RUNTIME], provider, attempt_id)
    response = web.HTTPFound(binding.consent_url, headers=NO_STORE)
    response.set_cookie(
        binding.cookie_name,
        binding.cookie_value,
        max_age=binding.max_age_s,
        path=binding.cookie_path,
        httponly=True,
        secure=binding.secure,
        samesite="Lax",
    )
    raise response


async def callback(request: web.Request) -> web.StreamResponse:
    """The provider sends the browser here with ``code`` and ``state`` (or an error). A malformed state
    names no attempt (400 invalid-state); any other malformed parameter fails the attempt with
    ``invalid_callback``."""
    provider = known_provider(request.match_info["provider"])
    params = parse_callback(request.query)
    if params.state is None:
        raise InvalidState("the callback has no valid state parameter")
    outcome = await links.complete_link(
        request.app[RUNTIME],
        provider,
        state=params.state,
        code=params.code,
        error=params.error,
        cookies=request.cookies,
    )
    return _finish_response(outcome)


def _page(title: str, message: str, status: int) -> web.Response:
    body = (
        '<!doctype html><html><head><meta charset="utf-8"><title>Playlist Manager</title></head>'
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p></body></html>"
    )
    return web.Response(
        status=status,
        text=body,
        content_type="text/html",
        headers={**NO_STORE, "Content-Security-Policy": "default-src 'none'"},
    )


def _finish_response(outcome: LinkOutcome) -> web.StreamResponse:
    """Back to the app (redirect mode with a ``return_to``), else a page; the binding cookie cleared."""
    response: web.StreamResponse
    if outcome.mode == "redirect" and outcome.return_to:
        params = {
            "provider": outcome.provider,
            "attempt_id": str(outcome.attempt_id),
            "status": "succeeded" if outcome.linked else "failed",
        }
        if outcome.error:
            params["error"] = outcome.error
        found = web.HTTPFound(with_query(outcome.return_to, params), headers=NO_STORE)
        found.del_cookie(outcome.cookie_name, path=outcome.cookie_path)
        raise found
    if outcome.linked:
        response = _page("Account linked", "You can close this window and return to Playlist Manager.", 200)
    else:
        response = _page("Linking failed", failure_message(outcome.error, outcome.provider), 400)
    response.del_cookie(outcome.cookie_name, path=outcome.cookie_path)
    return response


async def attempt_status(request: web.Request) -> web.Response:
    """The polling flow: the app polls this until the attempt succeeded (or failed, or expired)."""
    rt = request.app[RUNTIME]
    identity = await require_live_session(rt, require_identity(request, rt.identities))
    progress = await links.attempt_progress(
        rt, identity.user_id, parse_uuid(request.match_info["attempt_id"])
    )
    answer: dict[str, str | None] = {
        "attempt_id": str(progress.attempt_id),
        "status": progress.status,
        "provider": progress.provider,
        "expires_at": iso(progress.expires_at),
    }
    if progress.error is not None:
        answer["error"] = progress.error
    return web.json_response(answer, headers=NO_STORE)


def _link_view(account: links.LinkedAccount) -> dict[str, object]:
    return {
        "provider": account.provider,
        "account_id": account.account_id,
        "display_name": account.display_name,
        "status": account.status,
        "scopes": account.scopes,
        "linked_at": iso(account.linked_at),
    }


async def list_links(request: web.Request) -> web.Response:
    rt = request.app[RUNTIME]
    identity = await require_live_session(rt, require_identity(request, rt.identities))
    answer = []
    for account in await links.linked_accounts(rt, identity.user_id):
        item = _link_view(account)
        if account.relink_url is not None:  # needs re-consent
            item["relink_url"] = account.relink_url
            item["reason"] = account.reason
        answer.append(item)
    return web.json_response({"links": answer}, headers=NO_STORE)


async def user_links(request: web.Request) -> web.Response:
    """``GET /internal/users/{user_id}/providers`` (the service credential): the user's links as
    references — provider, account, status — never a token (a library backup names them)."""
    rt = request.app[RUNTIME]
    require_service(request, rt.settings.service_token.get_secret_value())
    user_id = parse_uuid(request.match_info["user_id"])
    accounts = await links.linked_accounts(rt, user_id) if user_id is not None else []
    return web.json_response({"links": [_link_view(a) for a in accounts]}, headers=NO_STORE)


async def unlink(request: web.Request) -> web.Response:
    """Revoke at the provider where it offers revocation (best effort), then delete the tokens."""
    rt = request.app[RUNTIME]
    identity = await require_live_session(rt, require_identity(request, rt.identities))
    await links.unlink(rt, identity.user_id, known_provider(request.match_info["provider"]))
    return web.Response(status=204)
