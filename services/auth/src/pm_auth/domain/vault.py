"""The token vault's cryptography (pure): envelope encryption with AES-256-GCM.

Each record gets a random 256-bit data key. Its fields are encrypted under that data key, each with its
own random 96-bit nonce and an AAD naming the record and the column, so a ciphertext moved to another
row or column does not decrypt. The data key is wrapped (AES-256-GCM) by the master key; the record keeps
``key_id`` (first 8 bytes of SHA-256 of the master key, hex) beside the wrapped key. Stored blobs are
``nonce (12 bytes) ‖ ciphertext+tag``.

Rotating the master key re-wraps data keys only; the field ciphertexts do not change.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12
KEY_BYTES = 32


class VaultError(Exception):
    """A record cannot be decrypted: unknown master key, wrong AAD or tampered data."""


class UnknownMasterKey(VaultError):
    def __init__(self, key_id: str) -> None:
        super().__init__(f"no master key with id {key_id} (set MASTER_KEY_PREVIOUS?)")
        self.key_id = key_id


@dataclass(frozen=True)
class MasterKey:
    key: bytes

    @property
    def key_id(self) -> str:
        return hashlib.sha256(self.key).digest()[:8].hex()

    @classmethod
    def from_base64(cls, value: str) -> MasterKey:
        key = base64.b64decode(value.strip(), validate=True)
        if len(key) != KEY_BYTES:
            raise ValueError(f"a master key is {KEY_BYTES} bytes, got {len(key)}")
        return cls(key)

    def __repr__(self) -> str:  # never print key material
        return f"MasterKey(key_id={self.key_id})"


@dataclass(frozen=True)
class KeyRing:
    """The current master key (wraps new data keys) and optionally the previous one (still unwraps)."""

    current: MasterKey
    previous: MasterKey | None = None

    def get(self, key_id: str) -> MasterKey:
        if key_id == self.current.key_id:
            return self.current
        if self.previous is not None and key_id == self.previous.key_id:
            return self.previous
        raise UnknownMasterKey(key_id)

    @property
    def key_ids(self) -> tuple[str, ...]:
        return (self.current.key_id,) + ((self.previous.key_id,) if self.previous else ())


def _seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def _open(key: bytes, blob: bytes, aad: bytes) -> bytes:
    if len(blob) < NONCE_BYTES + 16:
        raise VaultError("ciphertext too short")
    try:
        return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
    except InvalidTag:
        raise VaultError("ciphertext does not authenticate (wrong key, AAD or tampered)") from None


def _wrap_aad(record: str, key_id: str) -> bytes:
    return f"pm-auth:data-key:{record}:{key_id}".encode()


@dataclass(frozen=True)
class WrappedKey:
    key_id: str
    wrapped: bytes


class DataKey:
    """An unwrapped per-record data key; encrypts and decrypts that record's fields."""

    def __init__(self, key: bytes, record: str) -> None:
        self._key = key
        self.record = record

    def _aad(self, column: str) -> bytes:
        return f"pm-auth:field:{self.record}:{column}".encode()

    def encrypt(self, column: str, plaintext: str) -> bytes:
        return _seal(self._key, plaintext.encode(), self._aad(column))

    def decrypt(self, column: str, blob: bytes) -> str:
        return _open(self._key, bytes(blob), self._aad(column)).decode()

    def __repr__(self) -> str:
        return f"DataKey(record={self.record})"


def new_data_key(ring: KeyRing, record: str) -> tuple[DataKey, WrappedKey]:
    """A fresh data key for ``record`` (an identifier binding it, e.g. ``provider_links:<user>:<provider>``)."""
    key = secrets.token_bytes(KEY_BYTES)
    master = ring.current
    wrapped = _seal(master.key, key, _wrap_aad(record, master.key_id))
    return DataKey(key, record), WrappedKey(master.key_id, wrapped)


def unwrap(ring: KeyRing, record: str, wrapped: WrappedKey) -> DataKey:
    master = ring.get(wrapped.key_id)
    key = _open(master.key, bytes(wrapped.wrapped), _wrap_aad(record, wrapped.key_id))
    return DataKey(key, record)


def rewrap(ring: KeyRing, record: str, wrapped: WrappedKey) -> WrappedKey:
    """The same data key wrapped by the current master key (a no-op result when it already is)."""
    if wrapped.key_id == ring.current.key_id:
        return wrapped
    master = ring.get(wrapped.key_id)
    key = _open(master.key, bytes(wrapped.wrapped), _wrap_aad(record, wrapped.key_id))
    current = ring.current
    return WrappedKey(current.key_id, _seal(current.key, key, _wrap_aad(record, current.key_id)))


def record_name(table: str, *key: object) -> str:
    """The record a data key belongs to (its wrapping AAD): the table and its primary key."""
    return ":".join([table, *(str(k) for k in key)])
