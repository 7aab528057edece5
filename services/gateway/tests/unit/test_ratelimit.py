"""GCRA arithmetic and the limit syntax (the Redis script mirrors it; see the integration tests)."""

import pytest

from pm_gateway.domain.ratelimit import Decision, RateLimit, combine, gcra, rate_limit_headers


@pytest.mark.parametrize(
    ("spec", "count", "period", "burst"),
    [
        ("10/s;burst=20", 10, 1.0, 20),
        ("5/m", 5, 60.0, 5),
        ("5/min; burst=5", 5, 60.0, 5),
        ("100/10s", 100, 10.0, 100),
        ("1000/h;burst=1", 1000, 3600.0, 1),
    ],
)
def test_parse(spec, count, period, burst):
    assert RateLimit.parse(spec) == RateLimit(count, period, burst)


@pytest.mark.parametrize("spec", ["", "10", "10/d", "0/s", "10/s;burst=0", "ten/s", "10/s;bursts=2"])
def test_parse_rejects(spec):
    with pytest.raises(ValueError, match=r"expected|at least"):
        RateLimit.parse(spec)


def _run(limit: RateLimit, times: list[float]) -> list[Decision]:
    tat, out = None, []
    for now in times:
        decision, tat = gcra(tat, now, limit)
        out.append(decision)
    return out


def test_burst_then_the_steady_rate():
    limit = RateLimit.parse("10/s;burst=20")
    decisions = _run(limit, [0.0] * 21)
    assert [d.allowed for d in decisions] == [True] * 20 + [False]
    assert [d.remaining for d in decisions[:3]] == [19, 18, 17]
    assert decisions[19].remaining == 0
    assert decisions[20].retry_after_s == pytest.approx(0.1)
    # One request per interval is sustained forever.
    tat = None
    for _ in range(20):
        decision, tat = gcra(tat, 0.0, limit)
    for i in range(1, 50):
        decision, tat = gcra(tat, i * 0.1, limit)
        assert decision.allowed, i


def test_refused_requests_cost_nothing():
    limit = RateLimit.parse("5/m")
    tat = None
    for _ in range(5):
        _, tat = gcra(tat, 0.0, limit)
    before = tat
    for _ in range(100):
        decision, tat = gcra(tat, 1.0, limit)
        assert not decision.allowed
    assert tat == before
    assert decision.retry_after_s == pytest.approx(11.0)  # one slot frees 12 s after the burst
    decision, _ = gcra(tat, 12.0, limit)
    assert decision.allowed


def test_reset_is_when_the_bucket_is_full_again():
    limit = RateLimit.parse("10/s;burst=20")
    decisions = _run(limit, [0.0] * 5)
    assert decisions[-1].reset_s == pytest.approx(0.5)
    (idle,) = _run(limit, [100.0])
    assert idle.remaining == 19


def test_combine_and_headers():
    ok = Decision(True, 20, 5, 1.5, 0)
    tight = Decision(True, 5, 1, 40, 0)
    refused = Decision(False, 5, 0, 60, 11.2)
    assert combine([ok, tight]) is tight
    assert combine([ok, refused]) is refused
    assert rate_limit_headers(tight) == {
        "RateLimit-Limit": "5",
        "RateLimit-Remaining": "1",
        "RateLimit-Reset": "40",
    }
    assert rate_limit_headers(refused)["Retry-After"] == "12"
