from pm_provider_emulator.domain.pagination import (
    parse_tidal_cursor,
    parse_youtube_page_token,
    tidal_cursor,
    window,
    youtube_page_token,
)


def test_youtube_tokens_have_the_real_shape():
    assert youtube_page_token(5) == "CAUQAA"
    assert youtube_page_token(50) == "CDIQAA"
    for n in (0, 5, 127, 128, 300, 9_999):
        assert parse_youtube_page_token(youtube_page_token(n)) == n
    assert parse_youtube_page_token("not-a-token!") is None


def test_tidal_cursors_round_trip():
    for n in (0, 20, 9_980):
        assert parse_tidal_cursor(tidal_cursor(n)) == n
    assert parse_tidal_cursor("zzz") is None


def test_window():
    assert window([1, 2, 3], 1, 5) == [2, 3]
