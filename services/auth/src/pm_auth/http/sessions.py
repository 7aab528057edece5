"""Sessions in the public API: log out, the user's live sessions, revoking one or all the others.
Each handler parses the request, calls its use case (usecases/sessions.py) and renders the answer."""

from __future__ import annotations

from aiohttp import web

from pm_auth.usecases import sessions
from pm_auth.usecases.sessions import require_live_session
from pm_platform.api import NO_STORE, iso, parse_uuid
from pm_platform.identity import require_identity
from pm_platform.service import RUNTIME


async def logout(request: web.Request) -> web.Response:
    rt = request.app[RUNTIME]
    identity = await require_live_session(rt, require_identity(request, rt.identities))
    await sessions.logout(rt, identity)
    return web.Response(status=204)


async def list_sessions(request: web.Request) -> web.Response:
    rt = request.app[RUNTIME]
    identity = await require_live_session(rt, require_identity(request, rt.identities))
    live = await sessions.live_sessions(rt, identity.user_id)
    return web.json_response(
        {
            "sessions": [
                {
                    "id": str(s.id),
                    "device_name": s.device_name,
                    "ip": s.ip,
                    "user_agent": s.user_agent,
                    "created_at": iso(s.created_at),
                    "last_used_at": iso(s.last_used_at),
                    "expires_at": iso(s.expires_at),
                    "current": s.id == identity.session_id,
                }
                for s in live
            ]
        },
        headers=NO_STORE,
    )


async def revoke_session(request: web.Request) -> web.Response:
    rt = request.app[RUNTIME]
    identity = await require_live_session(rt, require_identity(request, rt.identities))
    await sessions.revoke_session(rt, identity, parse_uuid(request.match_info["session_id"]))
    return web.Response(status=204)


async def revoke_other_sessions(request: web.Request) -> web.Response:
    rt = request.app[RUNTIME]
    identity = await require_live_session(rt, require_identity(request, rt.identities))
    await sessions.revoke_other_sessions(rt, identity)
    return web.Response(status=204)
