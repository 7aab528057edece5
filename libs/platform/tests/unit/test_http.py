import json

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict

from pm_platform.errors import Conflict
from pm_platform.http import read_json, standard_middlewares
from pm_platform.metrics import Metrics


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    count: int


def make_app(metrics: Metrics) -> web.Application:
    app = web.Application(middlewares=standard_middlewares(metrics))

    async def create(request: web.Request) -> web.Response:
        item = await read_json(request, Item, max_bytes=100)
        if item.name == "taken":
            raise Conflict("that name is taken")
        return web.json_response(item.model_dump(), status=201)

    async def boom(_: web.Request) -> web.Response:
        raise RuntimeError("database password is hunter2")

    app.router.add_post("/items", create)
    app.router.add_get("/items/{id}/boom", boom)
    return app


async def test_problem_json_for_every_kind_of_bad_input(aiohttp_client):
    client = await aiohttp_client(make_app(Metrics("test")))
    cases = [
        (dict(data="{not json", headers={"Content-Type": "application/json"}), 400, "bad-request"),
        (dict(json={"name": "a", "count": "many"}), 422, "validation-failed"),
        (dict(json={"name": "a", "count": 1, "extra": True}), 422, "validation-failed"),
        (dict(data="name=a", headers={"Content-Type": "text/plain"}), 415, "unsupported-media-type"),
        (dict(json={"name": "a" * 200, "count": 1}), 413, "payload-too-large"),
        (dict(json={"name": "taken", "count": 1}), 409, "conflict"),
    ]
    for kwargs, status, code in cases:
        response = await client.post("/items", **kwargs)
        assert response.status == status, (kwargs, await response.text())
        assert response.content_type == "application/problem+json"
        body = await response.json(content_type=None)
        assert body["type"].endswith("/" + code) and body["status"] == status
        assert body["correlation_id"] == response.headers["X-Correlation-ID"]


async def test_validation_errors_name_the_fields(aiohttp_client):
    client = await aiohttp_client(make_app(Metrics("test")))
    response = await client.post("/items", json={"count": "x"})
    body = await response.json(content_type=None)
    assert {e["field"] for e in body["errors"]} == {"name", "count"}


async def test_unexpected_errors_reveal_nothing(aiohttp_client):
    client = await aiohttp_client(make_app(Metrics("test")))
    response = await client.get("/items/7/boom")
    assert response.status == 500
    text = await response.text()
    assert "hunter2" not in text and "RuntimeError" not in text
    assert json.loads(text)["title"] == "Internal server error"


async def test_not_found_and_method_not_allowed_are_problems(aiohttp_client):
    client = await aiohttp_client(make_app(Metrics("test")))
    missing = await client.get("/nothing-here")
    assert missing.status == 404 and missing.content_type == "application/problem+json"
    wrong = await client.put("/items")
    assert wrong.status == 405 and "POST" in wrong.headers["Allow"]


async def test_correlation_id_is_kept_when_well_formed_and_replaced_otherwise(aiohttp_client):
    client = await aiohttp_client(make_app(Metrics("test")))
    kept = await client.post(
        "/items", json={"name": "a", "count": 1}, headers={"X-Correlation-ID": "abc-123"}
    )
    assert kept.status == 201 and kept.headers["X-Correlation-ID"] == "abc-123"
    replaced = await client.post(
        "/items", json={"name": "a", "count": 1}, headers={"X-Correlation-ID": "bad id<script>"}
    )
    assert replaced.headers["X-Correlation-ID"] != "bad id<script>"


async def test_metrics_count_by_route_template(aiohttp_client):
    metrics = Metrics("test")
    client = await aiohttp_client(make_app(metrics))
    await client.get("/items/1/boom")
    await client.get("/items/2/boom")
    rendered = metrics.render().decode()
    assert 'pm_http_requests_total{method="GET",route="/items/{id}/boom",status="500"} 2.0' in rendered


async def test_a_lost_lock_race_is_a_503_to_retry_not_a_500(aiohttp_client):
    async def crossed(_: web.Request) -> web.Response:
        raise asyncpg.DeadlockDetectedError("deadlock detected")

    app = web.Application(middlewares=standard_middlewares(Metrics("test")))
    app.router.add_get("/crossed", crossed)
    client = await aiohttp_client(app)
    response = await client.get("/crossed")
    assert response.status == 503 and response.headers["Retry-After"] == "1"
    assert "deadlock" not in await response.text()
