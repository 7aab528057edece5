"""The public API's OpenAPI document (proto/openapi.yaml) as /openapi.json, and a small docs page
(domain/docs.py; the document is loaded at start-up, resources.py)."""

from __future__ import annotations

from aiohttp import web

from pm_gateway.domain.docs import DOCS_HTML
from pm_gateway.resources import EDGE
from pm_platform.service import RUNTIME


async def openapi_json(request: web.Request) -> web.Response:
    body = request.app[RUNTIME][EDGE].openapi.json_body()
    return web.Response(body=body, content_type="application/json")


async def docs_page(_: web.Request) -> web.Response:
    return web.Response(text=DOCS_HTML, content_type="text/html")
