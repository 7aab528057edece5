"""Session rules: lifetimes, what a refresh-token presentation means, where a session is used from."""

from datetime import UTC, datetime, timedelta

import pytest

from pm_auth.domain.sessions import (
    MAX_USER_AGENT,
    ClientInfo,
    RefreshState,
    RefreshVerdict,
    client_info,
    client_ip,
    clip,
    judge_refresh,
    session_expiry,
)

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


def test_session_expiry_is_sliding_and_capped():
    created = NOW
    assert session_expiry(created, NOW) == NOW + timedelta(days=30)
    assert session_expiry(created, NOW + timedelta(days=80)) == created + timedelta(days=90)


@pytest.mark.parametrize(
    ("used", "revoked", "expires", "verdict"),
    [
        (False, False, NOW + timedelta(days=1), RefreshVerdict.ROTATE),
        (True, False, NOW + timedelta(days=1), RefreshVerdict.REUSE),
        (False, True, NOW + timedelta(days=1), RefreshVerdict.DEAD),
        (True, True, NOW + timedelta(days=1), RefreshVerdict.DEAD),
        (False, False, NOW, RefreshVerdict.DEAD),
    ],
)
def test_refresh_verdicts(used, revoked, expires, verdict):
    assert judge_refresh(RefreshState(used, revoked, expires), NOW) is verdict


def test_client_ip_is_the_address_the_gateway_identified():
    # The address the gateway sealed in X-PM-Client-IP, opened by the HTTP edge (http/accounts.py).
    assert client_ip("198.51.100.7", "10.0.0.5") == "198.51.100.7"
    assert client_ip(" 2001:DB8::7 ", "10.0.0.5") == "2001:db8::7"  # one spelling of an address
    # Without one (a direct call, or a seal that did not open): the TCP peer.
    assert client_ip(None, "127.0.0.1") == "127.0.0.1"
    assert client_ip("", "127.0.0.1") == "127.0.0.1"
    # Not one address: not trusted; and an X-Forwarded-For list is never read.
    assert client_ip("203.0.113.9, 198.51.100.7", "127.0.0.1") == "127.0.0.1"
    assert client_ip("evil\x00", "127.0.0.1") == "127.0.0.1"
    assert client_ip("fe80::1%\x00", "127.0.0.1") == "127.0.0.1"
    assert client_ip("x" * 100, None) is None
    assert clip("a\x00b\nc" + "x" * 20, 5) == "abcxx"
    assert clip("   ", 5) is None


def test_client_info_is_what_a_session_records():
    info = client_info("198.51.100.7", "127.0.0.1", "pm-tests/1.0\n" + "x" * 600)
    assert info.ip == "198.51.100.7"
    assert info.user_agent is not None and info.user_agent.startswith("pm-tests/1.0x")
    assert len(info.user_agent) == MAX_USER_AGENT
    assert client_info(None, None, None) == ClientInfo(None, None)
