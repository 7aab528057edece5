"""A library import, decided without I/O: the providers' answers made safe for an event, the digests
that tell what changed since the last import, the parts a playlist is sent in, what to send for each
playlist, and how a provider's refusal pauses the job.

A provider's answer is not trusted to fit the contract (``pm_contracts.library``): every text is cut to
its field's length (never splitting a character from its marks), NUL characters and lone surrogates
(which PostgreSQL or UTF-8 refuse) are dropped, ids too long to be ids are left out rather than cut (a cut
id names something else), and the parts are sized by their encoded bytes as well as by their entries.
So whatever a provider answers, the events stay sendable.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from pm_contracts.library import (
    MAX_ARTISTS,
    MAX_DESCRIPTION,
    MAX_ENTRIES_PER_PART,
    MAX_ID,
    MAX_NAME,
    MAX_PLAYLIST_ENTRIES,
    MAX_PLAYLISTS,
    ImportedEntry,
    ImportedPlaylist,
    ImportedTrack,
)
from pm_contracts.providers import ProviderName
from pm_providers.domain.batching import fit_name
from pm_providers.models import ProviderPlaylist, ProviderTrack

IMPORT_JOB = "library.import"
# The liked collection's provider_playlist_id, the same on every provider and every import (Deezer's
# Loved Tracks playlist included: its own id is not used), so the library finds it again.
LIKED_ID = "liked"
LIKED_NAMES: dict[ProviderName, str] = {
    ProviderName.SPOTIFY: "Liked Songs",
    ProviderName.DEEZER: "Loved Tracks",
    ProviderName.TIDAL: "My Collection",
    ProviderName.YOUTUBE: "Liked videos",
}

# Playlists one import reads per provider: LibraryImportFinished lists at most MAX_PLAYLISTS ids, and the
# liked collection is one of them.
MAX_LISTED = MAX_PLAYLISTS - 1
# PlaylistImported.parts allows at most this many parts: a playlist of more entries is not sent.
MAX_PARTS = 100
# The entries of one playlist read at most: what the library keeps (MAX_PARTS parts hold more).
MAX_ENTRIES = MAX_PLAYLIST_ENTRIES
# The encoded entries of one part at most. With the playlist's details (under 50 kB whatever they hold,
# once cut) and the envelope, an event stays under the outbox's MAX_EVENT_BYTES (900 kB).
PART_BYTES = 800_000
# All the artists of one track together, in characters: with the other fields cut, one entry stays
# within about 20 kB however hostile the answer, so a part always holds dozens of entries.
MAX_ARTISTS_CHARS = 1_000
MAX_ISRC = 32
MAX_COVER_URL = 2_000


# ---- text and ids ------------------------------------------------------------------------------------


_SURROGATE = re.compile("[\ud800-\udfff]")


def clean(text: str) -> str:
    """``text`` without NUL characters (PostgreSQL refuses them, in text and in jsonb) and with each
    surrogate code point (not UTF-8: the event could not be encoded; JSON's escaped pairs arrive joined
    already) replaced by U+FFFD."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    if text.isascii():
        return text
    return _SURROGATE.sub("\ufffd", text)


def cut(text: str | None, limit: int) -> str | None:
    """``text`` cleaned and cut to ``limit`` characters (NFC; a character keeps its marks, an emoji
    sequence is not left with a dangling joiner: ``pm_providers``' ``fit_name``). Only the first few
    times ``limit`` characters are looked at, so a huge value costs no more than a long one."""
    if text is None:
        return None
    return fit_name(clean(text[: 4 * limit + 16]), limit)


def usable_id(value: str | None) -> str | None:
    """An id as the contract carries it, or None when it cannot be one (empty, or longer than MAX_ID:
    an id is never cut, a cut id names something else)."""
    if value is None:
        return None
    value = clean(value)
    return value if 0 < len(value) <= MAX_ID else None


def change_marker(value: str | None) -> str | None:
    """The provider's change marker as kept and sent: only ever compared for equality, so one longer
    than MAX_ID is replaced by its SHA-256 (cutting it could make two versions look the same)."""
    if value is None:
        return None
    value = clean(value)
    if not value:
        return None
    if len(value) <= MAX_ID:
        return value
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()


# ---- the contract's values from the adapters' -----------------------------------------------------------


