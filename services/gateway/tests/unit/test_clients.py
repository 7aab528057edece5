"""The client's address: X-Forwarded-For is believed only from trusted proxies, and only as far as it
runs through trusted proxies."""

import pytest

from pm_gateway.domain.clients import MAX_FORWARDED_HOPS, TrustedProxies, identify_client, rate_limit_subject

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


@pytest.mark.parametrize(
    ("forwarded_for", "client"),
    [
        # Walked from the right only while the hops are configured proxies.
        ("203.0.113.5", "203.0.113.5"),
        ("6.6.6.6, 203.0.113.5", "203.0.113.5"),
        ("6.6.6.6, 203.0.113.5, 10.0.0.7", "203.0.113.5"),
        ("10.0.0.8, 10.0.0.7", "10.0.0.8"),  # only proxies: the farthest one is all that is known
        ("6.6.6.6, garbage, 10.0.0.7", "10.0.0.7"),  # unreadable: stop at the last proxy, never past it
        ("6.6.6.6, , 203.0.113.5", "203.0.113.5"),
        ("", "127.0.0.1"),
    ],
)
def test_the_client_is_the_rightmost_address_that_is_not_a_trusted_proxy(forwarded_for, client):
    proxies = TrustedProxies.parse("127.0.0.1, 10.0.0.0/8")
    assert identify_client("127.0.0.1", forwarded_for, None, "http", proxies).address == client


def test_addresses_with_a_port_and_ipv4_mapped_addresses_are_read():
    """Some load balancers write ``address:port``; a dual-stack socket shows IPv4 peers as ::ffff:a.b.c.d."""
    proxies = TrustedProxies.parse("10.0.0.0/8")
    assert identify_client("10.0.0.7", "203.0.113.5:50123", None, "http", proxies).address == "203.0.113.5"
    assert identify_client("10.0.0.7", "[2001:db8::5]:443", None, "http", proxies).address == "2001:db8::5"
    assert identify_client("::ffff:10.0.0.7", "203.0.113.5", None, "http", proxies).address == "203.0.113.5"
    assert identify_client("::ffff:203.0.113.9", None, None, "http", proxies).address == "203.0.113.9"


def test_trusting_loopback_or_everyone_is_worth_a_warning():
    assert TrustedProxies.parse("").concerns() == []
    assert TrustedProxies.parse("10.0.0.0/8, 192.0.2.10").concerns() == []
    assert len(TrustedProxies.parse("127.0.0.1").concerns()) == 1
    assert len(TrustedProxies.parse("::1").concerns()) == 1
    assert len(TrustedProxies.parse("0.0.0.0/0").concerns()) == 2  # everyone, loopback included


def test_ipv6_clients_share_a_bucket_per_64():
    assert rate_limit_subject("2001:db8:1:2:aaaa::1") == rate_limit_subject("2001:db8:1:2:bbbb::9")
    assert rate_limit_subject("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert rate_limit_subject("::ffff:203.0.113.5") == "203.0.113.5"
    assert rate_limit_subject("203.0.113.5") == "203.0.113.5"


def test_x_forwarded_for_is_read_only_as_far_as_it_can_matter():
    """A client may send 128 lines of 8 KB each: the gateway reads the rightmost MAX_FORWARDED_HOPS hops
    and forwards only those (the services' header limit is 8190 bytes), whatever lies further left."""
    proxies = TrustedProxies.parse("127.0.0.1, 10.0.0.0/8")
    flood = ["6.6.6.6, " * 900 + "6.6.6.6"] * 127 + ["203.0.113.5, 10.0.0.7"]
    client = identify_client("127.0.0.1", flood, None, "http", proxies)
    assert client.address == "203.0.113.5"
    assert client.forwarded_for.split(", ") == ["6.6.6.6"] * 14 + ["203.0.113.5", "10.0.0.7", "127.0.0.1"]
    # A chain of more trusted proxies than are read: the farthest one read is all that is known.
    chain = ", ".join(f"10.0.0.{n}" for n in range(1, 31))
    assert identify_client("127.0.0.1", chain, None, "http", proxies).address == "10.0.0.15"
    assert MAX_FORWARDED_HOPS == 16
    # A hop longer than any address is unreadable (and not forwarded as it came): the walk stops there.
    overlong = identify_client("127.0.0.1", "1" * 5000 + ", 10.0.0.7", None, "http", proxies)
    assert overlong.address == "10.0.0.7"
    assert overlong.forwarded_for == "unknown, 10.0.0.7, 127.0.0.1"


def test_the_lines_of_x_forwarded_for_are_one_list_in_order():
    proxies = TrustedProxies.parse("127.0.0.1, 10.0.0.0/8")
    lines = ["6.6.6.6", "203.0.113.5", " , 10.0.0.7"]
    client = identify_client("127.0.0.1", lines, "https, http", "http", proxies)
    assert (client.address, client.forwarded_for, client.forwarded_proto) == (
        "203.0.113.5",
        "6.6.6.6, 203.0.113.5, 10.0.0.7, 127.0.0.1",
        "https",
    )
