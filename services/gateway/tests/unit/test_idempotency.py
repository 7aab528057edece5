"""Idempotency keys: scoped per caller and route, requests fingerprinted by their body; answers that
carry credentials never kept."""

import gzip
import json

import pytest

from pm_gateway.domain.idempotency import (
    Record,
    StoredResponse,
    carries_credentials,
    fingerprint,
    replayable_headers,
    storage_id,
    valid_key,
    worth_storing,
)
from pm_gateway.usecases.idempotency import Claim, IdempotentRequests


def test_keys():
    assert valid_key("8e0f5b1c-4c4e-4a53-9d55-8f5f0f4b1a2e")
    assert not valid_key("")
    assert not valid_key("with space")
    assert not valid_key("x" * 256)
    assert not valid_key("naïve")


def test_scope_method_path_and_key_all_count():
    base = storage_id("user:1", "POST", "/api/v1/playlists", "k")
    assert base == storage_id("user:1", "post", "/api/v1/playlists", "k")
    assert (
        len(
            {
                base,
                storage_id("user:2", "POST", "/api/v1/playlists", "k"),
                storage_id("ip:1.2.3.4", "POST", "/api/v1/playlists", "k"),
                storage_id("user:1", "POST", "/api/v1/exports", "k"),
                storage_id("user:1", "POST", "/api/v1/playlists", "k2"),
            }
        )
        == 5
    )


def test_fingerprint_is_the_bodys_sha256():
    assert fingerprint(b'{"a":1}') == fingerprint(b'{"a":1}')
    assert fingerprint(b'{"a":1}') != fingerprint(b'{"a": 1}')
    assert len(fingerprint(b"")) == 64


def test_record_round_trip():
    in_flight = Record("fp")
    assert Record.loads(in_flight.dumps()) == in_flight
    done = Record("fp", StoredResponse(201, [("Content-Type", "application/json")], b"\x00\xffbody"))
    assert Record.loads(done.dumps()) == done


def test_what_is_replayed_and_stored():
    headers = [
        ("Content-Type", "application/json"),
        ("Location", "/x"),
        ("RateLimit-Remaining", "3"),
        ("X-Correlation-ID", "c"),
    ]
    assert replayable_headers(headers) == [("Content-Type", "application/json"), ("Location", "/x")]
    assert worth_storing(201)
    assert worth_storing(422)
    assert not worth_storing(500)
    assert not worth_storing(503)
    assert not worth_storing(429)


JSON = [("Content-Type", "application/json; charset=utf-8")]


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        (JSON, json.dumps({"access_token": "a", "refresh_token": "r", "token_type": "Bearer"}).encode()),
        (JSON, json.dumps({"share": {"links": [{"Refresh_Token": "r"}]}}).encode()),
        (JSON, json.dumps([{"id_token": "i"}]).encode()),
        (JSON, b'{"acc\\u0065ss_token": "a"}'),  # an escaped name is still the name
        ([("Content-Type", "application/x-www-form-urlencoded")], b"access_token=a&token_type=bearer"),
        (JSON, b'{"access_token": '),  # names a credential but cannot be read: keep nothing
        ([*JSON, ("Set-Cookie", "pm_link=abc; HttpOnly")], b"{}"),
        ([("set-cookie", "a=b")], b""),
        # Compressed: the names cannot be looked for, so it is taken to carry one.
        ([*JSON, ("Content-Encoding", "gzip")], gzip.compress(b'{"id": "1"}')),
        ([*JSON, ("Content-Encoding", "br")], b"\x0b\x02\x80{}\x03"),
    ],
)
def test_answers_carrying_credentials(headers, body):
    assert carries_credentials(headers, body)


@pytest.mark.parametrize(
    "body",
    [
        b'{"id": "1", "name": "access_token"}',  # a value that happens to spell a name: not a credential
        b'{"next_page_token": "x", "tokens": 3}',
        b"",
        b'{"name": "caf\\u00e9"}',
    ],
)
def test_answers_without_credentials(body):
    assert not carries_credentials(JSON, body)
    assert not carries_credentials([*JSON, ("Content-Encoding", "identity")], body)


class _Store:
    def __init__(self):
        self.completed: list[tuple[str, Record]] = []
        self.released: list[str] = []

    async def complete(self, storage_id, record):
        self.completed.append((storage_id, record))

    async def release(self, storage_id):
        self.released.append(storage_id)


async def test_an_answer_carrying_credentials_is_never_stored():
    """The key is let go instead: a retry is sent upstream again, as if no key had been given."""
    store = _Store()
    requests = IdempotentRequests(store)  # type: ignore[arg-type]
    body = json.dumps({"access_token": "secret-a", "refresh_token": "secret-r"}).encode()
    await requests.finish(Claim("id-1", "fp"), 200, JSON, body)
    assert store.completed == []
    assert store.released == ["id-1"]
    await requests.finish(Claim("id-2", "fp"), 201, [*JSON, ("Set-Cookie", "s=1")], b"{}")
    assert store.completed == []
    await requests.finish(Claim("id-3", "fp"), 201, JSON, b'{"id": 1}')
    assert [storage_id for storage_id, _ in store.completed] == ["id-3"]
