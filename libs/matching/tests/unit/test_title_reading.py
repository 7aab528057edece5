"""The display side of a title's reading (read_title) and of an artist credit (credit_names): the same
parts the matcher reads, as written."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pm_matching import CreditNames, VersionTag, credit_names, parse_title, read_title


@pytest.mark.parametrize(
    ("title", "shown", "featured", "descriptors"),
    [
        ("Song (feat. X) - Remastered 2011", "Song", ("X",), ()),
        ("Song [feat. X & Y]", "Song", ("X", "Y"), ()),
        ("Song feat. A, B and C", "Song", ("A", "B", "C"), ()),
        ("Song - Live at Wembley", "Song", (), ((VersionTag.LIVE, "Wembley"),)),
        ("Song (Live at the O2, London 2009)", "Song", (), ((VersionTag.LIVE, "O2, London"),)),
        ("Song (Tiësto Remix)", "Song", (), ((VersionTag.REMIX, "Tiësto"),)),
        ("Song Remix", "Song", (), ((VersionTag.REMIX, ""),)),
        ("Song (Spanish Version)", "Song", (), ((VersionTag.ALTERNATE, "Spanish"),)),
        ("This Love (Will Be Your Downfall)", "This Love (Will Be Your Downfall)", (), ()),
        ("Song - Part 2 [Explicit]", "Song - Part 2", (), ()),
        ("Song {Interlude} (Album Version (Explicit))", "Song {Interlude}", (), ()),
        ("Crack In the Pearl, Pt. II", "Crack In the Pearl, Pt. II", (), ()),
        ("(Live)", "", (), ((VersionTag.LIVE, ""),)),
    ],
)
def test_read_title_keeps_the_text_as_written(
    title: str, shown: str, featured: tuple[str, ...], descriptors: tuple[tuple[VersionTag, str], ...]
) -> None:
    reading = read_title(title)
    assert reading.parsed == parse_title(title)
    assert reading.title == shown
    assert reading.featured == featured
    assert reading.descriptors == descriptors


@pytest.mark.parametrize(
    ("credit", "names"),
    [
        ("A", CreditNames(("A",), ())),
        ("A & B", CreditNames(("A", "B"), ())),
        ("A, B and C", CreditNames(("A", "B", "C"), ())),
        ("A + B", CreditNames(("A", "B"), ())),
        ("A x B", CreditNames(("A", "B"), ())),
        ("A feat. B", CreditNames(("A",), ("B",))),
        ("A ft B & C", CreditNames(("A",), ("B", "C"))),
        ("A, B feat. C, D", CreditNames(("A", "B"), ("C", "D"))),
        ("A (feat. B)", CreditNames(("A",), ("B",))),
        ("A with B", CreditNames(("A",), ("B",))),
        ("TheWhoVEVO", CreditNames(("The Who",), ())),
        ("Beyoncé - Topic", CreditNames(("Beyoncé",), ())),
        ("  Florence   and the Machine ", CreditNames(("Florence", "the Machine"), ())),
        ("", CreditNames((), ())),
    ],
)
def test_credit_names_split_where_split_artists_splits(credit: str, names: CreditNames) -> None:
    assert credit_names(credit) == names


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(codec="utf-8"), max_size=60))
def test_any_title_reads_as_it_parses(title: str) -> None:
    reading = read_title(title)
    assert reading.parsed == parse_title(title)
    assert reading.title == reading.title.strip()
    credit_names(title)
