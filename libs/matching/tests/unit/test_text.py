"""Folding and artist credits: the forms two stores' spellings are compared in."""

from __future__ import annotations

import pytest

from pm_matching import normalise, split_artists


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("Beyoncé", "beyonce"),
        ("MOTÖRHEAD", "motorhead"),
        ("Don't Stop Me Now", "dont stop me now"),
        ("G.U.Y.", "guy"),
        ("P!nk", "pnk"),
        ("Simon & Garfunkel", "simon and garfunkel"),
        ("Florence + The Machine", "florence and the machine"),
        ("  Hello,   World!  ", "hello world"),
        ("Sigur Rós — Hoppípolla", "sigur ros hoppipolla"),
        ("\u00c6r\u00f8 \u2013 Stra\u00dfe", "aero strasse"),
    ],
)
def test_normalise_folds_case_diacritics_and_punctuation(raw: str, folded: str) -> None:
    assert normalise(raw) == folded


@pytest.mark.parametrize(
    "credit",
    [
        ["Calvin Harris & Dua Lipa"],
        ["Calvin Harris, Dua Lipa"],
        ["Calvin Harris feat. Dua Lipa"],
        ["Calvin Harris ft Dua Lipa"],
        ["Calvin Harris x Dua Lipa"],
        ["Calvin Harris and Dua Lipa"],
        ["Calvin Harris", "Dua Lipa"],
    ],
)
def test_split_artists_reads_every_separator(credit: list[str]) -> None:
    assert split_artists(credit) == ("calvin harris", "dua lipa")


def test_split_artists_drops_a_leading_the_and_channel_suffixes() -> None:
    assert split_artists(["The Weeknd"]) == ("weeknd",)
    assert split_artists(["The The"]) == ("the",)  # nothing left after "the ": kept
    assert split_artists(["Billie Eilish - Topic"]) == ("billie eilish",)
    assert split_artists(["TheWhoVEVO"]) == ("who",)


def test_a_name_ending_in_x_is_not_split() -> None:
    assert split_artists(["Lil Nas X"]) == ("lil nas x",)
