"""XSPF v1 (``application/xspf+xml``), read and written; see providers.md B2::

    <?xml version="1.0" encoding="UTF-8"?>
    <playlist version="1" xmlns="http://xspf.org/ns/0/">
      <title>Road Trip</title><annotation>…</annotation>
      <trackList>
        <track>
          <location>file:///music/teardrop.flac</location>
          <identifier>https://musicbrainz.org/recording/00000000-0000-4000-8000-000000000001</identifier>
          <identifier>isrc:GBAAA9800006</identifier>
          <title>Teardrop</title><creator>Massive Attack</creator><album>Mezzanine</album>
          <duration>331000</duration>
        </track>
      </trackList>
    </playlist>

A track's first ``location`` is its location; its ``identifier`` URIs give the MusicBrainz recording
(``https://musicbrainz.org/recording/<mbid>``), the ISRC (``isrc:`` URN) and provider ids (Spotify, Deezer,
TIDAL and YouTube URLs or URIs, also taken from ``location``). ``creator`` holds the artists joined with
``", "`` and is split there when read: a single artist whose name holds ``", "`` comes back as several.
What XSPF has no element for (explicit, added_at, a media type the URIs do not tell, provider ids without a
URL form) goes in our ``<extension application="https://playlist-manager.invalid/xspf">``, so a file we
wrote reads back as it was; other applications' extensions are ignored. Text is read without the
whitespace around it, and characters XML 1.0 cannot hold are dropped when writing.

The URI vocabulary here (:func:`uri_facts`, :func:`identifier_uris`, the artists' ``creator``) is shared
with JSPF, XSPF's JSON form; :func:`xml_events` is the one way into XML of this package (defusedxml).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import BinaryIO, NamedTuple, cast, get_args
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape, quoteattr

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden, NotSupportedError
from defusedxml.ElementTree import iterparse

from pm_formats.errors import FormatError
from pm_formats.ids import clean_isrc
from pm_formats.limits import MAX_ENTRIES
from pm_formats.model import Entry, FileTrack, Item, MediaType, PlaylistInfo, PlaylistStart, Skipped

NAMESPACE = "http://xspf.org/ns/0/"
MEDIA_TYPE = "application/xspf+xml"
EXTENSION = ".xspf"
# Our <extension application="…">: what XSPF has no element for. ".invalid" (RFC 2606): a name, not a page.
EXTENSION_APPLICATION = "https://playlist-manager.invalid/xspf"

_MEDIA_TYPES: frozenset[str] = frozenset(get_args(MediaType))
_ROOT = re.compile(r"<(?:[A-Za-z_][\w.-]*:)?playlist[\s>/]")
_MBID_URL = re.compile(
    r"https?://(?:www\.)?musicbrainz\.org/recording/"
    r"([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})/?"
)
_MBID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_ISRC_URN = re.compile(r"(?:urn:)?isrc:(.*)", re.IGNORECASE | re.DOTALL)
_SPOTIFY_LOCAL = "spotify:local:"
# (provider, pattern): the id is the group "id"; a Spotify "kind" of "episode" makes the track an episode.
_PROVIDER_URIS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("spotify", re.compile(r"spotify:(?P<kind>track|episode):(?P<id>[0-9A-Za-z]{22})")),
    (
        "spotify",
        re.compile(
            r"https?://open\.spotify\.com/(?:intl-[A-Za-z-]+/)?(?P<kind>track|episode)/"
            r"(?P<id>[0-9A-Za-z]{22})(?:[?#].*)?"
        ),
    ),
    ("deezer", re.compile(r"deezer:track:(?P<id>\d+)")),
    (
        "deezer",
        re.compile(
            r"https?://(?:www\.)?deezer\.com/(?:[a-z]{2}(?:-[a-z]{2})?/)?track/(?P<id>\d+)(?:[?#].*)?"
        ),
    ),
    ("tidal", re.compile(r"tidal:track:(?P<id>\d+)")),
    (
        "tidal",
        re.compile(r"https?://(?:listen\.|www\.)?tidal\.com/(?:browse/)?track/(?P<id>\d+)(?:[/?#].*)?"),
    ),
    (
        "youtube",
        re.compile(
            r"https?://(?:www\.|m\.|music\.)?youtube\.com/watch\?(?:[^#]*&)?v=(?P<id>[A-Za-z0-9_-]{11})(?:[&#].*)?"
        ),
    ),
    ("youtube", re.compile(r"https?://youtu\.be/(?P<id>[A-Za-z0-9_-]{11})(?:[?#].*)?")),
)
# The same, as one pattern: a fullmatch of alternatives takes the first that fits the whole URI, as trying
# each in turn would, in one call. Alternative i is the group "uri<i>", its groups "id<i>" and "kind<i>".
_ANY_PROVIDER_URI = re.compile(
    "|".join(
        f"(?P<uri{index}>"
        + pattern.pattern.replace("(?P<id>", f"(?P<id{index}>").replace("(?P<kind>", f"(?P<kind{index}>")
        + ")"
        for index, (_, pattern) in enumerate(_PROVIDER_URIS)
    )
)
# By the number of an alternative's group: (provider, the number of its "id" group, of its "kind" group).
_ALTERNATIVES: dict[int, tuple[str, int, int | None]] = {
    _ANY_PROVIDER_URI.groupindex[f"uri{index}"]: (
        provider,
        _ANY_PROVIDER_URI.groupindex[f"id{index}"],
        _ANY_PROVIDER_URI.groupindex.get(f"kind{index}"),
    )
    for index, (provider, _) in enumerate(_PROVIDER_URIS)
}
_PROVIDER_URLS = {
    "spotify": "https://open.spotify.com/track/{}",
    "deezer": "https://www.deezer.com/track/{}",
    "tidal": "https://tidal.com/browse/track/{}",
    "youtube": "https://www.youtube.com/watch?v={}",
}
# What XML 1.0 cannot hold (control characters but tab and line ends, lone surrogates, U+FFFE and U+FFFF).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_PARSE_ERROR_POSITION = re.compile(r": line \d+, column \d+$")
# A literal "\r" in text would come back as "\n" (XML's line-end normalisation): written as a reference.
_CARRIAGE_RETURN = {"\r": "&#13;"}


# --- The URI vocabulary, shared with JSPF ---------------------------------------------------------------------


def artists_from_creator(creator: str) -> tuple[str, ...]:
    """The artists of a ``creator`` we wrote (joined with ``", "``), or of anyone else's."""
    return tuple(name for name in (part.strip() for part in creator.split(", ")) if name)


