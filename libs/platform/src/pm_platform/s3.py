"""Object storage through the minio client: path-style S3 calls and SigV4 presigned URLs.

Works against MinIO, AWS S3, SeaweedFS or Ceph alike. The minio client is synchronous, so calls run
in a worker thread and never block the event loop.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from loguru import logger
from minio import Minio
from minio.commonconfig import ENABLED, Filter
from minio.deleteobjects import DeleteObject
from minio.error import S3Error
from minio.lifecycleconfig import Expiration, LifecycleConfig, Rule

from pm_platform.health import HealthCheck
from pm_platform.resources import ResourceKey
from pm_platform.settings import S3Settings

if TYPE_CHECKING:
    from pm_platform.service import Runtime


def make_client(settings: S3Settings, endpoint: str | None = None) -> Minio:
    """A client of the store at ``endpoint`` (default S3_ENDPOINT). The region is given, so presigning
    makes no call: the client of the public endpoint only signs."""
    url = urlsplit(endpoint or settings.s3_endpoint)
    return Minio(
        url.netloc,
        access_key=settings.aws_access_key_id.get_secret_value(),
        secret_key=settings.aws_secret_access_key.get_secret_value(),
        secure=url.scheme == "https",
        region=settings.s3_region,
    )


class ObjectStore:
    """The service's bucket. Every method runs the blocking client call in a thread."""

    def __init__(self, settings: S3Settings) -> None:
        self.bucket = settings.s3_bucket
        self.client = make_client(settings)
        self.public_client = make_client(settings, settings.s3_public_endpoint)

    async def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def ensure_bucket(self) -> None:
        if not await self._call(self.client.bucket_exists, self.bucket):
            await self._call(self.client.make_bucket, self.bucket)

    async def put_bytes(self, name: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        """Store ``data`` as object ``name`` (replacing it)."""
        await self._call(self.client.put_object, self.bucket, name, io.BytesIO(data), len(data), content_type)

    async def put_file(self, name: str, path: Path, content_type: str) -> None:
        """Store the file at ``path`` as object ``name`` (a multipart upload when it is big)."""
        await self._call(self.client.fput_object, self.bucket, name, str(path), content_type)

    async def download(self, name: str, path: Path) -> None:
        """Fetch object ``name`` into the file at ``path``."""
        await self._call(self.client.fget_object, self.bucket, name, str(path))

    async def size(self, name: str) -> int | None:
        """The object's size in bytes, or None when there is no such object."""
        try:
            stat = await self._call(self.client.stat_object, self.bucket, name)
        except S3Error as error:
            if error.code in ("NoSuchKey", "NoSuchObject", "ResourceNotFound"):
                return None
            raise
        size: int = stat.size
        return size

    def download_url(self, name: str, expires: timedelta, file_name: str | None = None) -> str:
        """A presigned GET of object ``name`` at the public endpoint, valid for ``expires`` (SigV4: at most
        7 days); with ``file_name``, browsers save it under that name. Computed locally, no call."""
        headers: dict[str, str | list[str] | tuple[str]] | None = (
            {"response-content-disposition": attachment(file_name)} if file_name else None
        )
        url: str = self.public_client.presigned_get_object(
            self.bucket, name, expires=expires, response_headers=headers
        )
        return url

    def upload_url(self, name: str, expires: timedelta) -> str:
        """A presigned PUT of object ``name`` at the public endpoint, valid for ``expires``."""
        url: str = self.public_client.presigned_put_object(self.bucket, name, expires=expires)
        return url

    async def expire_after(self, days_by_prefix: Mapping[str, int]) -> None:
        """The bucket's lifecycle: objects under each prefix are deleted that many days after they were
        written. Replaces the bucket's rules (the service owning the bucket declares them all)."""
        rules = [
            Rule(
                ENABLED,
                rule_filter=Filter(prefix=prefix),
                rule_id=f"expire-{prefix.strip('/')}",
                expiration=Expiration(days=days),
            )
            for prefix, days in sorted(days_by_prefix.items())
        ]
        await self._call(self.client.set_bucket_lifecycle, self.bucket, LifecycleConfig(rules))

    async def names(self, prefix: str) -> list[str]:
        """The names of every object under ``prefix``."""

        def run() -> list[str]:
            found = self.client.list_objects(self.bucket, prefix=prefix, recursive=True)
            return [o.object_name for o in found if o.object_name]

        result: list[str] = await asyncio.to_thread(run)
        return result

    async def delete_prefix(self, prefix: str) -> int:
        """Delete every object under ``prefix``; returns how many. Idempotent (nothing left → 0)."""

        def run() -> int:
            names = [
                o.object_name for o in self.client.list_objects(self.bucket, prefix=prefix, recursive=True)
            ]
            if not names:
                return 0
            errors = list(self.client.remove_objects(self.bucket, [DeleteObject(n) for n in names if n]))
            if errors:
                raise OSError(
                    f"{len(errors)} object(s) under {prefix} could not be deleted: {errors[0].message}"
                )
            return len(names)

        result: int = await asyncio.to_thread(run)
        return result

    async def ping(self) -> dict[str, Any]:
        exists = await self._call(self.client.bucket_exists, self.bucket)
        if not exists:
            raise LookupError(f"bucket {self.bucket} does not exist")
        return {"bucket": self.bucket}


def attachment(file_name: str) -> str:
    """A Content-Disposition that saves as ``file_name``: an ASCII fallback, and the exact name in
    RFC 6266's ``filename*`` (UTF-8, percent-encoded), which every current browser prefers."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in file_name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name, safe='')}"


# The service's ObjectStore in its runtime (``rt[OBJECT_STORE]``), set by the object_store resource.
OBJECT_STORE = ResourceKey("object_store", ObjectStore)


async def object_store(rt: Runtime) -> AsyncIterator[None]:
    """A chassis resource: the store as ``rt[OBJECT_STORE]``, its bucket created at start-up if missing.

    The service's settings class must include :class:`S3Settings`. An unreachable store does not stop
    start-up; readiness reports it.
    """
    if not isinstance(rt.settings, S3Settings):
        raise TypeError(f"{type(rt.settings).__name__} must include S3Settings")
    store = ObjectStore(rt.settings)
    try:
        await store.ensure_bucket()
    except Exception as exc:  # noqa: BLE001 - readiness reports it; start-up goes on
        logger.warning("object storage not reachable at start-up: {}", type(exc).__name__)
    rt[OBJECT_STORE] = store
    try:
        yield
    finally:
        del rt[OBJECT_STORE]


def object_store_check(rt: Runtime) -> HealthCheck:
    async def check() -> dict[str, Any]:
        result: dict[str, Any] = await rt[OBJECT_STORE].ping()
        return result

    return HealthCheck("object_storage", check, timeout_s=3.0)
