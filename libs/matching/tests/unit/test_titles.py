"""Titles taken apart: base, featured artists, versions, markers, and the search query."""

from __future__ import annotations

import pytest

from pm_matching import COSMETIC, DIFFERENT_RECORDING, TrackInfo, VersionTag, parse_title, search_terms


def test_featured_artists_move_out_of_the_title() -> None:
    for title in (
        "Dangerous (feat. Sam Martin)",
        "Dangerous [feat. Sam Martin]",
        "Dangerous (ft. Sam Martin)",
        "Dangerous feat. Sam Martin",
        "Dangerous (with Sam Martin)",
        "Dangerous (+ Sam Martin)",
    ):
        parsed = parse_title(title)
        assert parsed.base == "dangerous", title
        assert parsed.featured == ("sam martin",), title


def test_several_featured_artists_are_split() -> None:
    parsed = parse_title("I'm a Machine (feat. Crystal Nicole and Tyrese Gibson)")
    assert parsed.featured == ("crystal nicole", "tyrese gibson")


@pytest.mark.parametrize(
    ("title", "tag"),
    [
        ("Song (Live)", VersionTag.LIVE),
        ("Song - Live at Wembley Stadium", VersionTag.LIVE),
        ("Song - Ao Vivo", VersionTag.LIVE),
        ("Song (Robin Schulz Remix)", VersionTag.REMIX),
        ("Song - Cold Blank Mix", VersionTag.REMIX),
        ("Song Remix", VersionTag.REMIX),
        ("Song (Acoustic Version)", VersionTag.ACOUSTIC),
        ("Song - Unplugged", VersionTag.ACOUSTIC),
        ("Song (Instrumental)", VersionTag.INSTRUMENTAL),
        ("Song (Karaoke Version)", VersionTag.KARAOKE),
        ("Song (Originally Performed by Someone)", VersionTag.KARAOKE),
        ("Song (Cover)", VersionTag.COVER),
        ("Song (Sped Up)", VersionTag.SPED_UP),
        ("Song (Slowed + Reverb)", VersionTag.SLOWED),
        ("Song (Extended Mix)", VersionTag.EXTENDED),
        ("Song (Demo)", VersionTag.DEMO),
        ("Song (Taylor's Version)", VersionTag.RERECORDED),
        ("Song (2012 Version)", VersionTag.RERECORDED),
        ("Song (Spanish Version)", VersionTag.ALTERNATE),
        ("Song - Remastered 2011", VersionTag.REMASTER),
        ("Song (2009 Remaster)", VersionTag.REMASTER),
        ("Song - Radio Edit", VersionTag.RADIO_EDIT),
        ("Song (Single Edit)", VersionTag.RADIO_EDIT),
    ],
)
def test_version_tags(title: str, tag: VersionTag) -> None:
    parsed = parse_title(title)
    assert tag in parsed.tags
    assert parsed.base == "song"


def test_remaster_and_radio_edit_are_cosmetic_the_rest_another_recording() -> None:
    assert {VersionTag.REMASTER, VersionTag.RADIO_EDIT} == COSMETIC
    assert not COSMETIC & DIFFERENT_RECORDING
    assert set(VersionTag) == COSMETIC | DIFFERENT_RECORDING


@pytest.mark.parametrize(
    "title",
    [
        "Song (Album Version)",
        "Song - Original Mix",
        "Song - 2009 Mix",
        "Song (Bonus Track)",
        "Song (Deluxe Edition)",
        "Song (Official Video)",
        'Song - From "Some Film" Soundtrack',
        "Song (2011)",
    ],
)
def test_noise_is_dropped(title: str) -> None:
    parsed = parse_title(title)
    assert (parsed.base, parsed.subtitle) == ("song", "")
    assert not parsed.tags & DIFFERENT_RECORDING


def test_unknown_brackets_are_part_of_the_title() -> None:
    parsed = parse_title("This Love (Will Be Your Downfall)")
    assert (parsed.base, parsed.subtitle) == ("this love", "will be your downfall")


def test_nested_groups_each_count() -> None:
    parsed = parse_title("That Lucky Old Sun (Just Rolls Around Heaven All Day (with Willie Nelson))")
    assert parsed.subtitle == "just rolls around heaven all day"
    assert parsed.featured == ("willie nelson",)
    assert parse_title("Gone (Album Version (Edited)) [Clean]").explicit is False


def test_explicit_markers_and_their_lookalikes() -> None:
    assert parse_title("Song [Explicit]").explicit is True
    assert parse_title("Song (Clean)").explicit is False
    assert parse_title("Song").explicit is None
    # A remixer called "Dirty South" is no explicit marker, nor a subtitle about cleaning.
    assert parse_title("Changes (Dirty South Remix)").explicit is None
    assert parse_title("Song (Clean Up Your Mind)").explicit is None


def test_remixers_and_venues_are_kept() -> None:
    assert (
        parse_title("Song (Robin Schulz Remix) [Radio Edit]").descriptor(VersionTag.REMIX) == "robin schulz"
    )
    assert parse_title("Song (Live in Amsterdam)").descriptor(VersionTag.LIVE) == "amsterdam"


def test_part_numbers_are_read() -> None:
    assert parse_title("Crack in the Pearl, Pt. II").numbers == {"2"}
    assert parse_title("The Birds, Pt. 2").numbers == {"2"}
    assert parse_title("Halcyon").numbers == frozenset()


def test_parse_is_cached_on_the_string() -> None:
    assert parse_title("Cached (feat. Someone)") is parse_title("Cached (feat. Someone)")


def test_search_terms_drop_noise_and_keep_the_version() -> None:
    assert search_terms(
        TrackInfo("Dangerous (feat. Sam Martin) [Robin Schulz Remix] [Radio Edit]", ("David Guetta & Sia",))
    ) == ("Dangerous Robin Schulz Remix", "David Guetta")
    assert search_terms(TrackInfo("Bohemian Rhapsody - Remastered 2011", ("Queen",))) == (
        "Bohemian Rhapsody",
        "Queen",
    )
    assert search_terms(TrackInfo("Oasis - Ao Vivo no Estúdio MangoLab", ("Potyguara Bardo",))).title == (
        "Oasis ao vivo"
    )
    # The original script stays: a search engine matches "Beyoncé" better than "beyonce" would.
    assert search_terms(TrackInfo("Déjà Vu (feat. Jay-Z)", ("Beyoncé",))) == ("Déjà Vu", "Beyoncé")


def test_search_terms_read_a_youtube_title() -> None:
    terms = search_terms(TrackInfo("Babyface - Tender Lover (Official Video)", ("BabyfaceVEVO",)))
    assert terms == ("Tender Lover", "Babyface")
    # A dashed head that is not the artist is part of the title.
    terms = search_terms(TrackInfo("First - Return to Tackyland", ("Cold War Kids",)))
    assert terms == ("First Return to Tackyland", "Cold War Kids")