def creator_from_artists(artists: Iterable[str]) -> str:
    return ", ".join(artists)


def provider_of_uri(uri: str) -> tuple[str, str, MediaType] | None:
    """(provider, id, media type) of a Spotify, Deezer, TIDAL or YouTube URL or URI, else None."""
    match = _ANY_PROVIDER_URI.fullmatch(uri)
    if match is None or match.lastindex is None:
        return None
    # The alternative's own group closes last.
    provider, id_group, kind_group = _ALTERNATIVES[match.lastindex]
    kind = match.group(kind_group) if kind_group is not None else None
    return provider, match.group(id_group), "episode" if kind == "episode" else "track"


@dataclass(frozen=True, slots=True)
class UriFacts:
    """What a track's location and identifier URIs say of it."""

    provider_ids: dict[str, str] = field(default_factory=dict)
    mbid: str | None = None
    isrc: str | None = None
    # Only when a URI tells (spotify:local:…, a Spotify episode): else the reader's default.
    media_type: MediaType | None = None


def uri_facts(locations: Iterable[str], identifiers: Iterable[str]) -> UriFacts:
    """The facts of a track's URIs: an identifier's provider id wins over a location's; of several, the
    first. The MusicBrainz recording and the ISRC are read from identifiers only."""
    provider_ids: dict[str, str] = {}
    mbid: str | None = None
    isrc: str | None = None
    media_type: MediaType | None = None
    for is_identifier, uri in [(True, uri) for uri in identifiers] + [(False, uri) for uri in locations]:
        if uri.startswith(_SPOTIFY_LOCAL):
            media_type = media_type or "local"
            continue
        provider = provider_of_uri(uri)
        if provider is not None:
            name, provider_id, provider_media_type = provider
            provider_ids.setdefault(name, provider_id)
            if provider_media_type != "track":
                media_type = media_type or provider_media_type
            continue
        if not is_identifier:
            continue
        if mbid is None and (mbid_match := _MBID_URL.fullmatch(uri)) is not None:
            mbid = mbid_match[1].lower()
        elif isrc is None and (isrc_match := _ISRC_URN.fullmatch(uri)) is not None:
            isrc = clean_isrc(isrc_match[1].strip())
    return UriFacts(provider_ids, mbid, isrc, media_type)


