"""Exports inside the export service, for real: the library's playlists (the real playlist service) are
rendered, stored in the real S3 store and fetched back through the presigned link, then read with
pm_formats; the attacks on the API (other users' ids, hostile bodies, tampered links) change nothing.
Each test has users of its own; nothing is timed."""

from __future__ import annotations

import hashlib
import io
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from pm_export.domain.exports import EXPORT_JOB, MAX_ACTIVE_EXPORTS
from pm_export.domain.objects import EXPORTS
from pm_export.storage.exports import StoredExport, save_export
from pm_formats import Entry, PlaylistInfo
from pm_formats.detect import read
from pm_platform.s3 import OBJECT_STORE
from pm_platform.testing import published_events

from .conftest import Services

pytestmark = pytest.mark.integration


def songs(count: int, tag: str = "") -> list[dict[str, Any]]:
    """Described tracks; every third has a Spotify id and an ISRC, as imported ones do."""
    found = []
    for i in range(count):
        song: dict[str, Any] = {
            "title": f'Song {tag}{i} = ünïcode, "quoted"',
            "artists": [f"Artist {i % 7}", "Guest"] if i % 5 == 0 else [f"Artist {i % 7}"],
            "album": f"Album {i % 11}",
            "duration_ms": 180_000 + i,
            "explicit": i % 2 == 0,
        }
        if i % 3 == 0:
            song |= {"provider": "spotify", "provider_track_id": f"{uuid.uuid4().hex[:22]}"}
            song["isrc"] = f"GBAAA{i % 100:02d}{i:05d}"[:12]
        found.append(song)
    return found


async def fetch(url: str) -> tuple[int, bytes, dict[str, str]]:
    """A plain GET of a presigned link, as a browser follows it: no credentials of ours."""
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.read(), dict(response.headers)


def read_back(data: bytes, file_name: str) -> tuple[list[PlaylistInfo], list[list[Entry]]]:
    infos: list[PlaylistInfo] = []
    playlists: list[list[Entry]] = []
    for item in read(io.BytesIO(data), file_name):
        if isinstance(item, PlaylistInfo):
            infos.append(item)
        elif isinstance(item, Entry):
            if not playlists or len(playlists) < len(infos):
                playlists.append([])
            playlists[-1].append(item)
    return infos, playlists


def same_tracks(library: list[dict[str, Any]], file: list[Entry], *, only_spotify: bool = False) -> None:
    assert len(file) == len(library)
    for entry, read_entry in zip(library, file, strict=True):
        track, got = entry["track"], read_entry.track
        ids = {k: v for k, v in track["provider_ids"].items() if not only_spotify or k == "spotify"}
        assert (
            got.title,
            list(got.artists),
            got.album,
            got.duration_ms,
            got.isrc,
            dict(got.provider_ids),
        ) == (track["title"], track["artists"], track["album"], track["duration_ms"], track["isrc"], ids)


@pytest.mark.parametrize("export_format", ["m3u8", "xspf", "jspf", "csv", "json"])
async def test_a_playlist_exports_as_its_file_and_reads_back(services: Services, export_format: str) -> None:
    user = services.user()
    playlist = await user.playlist("Road trip", songs(1_203), description="Summer 2026")
    job = await user.export([playlist["id"]], export_format)
    assert job.state == "succeeded", job.error
    result = job.result
    assert result is not None
    assert (result["playlists"], result["entries"], result["format"]) == (1, 1_203, export_format)
    assert (
        result["file_name"]
        == f"Road trip.{ {'m3u8': 'm3u8', 'csv': 'csv'}.get(export_format, export_format) }"
    )

    status, data, headers = await fetch(result["download_url"])
    assert status == 200
    assert (len(data), hashlib.sha256(data).hexdigest()) == (result["size_bytes"], result["sha256"])
    assert "Road%20trip" in headers["Content-Disposition"]
    infos, [entries] = read_back(data, result["file_name"])
    assert infos[0].name == "Road trip"
    if export_format != "csv":  # Exportify's columns have no description
        assert infos[0].description == "Summer 2026"
    same_tracks(await user.entries(playlist["id"]), entries, only_spotify=export_format == "csv")

    [completed] = await published_events(services.rt, job.id.hex and str(job.id), "export.completed")
    assert completed["data"]["sha256"] == result["sha256"]
    assert completed["data"]["object_name"].startswith(f"{EXPORTS}{user.id}/{job.id}/")


async def test_several_playlists_are_one_zip_with_safe_distinct_names(services: Services) -> None:
    user = services.user()
    names = ["Mix", "MIX", "../../etc/passwd", "CON", "a/b\\c:d*e?f"]
    created = [await user.playlist(name, songs(3, tag=name)) for name in names]
    job = await user.export("all", "json")
    assert job.state == "succeeded", job.error
    assert job.result is not None and job.result["file_name"] == "playlists-json-5.zip"
    _, data, _ = await fetch(job.result["download_url"])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = archive.namelist()
        assert members == [
            "Mix.json",
            "MIX (2).json",
            "_.._etc_passwd.json",
            "playlist-CON.json",
            "a_b_c_d_e_f.json",
        ]
        for playlist, member in zip(created, members, strict=True):
            infos, [entries] = read_back(archive.read(member), member)
            assert infos[0].name == playlist["name"]
            same_tracks(await user.entries(playlist["id"]), entries)


