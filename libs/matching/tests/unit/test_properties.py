"""Properties over arbitrary text: the matcher never fails, and its answers stay in their ranges."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pm_matching import TrackInfo, Verdict, decide, parse_title, score, search_terms

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)
tracks = st.builds(
    TrackInfo,
    title=text,
    artists=st.lists(text, max_size=3).map(tuple),
    album=st.none() | text,
    duration_ms=st.none() | st.integers(0, 3_600_000),
    isrc=st.none() | st.from_regex(r"[A-Z]{2}[A-Z0-9]{3}\d{7}", fullmatch=True),
    explicit=st.none() | st.booleans(),
    video=st.booleans(),
)


@settings(max_examples=200, deadline=None)
@given(tracks, tracks, st.booleans())
def test_any_pair_scores_in_range_with_reasons(source: TrackInfo, candidate: TrackInfo, hit: bool) -> None:
    s = score(source, candidate, isrc_hit=hit)
    assert 0.0 <= s.confidence <= 1.0
    assert s.reasons
    assert all(0.0 <= v <= 1.0 for v in s.breakdown.values())


@settings(max_examples=200, deadline=None)
@given(text)
def test_any_title_parses_and_gives_search_terms(title: str) -> None:
    parsed = parse_title(title)
    assert parsed.base == parsed.base.strip()
    search_terms(TrackInfo(title, ("Someone",)))


@settings(max_examples=100, deadline=None)
@given(tracks, st.lists(tracks, max_size=5))
def test_decide_chooses_only_an_accepted_candidate(source: TrackInfo, candidates: list[TrackInfo]) -> None:
    d = decide(source, candidates)
    assert sorted(i for i, _ in d.ranked) == list(range(len(candidates)))
    if d.chosen is not None:
        assert d.verdict is Verdict.ACCEPT
        assert d.ranked[0][0] == d.chosen
        assert d.reason == ""
    else:
        assert d.reason
