"""The backup archive: a tar of the parts, encrypted with AES-256-GCM in chunks, streamed both ways.

Layout of a ``.plmbak`` file::

    b"PLMBAK1\\n"                      magic and format version
    u32 big-endian n, n bytes          header: JSON (created, schemas, objects, kdf, nonce prefix, chunk size)
    repeated: u32 big-endian m, m bytes   one chunk: ciphertext of up to ``chunk_size`` bytes + 16-byte tag

Chunk ``i`` is sealed with nonce ``prefix(8) || i(4)`` and associated data ``magic || header || i || final``
(final is 1 for the last chunk only), so a changed header, a reordered, dropped or truncated chunk, a
flipped byte or a wrong key all fail the tag check. The header stays readable without the key
(``plm-admin list``) but is authenticated by every chunk. Plaintext is a tar holding ``manifest.json``
(the sha256 and size of every other member) and the parts.

The key: ``BACKUP_KEY`` (32 bytes, base64 or hex) or ``BACKUP_PASSPHRASE`` (scrypt, salt in the header).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import os
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from pm_admin.errors import AdminError

MAGIC = b"PLMBAK1\n"
SUFFIX = ".plmbak"
CHUNK_SIZE = 1 << 20
# A chunk of an archive at most (its size is in the header, which a damaged archive may have changed).
MAX_CHUNK_SIZE = 64 << 20
TAG_SIZE = 16
MAX_HEADER = 1 << 20
# scrypt: 2**15 * 8 * 128 B = 32 MiB and about 0.1 s per key; stored in the header so it can change.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 1 << 15, 8, 1
KEY_ENV = "BACKUP_KEY"
PASSPHRASE_ENV = "BACKUP_PASSPHRASE"  # noqa: S105 - a variable's name


@dataclass(frozen=True)
class KeySource:
    """Where the key comes from: raw 32 bytes, or a passphrase that scrypt stretches with the header's salt."""

    raw: bytes | None = None
    passphrase: bytes | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> KeySource:
        if environ.get(KEY_ENV):
            return cls(raw=parse_key(environ[KEY_ENV]))
        if environ.get(PASSPHRASE_ENV):
            return cls(passphrase=environ[PASSPHRASE_ENV].encode())
        raise AdminError(f"set {KEY_ENV} (32 bytes, base64 or hex) or {PASSPHRASE_ENV}")

    def new_kdf(self) -> dict[str, Any]:
        if self.raw is not None:
            return {"name": "raw"}
        return {
            "name": "scrypt",
            "salt": base64.b64encode(os.urandom(16)).decode(),
            "n": SCRYPT_N,
            "r": SCRYPT_R,
            "p": SCRYPT_P,
        }

    def key_for(self, kdf: Mapping[str, Any]) -> bytes:
        name = kdf.get("name")
        if name == "raw":
            if self.raw is None:
                raise AdminError(f"this archive needs {KEY_ENV}, not a passphrase")
            return self.raw
        if name == "scrypt":
            if self.passphrase is None:
                raise AdminError(f"this archive needs {PASSPHRASE_ENV}, not a raw key")
            try:
                salt = base64.b64decode(kdf["salt"], validate=True)
                n, r, p = int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
                # Bounded: a changed header must not make the derivation take the machine's memory.
                if not (2 <= n <= 1 << 20 and 1 <= r <= 32 and 1 <= p <= 16 and salt):
                    raise ValueError("out of range")
                scrypt = Scrypt(salt=salt, length=32, n=n, r=r, p=p)
            except (binascii.Error, ValueError, KeyError, TypeError):
                raise AdminError("not a plm-admin archive (bad key derivation in its header)") from None
            return scrypt.derive(self.passphrase)
        raise AdminError(f"unknown key derivation {name!r} in the archive header")


def parse_key(text: str) -> bytes:
    """32 bytes from 64 hex digits or base64 (standard or URL-safe)."""
    text = text.strip()
    candidates: list[bytes] = []
    if len(text) == 64:
        with contextlib.suppress(ValueError):
            candidates.append(bytes.fromhex(text))
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        with contextlib.suppress(binascii.Error, ValueError):
            candidates.append(decode(text + "=" * (-len(text) % 4)))
    for key in candidates:
        if len(key) == 32:
            return key
    raise AdminError(f"{KEY_ENV} must be 32 bytes, base64 or hex (e.g. `openssl rand -base64 32`)")


