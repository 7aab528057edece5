"""Imports of playlist files inside the export service, for real (the upload in the real S3 store, the
events read back from Kafka): what a file holds becomes ``library.file_playlist_imported`` events, what
was skipped is reported with its line, and hostile files — zip bombs, path names in archives, entity
expansion, endless lines, oversize uploads, another user's upload — fail cleanly and send nothing.
Each test has users of its own; nothing is timed."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from pm_export.domain.imports import MAX_UPLOAD_BYTES, playlist_id_of
from pm_export.usecases.imports import read_upload
from pm_platform.jobs import JobFailed
from pm_platform.s3 import OBJECT_STORE
from pm_platform.testing import published_events

from .conftest import Services, User

pytestmark = pytest.mark.integration

M3U = "#EXTM3U\n#PLAYLIST:Night drive\n#EXTINF:215,Kavinsky - Nightcall\r\n/music/nightcall.mp3\n#EXTINF:abc,Broken\n\n#EXTINF:200,Band - Song\r/music/song.mp3\n"


async def send(user: User, data: bytes, file_name: str, expect: int = 202) -> Any:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=file_name, content_type="application/octet-stream")
    _, body, _ = await user.call("POST", "/imports/files", data=form, expect=expect)
    return body


async def imported(services: Services, user: User, data: bytes, file_name: str) -> Any:
    job = await services.wait((await send(user, data, file_name))["job_id"])
    return job


async def sent(services: Services, user: User) -> list[dict[str, Any]]:
    return [
        e["data"] for e in await published_events(services.rt, str(user.id), "library.file_playlist_imported")
    ]


async def test_a_file_becomes_the_librarys_events_and_its_skipped_lines_are_reported(
    services: Services,
) -> None:
    user = services.user()
    job = await imported(services, user, M3U.encode(), "night.m3u8")
    assert job.state == "succeeded", job.error
    assert job.result is not None
    [playlist] = job.result["playlists"]
    assert playlist == {
        "id": str(playlist_id_of(job.id, 0)),
        "name": "Night drive",
        "entries": 2,
        "file": "night.m3u8",
    }
    assert (job.result["skipped"], job.result["skipped_entries"]) == (
        1,
        [{"file": "night.m3u8", "line": 5, "reason": "#EXTINF without an entry line after it"}],
    )
    [event] = await sent(services, user)
    assert event["playlist_id"] == playlist["id"] and (event["part"], event["parts"]) == (1, 1)
    assert event["entries"][0]["track"]["title"] == "Nightcall"
    assert len(event["entries"]) == playlist["entries"] == job.result["entries"]
    # The upload is deleted once read.
    assert await services.rt[OBJECT_STORE].names(f"uploads/{user.id}/") == []


async def test_an_archive_is_read_member_by_member_by_base_name(services: Services) -> None:
    user = services.user()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("../../etc/evil.m3u8", M3U)
        archive.writestr("__MACOSX/._evil.m3u8", b"\x00\x05\x16\x07")
        archive.writestr("notes/readme.pdf", b"%PDF-1.4")
        archive.writestr("data/StreamingHistory0.json", b'[{"endTime": "2024-01-01 10:00"}]')
        archive.writestr(
            "data/Playlist1.json",
            '{"playlists": [{"name": "From Spotify", "lastModifiedDate": "2024-01-01", "items": [{"track": {"trackName": "Teardrop", "artistName": "Massive Attack", "albumName": "Mezzanine", "trackUri": "spotify:track:67Hna13dNDkZvBpTXRIaOJ"}}]}]}',
        )
    job = await imported(services, user, buffer.getvalue(), "my_spotify_data.zip")
    assert job.state == "succeeded", job.error
    assert job.result is not None
    names = [(p["file"], p["name"]) for p in job.result["playlists"]]
    assert names == [("evil.m3u8", "Night drive"), ("Playlist1.json", "From Spotify")]
    assert any(s["file"] == "StreamingHistory0.json" for s in job.result["skipped_entries"])
    events = await sent(services, user)
    assert [e["entries"][0]["track"]["provider_ids"] for e in events][1] == {
        "spotify": "67Hna13dNDkZvBpTXRIaOJ"
    }


def _bomb(path: Path, unpacked: int) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("a.m3u8", "#EXTM3U\n" + "\n" * unpacked)


def test_a_zip_bomb_stops_at_the_allowance_whatever_its_headers_say(tmp_path: Path) -> None:
    path = tmp_path / "bomb.zip"
    _bomb(path, 4 << 20)  # 4 MB of newlines: a few kB packed
    assert path.stat().st_size < 64 << 10
    with pytest.raises(JobFailed) as failed:
        read_upload(path, "bomb.zip", tmp_path, unpacked_limit=1 << 20)
    assert failed.value.error.code == "archive-too-large"
    # Within its allowance the same archive reads.
    assert read_upload(path, "bomb.zip", tmp_path, unpacked_limit=8 << 20).playlists[0].entries == 0


def test_an_archive_of_too_many_files_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(1_001):
            archive.writestr(f"{i}.m3u8", "#EXTM3U\n")
    with pytest.raises(JobFailed) as failed:
        read_upload(path, "many.zip", tmp_path)
    assert failed.value.error.code == "malformed-file" and "1000" in failed.value.error.message


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<playlist version="1" xmlns="http://xspf.org/ns/0/"><title>&lol3;</title><trackList/></playlist>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE p [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<playlist version="1" xmlns="http://xspf.org/ns/0/"><title>&xxe;</title><trackList/></playlist>"""


