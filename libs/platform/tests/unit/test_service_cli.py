"""A service started with a missing or invalid setting exits non-zero with one line naming it."""

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[4]
SERVICES = yaml.safe_load((REPO / "proto" / "services.yaml").read_text())["services"]


def _run(package: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "VIRTUAL_ENV")}
    return subprocess.run(
        [sys.executable, "-m", package, "serve"],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("service", SERVICES, ids=[s["name"] for s in SERVICES])
def test_missing_database_url_is_one_line(service):
    result = _run(service["package"], {"REDIS_URL": "redis://127.0.0.1:1/0"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "DATABASE_URL: missing" in lines[0]
    assert "Traceback" not in result.stderr


def test_invalid_value_is_one_line():
    result = _run(
        "pm_playlist",
        {
            "DATABASE_URL": "mysql://nope",
            "REDIS_URL": "redis://127.0.0.1:1/0",
            "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
            "SERVICE_TOKEN": "x" * 32,
            "IDENTITY_PUBLIC_KEYS": base64.b64encode(b"p" * 32).decode(),
            "ENRICHMENT_URL": "http://127.0.0.1:3106",
        },
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "playlist: configuration error: DATABASE_URL: must be a postgresql:// URL"
