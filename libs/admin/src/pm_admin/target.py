"""What plm-admin acts on: PostgreSQL (as a superuser), the bucket and the service list.

Explicit variables win (``ADMIN_DATABASE_URL``, ``S3_ENDPOINT``, ``S3_BUCKET``, ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``); whatever is unset comes from the native stack (.state/env, the stack's ports).
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from pm_admin.errors import AdminError
from pm_contracts.services import ServiceSpec
from pm_devstack.config import DATABASE_NAME
from pm_devstack.errors import DevstackError
from pm_devstack.postgres import find_bin_dir
from pm_devstack.stack import Stack

DATABASE_ENV = "ADMIN_DATABASE_URL"


@dataclass(frozen=True)
class Target:
    database_url: str  # a superuser of the services' database
    s3_endpoint: str
    s3_bucket: str
    s3_access_key: str
    s3_secret_key: str
    services: list[ServiceSpec]
    repo_root: Path

    @property
    def schemas(self) -> list[str]:
        return [spec.schema for spec in self.services if spec.schema is not None]

    def libpq(self) -> tuple[str, dict[str, str]]:
        """The database URL without its password, and the environment carrying it (PGPASSWORD), so the
        password never shows in a process list."""
        parts = urlsplit(self.database_url)
        password = unquote(parts.password or "")
        host = parts.hostname or ""
        netloc = (unquote(parts.username) + "@" if parts.username else "") + host
        if parts.port:
            netloc += f":{parts.port}"
        env = {"PGPASSWORD": password} if password else {}
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)), env


def resolve(environ: Mapping[str, str]) -> Target:
    try:
        stack = Stack.from_env(environ)
        specs = [spec for spec in stack.specs if spec.schema is not None and not spec.dev]
        native = not all(
            environ.get(v)
            for v in (DATABASE_ENV, "S3_ENDPOINT", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
        )
        access, secret = stack.s3_credentials() if native else ("", "")
        admin = stack.admin_dsn().rsplit("/", 1)[0] + f"/{DATABASE_NAME}" if native else ""
        endpoints = stack.infra_endpoints() if native else None
    except DevstackError as exc:
        raise AdminError(exc.one_line().removeprefix("error: ")) from None
    return Target(
        database_url=environ.get(DATABASE_ENV) or admin,
        s3_endpoint=environ.get("S3_ENDPOINT") or (endpoints.s3_endpoint if endpoints else ""),
        s3_bucket=environ.get("S3_BUCKET") or (endpoints.s3_bucket if endpoints else "playlist-exports"),
        s3_access_key=environ.get("AWS_ACCESS_KEY_ID") or access,
        s3_secret_key=environ.get("AWS_SECRET_ACCESS_KEY") or secret,
        services=specs,
        repo_root=stack.config.repo_root,
    )


def pg_tool(name: str) -> str:
    """``pg_dump``/``pg_restore``/``psql`` of the machine's PostgreSQL (the stack's), else from PATH."""
    bin_dir = find_bin_dir()
    if bin_dir is not None and (bin_dir / name).is_file():
        return str(bin_dir / name)
    found = shutil.which(name)
    if found is None:
        raise AdminError(f"{name} not found (install the PostgreSQL client)")
    return found
