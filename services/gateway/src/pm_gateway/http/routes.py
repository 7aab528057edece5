"""HTTP routes of the gateway: its own (jobs, the API description), and every other public path
proxied to the service owning it (domain/routes.py). Health and metrics come from the chassis. Requests
aiohttp's parser refuses are answered as problems with the same headers (pm_platform.malformed)."""

import functools

from aiohttp import web

from pm_gateway.http.docs import docs_page, openapi_json
from pm_gateway.http.edge import decorate_refusal, decorate_response
from pm_gateway.http.jobs import get_job, job_events
from pm_gateway.http.proxy import proxy
from pm_platform.malformed import answer_malformed_requests
from pm_platform.service import Runtime


def add_routes(app: web.Application, rt: Runtime) -> None:
    app.on_response_prepare.append(decorate_response)
    answer_malformed_requests(app, functools.partial(decorate_refusal, rt))
    app.router.add_get("/openapi.json", openapi_json)
    app.router.add_get("/docs", docs_page)
    app.router.add_get("/api/v1/jobs/{job_id}", get_job)
    app.router.add_get("/api/v1/jobs/{job_id}/events", job_events)
    app.router.add_get("/.well-known/jwks.json", proxy)
    app.router.add_route("*", "/api/v1/{tail:.*}", proxy)