@dataclass
class Header:
    created: str
    schemas: list[str]
    objects: int
    kdf: dict[str, Any]
    nonce_prefix: str = field(default_factory=lambda: base64.b64encode(os.urandom(8)).decode())
    chunk_size: int = CHUNK_SIZE

    def to_bytes(self) -> bytes:
        return json.dumps(self.__dict__, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Header:
        try:
            data = json.loads(raw)
            header = cls(
                created=str(data["created"]),
                schemas=[str(s) for s in data["schemas"]],
                objects=int(data["objects"]),
                kdf=dict(data["kdf"]),
                nonce_prefix=str(data["nonce_prefix"]),
                chunk_size=int(data["chunk_size"]),
            )
            if not 0 < header.chunk_size <= MAX_CHUNK_SIZE:
                raise ValueError("chunk_size out of range")
            header.prefix()
            return header
        except (ValueError, KeyError, TypeError) as exc:
            raise AdminError(f"not a plm-admin archive (bad header: {exc})") from None

    def prefix(self) -> bytes:
        """The nonces' 8-byte prefix (ValueError when the header's is not one)."""
        try:
            prefix = base64.b64decode(self.nonce_prefix, validate=True)
        except binascii.Error:
            raise ValueError("nonce_prefix is not base64") from None
        if len(prefix) != 8:
            raise ValueError("nonce_prefix is not 8 bytes")
        return prefix


def _nonce(prefix: bytes, index: int) -> bytes:
    if index >= 1 << 32:
        raise AdminError("archive too large (more than 2**32 chunks)")
    return prefix + struct.pack(">I", index)


def _aad(header_raw: bytes, index: int, final: bool) -> bytes:
    return MAGIC + header_raw + struct.pack(">IB", index, 1 if final else 0)


def encrypt_stream(plain: IO[bytes], out: IO[bytes], header: Header, key: bytes) -> None:
    """Write ``plain`` (read to its end) to ``out`` as an archive; memory: two chunks at a time."""
    header_raw = header.to_bytes()
    aead = AESGCM(key)
    prefix = header.prefix()
    out.write(MAGIC + struct.pack(">I", len(header_raw)) + header_raw)
    index = 0
    current = plain.read(header.chunk_size)
    while True:
        following = plain.read(header.chunk_size)
        final = not following
        sealed = aead.encrypt(_nonce(prefix, index), current, _aad(header_raw, index, final))
        out.write(struct.pack(">I", len(sealed)) + sealed)
        if final:
            return
        current, index = following, index + 1


def _read_exact(stream: IO[bytes], n: int, what: str) -> bytes:
    data = stream.read(n)
    if len(data) != n:
        raise AdminError(f"archive is truncated ({what})")
    return data


def read_header(stream: IO[bytes]) -> tuple[Header, bytes]:
    """The header (unauthenticated until a chunk is opened) and its raw bytes."""
    if stream.read(len(MAGIC)) != MAGIC:
        raise AdminError("not a plm-admin archive (bad magic)")
    (length,) = struct.unpack(">I", _read_exact(stream, 4, "header length"))
    if length > MAX_HEADER:
        raise AdminError("not a plm-admin archive (header too large)")
    raw = _read_exact(stream, length, "header")
    return Header.from_bytes(raw), raw


def decrypt_stream(archive: IO[bytes], out: IO[bytes], keys: KeySource) -> Header:
    """Write the plaintext of ``archive`` to ``out``; AdminError on a wrong key, tampering or truncation.

    ``out`` may hold partial plaintext when this raises: callers write to a scratch file and use it only
    after this returns."""
    header, header_raw = read_header(archive)
    aead = AESGCM(keys.key_for(header.kdf))
    prefix = header.prefix()
    index = 0
    pending = _next_chunk(archive, header)
    if pending is None:
        raise AdminError("archive is truncated (no data)")
    while True:
        following = _next_chunk(archive, header)
        final = following is None
        try:
            plain = aead.decrypt(_nonce(prefix, index), pending, _aad(header_raw, index, final))
        except InvalidTag:
            if index == 0:
                raise AdminError(
                    "cannot decrypt the archive: wrong key, or the archive was changed"
                ) from None
            raise AdminError(f"archive is damaged or truncated (chunk {index} fails its check)") from None
        out.write(plain)
        if following is None:
            return header
        pending, index = following, index + 1


def _next_chunk(archive: IO[bytes], header: Header) -> bytes | None:
    length_raw = archive.read(4)
    if not length_raw:
        return None
    if len(length_raw) != 4:
        raise AdminError("archive is truncated (chunk length)")
    (length,) = struct.unpack(">I", length_raw)
    if length > header.chunk_size + TAG_SIZE:
        raise AdminError("archive is damaged (chunk too large)")
    return _read_exact(archive, length, "chunk")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(CHUNK_SIZE), b""):
            digest.update(block)
    return digest.hexdigest()


def archives_in(directory: Path) -> Iterator[Path]:
    """The directory's archives, oldest first (their names start with the UTC time they were made)."""
    if not directory.is_dir():
        return iter(())
    return iter(sorted(p for p in directory.iterdir() if p.name.endswith(SUFFIX) and p.is_file()))


def prune(directory: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` archives of ``directory``; returns the deleted ones."""
    if keep < 1:
        raise AdminError("--keep must be at least 1")
    found = list(archives_in(directory))
    doomed = found[: max(0, len(found) - keep)]
    for path in doomed:
        path.unlink()
    return doomed
