"""The archive format: round trip, tampering, wrong keys, truncation, retention. No network."""

import base64
import io
import os
from pathlib import Path

import pytest

from pm_admin import archive
from pm_admin.archive import Header, KeySource, decrypt_stream, encrypt_stream, prune, read_header
from pm_admin.errors import AdminError

KEY = os.urandom(32)


def _header(keys: KeySource, chunk_size: int = 64) -> Header:
    return Header(
        created="2026-12-04T21:00:00+00:00",
        schemas=["auth", "playlist"],
        objects=3,
        kdf=keys.new_kdf(),
        chunk_size=chunk_size,
    )


def _seal(plain: bytes, keys: KeySource, chunk_size: int = 64) -> bytes:
    header = _header(keys, chunk_size)
    out = io.BytesIO()
    encrypt_stream(io.BytesIO(plain), out, header, keys.key_for(header.kdf))
    return out.getvalue()


def _open(sealed: bytes, keys: KeySource) -> bytes:
    out = io.BytesIO()
    decrypt_stream(io.BytesIO(sealed), out, keys)
    return out.getvalue()


@pytest.mark.parametrize("size", [0, 1, 63, 64, 65, 1000])
def test_round_trip_across_chunk_boundaries(size):
    keys = KeySource(raw=KEY)
    plain = os.urandom(size)
    assert _open(_seal(plain, keys), keys) == plain


def test_passphrase_round_trip_and_salt_in_header(monkeypatch):
    monkeypatch.setattr(archive, "SCRYPT_N", 1 << 10)  # fast in tests; the header records n
    keys = KeySource(passphrase=b"correct horse")
    sealed = _seal(b"hello" * 100, keys)
    header, _ = read_header(io.BytesIO(sealed))
    assert header.kdf["name"] == "scrypt"
    assert header.kdf["n"] == 1 << 10
    assert _open(sealed, keys) == b"hello" * 100
    with pytest.raises(AdminError, match="wrong key"):
        _open(sealed, KeySource(passphrase=b"wrong horse"))


def test_header_readable_without_key():
    sealed = _seal(b"x" * 10, KeySource(raw=KEY))
    header, _ = read_header(io.BytesIO(sealed))
    assert header.schemas == ["auth", "playlist"]
    assert header.objects == 3


def test_wrong_key_refused_in_one_line():
    sealed = _seal(b"secret" * 50, KeySource(raw=KEY))
    with pytest.raises(AdminError) as caught:
        _open(sealed, KeySource(raw=os.urandom(32)))
    assert "\n" not in str(caught.value)
    assert "wrong key" in str(caught.value)


def test_every_tampered_byte_is_refused():
    plain = os.urandom(200)
    sealed = _seal(plain, KeySource(raw=KEY))
    magic_and_len = len(archive.MAGIC) + 4
    # Every byte after the framing, each with its lowest and its highest bit flipped: the header's JSON
    # (its nonce prefix, its key derivation, its chunk size) as well as the chunks.
    for position in range(magic_and_len, len(sealed)):
        for bit in (0x01, 0x80):
            damaged = bytearray(sealed)
            damaged[position] ^= bit
            with pytest.raises(AdminError):
                _open(bytes(damaged), KeySource(raw=KEY))


def test_truncation_and_dropped_chunk_are_refused():
    keys = KeySource(raw=KEY)
    sealed = _seal(os.urandom(200), keys)  # chunks of 64, 64, 64 and 8 bytes, each framed: length + tag
    full, last = 4 + 64 + 16, 4 + 8 + 16
    first_chunk = len(sealed) - 3 * full - last
    with pytest.raises(AdminError, match="truncated"):
        _open(sealed[:-last], keys)  # whole last chunk gone: the new last one is not marked final
    with pytest.raises(AdminError, match="truncated"):
        _open(sealed[:-5], keys)
    without_second = sealed[: first_chunk + full] + sealed[first_chunk + 2 * full :]
    with pytest.raises(AdminError):
        _open(without_second, keys)
    with pytest.raises(AdminError, match="no data"):
        _open(sealed[:first_chunk], keys)


def test_not_an_archive():
    with pytest.raises(AdminError, match="not a plm-admin archive"):
        _open(b"PK\x03\x04 zip file", KeySource(raw=KEY))


def test_raw_key_needed_for_a_raw_archive():
    sealed = _seal(b"abc", KeySource(raw=KEY))
    with pytest.raises(AdminError, match="needs BACKUP_KEY"):
        _open(sealed, KeySource(passphrase=b"p"))


@pytest.mark.parametrize(
    "text", [base64.b64encode(KEY).decode(), KEY.hex(), base64.urlsafe_b64encode(KEY).decode().rstrip("=")]
)
def test_key_from_env_accepts_base64_and_hex(text):
    assert KeySource.from_env({"BACKUP_KEY": text}).raw == KEY


@pytest.mark.parametrize("environ", [{}, {"BACKUP_KEY": "c2hvcnQ="}, {"BACKUP_KEY": "zz" * 32}])
def test_bad_or_missing_key_is_one_line(environ):
    with pytest.raises(AdminError) as caught:
        KeySource.from_env(environ)
    assert "\n" not in str(caught.value)


def test_retention_keeps_the_newest(tmp_path: Path):
    names = [f"plm-2026120{d}T020000Z.plmbak" for d in range(1, 6)]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("kept")
    deleted = prune(tmp_path, 2)
    assert [p.name for p in deleted] == names[:3]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*names[3:], "notes.txt"])
    assert prune(tmp_path, 5) == []


def test_retention_needs_a_positive_count(tmp_path: Path):
    with pytest.raises(AdminError):
        prune(tmp_path, 0)
