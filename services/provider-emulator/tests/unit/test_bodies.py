"""The emulator's JSON body bounds (common.parse_json): its own, as it imports no project package."""

from __future__ import annotations

import pytest

from pm_provider_emulator.http.common import JSON_MAX_DEPTH, parse_json


def test_nesting_up_to_the_limit_parses_one_more_level_does_not() -> None:
    deepest = b"[" * JSON_MAX_DEPTH + b"]" * JSON_MAX_DEPTH
    assert parse_json(b'{"a": ' + deepest[1:-1] + b"}") is not None
    assert parse_json(deepest) is not None
    with pytest.raises(ValueError, match="levels deep"):
        parse_json(b"[" + deepest + b"]")
    with pytest.raises(ValueError, match="levels deep"):
        parse_json(b"[" * 100_000)  # json.loads: RecursionError


def test_brackets_in_strings_do_not_count() -> None:
    text = '"' + "[" * 1000 + '"'
    assert parse_json(f'{{"name": {text}}}'.encode()) == {"name": "[" * 1000}


@pytest.mark.parametrize(
    "raw", [b"1" * 5000, b"NaN", b'{"a": Infinity}', b"[-Infinity]", b"1e400", b"\xff\xfe\x00{"]
)
def test_numbers_beyond_bounds_and_non_json_are_value_errors(raw: bytes) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - read_json turns any of them into "not JSON"
        parse_json(raw)
