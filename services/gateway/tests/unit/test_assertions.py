"""The gateway's identity assertions: reused per session, and a signing key re-read from its file without
a restart, taken only when the services already hold its public key."""

from __future__ import annotations

import base64
import secrets
import uuid
from pathlib import Path

import jwt
import pytest

from pm_gateway.usecases.assertions import IdentityAssertions, reload_signing_key
from pm_platform.identity import Identity, IdentityKeys, IdentitySigner, IdentityVerifier, raw_public_key


def _kid(assertion: str) -> str:
    return str(jwt.get_unverified_header(assertion)["kid"])


def _setup(tmp_path: Path) -> tuple[bytes, IdentityAssertions, IdentityKeys, Path]:
    old = secrets.token_bytes(32)
    assertions = IdentityAssertions(IdentitySigner(old))
    keys = IdentityKeys(IdentityVerifier([raw_public_key(old)]))
    keys.signing_key_id = assertions.kid
    return old, assertions, keys, tmp_path / "identity_signing_key"


async def test_a_published_new_key_signs_at_once(tmp_path: Path) -> None:
    old, assertions, keys, path = _setup(tmp_path)
    new = secrets.token_bytes(32)
    who = Identity(uuid.uuid4(), uuid.uuid4())
    before = assertions.for_identity(who)
    assert assertions.for_identity(who) == before  # reused
    keys.verifier.replace_keys([raw_public_key(old), raw_public_key(new)])  # the public keys first
    path.write_text(base64.b64encode(new).decode() + "\n")
    assert await reload_signing_key(assertions, keys, str(path)) is True
    new_kid = IdentitySigner(new).kid
    # The session's reused assertion is dropped: its next request carries the new key's.
    after = assertions.for_identity(who)
    assert after != before and _kid(after) == new_kid
    assert keys.verifier.verify(after) == who
    assert keys.describe() == {
        "verify_key_ids": sorted(keys.verifier.key_ids),
        "signing_key_id": new_kid,
        "reload_error": None,
    }
    assert await reload_signing_key(assertions, keys, str(path)) is False  # unchanged


async def test_a_key_the_services_do_not_hold_is_refused(tmp_path: Path) -> None:
    old, assertions, keys, path = _setup(tmp_path)
    old_kid = assertions.kid
    unpublished = secrets.token_bytes(32)
    path.write_text(base64.b64encode(unpublished).decode())
    assert await reload_signing_key(assertions, keys, str(path)) is False
    # The old key still signs; the refusal shows in /health until a good reload.
    assert _kid(assertions.for_identity(Identity(uuid.uuid4(), uuid.uuid4()))) == old_kid
    report = keys.describe()
    assert report["signing_key_id"] == old_kid
    assert isinstance(report["reload_error"], str)
    assert f"kid {IdentitySigner(unpublished).kid}" in report["reload_error"]
    assert "not among the identity public keys in use" in report["reload_error"]
    path.write_text(base64.b64encode(old).decode())
    assert await reload_signing_key(assertions, keys, str(path)) is False
    assert keys.describe()["reload_error"] is None


@pytest.mark.parametrize("content", ["not base64!", base64.b64encode(b"short").decode(), None])
async def test_an_unreadable_or_invalid_key_file_keeps_the_key(tmp_path: Path, content: str | None) -> None:
    _, assertions, keys, path = _setup(tmp_path)
    old_kid = assertions.kid
    if content is not None:
        path.write_text(content)
    assert await reload_signing_key(assertions, keys, str(path)) is False
    assert assertions.kid == old_kid == keys.signing_key_id
    assert str(keys.reload_error).startswith(f"IDENTITY_SIGNING_KEY_FILE: cannot use {path}: ")
