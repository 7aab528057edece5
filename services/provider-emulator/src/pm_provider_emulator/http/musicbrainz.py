"""musicbrainz.org/ws/2 (JSON): ISRC lookup, recording lookup, recording search.

Rate limit: 1 request/s per IP with a small burst (middleware), 503 above it. Requests without a
User-Agent, or with a library's default one, get 403 as MusicBrainz blocks anonymous clients.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from pm_provider_emulator.domain.catalog import MbRecording
from pm_provider_emulator.domain.search import Query, parse_field_query
from pm_provider_emulator.http import errors
from pm_provider_emulator.http.common import emu, int_param, iso, json_response
from pm_provider_emulator.http.context import Emulator

PREFIX = "/musicbrainz.org/ws/2"
ISRC_RE = re.compile(r"^[A-Z]{2}[A-Z0-9]{3}\d{7}$")
MBID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
BLOCKED_AGENTS = ("python-requests/", "python-urllib/", "python/", "java/", "go-http-client/", "okhttp/")
OFFICIAL = "4e304316-386d-3409-af2e-78857eec5cfe"


def user_agent_refused(request: web.Request) -> web.Response | None:
    ua = request.headers.get("User-Agent", "").strip()
    if not ua or ua.lower().startswith(BLOCKED_AGENTS):
        return errors.musicbrainz(
            403,
            "Your requests are being blocked: please set a meaningful User-Agent, "
            "see https://musicbrainz.org/doc/MusicBrainz_API/Rate_Limiting",
        )
    return None


def includes(request: web.Request) -> set[str]:
    return {x for x in re.split(r"[+ ]", request.query.get("inc", "")) if x}


def artist_credit(e: Emulator, m: MbRecording) -> list[dict[str, Any]]:
    import uuid

    from pm_provider_emulator.domain.derive import MB_NAMESPACE

    out = []
    for name, join in m.artist_credit:
        aid = str(uuid.uuid5(MB_NAMESPACE, f"artist:{name}"))
        sort = f"{name[4:]}, The" if name.lower().startswith("the ") else name
        out.append(
            {
                "name": name,
                "joinphrase": join,
                "artist": {
                    "id": aid,
                    "name": name,
                    "sort-name": sort,
                    "disambiguation": "",
                    "type": None,
                    "type-id": None,
                },
            }
        )
    return out


def release(m: MbRecording) -> dict[str, Any]:
    return {
        "id": m.release_id,
        "title": m.release_title,
        "status": "Official",
        "status-id": OFFICIAL,
        "date": m.first_release_date,
        "country": "XW",
        "disambiguation": "",
        "packaging": None,
        "quality": "normal",
        "barcode": None,
        "release-events": [{"date": m.first_release_date, "area": None}],
        "text-representation": {"language": "eng", "script": "Latn"},
    }


def recording(e: Emulator, m: MbRecording, inc: set[str], *, search: bool = False) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": m.id,
        "title": m.title,
        "length": m.length,
        "disambiguation": "",
        "video": False,
        "first-release-date": m.first_release_date,
    }
    if search or "artists" in inc or "artist-credits" in inc:
        obj["artist-credit"] = artist_credit(e, m)
    if search or "isrcs" in inc:
        obj["isrcs"] = list(m.isrcs)
    if search or "releases" in inc:
        obj["releases"] = [release(m)]
    return obj


async def isrc_lookup(request: web.Request) -> web.Response:
    if (refused := user_agent_refused(request)) is not None:
        return refused
    e = emu(request)
    isrc = request.match_info["isrc"].upper()
    if not ISRC_RE.match(isrc):
        return errors.musicbrainz(400, f"Invalid isrc: {request.match_info['isrc']}")
    recs = e.catalogs.mb_by_isrc.get(isrc, [])
    if not recs:
        return errors.musicbrainz(404, "Not Found")
    inc = includes(request)
    return json_response(
        {"isrc": isrc, "recordings": [recording(e, m, inc) for m in sorted(recs, key=lambda m: m.id)]}
    )


async def recording_lookup(request: web.Request) -> web.Response:
    if (refused := user_agent_refused(request)) is not None:
        return refused
    e = emu(request)
    mbid = request.match_info["mbid"].lower()
    if not MBID_RE.match(mbid):
        return errors.musicbrainz(400, f"Invalid mbid: {request.match_info['mbid']}")
    m = e.catalogs.musicbrainz.get(mbid)
    if m is None:
        return errors.musicbrainz(404, "Not Found")
    return json_response(recording(e, m, includes(request)))


_RANGE = re.compile(r"\b(dur|qdur):\[\s*(\d+)\s+TO\s+(\d+)\s*\]", re.IGNORECASE)


def parse_lucene(q: str) -> Query:
    """The subset of MusicBrainz's Lucene syntax clients use: fields, quoted values, AND/OR, dur ranges."""
    dur = _RANGE.search(q)
    text = _RANGE.sub(" ", q)
    text = re.sub(r"\b(AND|OR|NOT)\b", " ", text)
    text = re.sub(r"\\(.)", r"\1", text)
    query = parse_field_query(
        text, aliases={"recording": "track", "artistname": "artist", "release": "album", "title": "track"}
    )
    if dur:
        lo, hi = int(dur.group(2)), int(dur.group(3))
        if dur.group(1).lower() == "qdur":  # qdur counts units of 2 s
            query.dur_min, query.dur_max = lo * 2, hi * 2 + 1
        else:  # dur is in milliseconds; durations are indexed in whole seconds
            query.dur_min, query.dur_max = lo // 1000, -(-hi // 1000)
    return query


async def recording_search(request: web.Request) -> web.Response:
    if (refused := user_agent_refused(request)) is not None:
        return refused
    e = emu(request)
    q = request.query.get("query", "")
    if not q.strip():
        return errors.musicbrainz(400, "Missing required parameter: query")
    limit = int_param(request.query.get("limit"), 25)
    offset = int_param(request.query.get("offset"), 0)
    if limit is None or offset is None or limit < 1 or offset < 0:
        return errors.musicbrainz(400, "Invalid limit or offset")
    limit = min(limit, 100)
    ids = e.catalogs.musicbrainz_index.search(parse_lucene(q))
    recs = [e.catalogs.musicbrainz[i] for i in ids[offset : offset + limit]]
    items = []
    for n, m in enumerate(recs):
        items.append(
            {
                "id": m.id,
                "score": max(1, 100 - (offset + n) * 3),
                **{k: v for k, v in recording(e, m, set(), search=True).items() if k != "id"},
            }
        )
    return json_response(
        {"created": iso(e.clock.now()), "count": len(ids), "offset": offset, "recordings": items}
    )


def routes() -> list[web.RouteDef]:
    return [
        web.get(f"{PREFIX}/isrc/{{isrc}}", isrc_lookup),
        web.get(f"{PREFIX}/recording/{{mbid}}", recording_lookup),
        web.get(f"{PREFIX}/recording", recording_search),
    ]