async def test_another_users_playlist_fails_the_export_and_stores_nothing(services: Services) -> None:
    alice, mallory = services.user(), services.user()
    theirs = await alice.playlist("Private", songs(2))
    mine = await mallory.playlist("Mine", songs(2))
    job = await mallory.export([mine["id"], theirs["id"]], "csv")
    assert job.state == "failed" and job.error is not None
    assert (job.error.code, job.error.retryable) == ("playlist-not-found", False)
    assert "Private" not in job.error.message
    assert await services.rt[OBJECT_STORE].names(f"{EXPORTS}{mallory.id}/") == []
    [failed] = await published_events(services.rt, str(job.id), "export.failed")
    assert failed["data"]["code"] == "playlist-not-found"
    # An empty library has nothing to export.
    job = await services.user().export("all", "m3u8")
    assert job.error is not None and job.error.code == "nothing-to-export"


async def test_an_export_is_only_its_owners(services: Services) -> None:
    alice, mallory = services.user(), services.user()
    playlist = await alice.playlist("Mine", songs(4))
    job = await alice.export([playlist["id"]], "xspf")
    assert job.state == "succeeded"
    _, view, _ = await alice.call("GET", f"/exports/{job.id}", expect=200)
    status, _, headers = await alice.call("GET", f"/exports/{job.id}/download")
    assert status == 303 and headers["Location"].split("?")[0] == view["download_url"].split("?")[0]
    for path in (f"/exports/{job.id}", f"/exports/{job.id}/download"):
        await mallory.call("GET", path, expect=404)
    for hostile in (
        "not-a-uuid",
        "..%2F..%2Finternal",
        str(uuid.uuid4()),
        "00000000-0000-0000-0000-000000000000",
    ):
        await alice.call("GET", f"/exports/{hostile}", expect=404)


async def test_a_tampered_or_unsigned_link_is_refused_by_the_store(services: Services) -> None:
    user = services.user()
    playlist = await user.playlist("Mine", songs(2))
    job = await user.export([playlist["id"]], "m3u8")
    assert job.result is not None
    url: str = job.result["download_url"]
    signature = url.rsplit("X-Amz-Signature=", 1)[1][:64]
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    assert (await fetch(url.replace(signature, flipped)))[0] == 403
    assert (await fetch(url.split("?")[0]))[0] == 403
    # Another user's object under the same signature: the signature covers the path.
    assert (await fetch(url.replace(str(user.id), str(uuid.uuid4()))))[0] == 403


async def test_an_expired_export_is_gone(services: Services) -> None:
    user = services.user()
    past = datetime.now(UTC) - timedelta(days=1)
    stored = StoredExport(
        job_id=uuid.uuid4(),
        user_id=user.id,
        format="csv",
        object_name=f"{EXPORTS}{user.id}/x/y.csv",
        file_name="y.csv",
        media_type="text/csv",
        size_bytes=1,
        sha256="0" * 64,
        playlists=1,
        entries=1,
        created_at=past - timedelta(days=7),
        expires_at=past,
    )
    async with services.rt.transaction() as conn:
        await save_export(conn, stored)
    _, problem, _ = await user.call("GET", f"/exports/{stored.job_id}", expect=410)
    assert problem["type"].endswith("/export-expired")
    await user.call("GET", f"/exports/{stored.job_id}/download", expect=410)


async def test_a_users_active_exports_are_bounded(services: Services) -> None:
    user = services.user()
    # Running jobs under a lease no runner takes over: the bound is what is under test, not the runner.
    async with services.rt.transaction() as conn:
        for _ in range(MAX_ACTIVE_EXPORTS):
            await conn.execute(
                """INSERT INTO jobs (id, kind, user_id, state, params, lease_until)
                   VALUES ($1, $2, $3, 'running', '{}', now() + interval '1 day')""",
                uuid.uuid4(),
                EXPORT_JOB,
                user.id,
            )
    status, problem, headers = await user.call("POST", "/exports", json={"playlists": "all", "format": "csv"})
    assert status == 429 and problem["type"].endswith("/too-many-exports") and headers["Retry-After"]
    async with services.rt.transaction() as conn:
        await conn.execute(
            "UPDATE jobs SET state = 'cancelled', lease_until = NULL WHERE user_id = $1", user.id
        )


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"playlists": "all", "format": "mp3"}, 422),
        ({"playlists": "all"}, 422),
        ({"playlists": [], "format": "csv"}, 422),
        ({"playlists": "some", "format": "csv"}, 422),
        ({"playlists": ["not-a-uuid"], "format": "csv"}, 422),
        ({"playlists": [str(uuid.uuid4()) for _ in range(1_001)], "format": "csv"}, 422),
        ({"playlists": "all", "format": "csv", "path": "../../x"}, 422),
        ({"playlists": "all", "format": "csv\u0000"}, 422),
        ({"playlists": ["a" * 70_000], "format": "csv"}, 413),
    ],
)
async def test_a_bad_request_is_refused_before_any_job(services: Services, body: Any, status: int) -> None:
    user = services.user()
    _, problem, _ = await user.call("POST", "/exports", json=body, expect=status)
    assert problem["status"] == status
    async with services.rt.pool.acquire() as conn:
        assert (
            await services.rt.jobs.count_active(conn, user.id, EXPORT_JOB, ("queued", "running", "failed"))
            == 0
        )


async def test_a_body_that_is_not_json_is_refused(services: Services) -> None:
    user = services.user()
    await user.call(
        "POST", "/exports", data=b"playlists=all", headers={"Content-Type": "text/plain"}, expect=415
    )
    await user.call(
        "POST",
        "/exports",
        data=b'{"playlists": "all", "format": ',
        headers={"Content-Type": "application/json"},
        expect=400,
    )
