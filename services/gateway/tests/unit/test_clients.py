"""The client's address: X-Forwarded-For is believed only from trusted proxies, and only as far as it
runs through trusted proxies."""

import pytest

from pm_gateway.domain.clients import TrustedProxies, identify_client, rate_limit_subject

LOOPBACK = TrustedProxies.parse("127.0.0.1,::1")
NOBODY = TrustedProxies.parse("")


def test_direct_clients_cannot_claim_another_address():
    client = identify_client("198.51.100.7", "1.2.3.4", "https", "http", LOOPBACK)
    assert (client.address, client.forwarded_for, client.forwarded_proto) == (
        "198.51.100.7",
        "198.51.100.7",
        "http",
    )


def test_behind_a_trusted_proxy_the_last_untrusted_hop_is_the_client():
    proxies = TrustedProxies.parse("10.0.0.0/8, 127.0.0.1")
    client = identify_client("127.0.0.1", "6.6.6.6, 203.0.113.5, 10.1.2.3", "https", "http", proxies)
    assert client.address == "203.0.113.5"  # 6.6.6.6 is the client's own (forgeable) claim
    assert client.forwarded_for == "6.6.6.6, 203.0.113.5, 10.1.2.3, 127.0.0.1"
    assert client.forwarded_proto == "https"


def test_nobody_trusted_and_garbage():
    assert identify_client("127.0.0.1", "203.0.113.5", None, "http", NOBODY).address == "127.0.0.1"
    assert identify_client("127.0.0.1", "garbage", None, "http", LOOPBACK).address == "127.0.0.1"
    assert identify_client("127.0.0.1", "203.0.113.5", "gopher", "http", LOOPBACK).forwarded_proto == "http"
    assert identify_client(None, None, None, "http", LOOPBACK).address == "unknown"


def test_trusted_proxies_parsing():
    with pytest.raises(ValueError, match="not an IP"):
        TrustedProxies.parse("127.0.0.1, proxy.local")


def test_ipv6_clients_share_a_bucket_per_64():
    assert rate_limit_subject("2001:db8:1:2:aaaa::1") == rate_limit_subject("2001:db8:1:2:bbbb::9")
    assert rate_limit_subject("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert rate_limit_subject("::ffff:203.0.113.5") == "203.0.113.5"
    assert rate_limit_subject("203.0.113.5") == "203.0.113.5"
