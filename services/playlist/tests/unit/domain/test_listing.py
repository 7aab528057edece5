"""The list's query: filters, sort orders and cursors that name nothing else."""

import base64
import json
import uuid

import pytest

from pm_playlist.domain.listing import MAX_LIMIT, QueryRefused, decode_cursor, encode_cursor, parse_list_query


def test_defaults_and_filters():
    q = parse_list_query({})
    assert (q.sort, q.limit, q.after, q.descending, q.key) == ("name", 50, None, False, "name")
    q = parse_list_query(
        {"provider": "tidal", "origin": "followed", "collection": "liked", "name": "x", "sort": "-updated"}
    )
    assert (q.provider, q.origin, q.collection, q.name, q.descending, q.key) == (
        "tidal",
        "followed",
        "liked",
        "x",
        True,
        "updated",
    )


@pytest.mark.parametrize(
    "params",
    [
        {"provider": "napster"},
        {"origin": "stolen"},
        {"collection": "albums"},
        {"sort": "size"},
        {"limit": "0"},
        {"limit": str(MAX_LIMIT + 1)},
        {"limit": "-1"},
        {"limit": "1e3"},
        {"name": "x" * 201},
        {"cursor": ""},
        {"cursor": "!!!"},
        {"cursor": "x" * 2000},
    ],
)
def test_a_bad_parameter_is_refused_and_named(params):
    with pytest.raises(QueryRefused) as refused:
        parse_list_query(params)
    assert refused.value.field == next(iter(params))


def test_a_cursor_reads_back_only_under_its_own_sort():
    playlist = uuid.uuid4()
    cursor = encode_cursor("-created", "2026-01-01T00:00:00+00:00", playlist)
    assert decode_cursor(cursor, "-created") == ("2026-01-01T00:00:00+00:00", playlist)
    with pytest.raises(QueryRefused):
        decode_cursor(cursor, "created")


@pytest.mark.parametrize(
    "payload",
    [
        ["name", 1, str(uuid.uuid4())],
        ["created", "yesterday", str(uuid.uuid4())],
        ["name", "a", "not-a-uuid"],
        {"a": 1},
        "x",
    ],
)
def test_a_forged_cursor_is_refused(payload):
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    sort = payload[0] if isinstance(payload, list) else "name"
    with pytest.raises(QueryRefused):
        decode_cursor(forged, sort)