def imported_track(track: ProviderTrack) -> ImportedTrack:
    artists: list[str] = []
    total = 0
    for name in track.artists[:MAX_ARTISTS]:
        artist = cut(name, MAX_NAME) or ""
        if total + len(artist) > MAX_ARTISTS_CHARS:
            break
        artists.append(artist)
        total += len(artist)
    isrc = clean(track.isrc).strip() if track.isrc else None
    duration = track.duration_ms
    return ImportedTrack(
        provider_track_id=usable_id(track.id),
        title=cut(track.title, MAX_NAME) or "",
        artists=artists,
        album=cut(track.album, MAX_NAME),
        duration_ms=duration if duration is not None and duration >= 0 else None,
        isrc=isrc if isrc and len(isrc) <= MAX_ISRC else None,
        explicit=track.explicit,
        release_date=track.release_date,
        media_type=track.media_type.value,
        is_local=track.is_local,
        available=track.available,
    )


def imported_entry(track: ProviderTrack) -> ImportedEntry:
    # The adapters do not give who added an entry (Spotify's added_by is not in ProviderTrack).
    return ImportedEntry(track=imported_track(track), added_at=track.added_at)


def is_read_only(playlist: ProviderPlaylist) -> bool:
    """Followed, not owned (nor collaborative): the library refuses edits. An owner the provider does not
    say (TIDAL's collection) counts as the user's own."""
    return playlist.is_owner is False and not playlist.collaborative


def imported_playlist(playlist: ProviderPlaylist) -> ImportedPlaylist | None:
    """The playlist's details as sent, or None when its id cannot be sent (it is then not imported)."""
    playlist_id = usable_id(playlist.id)
    if playlist_id is None:
        return None
    cover = clean(playlist.image_url) if playlist.image_url else None
    return ImportedPlaylist(
        provider_playlist_id=playlist_id,
        collection="playlist",
        name=cut(playlist.name, MAX_NAME) or "",
        description=cut(playlist.description, MAX_DESCRIPTION),
        public=playlist.public,
        collaborative=playlist.collaborative,
        cover_url=cover if cover and len(cover) <= MAX_COVER_URL else None,
        owner_id=usable_id(playlist.owner_id),
        owner_name=cut(playlist.owner_name, MAX_NAME),
        read_only=is_read_only(playlist),
        change_marker=change_marker(playlist.snapshot_id),
    )


def liked_collection(provider: ProviderName, listed_as: ProviderPlaylist | None = None) -> ImportedPlaylist:
    """The provider's liked songs as a library collection, under :data:`LIKED_ID`: from the playlist
    the provider lists it as (Deezer's Loved Tracks: its details and checksum), else by name only (no
    change marker: its entries are compared instead)."""
    if listed_as is not None:
        details = imported_playlist(listed_as.model_copy(update={"id": LIKED_ID}))
        assert details is not None
        return details.model_copy(update={"collection": "liked", "read_only": False})
    return ImportedPlaylist(provider_playlist_id=LIKED_ID, collection="liked", name=LIKED_NAMES[provider])


# ---- digests and parts -----------------------------------------------------------------------------------


def details_digest(playlist: ImportedPlaylist) -> str:
    """What the library shows of a playlist besides its entries, as a digest (the marker apart: it is
    compared on its own)."""
    return hashlib.sha256(playlist.model_dump_json(exclude={"change_marker"}).encode()).hexdigest()