@pytest.mark.parametrize(
    ("data", "file_name", "line"),
    [
        (BILLION_LAUGHS, "lol.xspf", None),
        (EXTERNAL, "xxe.xspf", None),
        (b"#EXTM3U\n" + b"a" * (10 << 20) + b"\n", "long.m3u8", 2),
        (b'{"playlist": {"title": "x", "track": [{"title": ', "cut.jspf", None),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "cover.png", None),
    ],
    ids=["entity-expansion", "external-entity", "10-MB-line", "truncated-json", "not-a-playlist"],
)
async def test_a_hostile_file_fails_the_import_and_sends_nothing(
    services: Services, data: bytes, file_name: str, line: int | None
) -> None:
    user = services.user()
    job = await imported(services, user, data, file_name)
    assert job.state == "failed" and job.error is not None
    assert (job.error.code, job.error.retryable) == ("malformed-file", False), job.error
    if line is not None:
        assert f"line {line}" in job.error.message
    assert await sent(services, user) == []


async def test_upload_attacks_are_refused(services: Services) -> None:
    alice, mallory = services.user(), services.user()
    # Over the limit through the API: 413 (the presigned upload is the way for big files).
    problem = await send(alice, b"#EXTM3U\n" + b"#" * MAX_UPLOAD_BYTES, "big.m3u8", expect=413)
    assert "imports/uploads" in problem["detail"]
    # Not multipart nor JSON; a part of another name; two files.
    await alice.call(
        "POST", "/imports/files", data=b"#EXTM3U", headers={"Content-Type": "audio/x-mpegurl"}, expect=415
    )
    form = aiohttp.FormData()
    form.add_field("other", b"x", filename="a.m3u8")
    await alice.call("POST", "/imports/files", data=form, expect=422)
    form = aiohttp.FormData()
    form.add_field("file", b"#EXTM3U\n", filename="a.m3u8")
    form.add_field("file", b"#EXTM3U\n", filename="b.m3u8")
    await alice.call("POST", "/imports/files", data=form, expect=422)
    # A part whose headers hold control characters (the fuzzer's find: it was a 500), on both routes.
    boundary = "b0undary"
    hostile = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="\x0c\u2603"\r\n\r\nx\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.m3u8"\r\n\r\n#EXTM3U\r\n'
        f"--{boundary}--\r\n"
    ).encode()
    for route in ("/imports/files", "/backups/restore"):
        _, problem, _ = await alice.call(
            "POST",
            route,
            data=hostile,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
            expect=422,
        )
        assert "malformed multipart" in problem["detail"]
    # Another user's upload is not one's own: the id names an object under its uploader only.
    _, slot, _ = await alice.call("POST", "/imports/uploads", expect=201)
    async with aiohttp.ClientSession() as session, session.put(slot["upload_url"], data=M3U.encode()) as r:
        assert r.status == 200
    await mallory.call("POST", "/imports/files", json={"upload_id": slot["upload_id"]}, expect=422)
    await alice.call("POST", "/imports/files", json={"upload_id": "../../x"}, expect=422)
    _, job, _ = await alice.call(
        "POST",
        "/imports/files",
        json={"upload_id": slot["upload_id"], "file_name": "C:\\\\x\\\\n.m3u8"},
        expect=202,
    )
    done = await services.wait(job["job_id"])
    assert done.state == "succeeded" and done.result is not None
    assert done.result["playlists"][0]["file"] == "n.m3u8"
    assert await sent(services, mallory) == []
