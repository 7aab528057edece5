"""Backups inside the export service, for real (the library is the real playlist service, the file the
real S3 store's, the events read back from Kafka): a backup holds the whole library as the library
answers it; a restore sends it back as ``library.playlist_restored``; a broken backup sends nothing.
(The e2e test restores through the library and compares the answers.)"""

from __future__ import annotations

import io
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
