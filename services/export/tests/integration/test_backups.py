"""Backups inside the export service, for real (the library is the real playlist service, the file the
real S3 store's, the events read back from Kafka): a backup holds the whole library as the library
answers it; a restore sends it back as ``library.playlist_restored``; a broken backup sends nothing.
(The e2e test restores through the library and compares the answers.)"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from pm_export.domain.backups import MEMBER
from pm_export.usecases.backups import read_backup
from pm_platform.testing import published_events

from .conftest import Services, User

pytestmark = pytest.mark.integration


async def restore(services: Services, user: User, data: bytes) -> Any:
    form = aiohttp.FormData()
    form.add_field("file", data, filename="backup.zip")
    _, job, _ = await user.call("POST", "/backups/restore", data=form, expect=202)
    return await services.wait(job["job_id"])


async def restored_events(services: Services, user: User) -> list[dict[str, Any]]:
    return [e["data"] for e in await published_events(services.rt, str(user.id), "library.playlist_restored")]


async def test_a_backup_holds_the_library_and_restores_as_events(services: Services, tmp_path: Path) -> None:
    user = services.user()
    big = await user.playlist("Big", [{"title": f"Song {i}", "artists": ["A"]} for i in range(2_345)])
    empty = await user.playlist("Empty", [], description="nothing yet")
    _, job, _ = await user.call("POST", "/backups", expect=202)
    done = await services.wait(job["job_id"])
    assert done.state == "succeeded", done.error
    result = done.result
    assert result is not None
    assert (result["format"], result["playlists"], result["entries"]) == ("backup", 2, 2_345)
    _, view, _ = await user.call("GET", f"/backups/{done.id}", expect=200)
    assert view["sha256"] == result["sha256"]
    await services.user().call("GET", f"/backups/{done.id}", expect=404)
    await user.call("GET", f"/exports/{done.id}", expect=404)  # a backup is no export
    async with aiohttp.ClientSession() as session, session.get(view["download_url"]) as r:
        data = await r.read()
    (tmp_path / "b.zip").write_bytes(data)
    read = read_backup(tmp_path / "b.zip", tmp_path)
    assert [str(p.playlist_id) for p in read.playlists] == [big["id"], empty["id"]]
    assert read.counts == [2_345, 0] and read.playlists[1].description == "nothing yet"

    job = await restore(services, user, data)
    assert job.state == "succeeded", job.error
    assert job.result is not None and job.result["entries"] == 2_345
    events = await restored_events(services, user)
    assert [(e["playlist"]["name"], e["part"], e["parts"]) for e in events] == [
        ("Big", 1, 2),
        ("Big", 2, 2),
        ("Empty", 1, 1),
    ]
    assert [len(e["entries"]) for e in events] == [2_000, 345, 0]


async def test_a_broken_backup_restores_nothing(services: Services) -> None:
    user = services.user()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            MEMBER,
            '{"backup": {"format": "playlist-manager-backup", "version": 1, "created_at": "2026-01-01T00:00:00Z"}}\n',
        )
    job = await restore(services, user, buffer.getvalue())
    assert job.state == "failed" and job.error is not None
    assert (job.error.code, job.error.retryable) == ("malformed-backup", False)
    assert "cut short" in job.error.message
    assert await restored_events(services, user) == []


async def test_a_backup_keeps_the_versions_asked_for_and_restores_them_as_history(
    services: Services, tmp_path: Path
) -> None:
    user = services.user()
    mix = await user.playlist("Mix", [{"title": f"Song {i}", "artists": ["A"]} for i in range(30)])
    at = f"/playlists/{mix['id']}"
    ids = [e["id"] for e in await user.entries(mix["id"])]
    await user.call("PATCH", at, service="library", json={"name": "Mix 2"}, expect=200)
    await user.call(
        "POST", f"{at}/entries/remove", service="library", json={"entry_ids": ids[:5]}, expect=200
    )
    await user.call(
        "POST", f"{at}/entries/move", service="library", json={"entry_ids": ids[20:22], "to": 0}, expect=200
    )
    await user.call(
        "POST", f"{at}/entries", service="library", json={"tracks": [{"title": "New"}]}, expect=200
    )

    async def backed_up(body: Any) -> Any:
        _, job, _ = await user.call("POST", "/backups", json=body, expect=202)
        done = await services.wait(job["job_id"])
        assert done.state == "succeeded", done.error
        async with aiohttp.ClientSession() as session, session.get(done.result["download_url"]) as r:
            (tmp_path / "b.zip").write_bytes(await r.read())
        return done.result, read_backup(tmp_path / "b.zip", tmp_path)

    result, read = await backed_up({"versions": "all"})
    everything = (tmp_path / "b.zip").read_bytes()
    assert result["versions"] == 5 and read.versions == [5] and read.playlists[0].version == 5
    steps = [line for line in (tmp_path / "restore-0.history.jsonl").read_text().splitlines()]
    assert sum(1 for line in steps if json.loads(line)["version"] is not None) == 5
    # 5 ← 4: one added; 4 ← 3: two moved; 3 ← 2: five removed; 2 ← 1: the name only; 1: the oldest.
    assert len(steps) == 5 + 1 + 2 + 5
    _, read = await backed_up({"versions": 2})
    assert read.versions == [2] and read.steps == [2 + 1]
    _, read = await backed_up(None)
    assert read.versions == [1] and read.steps == [1]

    for bad in ({"versions": 0}, {"versions": "some"}, {"versions": True}, {"keep": "all"}):
        await user.call("POST", "/backups", json=bad, expect=422)

    job = await restore(services, user, everything)
    assert job.state == "succeeded", job.error
    assert job.result is not None and job.result["playlists"][0]["versions"] == 5
    (event,) = await restored_events(services, user)
    assert len(event["entries"]) == 26 and len(event["history"]) == 13
    assert [s["version"]["version"] for s in event["history"] if s["version"]] == [5, 4, 3, 2, 1]
    assert (event["playlist"]["version"], event["playlist"]["name"]) == (5, "Mix 2")
