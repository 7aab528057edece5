"""How the library compares metadata: one spelling per title, artist and ISRC."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pm_playlist.domain.tracks import Track, artists_key, normalise_any_text, normalise_isrc, normalise_text


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("Beyonc\u00e9 - Halo!", "beyonce halo"),
        ("Don't", "dont"),
        ("Don\u2018t", "dont"),
        ("Don\u00b4t", "dont"),
        ("Don\uff07t", "dont"),
        ("Don\u2032t", "dont"),
        ("Song (Live)", "song live"),  # brackets stay words: another recording
        ("\u03a9\u03bc\u03ad\u03b3\u03b1", "\u03c9\u03bc\u03b5\u03b3\u03b1"),  # Greek accents go
        ("\u304c", "\u304c"),  # Japanese: the dakuten makes another letter, it stays
        ("\u0915\u094d\u092f\u093e", "\u0915\u094d\u092f\u093e"),  # Devanagari: virama and vowel sign stay
        ("  SPACED\tout  ", "spaced out"),
    ],
)
def test_normalised_text(text, normalised):
    assert normalise_text(text) == normalised


@given(st.text(alphabet=st.characters(max_codepoint=127) | st.sampled_from("\u2018\u2019\u00b4\u02bc")))
def test_the_fast_path_for_ascii_text_normalises_as_the_letter_by_letter_one(text):
    assert normalise_text(text) == normalise_any_text(text)


def test_scripts_whose_marks_make_letters_keep_words_apart():
    assert normalise_text("\u0915\u094d\u092f\u093e") != normalise_text("\u0915\u092f\u093e")
    assert normalise_text("\u304b") != normalise_text("\u304c")


@pytest.mark.parametrize(
    ("isrc", "normalised"),
    [
        ("USSM10804556", "USSM10804556"),
        ("us-sm1-08-04556", "USSM10804556"),
        ("USSM10804556\n", "USSM10804556"),
        ("US SM1\u201308\u00a004556", "USSM10804556"),
        ("USSM1080455", None),
        ("USSM108045567", None),
        ("", None),
        (None, None),
    ],
)
def test_normalised_isrc(isrc, normalised):
    assert normalise_isrc(isrc) == normalised


def test_artists_are_a_set_and_tracks_hash():
    assert artists_key(("Queen", "David Bowie")) == artists_key(("david bowie", "QUEEN", ""))
    assert hash(Track("a", ("b",), provider_ids={"spotify": "x"})) == hash(Track("a", ("b",)))
