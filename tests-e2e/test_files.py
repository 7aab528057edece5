"""Playlist files end to end (issue 17's Done-when), through the gateway on the running stack: a
10,000-track library playlist exported in every format, each file downloaded through its presigned link,
imported again (multipart through the gateway) and compared with the original — within what each format
can express — and a big file by a presigned upload. The library learns of an import from Kafka, a moment
after its job ended: the new playlists are awaited, not timed."""

from __future__ import annotations

import asyncio
import io
import uuid
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from journeys import Client, security_edge

pytestmark = pytest.mark.e2e

FORMATS = ["m3u8", "xspf", "jspf", "csv", "json"]
PROVIDERS = ["spotify", "deezer", "tidal", "youtube"]


def provider_id(provider: str) -> str:
    """An id of the provider's own shape (Spotify's 22 base-62 characters, YouTube's 11, numbers
    elsewhere), unique to this run: formats that recognise a provider's links check the shape."""
    unique = uuid.uuid4()
    if provider == "spotify":
        return unique.hex[:22]
    if provider == "youtube":
        return unique.hex[:11]
    return str(unique.int % 10**12 + 10**11)


def described(count: int) -> list[dict[str, Any]]:
    """Tracks as a user or an import describes them: ids of each provider in turn, ISRCs, albums,
    several artists, text a spreadsheet or a parser could choke on."""
    tracks = []
    for i in range(count):
        track: dict[str, Any] = {
            "title": ["Song {i}", "=SUM(A{i})", "Ünïcödé {i} «»", '<b>{i}</b> & "q"', "-{i}, b;c"][
                i % 5
            ].format(i=i),
            "artists": [f"Artist {i % 97}"] + ([f"Guest {i % 13}"] if i % 4 == 0 else []),
            "album": f"Album {i % 301}" if i % 6 else None,
            "duration_ms": 120_000 + i * 7,
            "explicit": [True, False, None][i % 3],
        }
        if i % 2 == 0:
            provider = PROVIDERS[(i // 2) % 4]
            track |= {"provider": provider, "provider_track_id": provider_id(provider)}
        if i % 5 == 1:
            track["isrc"] = f"QZ{'ABCDEFGHJK'[i % 10]}{i % 100:02d}{i % 10_000_000:07d}"
        tracks.append(track)
    return tracks


def library_only(value: Any) -> Any:
    """``value`` without the catalog's enrichment shown beside each track: it is not the library's (no
    backup or file carries it) and changes on its own as the enrichment worker and MusicBrainz answer."""
    if isinstance(value, dict):
        return {k: library_only(v) for k, v in value.items() if k != "enrichment"}
    if isinstance(value, list):
        return [library_only(v) for v in value]
    return value


async def entries_of(client: Client, playlist_id: str) -> list[dict[str, Any]]:
    """Every entry of the playlist, as the library holds it (:func:`library_only`)."""
    found: list[dict[str, Any]] = []
    offset: int | None = 0
    while offset is not None:
        _, page = await client.call(
            "GET", f"/api/v1/playlists/{playlist_id}", params={"offset": str(offset), "limit": "500"}
        )
        found += library_only(page["entries"]["items"])
        offset = page["entries"]["next_offset"]
    return found


async def playlist_when_there(client: Client, playlist_id: str) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 120
    while True:
        status, body = await client.call("GET", f"/api/v1/playlists/{playlist_id}", expect=None)
        if status == 200:
            return body
        assert status == 404 and loop.time() < deadline, (status, body)
        await asyncio.sleep(0.5)


async def import_file(client: Client, data: bytes, file_name: str) -> dict[str, Any]:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=file_name, content_type="application/octet-stream")
    _, job = await client.call("POST", "/api/v1/imports/files", data=form, expect=202)
    return await client.job(job["job_id"], {"succeeded"})


def comparable(entry: dict[str, Any], export_format: str) -> tuple[Any, ...]:
    track = entry["track"]
    ids = track["provider_ids"]
    if export_format == "csv":  # Exportify's columns name Spotify's ids only
        ids = {k: v for k, v in ids.items() if k == "spotify"}
    return (track["title"], track["artists"], track["album"], track["duration_ms"], track["isrc"], ids)


async def test_a_10000_track_playlist_goes_out_and_back_in_every_format(register_user, gateway_url, stack):
    async with aiohttp.ClientSession() as session:
        emulator = f"http://127.0.0.1:{stack.spec('provider-emulator').port}"
        client = Client(session, gateway_url, emulator, await register_user())
        _, original = await client.call(
            "POST",
            "/api/v1/playlists",
            json={"name": "Ten thousand", "description": "All of them", "tracks": described(10_000)},
            expect=201,
        )
        expected = await entries_of(client, original["id"])
        assert len(expected) == 10_000

        for export_format in FORMATS:
            _, job = await client.call(
                "POST",
                "/api/v1/exports",
                json={"playlists": [original["id"]], "format": export_format},
                expect=202,
            )
            done = await client.job(job["job_id"], {"succeeded"})
            export = done["result"]
            async with session.get(export["download_url"]) as r:
                assert r.status == 200
                data = await r.read()
            assert len(data) == export["size_bytes"]

            imported = await import_file(client, data, export["file_name"])
            [playlist] = imported["result"]["playlists"]
            assert (playlist["name"], playlist["entries"]) == ("Ten thousand", 10_000), imported["result"]
            assert imported["result"]["skipped"] == 0, imported["result"]["skipped_entries"][:5]
            copy = await playlist_when_there(client, playlist["id"])
            assert copy["origin"] is None and copy["entry_count"] == 10_000
            if export_format != "csv":
                assert copy["description"] == "All of them"
            got = await entries_of(client, playlist["id"])
            want = [comparable(e, export_format) for e in expected]
            assert [comparable(e, export_format) for e in got] == want, export_format
            if export_format != "csv":  # the same recordings: the library's own tracks, not copies
                assert [e["track"]["id"] for e in got] == [e["track"]["id"] for e in expected]


async def test_a_file_by_presigned_upload_is_imported_and_a_broken_one_saves_nothing(
    register_user, gateway_url, stack
):
    async with aiohttp.ClientSession() as session:
        emulator = f"http://127.0.0.1:{stack.spec('provider-emulator').port}"
        client = Client(session, gateway_url, emulator, await register_user())
        _, slot = await client.call("POST", "/api/v1/imports/uploads", expect=201)
        lines = ["#EXTM3U", "#PLAYLIST:Uploaded"]
        for i in range(3):
            lines += [f"#EXTINF:{200 + i},Band - Track {i}", f"/music/track-{i}.mp3"]
        async with session.put(slot["upload_url"], data="\r\n".join(lines).encode()) as r:
            assert r.status == 200, await r.text()
        _, job = await client.call(
            "POST",
            "/api/v1/imports/files",
            json={"upload_id": slot["upload_id"], "file_name": "x.m3u8"},
            expect=202,
        )
        done = await client.job(job["job_id"], {"succeeded"})
        [playlist] = done["result"]["playlists"]
        copy = await playlist_when_there(client, playlist["id"])
        assert copy["name"] == "Uploaded" and copy["entry_count"] == 3

        form = aiohttp.FormData()
        form.add_field("file", b'{"playlist": {"title": "Broken", "track": [', filename="broken.jspf")
        _, job = await client.call("POST", "/api/v1/imports/files", data=form, expect=202)
        failed = await client.job(job["job_id"], {"failed"})
        assert failed["error"]["code"] == "malformed-file", failed
        _, listed = await client.call("GET", "/api/v1/playlists")
        assert [p["name"] for p in listed["playlists"]] == ["Uploaded"]


def comparable_playlist(detail: dict[str, Any]) -> dict[str, Any]:
    """A playlist's answer as a restore must give it back: everything, its version and last change
    too (the backup kept its history); its entries are compared page by page."""
    return {k: v for k, v in detail.items() if k != "entries"}


async def history_of(client: Client, playlist_id: str) -> dict[str, Any]:
    """A playlist's versions (every page) and the diff of each from the one before, and of the newest
    from the first."""
    versions: list[dict[str, Any]] = []
    params: dict[str, str] = {"limit": "100"}
    while True:
        _, page = await client.call("GET", f"/api/v1/playlists/{playlist_id}/versions", params=params)
        versions += page["versions"]
        if page["next_before"] is None:
            break
        params["before"] = str(page["next_before"])
    numbers = [v["version"] for v in versions]
    pairs = [(n - 1, n) for n in numbers if n > 1] + ([(1, numbers[0])] if numbers[0] > 2 else [])
    diffs = {}
    for older, newer in pairs:
        _, diffs[f"{older}-{newer}"] = await client.call(
            "GET", f"/api/v1/playlists/{playlist_id}/diff", params={"from": str(older), "to": str(newer)}
        )
    return library_only({"versions": versions, "diffs": diffs})


async def test_a_backed_up_library_deleted_and_restored_answers_the_same(register_user, gateway_url, stack):
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        emulator = f"http://127.0.0.1:{stack.spec('provider-emulator').port}"
        client = Client(session, gateway_url, emulator, await register_user())
        # A library of a provider's playlists (imported, liked songs too) and playlists made here.
        await client.link(
            "spotify", {"playlists": [{"name": "Verano", "source_playlist": 1}], "liked_count": 30}
        )
        await client.import_all(["spotify"])
        await client.library_when(lambda found: len(found) == 2)
        for name, count in (("Made here", 1_200), ("Empty", 0)):
            await client.call(
                "POST", "/api/v1/playlists", json={"name": name, "tracks": described(count)}, expect=201
            )
        _, listed = await client.call("GET", "/api/v1/playlists", params={"limit": "200"})
        made_here = next(p["id"] for p in listed["playlists"] if p["name"] == "Made here")
        # Its history: renamed, entries added, removed, moved, and sorted (a change of most positions).
        at = f"/api/v1/playlists/{made_here}"
        ids = [e["id"] for e in await entries_of(client, made_here)]
        await client.call("PATCH", at, json={"name": "Made here, renamed", "description": "mine"})
        await client.call("POST", f"{at}/entries", json={"tracks": described(3), "position": 10})
        await client.call("POST", f"{at}/entries/remove", json={"entry_ids": ids[100:140]})
        await client.call("POST", f"{at}/entries/move", json={"entry_ids": ids[500:503], "to": 0})
        await client.call("POST", f"{at}/sort", json={"by": "title"})
        _, listed = await client.call("GET", "/api/v1/playlists", params={"limit": "200"})
        before = {p["id"]: p for p in listed["playlists"]}
        assert len(before) == 4 and before[made_here]["version"] == 6
        entries = {pid: await entries_of(client, pid) for pid in before}
        histories = {pid: await history_of(client, pid) for pid in before}

        _, job = await client.call("POST", "/api/v1/backups", json={"versions": "all"}, expect=202)
        backup = (await client.job(job["job_id"], {"succeeded"}))["result"]
        assert (backup["format"], backup["playlists"]) == ("backup", 4)
        assert backup["versions"] == sum(len(h["versions"]) for h in histories.values())
        async with session.get(backup["download_url"]) as r:
            assert r.status == 200
            data = await r.read()

        for pid in before:
            await client.call("DELETE", f"/api/v1/playlists/{pid}", expect=204)
        form = aiohttp.FormData()
        form.add_field("file", data, filename=backup["file_name"])
        _, job = await client.call("POST", "/api/v1/backups/restore", data=form, expect=202)
        restored = (await client.job(job["job_id"], {"succeeded"}))["result"]
        assert sorted(p["id"] for p in restored["playlists"]) == sorted(before)
        assert [link["provider"] for link in restored["providers"]] == ["spotify"]

        for pid, original in before.items():
            detail = await playlist_when_there(client, pid)
            assert comparable_playlist(detail) == comparable_playlist(original), pid
            assert await entries_of(client, pid) == entries[pid], original["name"]
            assert await history_of(client, pid) == histories[pid], original["name"]

        # Restoring again changes nothing: the library holds every playlist already. (A file imported
        # after it reaches the library after it, on the user's partition: once that is there, so is all the
        # restore would have done.)
        again = aiohttp.FormData()
        again.add_field("file", data, filename=backup["file_name"])
        _, job = await client.call("POST", "/api/v1/backups/restore", data=again, expect=202)
        await client.job(job["job_id"], {"succeeded"})
        sentinel = await import_file(client, b"#EXTM3U\n#EXTINF:1,A - B\n/b.mp3\n", "sentinel.m3u8")
        await playlist_when_there(client, sentinel["result"]["playlists"][0]["id"])
        _, listed = await client.call("GET", "/api/v1/playlists", params={"limit": "200"})
        assert sorted(p["id"] for p in listed["playlists"]) == sorted(
            [*before, sentinel["result"]["playlists"][0]["id"]]
        )
        for pid in before:
            assert comparable_playlist(await playlist_when_there(client, pid)) == comparable_playlist(
                before[pid]
            )
        # An old version of the restored playlist is one to go back to, as it was.
        _, back = await client.call("POST", f"/api/v1/playlists/{made_here}/versions/1/restore")
        assert back["version"] == 7
        assert [e["id"] for e in await entries_of(client, made_here)] == ids

        # Restored with its newest two versions only, it backs up again with what it has.
        _, job = await client.call("POST", "/api/v1/backups", json={"versions": 2}, expect=202)
        async with session.get(
            (await client.job(job["job_id"], {"succeeded"}))["result"]["download_url"]
        ) as r:
            partial = await r.read()
        await client.call("DELETE", f"/api/v1/playlists/{made_here}", expect=204)
        form = aiohttp.FormData()
        form.add_field("file", partial, filename="partial.zip")
        _, job = await client.call("POST", "/api/v1/backups/restore", data=form, expect=202)
        await client.job(job["job_id"], {"succeeded"})
        await playlist_when_there(client, made_here)
        _, kept = await client.call("GET", f"/api/v1/playlists/{made_here}/versions")
        assert ([v["version"] for v in kept["versions"]], kept["next_before"]) == ([7, 6], None)
        _, job = await client.call("POST", "/api/v1/backups", json={"versions": "all"}, expect=202)
        await client.job(job["job_id"], {"succeeded"})


FIXTURES = Path(__file__).resolve().parent / "fixtures" / "files"


def zipped(members: dict[str, str]) -> bytes:
    """A zip of fixture files under the paths given (as the services' own exports arrive)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, fixture in members.items():
            archive.write(FIXTURES / fixture, path)
    return buffer.getvalue()


READ_ONLY = {
    "spotify-data-export": (
        "my_spotify_data.zip",
        lambda: zipped(
            {
                "Spotify Account Data/Playlist1.json": "Playlist1.json",
                "Spotify Account Data/YourLibrary.json": "YourLibrary.json",
                "Spotify Account Data/StreamingHistory_music_0.json": "StreamingHistory_music_0.json",
            }
        ),
        [
            ("Gym", ["Teardrop", "On running", "Demo Tape", "Angel"]),
            ("Empty for now", []),
            ("Liked Songs", ["Roads", "Jóga"]),
        ],
        {"Teardrop": {"spotify": "67Hna13dNDkZvBpTXRIaOJ"}, "Roads": {"spotify": "60Ntd7QgMXxpC1pXiGwkKb"}},
    ),
    "itunes-library": (
        "Library.xml",
        lambda: (FIXTURES / "Library.xml").read_bytes(),
        [("Trip-hop", ["Glory Box", "Roads"])],
        {},
    ),
    "google-takeout": (
        "takeout-20260301.zip",
        lambda: zipped(
            {
                "Takeout/YouTube and YouTube Music/playlists/Road trip-videos.csv": "Road trip-videos.csv",
                "Takeout/YouTube and YouTube Music/music (library and uploads)/music library songs.csv": (
                    "music library songs.csv"
                ),
            }
        ),
        [
            ("Road trip", ["dQw4w9WgXcQ", "9bZkp7q19f0"]),
            ("music library songs", ["Despacito", "Bohemian Rhapsody"]),
        ],
        {"Despacito": {"youtube": "kJQP7kiw5Fk"}, "dQw4w9WgXcQ": {"youtube": "dQw4w9WgXcQ"}},
    ),
    "tunemymusic-csv": (
        "tunemymusic.csv",
        lambda: (FIXTURES / "tunemymusic.csv").read_bytes(),
        [("Moved from Deezer", ["Teardrop", "Roads"]), ("Other list", ["Jóga"])],
        {},
    ),
}


@pytest.mark.parametrize("fixture", sorted(READ_ONLY))
async def test_a_services_own_export_is_imported(register_user, gateway_url, stack, fixture):
    file_name, data, expected, ids = READ_ONLY[fixture]
    async with aiohttp.ClientSession() as session:
        emulator = f"http://127.0.0.1:{stack.spec('provider-emulator').port}"
        client = Client(session, gateway_url, emulator, await register_user())
        done = await import_file(client, data(), file_name)
        result = done["result"]
        got = []
        for playlist in result["playlists"]:
            await playlist_when_there(client, playlist["id"])
            entries = await entries_of(client, playlist["id"])
            got.append((playlist["name"], [e["track"]["title"] for e in entries]))
            for entry in entries:
                if entry["track"]["title"] in ids:
                    assert entry["track"]["provider_ids"] == ids[entry["track"]["title"]]
        assert got == expected, result
        # What was passed over is said, with its line where the format has lines.
        if fixture == "google-takeout":
            assert [(s["file"], s["line"]) for s in result["skipped_entries"]] == [
                ("Road trip-videos.csv", 4)
            ]
        if fixture == "spotify-data-export":
            assert [s["file"] for s in result["skipped_entries"]] == ["StreamingHistory_music_0.json"]


async def test_an_oversize_or_slow_upload_is_refused_and_imports_nothing(register_user, gateway_url, stack):
    """Through the gateway: a file over the limit is a 413 (the presigned upload is the way), one that
    trickles in is cut with a 408 (docs/security.md, Request limits); the library stays empty."""
    edge = security_edge()

    async with aiohttp.ClientSession() as session:
        emulator = f"http://127.0.0.1:{stack.spec('provider-emulator').port}"
        client = Client(session, gateway_url, emulator, await register_user())
        form = aiohttp.FormData()
        form.add_field("file", b"#EXTM3U\n" + b"#" * (17 << 20), filename="huge.m3u8")
        status, problem = await client.call("POST", "/api/v1/imports/files", data=form, expect=None)
        assert status == 413, problem

        boundary = "pmboundary"
        body = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.m3u8"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n#EXTM3U\n#EXTINF:1,A - B\n/b.mp3\n"
            f"\r\n--{boundary}--\r\n"
        ).encode()
        head = (
            f"POST /api/v1/imports/files HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {client.user['access_token']}\r\nX-Forwarded-For: {client.user['ip']}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len(body) + 100}\r\n\r\n"
        ).encode()
        port = urlsplit(gateway_url).port
        assert port is not None
        answer, closed = await edge._exchange(port, head + body[:1], trickle=body[1:] + b" " * 40)
        assert closed, answer
        [(status, _, _)] = edge._answers(answer)
        assert status == 408, answer
        _, listed = await client.call("GET", "/api/v1/playlists")
        assert listed["playlists"] == []
