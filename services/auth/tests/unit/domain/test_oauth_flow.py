"""Pure pieces of the provider-linking flow: PKCE, the state, attempts, ``return_to``."""

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from pm_auth.domain.oauth_flow import (
    INVALID_CALLBACK,
    CallbackParams,
    attempt_status,
    code_challenge_s256,
    failure_message,
    new_code_verifier,
    new_state,
    parse_callback,
    safe_return_to,
    state_hash,
)

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


def test_pkce_s256_matches_rfc7636_appendix_b():
    assert (
        code_challenge_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )
    with pytest.raises(ValueError, match="43-128"):
        code_challenge_s256("too-short")
    v = new_code_verifier()
    assert 43 <= len(v) <= 128 and v != new_code_verifier()


def test_state_is_random_and_stored_hashed():
    a, b = new_state(), new_state()
    assert a != b and len(a) >= 43
    assert state_hash(a) == hashlib.sha256(a.encode()).digest()


def test_attempt_expiry():
    assert attempt_status("pending", NOW, NOW - timedelta(seconds=1)) == "pending"
    assert attempt_status("pending", NOW, NOW) == "expired"
    assert attempt_status("succeeded", NOW, NOW + timedelta(hours=1)) == "succeeded"


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("/settings", True),
        ("//evil.example/x", False),
        ("http://localhost:3000/after", True),
        ("https://evil.example/", False),
        ("javascript:alert(1)", False),
        ("http://localhost:3000\r\nX: y", False),
        ("/\\evil.example", False),
        # Control characters and whitespace: URL rebuilding strips them (``/\t/evil`` → ``//evil``).
        ("/\t/evil.example/x", False),
        ("/\n/evil.example/x", False),
        ("/\r/evil.example/x", False),
        ("/ /evil.example/x", False),
        ("/\x00/evil.example", False),
        ("/\x7f/evil.example", False),
        ("/\x0b/evil.example", False),
        ("/settings?x=a b", False),
        ("http://localhost:3000\t/after", False),
        ("\thttp://localhost:3000/after", False),
        ("ht\ttp://evil.example", False),
        ("///evil.example", False),
        ("https:evil.example", False),
        ("https:/evil.example", False),
        ("http://localhost:3000@evil.example/", False),
        ("http://user@localhost:3000/", False),
        ("HTTP://LOCALHOST:3000/after", True),
        ("/settings/accounts?tab=links#top", True),
        ("", False),
    ],
)
def test_return_to_must_be_ours(value, ok):
    assert safe_return_to(value, ["http://127.0.0.1:3101", "http://localhost:3000"]) is ok


def test_a_well_formed_callback_is_read_as_it_came():
    assert parse_callback({"state": "s-1_2.3~", "code": "AQ/x+y="}) == CallbackParams(
        "s-1_2.3~", "AQ/x+y=", None
    )
    assert parse_callback(
        {"state": "s", "error": "access_denied", "error_description": "The user said no."}
    ) == (CallbackParams("s", None, "access_denied"))
    assert parse_callback({"state": "s", "error_reason": "user_denied"}) == CallbackParams(
        "s", None, "user_denied"
    )
    assert parse_callback({"state": "s"}) == CallbackParams("s", None, None)


@pytest.mark.parametrize(
    "query",
    [
        {"state": "s", "error": "access\x00denied"},
        {"state": "s", "error": "access_denied", "error_description": "no\x00"},
        {"state": "s", "error": 'quote"d'},
        {"state": "s", "error": "e" * 101},
        {"state": "s", "error": ""},
        {"state": "s", "error_reason": "\x7f"},
        {"state": "s", "error": "x", "error_description": "d" * 1001},
        {"state": "s", "code": "c\x00"},
        {"state": "s", "code": "c" * 2049},
        {"state": "s", "code": "with space"},
        {"state": "s", "code": "é"},
        {"state": "s", "code": ""},
    ],
)
def test_a_malformed_callback_fails_with_invalid_callback(query):
    assert parse_callback(query) == CallbackParams("s", None, INVALID_CALLBACK)


@pytest.mark.parametrize("state", [None, "", " ", "a b", "s\x00", "é", "s" * 201])
def test_a_malformed_state_names_no_attempt(state):
    query = {"code": "c"} | ({"state": state} if state is not None else {})
    assert parse_callback(query).state is None


def test_failure_messages_say_what_to_do():
    assert "unlink it there first" in failure_message("account_already_linked", "spotify").lower()
    assert "invalid_callback" in failure_message(INVALID_CALLBACK, "tidal")
    assert "access_denied" in failure_message("access_denied", "tidal")
