from pm_provider_emulator.domain.faults import FaultConfig, FaultInjector


def test_error_rate_is_exact_and_deterministic():
    f = FaultInjector()
    f.set("spotify", FaultConfig(error_rate=0.25, error_status=502))
    actions = [f.decide("spotify", 0).action for _ in range(100)]
    assert actions.count("error") == 25
    assert actions[:4] == [None, None, None, "error"]
    assert f.decide("deezer", 0).action is None


def test_storm_then_normal():
    f = FaultInjector()
    f.set("deezer", FaultConfig(storm_requests=2, storm_retry_after=7))
    first = f.decide("deezer", 0)
    assert (first.action, first.status, first.retry_after) == ("rate_limit", 429, 7)
    assert f.decide("deezer", 0).action == "rate_limit"
    assert f.decide("deezer", 0).action is None


def test_timed_storm_drop_and_latency():
    f = FaultInjector()
    f.set("tidal", FaultConfig(storm_until=100, latency_ms=250))
    d = f.decide("tidal", 90)
    assert d.action == "rate_limit"
    assert d.retry_after == 10
    assert d.latency_s == 0.25
    assert f.decide("tidal", 100).action is None
    f.set("tidal", FaultConfig(drop_next=1, fail_next=1))
    assert [f.decide("tidal", 0).action for _ in range(3)] == ["drop", "error", None]
