"""Metadata normalisation (pure): real-world titles and credits with their exact normalised form, and
properties over any text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pm_enrichment.domain.metadata import NormalisedMetadata, normalise_track
from pm_matching import VersionTag, normalise

LIVE, REMIX, ACOUSTIC = VersionTag.LIVE, VersionTag.REMIX, VersionTag.ACOUSTIC
REMASTER, RADIO_EDIT = VersionTag.REMASTER, VersionTag.RADIO_EDIT

# (title, artists) → (title, artists, featured, versions, version descriptors, explicit)
CASES: list[
    tuple[
        str,
        tuple[str, ...],
        str,
        tuple[str, ...],
        tuple[str, ...],
        set[VersionTag],
        dict[VersionTag, str],
        bool | None,
    ]
] = [
    # featured artists out of the title
    ("Song (feat. X) - Remastered 2011", ("A",), "Song", ("A", "X"), ("X",), {REMASTER}, {}, None),
    ("Song [feat. X & Y]", ("A",), "Song", ("A", "X", "Y"), ("X", "Y"), set(), {}, None),
    ("Song feat. X", ("A",), "Song", ("A", "X"), ("X",), set(), {}, None),
    ("Song (with Y) - Radio Edit", ("A",), "Song", ("A", "Y"), ("Y",), {RADIO_EDIT}, {}, None),
    (
        "I'm a Machine (feat. Crystal Nicole and Tyrese Gibson)",
        ("David Guetta",),
        "I'm a Machine",
        ("David Guetta", "Crystal Nicole", "Tyrese Gibson"),
        ("Crystal Nicole", "Tyrese Gibson"),
        set(),
        {},
        None,
    ),
    # versions, with what names them
    ("Song - Live at Wembley", ("A",), "Song", ("A",), (), {LIVE}, {LIVE: "Wembley"}, None),
    ("Song (Live at the O2, London 2009)", ("A",), "Song", ("A",), (), {LIVE}, {LIVE: "O2, London"}, None),
    ("Song (Tiësto Remix)", ("A",), "Song", ("A",), (), {REMIX}, {REMIX: "Tiësto"}, None),
    (
        "Song (Dimitri Vegas & Like Mike Remix) [Explicit]",
        ("A",),
        "Song",
        ("A",),
        (),
        {REMIX},
        {REMIX: "Dimitri Vegas & Like Mike"},
        True,
    ),
    ("Song (Radio Edit)", ("A",), "Song", ("A",), (), {RADIO_EDIT}, {}, None),
    ("Song (Acoustic Version)", ("A",), "Song", ("A",), (), {ACOUSTIC}, {}, None),
    ("Song - Unplugged", ("A",), "Song", ("A",), (), {ACOUSTIC}, {}, None),
    ("Song - Instrumental", ("A",), "Song", ("A",), (), {VersionTag.INSTRUMENTAL}, {}, None),
    ("Song (Karaoke Version)", ("A",), "Song", ("A",), (), {VersionTag.KARAOKE}, {}, None),
    ("Song (Slowed + Reverb)", ("A",), "Song", ("A",), (), {VersionTag.SLOWED}, {}, None),
    ("Song - Sped Up", ("A",), "Song", ("A",), (), {VersionTag.SPED_UP}, {}, None),
    ("Song (Extended Mix)", ("A",), "Song", ("A",), (), {VersionTag.EXTENDED}, {}, None),
    (
        "Love Story (Taylor's Version)",
        ("Taylor Swift",),
        "Love Story",
        ("Taylor Swift",),
        (),
        {VersionTag.RERECORDED},
        {},
        None,
    ),
    (
        "Song (2012 Version)",
        ("A",),
        "Song",
        ("A",),
        (),
        {VersionTag.RERECORDED},
        {VersionTag.RERECORDED: "2012"},
        None,
    ),
    (
        "Song (Spanish Version)",
        ("A",),
        "Song",
        ("A",),
        (),
        {VersionTag.ALTERNATE},
        {VersionTag.ALTERNATE: "Spanish"},
        None,
    ),
    (
        "Don't Stop Me Now - Remastered 2011",
        ("Queen",),
        "Don't Stop Me Now",
        ("Queen",),
        (),
        {REMASTER},
        {},
        None,
    ),
    ("Song - 2011 Remaster", ("A",), "Song", ("A",), (), {REMASTER}, {}, None),
    ("Song  (Live)\t[Remastered]", ("A",), "Song", ("A",), (), {LIVE, REMASTER}, {}, None),
    # noise and markers
    ("Song (Official Video)", ("A",), "Song", ("A",), (), set(), {}, None),
    ("Song (Album Version)", ("A",), "Song", ("A",), (), set(), {}, None),
    ("Song (Bonus Track)", ("A",), "Song", ("A",), (), set(), {}, None),
    ("Song (Deluxe Edition)", ("A",), "Song", ("A",), (), set(), {}, None),
    ("Song (Original Mix)", ("A",), "Song", ("A",), (), set(), {}, None),
    ("Song (2011)", ("A",), "Song", ("A",), (), set(), {}, None),
    ('Song - From "Some Film" Soundtrack', ("A",), "Song", ("A",), (), set(), {}, None),
    ("Song [Clean]", ("A",), "Song", ("A",), (), set(), {}, False),
    ("Song (Album Version (Explicit))", ("A",), "Song", ("A",), (), set(), {}, True),
    # subtitles and parts are the song's name
    (
        "This Love (Will Be Your Downfall)",
        ("Ellie Goulding",),
        "This Love (Will Be Your Downfall)",
        ("Ellie Goulding",),
        (),
        set(),
        {},
        None,
    ),
    ("Song [Interlude] (Live)", ("A",), "Song [Interlude]", ("A",), (), {LIVE}, {}, None),
    (
        "Crack In the Pearl, Pt. II",
        ("Vampire Weekend",),
        "Crack In the Pearl, Pt. II",
        ("Vampire Weekend",),
        (),
        set(),
        {},
        None,
    ),
    ("Song, Part 2 - Remastered", ("A",), "Song, Part 2", ("A",), (), {REMASTER}, {}, None),
    (
        "Another Brick in the Wall, Pt. 2 - 2011 Remastered Version",
        ("Pink Floyd",),
        "Another Brick in the Wall, Pt. 2",
        ("Pink Floyd",),
        (),
        {REMASTER},
        {},
        None,
    ),
    # other scripts
    ("夜に駆ける", ("YOASOBI",), "夜に駆ける", ("YOASOBI",), (), set(), {}, None),
    (
        "夜に駆ける (feat. 幾田りら)",
        ("YOASOBI",),
        "夜に駆ける",
        ("YOASOBI", "幾田りら"),
        ("幾田りら",),
        set(),
        {},
        None,
    ),
    ("Группа крови (Live)", ("Кино",), "Группа крови", ("Кино",), (), {LIVE}, {}, None),
    (
        "Τα παιδιά του Πειραιά - Remastered",  # noqa: RUF001 - Greek letters are the point
        ("Μελίνα Μερκούρη",),
        "Τα παιδιά του Πειραιά",  # noqa: RUF001 - Greek letters are the point
        ("Μελίνα Μερκούρη",),
        (),
        {REMASTER},
        {},
        None,
    ),
    # nothing, or nothing but brackets: the title as given
    ("", ("A",), "", ("A",), (), set(), {}, None),
    ("   ", ("A",), "", ("A",), (), set(), {}, None),
    ("(Live)", ("A",), "(Live)", ("A",), (), {LIVE}, {}, None),
    ("[Explicit]", ("A",), "[Explicit]", ("A",), (), set(), {}, True),
    ("()", ("A",), "()", ("A",), (), set(), {}, None),
    # artist fields
    ("Song", ("A feat. B",), "Song", ("A", "B"), ("B",), set(), {}, None),
    ("Song", ("A & B",), "Song", ("A", "B"), (), set(), {}, None),
    ("Song", ("A, B and C",), "Song", ("A", "B", "C"), (), set(), {}, None),
    ("Song", ("A x B",), "Song", ("A", "B"), (), set(), {}, None),
    ("Song", ("A (feat. B & C)",), "Song", ("A", "B", "C"), ("B", "C"), set(), {}, None),
    ("Song", ("ArtistVEVO",), "Song", ("Artist",), (), set(), {}, None),
    ("Song", ("Artist - Topic",), "Song", ("Artist",), (), set(), {}, None),
    ("Song", ("A", "", "  "), "Song", ("A",), (), set(), {}, None),
    # featured artists named in both the title and the artists: once
    ("Song (feat. B)", ("A", "B"), "Song", ("A", "B"), ("B",), set(), {}, None),
    ("Song (feat. b)", ("A feat. B",), "Song", ("A", "B"), ("B",), set(), {}, None),
    (
        "Crazy in Love (feat. JAY-Z)",
        ("Beyoncé", "Jay-Z"),
        "Crazy in Love",
        ("Beyoncé", "Jay-Z"),
        ("Jay-Z",),
        set(),
        {},
        None,
    ),
    ("Halo", ("Beyoncé", "BEYONCE"), "Halo", ("Beyoncé",), (), set(), {}, None),
]


@pytest.mark.parametrize(
    ("title", "artists", "shown", "all_artists", "featured", "versions", "descriptors", "explicit"), CASES
)
def test_real_world_titles(
    title: str,
    artists: tuple[str, ...],
    shown: str,
    all_artists: tuple[str, ...],
    featured: tuple[str, ...],
    versions: set[VersionTag],
    descriptors: dict[VersionTag, str],
    explicit: bool | None,
) -> None:
    meta = normalise_track(title, artists)
    assert (meta.original_title, meta.original_artists) == (title, artists)
    assert meta.title == shown
    assert meta.artists == all_artists
    assert meta.featured == featured
    assert meta.versions == versions
    assert dict(meta.version_descriptors) == descriptors
    assert meta.explicit is explicit


def test_different_recording_is_any_version_but_a_remaster_or_radio_edit() -> None:
    assert normalise_track("Song (Live)", ("A",)).different_recording
    assert normalise_track("Song (Tiësto Remix) - Remastered", ("A",)).different_recording
    assert not normalise_track("Song - Remastered 2011", ("A",)).different_recording
    assert not normalise_track("Song (Radio Edit)", ("A",)).different_recording
    assert not normalise_track("Song", ("A",)).different_recording


def test_version_descriptor_by_tag() -> None:
    meta = normalise_track("Song (Tiësto Remix)", ("A",))
    assert meta.version_descriptor(VersionTag.REMIX) == "Tiësto"
    assert meta.version_descriptor(VersionTag.LIVE) is None


def test_json_round_trip() -> None:
    meta = normalise_track("Song (feat. X) [Tiësto Remix] [Explicit]", ["A & B"])
    stored = meta.to_json()
    assert stored == {
        "original_title": "Song (feat. X) [Tiësto Remix] [Explicit]",
        "original_artists": ["A & B"],
        "title": "Song",
        "artists": ["A", "B", "X"],
        "featured": ["X"],
        "versions": ["remix"],
        "version_descriptors": {"remix": "Tiësto"},
        "different_recording": True,
        "explicit": True,
    }
    assert NormalisedMetadata.from_json(stored) == meta


@pytest.mark.parametrize(
    "broken",
    [
        {},
        {"title": "Song"},
        {**normalise_track("Song", ("A",)).to_json(), "versions": ["unheard of"]},
        {**normalise_track("Song", ("A",)).to_json(), "artists": "A"},
        {**normalise_track("Song", ("A",)).to_json(), "explicit": "yes"},
        {**normalise_track("Song", ("A",)).to_json(), "version_descriptors": []},
    ],
)
def test_from_json_refuses_what_to_json_does_not_write(broken: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - every malformed object is a ValueError, by contract
        NormalisedMetadata.from_json(broken)


# ---- properties ---------------------------------------------------------------------------------------------

# Any text (control characters included, surrogates excluded: no str from JSON or a provider holds one),
# and text built of the grammar's own pieces, which random text seldom meets.
any_text = st.text(st.characters(codec="utf-8"), max_size=80)
pieces = st.sampled_from(
    [
        "Song",
        "feat.",
        "ft",
        "with",
        "(",
        ")",
        "[",
        "]",
        " - ",
        "Live",
        "at",
        "Remix",
        "Tiësto",
        "Radio Edit",
        "Remastered",
        "2011",
        "Acoustic",
        "Version",
        "Explicit",
        "Official Video",
        "&",
        "and",
        ",",
        "Pt.",
        "II",
        "From",
        "Mix",
        ";",
        "Кино",
        "夜",
    ]
)
grammar_text = st.lists(pieces, max_size=10).map(" ".join)
titles = any_text | grammar_text
credits = st.lists(any_text | grammar_text, max_size=4)


@settings(max_examples=300, deadline=None)
@given(titles, credits)
def test_never_raises_and_keeps_the_original(title: str, artists: list[str]) -> None:
    meta = normalise_track(title, artists)
    assert meta.original_title == title
    assert meta.original_artists == tuple(artists)
    assert NormalisedMetadata.from_json(meta.to_json()) == meta


@settings(max_examples=20, deadline=None)
@given(st.text(st.characters(codec="utf-8"), min_size=5_000, max_size=10_000), credits)
def test_huge_text(title: str, artists: list[str]) -> None:
    meta = normalise_track(title, [title, *artists])
    assert meta.original_title == title


@settings(max_examples=300, deadline=None)
@given(titles, credits)
def test_title_is_never_empty_when_the_original_has_a_word(title: str, artists: list[str]) -> None:
    meta = normalise_track(title, artists)
    if any(ch.isalnum() for ch in title):
        assert any(ch.isalnum() for ch in meta.title)
    assert meta.title == " ".join(meta.title.split())


@settings(max_examples=300, deadline=None)
@given(titles, credits)
def test_idempotent_on_the_title(title: str, artists: list[str]) -> None:
    meta = normalise_track(title, artists)
    again = normalise_track(meta.title, artists)
    assert again.title == meta.title
    assert again.versions <= meta.versions


@settings(max_examples=300, deadline=None)
@given(titles, credits)
def test_artists_are_listed_once(title: str, artists: list[str]) -> None:
    meta = normalise_track(title, artists)
    for names in (meta.artists, meta.featured):
        keys = [normalise(name) or name.casefold() for name in names]
        assert len(keys) == len(set(keys))
        assert all(name and name == " ".join(name.split()) for name in names)
    assert set(meta.featured) <= set(meta.artists)
