"""A track's metadata normalised for display: the song's name cleaned, its artists split and listed once,
its featured artists, which version it is, and the explicit flag, beside the text as the provider gave it
(docs/catalog.md, "Metadata normalisation").

Pure. The reading is the matcher's (:func:`pm_matching.read_title`, :func:`pm_matching.credit_names`):
what the matcher reads as a version, a featured artist or noise is what is shown as one, by one grammar.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pm_matching import DIFFERENT_RECORDING, VersionTag, credit_names, normalise, read_title


@dataclass(frozen=True)
class NormalisedMetadata:
    """A track's title and artists as given, and as shown. Every text is display text: case, accents and
    punctuation kept, whitespace collapsed."""

    original_title: str  # exactly as given
    original_artists: tuple[str, ...]  # exactly as given
    # The song's name and its subtitles ("This Love (Will Be Your Downfall)"); never empty when the original
    # has a letter or digit.
    title: str
    artists: tuple[str, ...]  # the main artists, then the featured ones; each once
    featured: tuple[str, ...]  # credited as featured, in the title or the artist field; each once
    versions: frozenset[VersionTag]
    # What names each version, where the title says it: the remixer ("Tiësto"), the venue ("Wembley").
    version_descriptors: tuple[tuple[VersionTag, str], ...]
    explicit: bool | None  # from an explicit or clean marker in the title; None without one

    @property
    def different_recording(self) -> bool:
        """Whether a version makes this another recording than the original (live, remix, acoustic...)."""
        return bool(self.versions & DIFFERENT_RECORDING)

    def version_descriptor(self, tag: VersionTag) -> str | None:
        return dict(self.version_descriptors).get(tag)

    def to_json(self) -> dict[str, Any]:
        """A JSON object for storage; :meth:`from_json` reads it back equal. ``different_recording`` is
        written for readers without the matcher's tag sets, and ignored when read."""
        return {
            "original_title": self.original_title,
            "original_artists": list(self.original_artists),
            "title": self.title,
            "artists": list(self.artists),
            "featured": list(self.featured),
            "versions": sorted(tag.value for tag in self.versions),
            "version_descriptors": {tag.value: text for tag, text in self.version_descriptors},
            "different_recording": self.different_recording,
            "explicit": self.explicit,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NormalisedMetadata:
        """Read :meth:`to_json`'s object; ValueError when it is not one (a missing field, a wrong type, an
        unknown version tag)."""
        try:
            explicit = data["explicit"]
            if explicit is not None and not isinstance(explicit, bool):
                raise ValueError(f"explicit is {explicit!r}, not a boolean or null")
            descriptors = data["version_descriptors"]
            if not isinstance(descriptors, Mapping):
                raise ValueError("version_descriptors is not an object")
            return cls(
                original_title=_string(data["original_title"]),
                original_artists=_strings(data["original_artists"]),
                title=_string(data["title"]),
                artists=_strings(data["artists"]),
                featured=_strings(data["featured"]),
                versions=frozenset(VersionTag(_string(tag)) for tag in _strings(data["versions"])),
                version_descriptors=tuple(
                    sorted((VersionTag(_string(tag)), _string(text)) for tag, text in descriptors.items())
                ),
                explicit=explicit,
            )
        except KeyError as missing:
            raise ValueError(f"normalised metadata without {missing}") from None


def _string(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a string")
    return value


def _strings(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ValueError(f"{value!r} is not a list")
    return tuple(_string(item) for item in value)


def normalise_track(title: str, artists: Sequence[str]) -> NormalisedMetadata:
    """Normalise a track's title and artists (docs/catalog.md, "Metadata normalisation"). Pure; never raises
    on any text. Idempotent on the title: normalising the cleaned title again gives it back, with no version
    it did not have."""
    readings = [read_title(title)]
    # The cleaned title read again until nothing more comes off ("Song Remix Remix": one "Remix" a reading),
    # so that normalising is idempotent. Each further reading shortens the title: a few at most.
    while (
        len(readings) < _MAX_READINGS
        and _has_word(readings[-1].title)
        and ((again := read_title(readings[-1].title)).title != readings[-1].title)
    ):
        readings.append(again)
    shown = readings[-1].title
    if not _has_word(shown):  # only brackets, only a version ("(Live)"): the title as given is its name
        shown = " ".join(title.split())
    main: list[str] = []
    featured: list[str] = []
    for credit in artists:
        names = credit_names(credit)
        main.extend(names.main)
        featured.extend(names.featured)
    descriptors: dict[VersionTag, str] = {}
    for reading in readings:
        featured.extend(reading.featured)
        for tag, text in reading.descriptors:
            if text:
                descriptors.setdefault(tag, text)
    # One spelling of each artist: the first in the artist field, then in the title.
    spelling = _once([*main, *featured])
    featured_keys = {_key(name) for name in featured}
    return NormalisedMetadata(
        original_title=title,
        original_artists=tuple(artists),
        title=shown,
        artists=tuple(spelling.values()),
        featured=tuple(name for key, name in spelling.items() if key in featured_keys),
        versions=frozenset().union(*(reading.parsed.tags for reading in readings)),
        version_descriptors=tuple(sorted(descriptors.items())),
        explicit=next((r.parsed.explicit for r in readings if r.parsed.explicit is not None), None),
    )


# Readings of one title at most: every further one takes a part off a title that still had it.
_MAX_READINGS = 8


def _has_word(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def _key(name: str) -> str:
    """What two spellings of one name share: the matcher's folding (case, accents and punctuation aside);
    a name of no letters or digits ("!!!") as written, case aside."""
    return normalise(name) or name.casefold()


def _once(names: Iterable[str]) -> dict[str, str]:
    """Each name's key and its first spelling, in order of first appearance."""
    kept: dict[str, str] = {}
    for name in names:
        kept.setdefault(_key(name), name)
    return kept