def normal_mbid(mbid: str) -> str | None:
    """``mbid`` lower-case when it is a UUID, else None (it is no MusicBrainz id)."""
    lowered = mbid.strip().lower()
    return lowered if _MBID.fullmatch(lowered) else None


class IdentifierUris(NamedTuple):
    uris: list[str]
    # The provider ids no URL form reads back as: the writer's own extension holds them.
    unwritten: dict[str, str]
    # What :func:`uri_facts` tells of the URIs' media type (a Spotify episode's URL), without parsing them.
    media_type: MediaType | None


def identifier_uris(mbid: str | None, provider_ids: dict[str, str], media_type: MediaType) -> IdentifierUris:
    """The identifier URIs of a track's MusicBrainz recording (when ``mbid`` is one) and provider ids, and
    the provider ids left over. The ISRC is not among them (XSPF writes it as an ``isrc:`` URN, JSPF in
    ListenBrainz's extension)."""
    uris: list[str] = []
    recording = normal_mbid(mbid) if mbid is not None else None
    if recording is not None:
        uris.append(f"https://musicbrainz.org/recording/{recording}")
    unwritten: dict[str, str] = {}
    told: MediaType | None = None
    for provider, provider_id in provider_ids.items():
        url = _PROVIDER_URLS.get(provider)
        if url is not None:
            url = url.format(provider_id)
            if provider == "spotify" and media_type == "episode":
                url = url.replace("/track/", "/episode/")
            # Written only when it reads back as this id.
            parsed = provider_of_uri(url)
            if parsed is not None and parsed[:2] == (provider, provider_id):
                uris.append(url)
                if parsed[2] != "track":
                    told = told or parsed[2]
                continue
        unwritten[provider] = provider_id
    return IdentifierUris(uris, unwritten, told)


def told_media_type(location: str, identifiers: IdentifierUris) -> MediaType:
    """The media type a reader takes from a track's written URIs (``location`` may be ""): as
    :func:`uri_facts` of them would tell it, "track" when they tell none."""
    if identifiers.media_type is not None:  # the identifiers come first
        return identifiers.media_type
    return (uri_facts([location], []).media_type if location else None) or "track"


def iso_datetime(text: str) -> datetime | None:
    """An ISO-8601 date and time; one without a time zone is taken as UTC (as our writers write it)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def aware(moment: datetime) -> datetime:
    """``moment`` with a time zone: UTC when it has none."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def media_type_of(text: str) -> MediaType | None:
    return cast(MediaType, text) if text in _MEDIA_TYPES else None


# --- XML ---------------------------------------------------------------------------------------------------


def xml_events(source: BinaryIO, *, forbid_dtd: bool) -> Iterator[tuple[str, Element]]:
    """("start" | "end", element) over ``source`` through defusedxml, read in chunks: entity declarations and
    external references are refused (and any DTD with ``forbid_dtd``), as is XML that is not well-formed,
    with a :class:`FormatError`. The caller removes what it has read from the tree to keep it small."""
    try:
        yield from iterparse(source, events=("start", "end"), forbid_dtd=forbid_dtd)
    except DTDForbidden:
        raise FormatError("a DTD (<!DOCTYPE …>) is not allowed in this file") from None
    except EntitiesForbidden:
        raise FormatError("entity declarations (<!ENTITY …>) are not allowed") from None
    except ExternalReferenceForbidden:
        raise FormatError("external references are not allowed") from None
    except NotSupportedError:
        raise FormatError("an XML feature that is not allowed") from None
    except ParseError as error:
        line = error.position[0] if error.position else None
        raise FormatError(f"not well-formed XML: {_PARSE_ERROR_POSITION.sub('', str(error))}", line) from None
    except (ValueError, LookupError, UnicodeError) as error:
        raise FormatError(f"not readable XML: {error}") from None


def _local_name(tag: str) -> str:
    return tag.rpartition("}")[2]


def _text(element: Element) -> str:
    return (element.text or "").strip()


