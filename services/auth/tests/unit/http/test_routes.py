"""proto/openapi.yaml is a valid OpenAPI 3.1 document and describes every route auth serves."""

from pathlib import Path

import yaml
from aiohttp import web
from openapi_spec_validator import validate

from pm_auth.http.routes import add_routes

SPEC = Path(__file__).resolve().parents[5] / "proto" / "openapi.yaml"


def load() -> dict:
    return yaml.safe_load(SPEC.read_text())


def test_the_document_is_valid_openapi_3_1():
    spec = load()
    assert spec["openapi"].startswith("3.1")
    validate(spec)


def test_every_public_auth_route_is_documented():
    app = web.Application()
    add_routes(app, None)  # type: ignore[arg-type]
    documented = {
        (path, method) for path, item in load()["paths"].items() for method in item if method != "parameters"
    }
    for route in app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if path.startswith("/internal/") or route.method == "HEAD":
            continue
        assert (path, route.method.lower()) in documented, (route.method, path)


def test_request_bodies_are_closed_and_errors_are_problems():
    spec = load()
    schemas = spec["components"]["schemas"]
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            body = op.get("requestBody")
            if body:
                ref = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
                assert schemas[ref].get("additionalProperties") is False, (path, method)
            for status, response in op["responses"].items():
                if status.startswith(("4", "5")):
                    target = response.get("$ref", "")
                    content = (
                        response.get("content")
                        or spec["components"]["responses"][target.rsplit("/", 1)[1]]["content"]
                    )
                    assert "application/problem+json" in content, (path, method, status)
