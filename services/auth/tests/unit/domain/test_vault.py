import base64
import hashlib

import pytest

from pm_auth.domain import vault
from pm_auth.domain.vault import KeyRing, MasterKey, UnknownMasterKey, VaultError, WrappedKey


def key(n: int) -> MasterKey:
    return MasterKey(bytes([n]) * 32)


def test_key_id_is_the_first_8_bytes_of_sha256():
    assert key(1).key_id == hashlib.sha256(b"\x01" * 32).digest()[:8].hex()
    assert MasterKey.from_base64(base64.b64encode(b"\x01" * 32).decode()) == key(1)
    assert "key=" not in repr(key(1))
    with pytest.raises(ValueError, match="32 bytes"):
        MasterKey.from_base64(base64.b64encode(b"short").decode())


def test_seal_and_open_a_record():
    ring = KeyRing(key(1))
    data_key, wrapped = vault.new_data_key(ring, "provider_links:u:spotify")
    blob = data_key.encrypt("access_token", "secret-token")
    assert b"secret-token" not in blob and wrapped.key_id == key(1).key_id
    opened = vault.unwrap(ring, "provider_links:u:spotify", wrapped)
    assert opened.decrypt("access_token", blob) == "secret-token"


def test_aad_binds_record_and_column():
    ring = KeyRing(key(1))
    data_key, wrapped = vault.new_data_key(ring, "provider_links:u:spotify")
    blob = data_key.encrypt("access_token", "secret-token")
    with pytest.raises(VaultError):
        data_key.decrypt("refresh_token", blob)  # moved to another column
    with pytest.raises(VaultError):
        vault.unwrap(ring, "provider_links:other-user:spotify", wrapped)  # moved to another row
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(VaultError):
        data_key.decrypt("access_token", tampered)


def test_previous_key_still_opens_and_rewrap_moves_to_current():
    old_ring = KeyRing(key(1))
    data_key, wrapped = vault.new_data_key(old_ring, "r")
    blob = data_key.encrypt("c", "v")
    rotated_ring = KeyRing(key(2), previous=key(1))
    assert vault.unwrap(rotated_ring, "r", wrapped).decrypt("c", blob) == "v"
    rewrapped = vault.rewrap(rotated_ring, "r", wrapped)
    assert rewrapped.key_id == key(2).key_id
    assert vault.rewrap(rotated_ring, "r", rewrapped) is rewrapped  # idempotent
    only_new = KeyRing(key(2))
    assert vault.unwrap(only_new, "r", rewrapped).decrypt("c", blob) == "v"  # ciphertext unchanged
    with pytest.raises(UnknownMasterKey):
        vault.unwrap(only_new, "r", wrapped)


def test_a_different_key_does_not_open():
    _, wrapped = vault.new_data_key(KeyRing(key(1)), "r")
    impostor = MasterKey(b"\x09" * 32)
    with pytest.raises(VaultError):
        vault.unwrap(KeyRing(impostor), "r", WrappedKey(impostor.key_id, wrapped.wrapped))