# --- Reading ------------------------------------------------------------------------------------------------


def sniff(head: str) -> bool:
    """True when ``head``'s root element is ``playlist`` and the XSPF namespace is declared."""
    text = head.lstrip("\ufeff \t\r\n")
    # The root element: after the XML declaration, comments and processing instructions.
    position = 0
    while (position := text.find("<", position)) >= 0 and text.startswith(("<?", "<!"), position):
        position += 1
    return position >= 0 and _ROOT.match(text, position) is not None and NAMESPACE in text


def read_xspf(source: BinaryIO) -> Iterator[Item]:
    """The playlist of an XSPF file, lazily: :class:`PlaylistStart`, :class:`PlaylistInfo` (when the title
    is met: before the tracks, or after them when the file puts it there) and one :class:`Entry` per track
    (a :class:`Skipped` for a track with no title, location or identifier). Each track is dropped from
    memory once read. A DTD, an entity, XML that is not well-formed or not XSPF, or more than
    ``MAX_ENTRIES`` tracks are a :class:`FormatError`."""
    open_elements: list[Element] = []
    tags = _Tags("")
    title: str | None = None
    annotation: str | None = None
    info_given = False
    track_count = 0
    for event, element in xml_events(source, forbid_dtd=True):
        if event == "start":
            if not open_elements:
                if element.tag not in (f"{{{NAMESPACE}}}playlist", "playlist"):
                    raise FormatError(
                        f"not an XSPF playlist: the root element is <{_local_name(element.tag)}>"
                    )
                # A file without the namespace is taken as XSPF all the same (its elements are unqualified).
                tags = _Tags(element.tag[: -len("playlist")])
                yield PlaylistStart()
            elif (
                len(open_elements) == 1
                and element.tag == tags.track_list
                and title is not None
                and not info_given
            ):
                yield PlaylistInfo(title, annotation)
                info_given = True
            open_elements.append(element)
            continue
        open_elements.pop()
        depth = len(open_elements)
        if depth > 2:  # inside a track: read with the track
            continue
        if depth == 0:
            if not info_given and (title is not None or annotation is not None):
                yield PlaylistInfo(title or "", annotation)
            continue
        parent = open_elements[-1]
        if depth == 1:
            if element.tag == tags.title and title is None:
                title = _text(element)
            elif element.tag == tags.annotation and annotation is None:
                annotation = _text(element) or None
        elif parent.tag == tags.track_list and element.tag == tags.track:
            track_count += 1
            if track_count > MAX_ENTRIES:
                raise FormatError(f"more than {MAX_ENTRIES} tracks")
            yield _entry(element, tags, track_count)
        # The playlist's parts and the tracks, once read, leave the tree: it stays one track deep.
        parent.remove(element)
        element.clear()


class _Tags:
    """The tags of XSPF's elements, in the file's namespace (``prefix``: "{namespace}", or "" without one)."""

    def __init__(self, prefix: str) -> None:
        self.title = f"{prefix}title"
        self.annotation = f"{prefix}annotation"
        self.track_list = f"{prefix}trackList"
        self.track = f"{prefix}track"
        self.location = f"{prefix}location"
        self.identifier = f"{prefix}identifier"
        self.extension = f"{prefix}extension"
        # A track's elements of one text each, by tag: the field they give.
        self.texts = {f"{prefix}{name}": name for name in ("title", "creator", "album", "duration")}


