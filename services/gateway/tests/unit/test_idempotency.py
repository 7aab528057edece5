"""Idempotency keys: scoped per caller and route, requests fingerprinted by their body."""

from pm_gateway.domain.idempotency import (
    Record,
    StoredResponse,
    fingerprint,
    replayable_headers,
    storage_id,
    valid_key,
    worth_storing,
)


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
