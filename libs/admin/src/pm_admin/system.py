"""Backup and restore of the whole system: one ``pg_dump`` per service schema and every object of the bucket.

Parts are staged in a scratch directory beside the archive (never in memory), then tarred and encrypted as
one stream (archive.py). Restore decrypts to scratch, checks every tag and every part's sha256 first, and
only then drops and restores each schema and replaces the bucket's objects.
"""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from minio import Minio
from minio.error import MinioException
from urllib3.exceptions import HTTPError

from pm_admin.archive import SUFFIX, Header, KeySource, decrypt_stream, encrypt_stream, sha256_file
from pm_admin.errors import AdminError
from pm_admin.target import Target, pg_tool

MANIFEST = "manifest.json"


def _minio(target: Target) -> Minio:
    endpoint = target.s3_endpoint
    secure = endpoint.startswith("https://")
    host = endpoint.removeprefix("https://").removeprefix("http://").rstrip("/")
    return Minio(host, access_key=target.s3_access_key, secret_key=target.s3_secret_key, secure=secure)


def _run(argv: list[str], env: Mapping[str, str], what: str) -> None:
    done = subprocess.run(argv, env={**os.environ, **env}, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise AdminError(f"{what} failed: {last}")


def archive_name(now: datetime) -> str:
    return f"plm-{now.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}{SUFFIX}"


def backup(target: Target, out_dir: Path, keys: KeySource, now: datetime | None = None) -> Path:
    """Write one archive into ``out_dir``; the archive appears only when complete (renamed into place)."""
    now = now or datetime.now(UTC)
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / archive_name(now)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".plm-backup-") as scratch_name:
        scratch = Path(scratch_name)
        parts: dict[str, dict[str, Any]] = {}
        (scratch / "pg").mkdir()
        dsn, pg_env = target.libpq()
        for schema in target.schemas:
            path = scratch / "pg" / f"{schema}.dump"
            _run(
                [
                    pg_tool("pg_dump"),
                    "--format=custom",
                    f"--schema={schema}",
                    f"--file={path}",
                    f"--dbname={dsn}",
                ],
                pg_env,
                f"pg_dump of schema {schema}",
            )
            parts[f"pg/{schema}.dump"] = {"kind": "schema", "schema": schema}
        (scratch / "s3").mkdir()
        client = _minio(target)
        try:
            if client.bucket_exists(target.s3_bucket):
                for index, obj in enumerate(client.list_objects(target.s3_bucket, recursive=True)):
                    if obj.object_name is None or obj.is_dir:
                        continue
                    member = f"s3/{index:08d}"
                    client.fget_object(target.s3_bucket, obj.object_name, str(scratch / member))
                    parts[member] = {
                        "kind": "object",
                        "key": obj.object_name,
                        "content_type": obj.content_type or "application/octet-stream",
                    }
        except (MinioException, HTTPError, OSError) as exc:
            raise AdminError(f"object store {target.s3_endpoint}: {type(exc).__name__}: {exc}") from None
        for member, meta in parts.items():
            meta["sha256"] = sha256_file(scratch / member)
            meta["size"] = (scratch / member).stat().st_size
        manifest = {"created": now.isoformat(), "bucket": target.s3_bucket, "parts": parts}
        (scratch / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
        plain_tar = scratch / "plain.tar"
        with tarfile.open(plain_tar, "w") as tar:
            tar.add(scratch / MANIFEST, MANIFEST)
            for member in parts:
                tar.add(scratch / member, member)
        objects = sum(1 for meta in parts.values() if meta["kind"] == "object")
        header = Header(created=now.isoformat(), schemas=target.schemas, objects=objects, kdf=keys.new_kdf())
        partial = scratch / final.name
        with plain_tar.open("rb") as plain, partial.open("wb") as out:
            encrypt_stream(plain, out, header, keys.key_for(header.kdf))
        partial.chmod(0o600)
        partial.replace(final)
    return final


def open_archive(archive: Path, keys: KeySource, scratch: Path) -> tuple[Header, dict[str, Any]]:
    """Decrypt ``archive`` into ``scratch`` and check it whole: every chunk's tag, then each part's sha256.
    Returns the header and the manifest; nothing outside ``scratch`` is touched."""
    plain_tar = scratch / "plain.tar"
    try:
        with archive.open("rb") as src, plain_tar.open("wb") as out:
            header = decrypt_stream(src, out, keys)
    except OSError as exc:
        raise AdminError(f"{archive}: {exc.strerror}") from None
    try:
        with tarfile.open(plain_tar, "r") as tar:
            tar.extractall(scratch / "parts", filter="data")
        manifest: dict[str, Any] = json.loads((scratch / "parts" / MANIFEST).read_text())
    except (tarfile.TarError, OSError, ValueError) as exc:
        raise AdminError(f"{archive}: the archive's content is malformed ({exc})") from None
    plain_tar.unlink()
    for member, meta in manifest["parts"].items():
        path = scratch / "parts" / member
        if not path.is_file() or sha256_file(path) != meta["sha256"]:
            raise AdminError(f"{archive}: part {member} does not match its manifest checksum")
    return header, manifest


def restore(target: Target, archive: Path, keys: KeySource) -> dict[str, int]:
    """Replace each schema of the archive and the bucket's objects with the archive's; returns counts.

    Verification comes first and is complete: a bad archive changes nothing. Each schema is dropped
    (CASCADE) and restored by pg_restore in one transaction; then every object of the bucket is deleted
    and the archive's objects are put back."""
    with tempfile.TemporaryDirectory(dir=archive.parent, prefix=".plm-restore-") as scratch_name:
        scratch = Path(scratch_name)
        _, manifest = open_archive(archive, keys, scratch)
        parts: dict[str, dict[str, Any]] = manifest["parts"]
        dsn, pg_env = target.libpq()
        schemas = 0
        for member, meta in parts.items():
            if meta["kind"] != "schema":
                continue
            schema = meta["schema"]
            _run(
                [
                    pg_tool("psql"),
                    "--no-psqlrc",
                    "-v",
                    "ON_ERROR_STOP=1",
                    f"--dbname={dsn}",
                    "-c",
                    f'DROP SCHEMA IF EXISTS "{schema}" CASCADE',
                ],
                pg_env,
                f"dropping schema {schema}",
            )
            _run(
                [
                    pg_tool("pg_restore"),
                    "--exit-on-error",
                    "--single-transaction",
                    f"--dbname={dsn}",
                    str(scratch / "parts" / member),
                ],
                pg_env,
                f"pg_restore of schema {schema}",
            )
            schemas += 1
        client = _minio(target)
        bucket = target.s3_bucket
        objects = 0
        try:
            if not client.bucket_exists(bucket):
                client.make_bucket(bucket)
            for obj in list(client.list_objects(bucket, recursive=True)):
                if obj.object_name is not None and not obj.is_dir:
                    client.remove_object(bucket, obj.object_name)
            for member, meta in parts.items():
                if meta["kind"] != "object":
                    continue
                client.fput_object(
                    bucket, meta["key"], str(scratch / "parts" / member), content_type=meta["content_type"]
                )
                objects += 1
        except (MinioException, HTTPError, OSError) as exc:
            raise AdminError(f"object store {target.s3_endpoint}: {type(exc).__name__}: {exc}") from None
    return {"schemas": schemas, "objects": objects}
