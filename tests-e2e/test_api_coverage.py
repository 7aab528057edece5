"""tests-e2e/api_coverage.py, the check after `make test-api`: pure functions over records and a document,
no stack needed (the directory's conftest marks it e2e all the same)."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("api_coverage", HERE / "api_coverage.py")
assert _spec is not None and _spec.loader is not None
api_coverage = importlib.util.module_from_spec(_spec)
sys.modules["api_coverage"] = api_coverage  # dataclasses look their module up while being created
_spec.loader.exec_module(api_coverage)
Record = api_coverage.Record

DOCUMENT = {
    "openapi": "3.1.0",
    "paths": {
        "/things": {
            "get": {"responses": {"200": {"description": "the things"}}},
            "post": {"responses": {"201": {"description": "made"}, "422": {"description": "no"}}},
        },
        "/things/{id}": {
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "delete": {"responses": {"204": {"description": "gone"}, "404": {"description": "none"}}},
        },
        "/start": {
            "summary": "not an operation",
            "get": {
                "responses": {"302": {"description": "on to the provider"}, "4XX": {"description": "no"}}
            },
        },
        "/elsewhere": {"get": {"responses": {"200": {"description": "ok"}}}},
    },
}
OPERATIONS = api_coverage.operations_of(DOCUMENT)


def test_the_operations_of_a_document():
    assert [op.label for op in OPERATIONS] == [
        "GET /things",
        "POST /things",
        "DELETE /things/{id}",
        "GET /start",
        "GET /elsewhere",
    ]
    assert OPERATIONS[3].documented == {302}  # "4XX" is a range, not a status


def test_every_operation_answered_with_a_success_passes():
    records = [
        Record("GET", "/things", 200),
        Record("POST", "/things", 422),
        Record("POST", "/things", 201),
        Record("DELETE", "/things/{id}", 404),
        Record("DELETE", "/things/{id}", 204),
        Record("GET", "/start", 302),  # a redirect the operation documents is its success
        Record("GET", "/elsewhere", 200),
    ]
    assert api_coverage.problems(records, OPERATIONS) == []


def test_operations_without_a_success_are_named():
    records = [
        Record("GET", "/things", 200),
        Record("POST", "/things", 422),
        Record("POST", "/things", 401),
        Record("DELETE", "/things/{id}", 404),
        Record("DELETE", "/things/{id}", 401),
        Record("DELETE", "/things/{id}", 404),
        Record("GET", "/start", 301),  # a redirect it does not document is no success
    ]
    assert api_coverage.problems(records, OPERATIONS) == [
        "POST /things: never answered with a success (only 401 x1, 422 x1)",
        "DELETE /things/{id}: only answered 401 x1, 404 x2 (never got past authentication or had no data)",
        "GET /start: never answered with a success (only 301 x1)",
        "GET /elsewhere: never called",
    ]


def test_records_of_requests_the_document_has_no_operation_for_do_not_count():
    records = [
        Record("PATCH", "/things", 200),  # the fuzzer's probe with an undocumented method
        Record("GET", "/things/{id}", 200),
        Record("get", "/things", 200),  # methods compare case-insensitively
    ]
    verdicts = {v.operation.label: v for v in api_coverage.verdicts(records, OPERATIONS)}
    assert dict(verdicts["GET /things"].statuses) == {200: 1}
    assert sum(sum(v.statuses.values()) for v in verdicts.values()) == 1


def test_the_command_reads_the_record_and_the_document(tmp_path, capsys):
    document = tmp_path / "openapi.yaml"
    document.write_text(yaml.safe_dump(DOCUMENT))
    record = tmp_path / "record.jsonl"
    lines = [
        {"method": "GET", "path": "/things", "status": 200},
        {"method": "POST", "path": "/things", "status": 201},
        {"method": "DELETE", "path": "/things/{id}", "status": 204},
        {"method": "GET", "path": "/start", "status": 302},
    ]
    record.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert api_coverage.main([str(record), str(document)]) == 1
    assert "GET /elsewhere: never called" in capsys.readouterr().err

    with record.open("a") as more:
        more.write(json.dumps({"method": "GET", "path": "/elsewhere", "status": 200}) + "\n")
    assert api_coverage.main([str(record), str(document)]) == 0
    out = capsys.readouterr().out
    assert "every one of the 5 operations answered with a success" in out
    assert "GET /start" in out


@pytest.mark.parametrize("argv", [[], ["only-one"]])
def test_the_command_wants_a_record_and_a_document(argv):
    assert api_coverage.main(argv) == 2


def test_a_missing_record_fails(tmp_path):
    document = tmp_path / "openapi.yaml"
    document.write_text(yaml.safe_dump(DOCUMENT))
    assert api_coverage.main([str(tmp_path / "none.jsonl"), str(document)]) == 1


def test_the_api_document_has_operations_to_check():
    document = yaml.safe_load((HERE.parent / "proto" / "openapi.yaml").read_text())
    labels = {op.label for op in api_coverage.operations_of(document)}
    assert {"GET /api/v1/auth/{provider}/callback", "DELETE /api/v1/me", "GET /metrics"} <= labels
