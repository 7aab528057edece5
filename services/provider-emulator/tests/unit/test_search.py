from pm_provider_emulator.domain.search import SearchDoc, SearchIndex, fold, parse_field_query

DOCS = [
    SearchDoc("1", "Teardrop", "Massive Attack", "Mezzanine", "GBAAA9800006", 1998, 80, 331),
    SearchDoc(
        "2",
        "Teardrop - Remastered",
        "Massive Attack",
        "Mezzanine (Remastered)",
        "GBAAA9800006",
        2019,
        60,
        330,
    ),
    SearchDoc("3", "Teardrop", "José González", "Teardrop EP", "SEXYZ0700001", 2007, 50, 200),
]


def test_parse_spotify_and_deezer_syntax():
    q = parse_field_query('track:"Teardrop" artist:"Massive Attack" year:1990-1999')
    assert q.track == ["teardrop"]
    assert q.artist == ["massive", "attack"]
    assert (q.year_from, q.year_to) == (1990, 1999)
    assert parse_field_query("isrc:gbaaa9800006").isrc == "GBAAA9800006"
    assert parse_field_query("dur_min:300 teardrop").dur_min == 300


def test_index_ranks_by_popularity_and_filters():
    idx = SearchIndex(DOCS)
    assert idx.search(parse_field_query("teardrop")) == ["1", "2", "3"]
    assert idx.search(parse_field_query('track:teardrop artist:"massive attack" year:1990-1999')) == ["1"]
    assert idx.search(parse_field_query("artist:gonzalez")) == ["3"]  # accent-insensitive
    assert idx.by_isrc("GBAAA9800006") == ["1", "2"]
    assert idx.search(parse_field_query("nothing-matches")) == []
    assert fold("Tiësto & Friends") == "tiesto and friends"


def test_an_apostrophe_is_part_of_a_word_not_a_quote():
    """ "Guns N' Roses Don't Cry" finds the song, as the providers' search boxes do (an apostrophe once
    opened a quote and glued "Don" and "t" into "dont")."""
    idx = SearchIndex(
        [*DOCS, SearchDoc("4", "Don't Cry", "Guns N' Roses", "Use Your Illusion I", None, 1991, 70, 284)]
    )
    assert idx.search(parse_field_query("Guns N' Roses Don't Cry")) == ["4"]
    assert idx.search(parse_field_query('"massive attack" teardrop')) == ["1", "2"]
    assert idx.search(parse_field_query('unbalanced "quote teardrop')) == []
