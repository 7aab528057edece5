"""Opening an archive checks the manifest's sha256 of every part before anything is restored. No network."""

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from pm_admin.archive import Header, KeySource, encrypt_stream
from pm_admin.errors import AdminError
from pm_admin.system import archive_name, open_archive
from pm_admin.target import Target

KEYS = KeySource(raw=os.urandom(32))


def _archive(path: Path, parts: dict[str, bytes], claimed: dict[str, bytes] | None = None) -> None:
    claimed = claimed or parts
    manifest = {
        "parts": {
            name: {"kind": "schema", "schema": name, "sha256": hashlib.sha256(data).hexdigest()}
            for name, data in claimed.items()
        }
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in [("manifest.json", json.dumps(manifest).encode()), *parts.items()]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    header = Header(created="2026-12-04T00:00:00+00:00", schemas=list(parts), objects=0, kdf=KEYS.new_kdf())
    with path.open("wb") as out:
        encrypt_stream(io.BytesIO(buffer.getvalue()), out, header, KEYS.key_for(header.kdf))


def test_open_archive_checks_every_part(tmp_path: Path):
    good = tmp_path / "good.plmbak"
    _archive(good, {"pg/auth.dump": b"dump of auth"})
    scratch = tmp_path / "s1"
    scratch.mkdir()
    header, _manifest = open_archive(good, KEYS, scratch)
    assert header.schemas == ["pg/auth.dump"]
    assert (scratch / "parts" / "pg/auth.dump").read_bytes() == b"dump of auth"

    bad = tmp_path / "bad.plmbak"
    _archive(bad, {"pg/auth.dump": b"dump of auth"}, claimed={"pg/auth.dump": b"something else"})
    scratch = tmp_path / "s2"
    scratch.mkdir()
    with pytest.raises(AdminError, match="does not match its manifest checksum"):
        open_archive(bad, KEYS, scratch)


def test_archive_names_sort_by_utc_time():
    from datetime import UTC, datetime, timedelta, timezone

    local = datetime(2026, 12, 4, 23, 30, tzinfo=timezone(timedelta(hours=2)))
    assert archive_name(local) == "plm-20261204T213000Z.plmbak"
    assert archive_name(datetime(2026, 12, 4, 21, 31, tzinfo=UTC)) > archive_name(local)


def test_password_stays_out_of_the_command_line():
    target = Target("postgresql://postgres:p%40ss@127.0.0.1:15432/playlistmgr", "", "", "", "", [], Path())
    dsn, env = target.libpq()
    assert dsn == "postgresql://postgres@127.0.0.1:15432/playlistmgr"
    assert env == {"PGPASSWORD": "p@ss"}


# ---- backup and restore with the tools and the object store faked -----------------------------------


class FakeObject:
    def __init__(self, name: str) -> None:
        self.object_name, self.is_dir, self.content_type = name, False, "text/plain"


class FakeMinio:
    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects

    def bucket_exists(self, bucket: str) -> bool:
        return True

    def list_objects(self, bucket: str, recursive: bool):
        return [FakeObject(name) for name in sorted(self.objects)]

    def fget_object(self, bucket: str, name: str, path: str) -> None:
        Path(path).write_bytes(self.objects[name])

    def remove_object(self, bucket: str, name: str) -> None:
        del self.objects[name]

    def fput_object(self, bucket: str, name: str, path: str, content_type: str) -> None:
        self.objects[name] = Path(path).read_bytes()


def test_backup_then_restore_puts_back_every_part(tmp_path: Path, monkeypatch):
    from pm_admin import system
    from pm_contracts.services import ServiceSpec

    store = FakeMinio({"exports/a.csv": b"a,b\n", "exports/deep/b.json": b"{}"})
    calls: list[list[str]] = []

    def fake_run(argv, env, what):
        calls.append(argv)
        assert env == {"PGPASSWORD": "pw"}
        assert not any("pw" in arg for arg in argv)
        if "pg_dump" in argv[0]:
            schema = next(a for a in argv if a.startswith("--schema=")).split("=", 1)[1]
            Path(next(a for a in argv if a.startswith("--file=")).split("=", 1)[1]).write_bytes(
                f"dump of {schema}".encode()
            )

    monkeypatch.setattr(system, "_run", fake_run)
    monkeypatch.setattr(system, "_minio", lambda target: store)
    monkeypatch.setattr(system, "pg_tool", lambda name: f"/usr/bin/{name}")
    specs = [
        ServiceSpec("auth", "pm_auth", 3102, "auth"),
        ServiceSpec("playlist", "pm_playlist", 3103, "playlist"),
    ]
    target = Target(
        "postgresql://postgres:pw@127.0.0.1:1/playlistmgr", "http://s3", "b", "k", "s", specs, Path()
    )

    path = system.backup(target, tmp_path / "out", KEYS)
    assert [p.name for p in (tmp_path / "out").iterdir()] == [path.name]  # no scratch left behind
    assert path.stat().st_mode & 0o777 == 0o600
    assert b"dump of auth" not in path.read_bytes()

    store.objects.clear()
    store.objects["exports/new.txt"] = b"made after the backup"
    calls.clear()
    assert system.restore(target, path, KEYS) == {"schemas": 2, "objects": 2}
    assert store.objects == {"exports/a.csv": b"a,b\n", "exports/deep/b.json": b"{}"}
    drops = [c[-1] for c in calls if "psql" in c[0]]
    assert drops == ['DROP SCHEMA IF EXISTS "auth" CASCADE', 'DROP SCHEMA IF EXISTS "playlist" CASCADE']
    restored = [Path(c[-1]).name for c in calls if "pg_restore" in c[0]]
    assert restored == ["auth.dump", "playlist.dump"]

    calls.clear()
    with pytest.raises(AdminError, match="wrong key"):
        system.restore(target, path, KeySource(raw=os.urandom(32)))
    assert calls == []  # a bad archive changes nothing
