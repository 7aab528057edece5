"""MusicBrainz ws/2 answers (JSON) as typed values, and its errors as the pipeline's (pure).

Shapes (docs: https://musicbrainz.org/doc/MusicBrainz_API): ``GET /ws/2/isrc/{isrc}`` answers
``{"isrc", "recordings": [recording, ...]}``; ``GET /ws/2/recording/{mbid}`` answers one recording.
A recording is ``{"id", "title", "length" (ms or null), "disambiguation", "video",
"first-release-date", "artist-credit": [{"name", "joinphrase", "artist": {"id", ...}}],
"releases": [{"id", "title", "date", "country", ...}], "isrcs": [...]}``, its lists present when
asked for with ``inc=``. Unknown ids answer 404 ``{"error": "Not Found", "help": ...}``.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict

from pm_providers.domain.responses import ProviderResponse, parse_retry_after
from pm_providers.errors import (
    Forbidden,
    InvalidRequest,
    NotFound,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
)

ISRC_RE = re.compile(r"^[A-Z]{2}[A-Z0-9]{3}\d{7}$")
MBID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def normalise_isrc(value: str) -> str:
    """``value`` as MusicBrainz keys ISRCs (upper case, no hyphens or spaces: ``GB-AAA-98-00006``
    is ``GBAAA9800006``); ValueError when it is not an ISRC."""
    isrc = re.sub(r"[\s-]", "", value).upper()
    if not ISRC_RE.fullmatch(isrc):
        raise ValueError(f"not an ISRC: {value!r}")
    return isrc


def normalise_mbid(value: str) -> str:
    """A MusicBrainz id in its canonical lower case; ValueError when it is not one."""
    mbid = value.strip().lower()
    if not MBID_RE.fullmatch(mbid):
        raise ValueError(f"not a MusicBrainz id: {value!r}")
    return mbid


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MbArtistCredit(_Model):
    """One artist of a recording's credit, as displayed: ``name`` then ``joinphrase`` (" feat. ")."""

    name: str
    joinphrase: str = ""
    artist_mbid: str | None = None


class MbRelease(_Model):
    mbid: str
    title: str
    # MusicBrainz dates may be partial: "1998", "1998-04" or "1998-04-20".
    date: str | None = None
    country: str | None = None


class MbRecording(_Model):
    mbid: str
    title: str
    length_ms: int | None = None
    disambiguation: str = ""
    video: bool = False
    first_release_date: str | None = None
    artist_credits: tuple[MbArtistCredit, ...] = ()
    releases: tuple[MbRelease, ...] = ()
    # Only answers asked with ``inc=isrcs`` (recording lookups) list them; empty otherwise.
    isrcs: tuple[str, ...] = ()

    @property
    def artist_credit_phrase(self) -> str:
        """The credit as MusicBrainz displays it: ``Massive Attack feat. Elizabeth Fraser``."""
        return "".join(c.name + c.joinphrase for c in self.artist_credits)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []


def parse_recording(obj: dict[str, Any]) -> MbRecording:
    """One recording object; ValueError when it has no id or title."""
    mbid, title = _text(obj.get("id")), obj.get("title")
    if mbid is None or not isinstance(title, str):
        raise ValueError("a MusicBrainz recording without id or title")
    length = obj.get("length")
    credits = []
    for credit in _dicts(obj.get("artist-credit")):
        found = credit.get("artist")
        artist: dict[str, Any] = found if isinstance(found, dict) else {}
        name = _text(credit.get("name")) or _text(artist.get("name")) or ""
        join = credit.get("joinphrase")
        credits.append(
            MbArtistCredit(
                name=name,
                joinphrase=join if isinstance(join, str) else "",
                artist_mbid=_text(artist.get("id")),
            )
        )
    releases = [
        MbRelease(
            mbid=str(r["id"]),
            title=str(r.get("title") or ""),
            date=_text(r.get("date")),
            country=_text(r.get("country")),
        )
        for r in _dicts(obj.get("releases"))
        if _text(r.get("id"))
    ]
    isrcs = obj.get("isrcs")
    return MbRecording(
        mbid=mbid,
        title=title,
        length_ms=length if isinstance(length, int) and not isinstance(length, bool) else None,
        disambiguation=obj.get("disambiguation") or "",
        video=obj.get("video") is True,
        first_release_date=_text(obj.get("first-release-date")),
        artist_credits=tuple(credits),
        releases=tuple(releases),
        isrcs=tuple(x for x in isrcs if isinstance(x, str)) if isinstance(isrcs, list) else (),
    )


def parse_isrc_answer(body: Any) -> list[MbRecording]:
    """The recordings of an ISRC lookup's answer, in MusicBrainz's order."""
    if not isinstance(body, dict) or not isinstance(body.get("recordings"), list):
        # MusicBrainz answers an ISRC it knows with its recordings (an unknown one is a 404): anything
        # else is not its answer, and must not read as "none".
        raise ValueError("a MusicBrainz ISRC answer without its recordings")
    return [parse_recording(r) for r in _dicts(body["recordings"])]


def classify_musicbrainz(resp: ProviderResponse) -> ProviderError | None:
    """MusicBrainz's answers as the pipeline's errors (None: success).

    Above its rate MusicBrainz answers 503 (429 from some mirrors): waited out as its Retry-After says
    when it says (``RateLimited``), else retried with the pipeline's backoff (``ProviderUnavailable``).
    403 is how it blocks a User-Agent it does not accept. Every other 4xx names its status.
    """
    if 200 <= resp.status < 300:
        return None
    said = _text(resp.json_object.get("error")) or f"HTTP {resp.status}"
    if resp.status in (429, 503):
        when = resp.provider_time
        wait = parse_retry_after(resp.headers.get("Retry-After"), now=when.timestamp() if when else None)
        message = f"MusicBrainz refused the call ({said}): over its rate limit or unavailable"
        if wait is not None:
            return RateLimited(message, retry_after=wait, status=resp.status, code="musicbrainz_busy")
        return ProviderUnavailable(message, status=resp.status, code="musicbrainz_busy")
    if resp.status == 404:
        return NotFound(f"MusicBrainz: {said}", status=404)
    if resp.status == 403:
        return Forbidden(f"MusicBrainz blocked the call ({said}): check MUSICBRAINZ_USER_AGENT", status=403)
    if resp.status >= 500:
        return ProviderUnavailable(f"MusicBrainz failed ({said})", status=resp.status)
    return InvalidRequest(
        f"MusicBrainz refused the call with HTTP {resp.status} ({said})", status=resp.status
    )
