"""The password policy and the Argon2id hasher."""

import pytest

from pm_auth.domain.passwords import PasswordHasher, check_policy


@pytest.mark.parametrize(
    ("password", "codes"),
    [
        ("Tr0ub4dor-and-3", []),
        ("correct horse battery staple", []),
        ("short-1A", ["too_short"]),
        ("aaaaaaaaaaaa", ["one_class"]),
        ("123456789012", ["one_class"]),
        ("Password123", ["common"]),
        ("alice-Rocks-2026", ["contains_email"]),
        ("x" * 300 + "A", ["too_long"]),
    ],
)
def test_policy(password, codes):
    assert [v.code for v in check_policy(password, "alice@example.com")] == codes


def test_short_local_parts_are_not_checked():
    assert check_policy("ab-Rocks-2026", "ab@example.com") == []


@pytest.fixture(scope="module")
def hasher():
    return PasswordHasher(time_cost=1, memory_cost=8192)


def test_argon2id_hash_carries_its_parameters_and_salt(hasher):
    one, two = hasher.hash("Tr0ub4dor-and-3"), hasher.hash("Tr0ub4dor-and-3")
    assert one.startswith("$argon2id$v=19$m=8192,t=1,") and one != two
    assert hasher.verify(one, "Tr0ub4dor-and-3")
    assert not hasher.verify(one, "wrong")
    assert not hasher.verify("not a hash", "x")
    assert hasher.needs_rehash("not a hash")
    assert PasswordHasher().needs_rehash(one)  # weaker than the defaults


def test_unknown_user_does_the_same_work_and_fails(hasher, monkeypatch):
    calls = []
    real = hasher.verify
    monkeypatch.setattr(hasher, "verify", lambda stored, pw: calls.append(stored) or real(stored, pw))
    assert hasher.verify_or_dummy(None, "anything") is False
    assert len(calls) == 1 and calls[0].startswith("$argon2id$")
