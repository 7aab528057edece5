"""The rate-limit bucket a provider advertises on its answers (``x-ratelimit-*``), read and checked."""

from __future__ import annotations

import pytest
from multidict import CIMultiDict

from pm_providers.domain.responses import AdvertisedLimit, parse_advertised_limit


def headers(
    burst: str | None = "10", rate: str | None = "1", cost: str | None = "5", remaining: str | None = None
) -> CIMultiDict[str]:
    """TIDAL's headers as once seen (burst 10, 1 token/s, 5 tokens a call); None leaves one out."""
    given = {
        "x-ratelimit-burst-capacity": burst,
        "x-ratelimit-replenish-rate": rate,
        "x-ratelimit-requested-tokens": cost,
        "x-ratelimit-remaining": remaining,
    }
    return CIMultiDict({k: v for k, v in given.items() if v is not None})


def test_tidal_as_once_seen_is_counted_in_calls() -> None:
    """Burst 10, 1 token/s, 5 tokens a call: 2 calls at once, one call every 5 s."""
    limit = parse_advertised_limit(headers(remaining="5"))
    assert limit == AdvertisedLimit(10, 1, 5, 5)
    assert (limit.capacity, limit.per_second, limit.remaining_calls) == (2, 0.2, 1)


def test_the_emulators_default_and_header_case() -> None:
    limit = parse_advertised_limit(
        CIMultiDict(
            {
                "X-RateLimit-Burst-Capacity": "200",
                "X-RateLimit-Replenish-Rate": "20",
                "X-RateLimit-Requested-Tokens": "1",
                "X-RateLimit-Remaining": "199",
            }
        )
    )
    assert limit is not None
    assert (limit.capacity, limit.per_second, limit.remaining_calls) == (200, 20, 199)


def test_decimal_values() -> None:
    limit = parse_advertised_limit(headers(burst=" 7.5 ", rate="0.5", cost="0.25"))
    assert limit is not None and (limit.capacity, limit.per_second) == (30, 2)


@pytest.mark.parametrize(
    "given",
    [
        {"burst": None},
        {"rate": None},
        {"cost": None},
        {"burst": ""},
        {"burst": "lots"},
        {"rate": "nan"},
        {"burst": "inf"},
        {"rate": "-inf"},
        {"rate": "1e999"},
        {"burst": "0"},
        {"rate": "0"},  # nothing ever replenished: no bucket to obey
        {"cost": "0"},
        {"cost": "-5"},
        {"burst": "-10"},
        {"burst": "4", "cost": "5"},  # a call costs more than the bucket holds
        {"rate": "0.0001", "cost": "1"},  # a call every 10,000 s
        {"burst": "1e12", "cost": "1"},  # a million calls at once and more
        {"rate": "5e6", "cost": "1"},
        {"burst": "10, 10"},  # two values folded into one
    ],
)
def test_missing_or_absurd_buckets_are_ignored(given: dict[str, str | None]) -> None:
    assert parse_advertised_limit(headers(**given)) is None


def test_no_headers_at_all() -> None:
    assert parse_advertised_limit(CIMultiDict()) is None
    assert parse_advertised_limit({"Retry-After": "1"}) is None


@pytest.mark.parametrize("remaining", ["-1", "11", "nan", "inf", "some", ""])
def test_a_bad_remaining_keeps_the_bucket_without_it(remaining: str) -> None:
    limit = parse_advertised_limit(headers(remaining=remaining))
    assert limit == AdvertisedLimit(10, 1, 5, None)
    assert limit.remaining_calls is None


def test_nothing_left_is_a_count() -> None:
    limit = parse_advertised_limit(headers(remaining="0"))
    assert limit is not None and limit.remaining_calls == 0
