from __future__ import annotations

import pytest

from pm_providers.domain.batching import calls_for, chunks, fit_name, iso_duration_ms


def test_chunks() -> None:
    assert list(chunks([1, 2, 3, 4, 5], 2)) == [[1, 2], [3, 4], [5]]
    assert list(chunks([], 100)) == []
    with pytest.raises(ValueError, match="at least 1"):
        list(chunks([1], 0))


@pytest.mark.parametrize(
    ("count", "batch", "calls"),
    [(10_000, 100, 100), (10_000, 500, 20), (10_000, 50, 200), (1, 50, 1), (0, 50, 0)],
)
def test_calls_for(count: int, batch: int, calls: int) -> None:
    assert calls_for(count, batch) == calls


def test_fit_name_keeps_short_names_and_normalises() -> None:
    assert fit_name("Gym", 150) == "Gym"
    assert fit_name("Cafe\u0301", None) == "Café"  # NFC


def test_fit_name_never_splits_a_character() -> None:
    assert fit_name("abc👩‍👩‍👧", 5) == "abc👩"  # the ZWJ sequence is cut before a joiner
    assert fit_name("ab👍🏽", 3) == "ab"  # a skin tone stays with its emoji
    assert fit_name("aé", 1) == "a"
    long = "é🎵" * 150
    cut = fit_name(long, 150)
    assert len(cut) <= 150 and long.startswith(cut)


@pytest.mark.parametrize(
    ("value", "ms"),
    [("PT3M25S", 205_000), ("PT1H", 3_600_000), ("PT0.5S", 500), ("P1DT1S", 86_401_000), ("PT4M", 240_000)],
)
def test_iso_duration(value: str, ms: int) -> None:
    assert iso_duration_ms(value) == ms


@pytest.mark.parametrize("value", [None, "", "P", "PT", "3:25", "PTXS"])
def test_iso_duration_rejects(value: str | None) -> None:
    assert iso_duration_ms(value) is None
