"""plm-admin on the running native stack: backup → wipe → restore → the API answers as before.

The wipe deletes the user's playlists through the gateway and an object from the bucket; the restore must
bring back both, byte for byte as the API shows them.
"""

import asyncio
import io
import os
import subprocess
import sys
import uuid
from pathlib import Path

import aiohttp
import pytest
from journeys import Client
from minio import Minio

from pm_devstack.config import S3_BUCKET

pytestmark = pytest.mark.integration

PLM_ADMIN = str(Path(sys.executable).parent / "plm-admin")


def plm_admin(*argv: str, env: dict[str, str], expect: int = 0) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [PLM_ADMIN, *argv], env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == expect, (argv, done.stdout, done.stderr)
    return done


async def snapshot(client: Client, ids: list[str]) -> tuple[object, dict[str, object]]:
    _, listing = await client.call("GET", "/api/v1/playlists", params={"limit": "200"})
    pages = {}
    for playlist_id in ids:
        _, pages[playlist_id] = await client.call(
            "GET", f"/api/v1/playlists/{playlist_id}", params={"limit": "500"}
        )
    return listing, pages


async def test_backup_wipe_restore_gives_back_the_same_answers(register_user, gateway_url, stack, tmp_path):
    env = {**os.environ, "BACKUP_KEY": os.urandom(32).hex()}
    access, secret = stack.s3_credentials()
    s3 = Minio(
        stack.s3_endpoint().removeprefix("http://"), access_key=access, secret_key=secret, secure=False
    )
    marker = f"e2e-backup/{uuid.uuid4().hex}.txt"
    content = b"kept by the backup\n"
    await asyncio.to_thread(s3.put_object, S3_BUCKET, marker, io.BytesIO(content), len(content))

    async with aiohttp.ClientSession() as session:
        emulator = f"http://127.0.0.1:{stack.spec('provider-emulator').port}"
        client = Client(session, gateway_url, emulator, await register_user())
        ids = []
        for n in range(3):
            tracks = [
                {"title": f"Song {n}.{i}", "artists": [f"Artist {i}"], "duration_ms": 180_000 + i}
                for i in range(5 + n)
            ]
            _, created = await client.call(
                "POST", "/api/v1/playlists", json={"name": f"Backed up {n}", "tracks": tracks}, expect=201
            )
            ids.append(created["id"])
        before = await snapshot(client, ids)

        out = tmp_path / "backups"
        made = await asyncio.to_thread(plm_admin, "backup", "--out", str(out), "--keep", "1", env=env)
        [archive] = list(out.glob("*.plmbak"))
        assert str(archive) in made.stdout
        listed = await asyncio.to_thread(plm_admin, "list", "--dir", str(out), env=env)
        assert "playlist" in listed.stdout

        for playlist_id in ids:
            await client.call("DELETE", f"/api/v1/playlists/{playlist_id}", expect=204)
        await asyncio.to_thread(s3.remove_object, S3_BUCKET, marker)
        _, emptied = await client.call("GET", "/api/v1/playlists")
        assert emptied["playlists"] == []

        refused = await asyncio.to_thread(plm_admin, "restore", str(archive), env=env, expect=2)
        assert "--yes" in refused.stderr

        await asyncio.to_thread(plm_admin, "restore", str(archive), "--yes", env=env)
        assert await snapshot(client, ids) == before

    restored = await asyncio.to_thread(s3.get_object, S3_BUCKET, marker)
    try:
        assert restored.read() == content
    finally:
        restored.close()
        restored.release_conn()
    await asyncio.to_thread(s3.remove_object, S3_BUCKET, marker)

    status = await asyncio.to_thread(plm_admin, "migrations", env=env)
    assert "up to date" in status.stdout