class ReadEntries:
    """A playlist's entries as read, in order, with their digest and their encoded sizes (the same
    encoding as the event's). Entries past ``max_entries`` (:data:`MAX_ENTRIES`, what MAX_PARTS full parts
    hold) are not kept: ``too_many`` says so."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._max_entries = max_entries
        self.entries: list[ImportedEntry] = []
        self._sizes: list[int] = []
        self._bytes = 0
        self._digest = hashlib.sha256()
        self.too_many = False

    def add(self, track: ProviderTrack) -> bool:
        """Keep one more entry; False (and ``too_many``) once there are more than ``max_entries``, or more
        bytes than MAX_PARTS full parts hold (memory stays bounded whatever the provider answers)."""
        if len(self.entries) >= self._max_entries or self._bytes > MAX_PARTS * PART_BYTES:
            self.too_many = True
            return False
        entry = imported_entry(track)
        encoded = entry.model_dump_json().encode()
        self.entries.append(entry)
        self._sizes.append(len(encoded))
        self._bytes += len(encoded)
        self._digest.update(encoded + b"\n")
        return True

    @property
    def digest(self) -> str:
        return self._digest.hexdigest()

    def parts(self) -> list[list[ImportedEntry]] | None:
        """The entries in parts of at most MAX_ENTRIES_PER_PART entries and PART_BYTES encoded bytes, in
        order (one empty part for an empty playlist); None when they need more than MAX_PARTS."""
        if self.too_many:
            return None
        parts = split_parts(self.entries, self._sizes)
        return parts if len(parts) <= MAX_PARTS else None


def split_parts(
    entries: Sequence[ImportedEntry],
    sizes: Sequence[int],
    max_entries: int = MAX_ENTRIES_PER_PART,
    max_bytes: int = PART_BYTES,
) -> list[list[ImportedEntry]]:
    """``entries`` (with their encoded ``sizes``) in consecutive parts of at most ``max_entries`` entries
    and ``max_bytes`` bytes (a comma between two entries counts); an entry larger than ``max_bytes`` alone
    makes a part of its own. At least one part, empty for no entries."""
    parts: list[list[ImportedEntry]] = [[]]
    used = 0
    for entry, size in zip(entries, sizes, strict=True):
        current = parts[-1]
        if current and (len(current) >= max_entries or used + 1 + size > max_bytes):
            parts.append([])
            current, used = parts[-1], 0
        used += size + (1 if current else 0)
        current.append(entry)
    return parts


# ---- what to send ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Remembered:
    """What the last import sent of a playlist (imported_playlists); ``entries_digest`` None: its
    entries could not be read (a followed playlist the provider keeps to its owner)."""

    change_marker: str | None
    details_digest: str
    entries_digest: str | None


class Send(StrEnum):
    NOTHING = "nothing"
    DETAILS = "details"  # one PlaylistImported with entries None
    ENTRIES = "entries"  # every part, entries and details


def must_read(previous: Remembered | None, marker: str | None) -> bool:
    """Whether the entries have to be read: unless the provider's marker is the one already imported
    (a playlist without a marker, like the liked collection, is read and compared every time)."""
    return previous is None or marker is None or previous.change_marker != marker


def what_to_send(previous: Remembered | None, details: str, entries: str | None) -> Send:
    """What the library has to learn, given the playlist's details digest and its entries digest (as
    read; the remembered one when they were not read; None when they cannot be read)."""
    if entries is not None and (previous is None or previous.entries_digest != entries):
        return Send.ENTRIES
    if previous is not None and previous.details_digest == details:
        return Send.NOTHING
    return Send.DETAILS


# ---- progress and result ---------------------------------------------------------------------------------


@dataclass
class ProviderStats:
    """One provider's part of an import's result. ``playlists_seen`` = imported + unchanged + skipped;
    ``details_only`` and ``unreadable`` are among the imported."""

    playlists_seen: int = 0
    imported: int = 0
    details_only: int = 0
    unreadable: int = 0
    unchanged: int = 0
    skipped: int = 0
    tracks_read: int = 0
    calls: int = 0
    # More playlists than one import reads (MAX_LISTED): the rest were not read, and nothing was
    # reported gone.
    truncated: bool = False
    # The provider was no longer linked when the job came to it: nothing was read.
    not_linked: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def import_result(stats: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The job's result: per provider, and the totals (provider calls per playlist and per track can be
    read from them)."""
    totals = {
        key: sum(int(s.get(key, 0)) for s in stats.values())
        for key in ("playlists_seen", "imported", "unchanged", "skipped", "tracks_read", "calls")
    }
    return {"providers": stats, **totals}


def progress(providers_done: int, providers: int, done: int, total: int) -> float:
    """The share of the job done: whole providers, and the current one by playlists."""
    current = done / total if total else 0.0
    return min(1.0, (providers_done + current) / max(providers, 1))


def progress_message(provider: ProviderName, done: int, total: int) -> str:
    return f"{provider.value}: {done} of {total} playlists"


def listed_ids(ids: Iterable[str]) -> list[str]:
    """The provider playlist ids an import reports as listed: each once, in order."""
    return list(dict.fromkeys(ids))
