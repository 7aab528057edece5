"""Per-account throttling of password checks: the delays (pure), and what is counted under which name."""

import pytest

from pm_auth.domain.throttle import (
    ThrottlePolicy,
    client_tag,
    delay_after,
    delay_schedule_ms,
    throttle_subject,
)

POLICY = ThrottlePolicy(free_attempts=5, base_delay_s=1.0, max_delay_s=300.0, window_s=900.0)


def test_free_attempts_then_exponential_delays_capped():
    assert [delay_after(POLICY, n) for n in range(1, 6)] == [0.0] * 5
    assert [delay_after(POLICY, n) for n in range(6, 12)] == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0]
    assert delay_after(POLICY, 14) == 256.0
    assert delay_after(POLICY, 15) == 300.0
    assert delay_after(POLICY, 10_000) == 300.0  # bounded, however long the attack


def test_the_schedule_ends_at_the_bound():
    schedule = delay_schedule_ms(POLICY)
    assert schedule[:3] == [1000, 2000, 4000] and schedule[-1] == 300_000
    assert len(schedule) == 10
    assert delay_schedule_ms(ThrottlePolicy(3, 5.0, 5.0, 60.0)) == [5000]


def test_policy_bounds():
    with pytest.raises(ValueError, match="free_attempts"):
        ThrottlePolicy(free_attempts=0, base_delay_s=1.0, max_delay_s=300.0, window_s=900.0)
    with pytest.raises(ValueError, match="max_delay_s"):
        ThrottlePolicy(free_attempts=5, base_delay_s=10.0, max_delay_s=5.0, window_s=900.0)


def test_subjects_are_digests_of_the_normalised_e_mail():
    subject = throttle_subject("alice@example.com")
    assert "alice" not in subject and len(subject) == 32
    assert subject == throttle_subject("alice@example.com") != throttle_subject("bob@example.com")
    assert client_tag(subject, "198.51.100.7") != client_tag(subject, "198.51.100.8")
    assert client_tag(subject, "198.51.100.7") != client_tag(
        throttle_subject("bob@example.com"), "198.51.100.7"
    )
    assert client_tag(subject, None) == ""


def test_an_ipv6_client_is_recognised_by_its_64():
    """Privacy addresses change within the /64 (RFC 8981): the owner's next address is still theirs."""
    subject = throttle_subject("owner@example.com")
    assert client_tag(subject, "2001:db8:1:2:aaaa::1") == client_tag(subject, "2001:db8:1:2:bbbb:cccc:dddd:9")
    assert client_tag(subject, "2001:db8:1:2::1") != client_tag(subject, "2001:db8:1:3::1")
    assert client_tag(subject, "::ffff:198.51.100.7") == client_tag(subject, "198.51.100.7")