def _entry(track: Element, tags: _Tags, number: int) -> Entry | Skipped:
    texts: dict[str, str] = {}
    locations: list[str] = []
    identifiers: list[str] = []
    ours: Element | None = None
    for child in track:
        tag = child.tag
        if tag == tags.location:
            locations.append(_text(child))
        elif tag == tags.identifier:
            identifiers.append(_text(child))
        elif tag == tags.extension:
            if child.get("application") == EXTENSION_APPLICATION and ours is None:
                ours = child
        elif (name := tags.texts.get(tag)) is not None:
            texts.setdefault(name, _text(child))
    facts = uri_facts([uri for uri in locations if uri], [uri for uri in identifiers if uri])
    provider_ids = dict(facts.provider_ids)
    explicit: bool | None = None
    added_at: datetime | None = None
    media_type = facts.media_type or "track"
    for child in ours if ours is not None else ():
        name = _local_name(child.tag)
        if name == "explicit" and _text(child) in ("true", "false"):
            explicit = _text(child) == "true"
        elif name == "addedAt":
            added_at = iso_datetime(_text(child))
        elif name == "mediaType":
            media_type = media_type_of(_text(child)) or media_type
        elif name == "providerId" and (provider := child.get("provider")) is not None:
            provider_ids[provider] = child.text or ""
    title = texts.get("title", "")
    location = next((uri for uri in locations if uri), None)
    if not title and location is None and not any(identifiers) and not provider_ids:
        return Skipped(f"track {number}: no title, location or identifier")
    duration = texts.get("duration", "")
    return Entry(
        FileTrack(
            title=title,
            artists=artists_from_creator(texts.get("creator", "")),
            album=texts.get("album") or None,
            duration_ms=int(duration) if duration.isascii() and duration.isdigit() else None,
            isrc=facts.isrc,
            explicit=explicit,
            provider_ids=provider_ids,
            location=location,
            mbid=facts.mbid,
            added_at=added_at,
            media_type=media_type,
        )
    )


# --- Writing ------------------------------------------------------------------------------------------------


def xml_text(text: str) -> str:
    """``text`` as XML 1.0 can hold it: the characters it cannot are dropped."""
    return _NOT_XML.sub("", text)


def _element(name: str, text: str, attributes: str = "") -> str:
    if text.isprintable():  # the usual text: nothing XML cannot hold, no "\r"; only &, < and > to escape
        content = text.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")
    else:
        content = escape(xml_text(text), _CARRIAGE_RETURN)
    return f"<{name}{attributes}>{content}</{name}>"


def write_xspf(info: PlaylistInfo, tracks: Iterable[FileTrack], out: BinaryIO) -> None:
    """Write an XSPF file (UTF-8 bytes) to ``out``, one track at a time: ``tracks`` is iterated once,
    never made into a list."""
    out.write(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<playlist version="1" xmlns="{NAMESPACE}" '
        f'xmlns:pm="{EXTENSION_APPLICATION}">\n'.encode()
    )
    out.write(f"  {_element('title', info.name)}\n".encode())
    if info.description is not None:
        out.write(f"  {_element('annotation', info.description)}\n".encode())
    out.write(b"  <trackList>\n")
    for track in tracks:
        out.write(_track_xml(track).encode())
    out.write(b"  </trackList>\n</playlist>\n")


def _track_xml(track: FileTrack) -> str:
    location = xml_text(track.location).strip() if track.location is not None else ""
    # Cleaned first: the URIs written must read back as these ids.
    provider_ids = {xml_text(name): xml_text(value) for name, value in track.provider_ids.items()}
    written = identifier_uris(track.mbid, provider_ids, track.media_type)
    identifiers = written.uris
    isrc = clean_isrc(track.isrc.strip()) if track.isrc is not None else None
    if isrc is not None:
        identifiers.append(f"isrc:{isrc}")
    fields = [_element("location", location)] if location else []
    fields.extend(_element("identifier", uri) for uri in identifiers)
    fields.append(_element("title", track.title))
    if track.artists:
        fields.append(_element("creator", creator_from_artists(track.artists)))
    if track.album is not None:
        fields.append(_element("album", track.album))
    if track.duration_ms is not None and track.duration_ms >= 0:
        fields.append(_element("duration", str(track.duration_ms)))
    extension: list[str] = []
    if track.explicit is not None:
        extension.append(_element("pm:explicit", "true" if track.explicit else "false"))
    if track.added_at is not None:
        extension.append(_element("pm:addedAt", aware(track.added_at).isoformat()))
    # The media type, when the URIs would not tell it (or would tell another).
    if track.media_type != told_media_type(location, written):
        extension.append(_element("pm:mediaType", track.media_type))
    extension.extend(
        _element("pm:providerId", provider_id, f" provider={quoteattr(provider)}")
        for provider, provider_id in written.unwritten.items()
    )
    if extension:
        fields.append(
            f"<extension application={quoteattr(EXTENSION_APPLICATION)}>\n"
            + "".join(f"        {line}\n" for line in extension)
            + "      </extension>"
        )
    return "    <track>\n" + "".join(f"      {line}\n" for line in fields) + "    </track>\n"
