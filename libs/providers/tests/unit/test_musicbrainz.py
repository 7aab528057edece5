"""MusicBrainz: parsing its answers, ISRCs, the User-Agent rule and the retry decisions.

No Redis and no MusicBrainz: the pipeline runs against a scripted server on loopback, without a
limiter, its waits recorded instead of slept."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy
from pydantic import ValidationError

from pm_platform.testing import stand_in_server
from pm_providers.domain.musicbrainz import (
    MbArtistCredit,
    MbRelease,
    classify_musicbrainz,
    normalise_isrc,
    normalise_mbid,
    parse_isrc_answer,
    parse_recording,
)
from pm_providers.domain.responses import ProviderResponse
from pm_providers.errors import Forbidden, InvalidRequest, NotFound, ProviderUnavailable, RateLimited
from pm_providers.http import ProviderHttp
from pm_providers.metrics import ProviderMetrics
from pm_providers.models import LookupService
from pm_providers.musicbrainz import MusicBrainz
from pm_providers.settings import ProviderSettings, RetryPolicy, default_musicbrainz_user_agent

# An ISRC lookup's answer as MusicBrainz sends it (GET /ws/2/isrc/GBAAA9800006?fmt=json&inc=artists+releases;
# the shape of docs/providers A6, the fields the emulator serves).
ISRC_ANSWER: dict[str, Any] = {
    "isrc": "GBAAA9800006",
    "recordings": [
        {
            "id": "8f3471b5-7e6a-48da-86a9-c1c07a0f47ae",
            "title": "Teardrop",
            "length": 330773,
            "disambiguation": "",
            "video": False,
            "first-release-date": "1998-04-20",
            "artist-credit": [
                {
                    "name": "Massive Attack",
                    "joinphrase": " feat. ",
                    "artist": {
                        "id": "10adbe5e-a2c0-4bf3-8249-2b4cbf6e6ca8",
                        "name": "Massive Attack",
                        "sort-name": "Massive Attack",
                        "disambiguation": "",
                        "type": None,
                        "type-id": None,
                    },
                },
                {
                    "name": "Elizabeth Fraser",
                    "joinphrase": "",
                    "artist": {"id": "4e8a5ef9-0b9c-4b1d-8c1a-4a1b8c2d3e4f", "name": "Elizabeth Fraser"},
                },
            ],
            "releases": [
                {
                    "id": "2a0b5a7f-7c5e-4d0e-9b8f-1c2d3e4f5a6b",
                    "title": "Mezzanine",
                    "status": "Official",
                    "status-id": "4e304316-386d-3409-af2e-78857eec5cfe",
                    "date": "1998-04-20",
                    "country": "GB",
                    "disambiguation": "",
                    "packaging": None,
                    "quality": "normal",
                    "barcode": None,
                    "release-events": [{"date": "1998-04-20", "area": None}],
                    "text-representation": {"language": "eng", "script": "Latn"},
                },
                {"id": "3b1c6b8a-8d6f-4e1f-8c9a-2d3e4f5a6b7c", "title": "Teardrop", "date": "1998"},
            ],
        },
        {
            "id": "c1b2a3d4-0000-4000-8000-000000000002",
            "title": "Teardrop",
            "length": None,
            "disambiguation": "music video",
            "video": True,
            "first-release-date": "",
        },
    ],
}
RECORDING_ANSWER = {**ISRC_ANSWER["recordings"][0], "isrcs": ["GBAAA9800006", "GBAAA9800099"]}
NOT_FOUND = {"error": "Not Found", "help": "For usage, please see: https://musicbrainz.org/development/mmd"}
MBID = "8f3471b5-7e6a-48da-86a9-c1c07a0f47ae"


def test_an_isrc_answer_parses_into_recordings_with_credits_and_releases() -> None:
    first, video = parse_isrc_answer(ISRC_ANSWER)
    assert first.mbid == MBID and first.title == "Teardrop"
    assert first.length_ms == 330773 and first.first_release_date == "1998-04-20"
    assert first.artist_credits == (
        MbArtistCredit(
            name="Massive Attack", joinphrase=" feat. ", artist_mbid="10adbe5e-a2c0-4bf3-8249-2b4cbf6e6ca8"
        ),
        MbArtistCredit(name="Elizabeth Fraser", artist_mbid="4e8a5ef9-0b9c-4b1d-8c1a-4a1b8c2d3e4f"),
    )
    assert first.artist_credit_phrase == "Massive Attack feat. Elizabeth Fraser"
    assert first.releases == (
        MbRelease(
            mbid="2a0b5a7f-7c5e-4d0e-9b8f-1c2d3e4f5a6b", title="Mezzanine", date="1998-04-20", country="GB"
        ),
        MbRelease(mbid="3b1c6b8a-8d6f-4e1f-8c9a-2d3e4f5a6b7c", title="Teardrop", date="1998"),
    )
    assert first.isrcs == ()  # an ISRC lookup does not list them
    # Unknown length, an empty date, no credits asked for: absent, never guessed.
    assert (video.length_ms, video.first_release_date, video.video) == (None, None, True)
    assert video.disambiguation == "music video" and video.artist_credits == () and video.releases == ()


def test_a_recording_answer_carries_its_isrcs() -> None:
    assert parse_recording(RECORDING_ANSWER).isrcs == ("GBAAA9800006", "GBAAA9800099")


def test_an_answer_without_the_recording_id_is_refused() -> None:
    with pytest.raises(ValueError, match="without id"):
        parse_recording({"title": "Teardrop"})
    with pytest.raises(ValueError, match="without its recordings"):
        parse_isrc_answer("Not Found")
    with pytest.raises(ValueError, match="without its recordings"):
        parse_isrc_answer({"isrc": "GBAAA9800006"})


@pytest.mark.parametrize(
    ("given", "isrc"),
    [
        ("GBAAA9800006", "GBAAA9800006"),
        ("gbaaa9800006", "GBAAA9800006"),
        (" GB-AAA-98-00006 ", "GBAAA9800006"),
    ],
)
def test_isrcs_are_normalised(given: str, isrc: str) -> None:
    assert normalise_isrc(given) == isrc


@pytest.mark.parametrize(
    "bad", ["", "GBAAA980000", "GBAAA98000066", "1BAAA9800006", "GBAAA98000X6", "GB_AA9800006"]
)
def test_a_value_that_is_no_isrc_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="not an ISRC"):
        normalise_isrc(bad)


def test_mbids_are_normalised_and_checked() -> None:
    assert normalise_mbid(MBID.upper()) == MBID
    with pytest.raises(ValueError, match="not a MusicBrainz id"):
        normalise_mbid("8f3471b5")


# --- the User-Agent rule ---------------------------------------------------------------------------


def test_the_default_user_agent_names_the_application_its_version_and_a_contact() -> None:
    agent = ProviderSettings().musicbrainz_user_agent
    assert agent == default_musicbrainz_user_agent()
    assert agent.startswith("PlaylistManager/0.") and agent.endswith(" )")


@pytest.mark.parametrize(
    "agent", ["MyPlaylister/0.3 ( https://example.org/contact )", "PM/1.2.3 (ops@example.org)"]
)
def test_a_descriptive_user_agent_is_accepted(agent: str) -> None:
    assert ProviderSettings(MUSICBRAINZ_USER_AGENT=agent).musicbrainz_user_agent == agent


@pytest.mark.parametrize(
    "agent",
    ["", "   ", "python-requests/2.31.0", "PlaylistManager", "PlaylistManager/0.1 ( )", "( me@example.org )"],
)
def test_an_anonymous_user_agent_is_refused_at_start_up(agent: str) -> None:
    with pytest.raises(ValidationError, match="MUSICBRAINZ_USER_AGENT"):
        ProviderSettings(MUSICBRAINZ_USER_AGENT=agent)


def test_the_emulator_serves_musicbrainz_where_the_settings_point() -> None:
    s = ProviderSettings().for_emulator("http://127.0.0.1:3199")
    assert s.musicbrainz_url == "http://127.0.0.1:3199/musicbrainz.org"
    assert ProviderSettings().musicbrainz_url == "https://musicbrainz.org"


# --- the retry decision ----------------------------------------------------------------------------


def answer(status: int, body: Any = None, **headers: str) -> ProviderResponse:
    return ProviderResponse(status, CIMultiDictProxy(CIMultiDict(headers)), body)


def test_a_503_with_retry_after_is_waited_out_as_it_says() -> None:
    error = classify_musicbrainz(answer(503, {"error": "rate limited"}, **{"Retry-After": "2"}))
    assert isinstance(error, RateLimited) and error.retry_after == 2.0 and error.status == 503


@pytest.mark.parametrize("status", [503, 429])
def test_a_busy_answer_without_retry_after_is_retried_with_backoff(status: int) -> None:
    error = classify_musicbrainz(answer(status, {"error": "busy"}))
    assert isinstance(error, ProviderUnavailable) and error.status == status
    assert "rate limit" in error.message


def test_other_answers_are_errors_naming_their_status() -> None:
    assert classify_musicbrainz(answer(200, ISRC_ANSWER)) is None
    assert isinstance(classify_musicbrainz(answer(404, NOT_FOUND)), NotFound)
    forbidden = classify_musicbrainz(answer(403, {"error": "blocked"}))
    assert isinstance(forbidden, Forbidden) and "MUSICBRAINZ_USER_AGENT" in forbidden.message
    invalid = classify_musicbrainz(answer(400, {"error": "Invalid isrc: X"}))
    assert isinstance(invalid, InvalidRequest) and "HTTP 400" in str(invalid) and invalid.status == 400
    assert isinstance(classify_musicbrainz(answer(500)), ProviderUnavailable)


# --- the client through the pipeline ---------------------------------------------------------------

POLICY = RetryPolicy(max_attempts=3, backoff_base_s=0.5, backoff_max_s=4, max_rate_limit_waits=2)
AGENT = "PlaylistManagerTest/1.0 ( tests@example.org )"


class MusicBrainzScript:
    """Answers each request with the next scripted (status, body, headers); records what arrived."""

    def __init__(self) -> None:
        self.replies: list[tuple[int, Any, dict[str, str]]] = []
        self.seen: list[web.Request] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append(request)
        status, body, headers = self.replies.pop(0) if self.replies else (404, NOT_FOUND, {})
        return web.json_response(body, status=status, headers=headers)


@pytest.fixture
async def mb() -> AsyncIterator[tuple[MusicBrainzScript, MusicBrainz, list[float]]]:
    script = MusicBrainzScript()
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async with stand_in_server(script.handle) as url, aiohttp.ClientSession() as session:
        http = ProviderHttp(
            LookupService.MUSICBRAINZ,
            session=session,
            base_url=f"{url}/musicbrainz.org/ws/2",
            classify=classify_musicbrainz,
            tokens=None,
            policy=POLICY,
            metrics=ProviderMetrics(),
            default_headers={"User-Agent": AGENT},
            sleep=sleep,
            rand=lambda: 0.0,
        )
        yield script, MusicBrainz(http, cache=None), waits


async def test_an_isrc_lookup_asks_for_artists_and_releases_with_the_user_agent(
    mb: tuple[MusicBrainzScript, MusicBrainz, list[float]],
) -> None:
    script, client, _ = mb
    script.replies = [(200, ISRC_ANSWER, {})]
    found = await client.recordings_by_isrc("gbaaa9800006")
    assert [r.mbid for r in found] == [MBID, "c1b2a3d4-0000-4000-8000-000000000002"]
    request = script.seen[0]
    assert request.path == "/musicbrainz.org/ws/2/isrc/GBAAA9800006"
    assert request.query["fmt"] == "json" and set(request.query["inc"].split()) == {"artists", "releases"}
    assert request.headers["User-Agent"] == AGENT
    assert "Authorization" not in request.headers


async def test_an_unknown_isrc_or_recording_is_none_found(
    mb: tuple[MusicBrainzScript, MusicBrainz, list[float]],
) -> None:
    _, client, _ = mb
    assert await client.recordings_by_isrc("GBAAA9800006") == []
    assert await client.recording(MBID) is None


async def test_a_recording_lookup_asks_for_its_isrcs(
    mb: tuple[MusicBrainzScript, MusicBrainz, list[float]],
) -> None:
    script, client, _ = mb
    script.replies = [(200, RECORDING_ANSWER, {})]
    found = await client.recording(MBID.upper())
    assert found is not None and found.isrcs == ("GBAAA9800006", "GBAAA9800099")
    assert script.seen[0].path == f"/musicbrainz.org/ws/2/recording/{MBID}"
    assert set(script.seen[0].query["inc"].split()) == {"isrcs", "artists", "releases"}


async def test_an_invalid_isrc_makes_no_call(mb: tuple[MusicBrainzScript, MusicBrainz, list[float]]) -> None:
    script, client, _ = mb
    with pytest.raises(ValueError, match="not an ISRC"):
        await client.recordings_by_isrc("not-an-isrc")
    assert script.seen == []


async def test_503s_are_retried_then_succeed(mb: tuple[MusicBrainzScript, MusicBrainz, list[float]]) -> None:
    script, client, waits = mb
    busy = {"error": "Your requests are exceeding the allowable rate limit."}
    script.replies = [(503, busy, {"Retry-After": "3"}), (503, busy, {}), (200, ISRC_ANSWER, {})]
    assert len(await client.recordings_by_isrc("GBAAA9800006")) == 2
    assert len(script.seen) == 3
    # Retry-After (plus the policy's buffer), then the first backoff step.
    assert waits == [pytest.approx(3 + POLICY.retry_after_buffer_s), POLICY.backoff_base_s]


async def test_503s_that_persist_end_in_a_clear_error(
    mb: tuple[MusicBrainzScript, MusicBrainz, list[float]],
) -> None:
    script, client, _ = mb
    script.replies = [(503, {"error": "busy"}, {})] * POLICY.max_attempts
    with pytest.raises(ProviderUnavailable, match="MusicBrainz refused the call") as raised:
        await client.recordings_by_isrc("GBAAA9800006")
    assert raised.value.status == 503 and raised.value.provider is None
    assert len(script.seen) == POLICY.max_attempts


async def test_a_client_error_is_not_retried(mb: tuple[MusicBrainzScript, MusicBrainz, list[float]]) -> None:
    script, client, _ = mb
    script.replies = [(400, {"error": "Invalid isrc"}, {})]
    with pytest.raises(InvalidRequest, match="HTTP 400"):
        await client.recordings_by_isrc("GBAAA9800006")
    assert len(script.seen) == 1


@pytest.mark.parametrize("body", [{"unexpected": "shape"}, "<html>Down for maintenance</html>"])
async def test_an_answer_that_is_not_musicbrainzs_is_an_error_not_none_found(
    mb: tuple[MusicBrainzScript, MusicBrainz, list[float]], body: Any
) -> None:
    # A proxy's page served with 200 must not be taken for "no recording has this ISRC" (and cached).
    script, client, _ = mb
    script.replies = [(200, body, {})]
    with pytest.raises(ProviderUnavailable, match="could not be read") as raised:
        await client.recordings_by_isrc("GBAAA9800006")
    assert raised.value.retryable
