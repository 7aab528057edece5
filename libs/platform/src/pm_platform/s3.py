"""Object storage through the minio client: path-style S3 calls and SigV4 presigned URLs.

Works against MinIO, AWS S3, SeaweedFS or Ceph alike. The minio client is synchronous, so calls run
in a worker thread and never block the event loop.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from loguru import logger
from minio import Minio
from minio.deleteobjects import DeleteObject

from pm_platform.health import HealthCheck
from pm_platform.resources import ResourceKey
from pm_platform.settings import S3Settings

if TYPE_CHECKING:
    from pm_platform.service import Runtime


def make_client(settings: S3Settings) -> Minio:
    url = urlsplit(settings.s3_endpoint)
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

    async def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def ensure_bucket(self) -> None:
        if not await self._call(self.client.bucket_exists, self.bucket):
            await self._call(self.client.make_bucket, self.bucket)

    async def put_bytes(self, name: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        """Store ``data`` as object ``name`` (replacing it)."""
        await self._call(self.client.put_object, self.bucket, name, io.BytesIO(data), len(data), content_type)

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
