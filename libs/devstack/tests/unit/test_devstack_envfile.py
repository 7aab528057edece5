from __future__ import annotations

import base64
import re
import stat
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from pm_devstack.envfile import identity_public_key, load_or_create, parse_env_file, role_password_key


def test_created_once_private_and_complete(tmp_path: Path) -> None:
    path = tmp_path / "state" / "env"
    secrets = load_or_create(path, ["auth", "provider_sync"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(base64.b64decode(secrets["MASTER_KEY"], validate=True)) == 32
    assert re.fullmatch(r"[A-Za-z0-9_-]{64}", secrets["JWT_SECRET"])
    assert len(base64.b64decode(secrets["IDENTITY_SIGNING_KEY"], validate=True)) == 32
    assert secrets["IDENTITY_SIGNING_KEY"] != secrets["MASTER_KEY"]
    for key in ("PG_SUPERUSER_PASSWORD", "SERVICE_TOKEN", "S3_ACCESS_KEY", "S3_SECRET_KEY"):
        assert len(secrets[key]) >= 16
    assert secrets.role_password("provider_sync") == secrets[role_password_key("provider_sync")]
    assert secrets.role_password("auth") != secrets.role_password("provider_sync")


def test_stable_across_loads_and_not_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "env"
    first = load_or_create(path, ["auth"])
    before = path.read_bytes()
    second = load_or_create(path, ["auth"])
    assert first == second
    assert path.read_bytes() == before


def test_new_schema_gets_a_password_without_touching_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "env"
    first = load_or_create(path, ["auth"])
    second = load_or_create(path, ["auth", "export"])
    assert {k: v for k, v in second.values.items() if k in first.values} == first.values
    assert "PG_PASSWORD_EXPORT" in second.values
    assert parse_env_file(path.read_text()) == second.values


def test_parse_keeps_equals_signs_in_values() -> None:
    text = "# comment\n\nMASTER_KEY=abc+/def==\nBROKEN LINE\n A = b \n"
    assert parse_env_file(text) == {"MASTER_KEY": "abc+/def==", "A": "b"}


def test_identity_public_key_is_the_signing_keys() -> None:
    private = Ed25519PrivateKey.generate()
    raw = private.private_bytes_raw()
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert identity_public_key(base64.b64encode(raw).decode()) == base64.b64encode(public).decode()
