"""Passwords: the policy new passwords must meet, and argon2id hashing (parameters stored in the hash).

Hashing is CPU work (tens of milliseconds by design); callers run it off the event loop. A failed login
must cost the same for an unknown e-mail as for a wrong password: :meth:`PasswordHasher.verify_or_dummy`
checks against a dummy hash made with the same parameters when there is no user.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 10
MAX_LENGTH = 256

# The most common passwords of at least MIN_LENGTH characters (public breach corpora), lower-cased.
# A small list on purpose: it catches the obvious ones; length and character classes do the rest.
COMMON_PASSWORDS: frozenset[str] = frozenset(
    {
        "1234567890",
        "12345678910",
        "123456789a",
        "1234567890a",
        "0987654321",
        "1q2w3e4r5t",
        "1q2w3e4r5t6y",
        "qwertyuiop",
        "qwerty1234",
        "qwerty12345",
        "qwerty123456",
        "1qaz2wsx3edc",
        "zaq12wsxcde3",
        "asdfghjkl1",
        "password12",
        "password123",
        "password1234",
        "password!123",
        "passw0rd123",
        "p@ssw0rd123",
        "p@ssword123",
        "iloveyou123",
        "iloveyou12",
        "sunshine123",
        "princess123",
        "football123",
        "baseball123",
        "welcome123",
        "welcome1234",
        "letmein123",
        "letmein1234",
        "trustno1234",
        "superman123",
        "starwars123",
        "dragon12345",
        "monkey12345",
        "michael123",
        "changeme123",
        "administrator",
        "admin12345",
        "admin123456",
        "abc1234567",
        "abcd123456",
        "abcdef123456",
        "a1b2c3d4e5",
        "1a2b3c4d5e",
        "q1w2e3r4t5",
        "q1w2e3r4t5y6",
        "passwordpassword",
        "spotify123",
        "playlist123",
        "musiclover1",
        "music12345",
    }
)


@dataclass(frozen=True)
class PolicyViolation:
    code: str
    message: str


def check_policy(password: str, email: str) -> list[PolicyViolation]:
    """Every way ``password`` breaks the policy (empty: acceptable).

    At least 10 characters (at most 256), more than one character class (lower, upper, digit, other),
    not a common password, not containing the e-mail's local part.
    """
    problems: list[PolicyViolation] = []
    if len(password) < MIN_LENGTH:
        problems.append(PolicyViolation("too_short", f"use at least {MIN_LENGTH} characters"))
    if len(password) > MAX_LENGTH:
        problems.append(PolicyViolation("too_long", f"use at most {MAX_LENGTH} characters"))
    classes = {
        "lower": any(c.islower() for c in password),
        "upper": any(c.isupper() for c in password),
        "digit": any(c.isdigit() for c in password),
        "other": any(not c.isalnum() for c in password),
    }
    if sum(classes.values()) < 2:
        problems.append(
            PolicyViolation("one_class", "mix at least two of lower-case, upper-case, digits and symbols")
        )
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS:
        problems.append(PolicyViolation("common", "this password is too common"))
    local = email.split("@", 1)[0].lower()
    if len(local) >= 3 and local in lowered:
        problems.append(PolicyViolation("contains_email", "do not use your e-mail address in the password"))
    return problems


class PasswordHasher:
    """argon2id with argon2-cffi's defaults (RFC 9106 low-memory profile); blocking calls."""

    def __init__(self, time_cost: int | None = None, memory_cost: int | None = None) -> None:
        defaults = argon2.PasswordHasher()
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost or defaults.time_cost,
            memory_cost=memory_cost or defaults.memory_cost,
            type=argon2.Type.ID,
        )
        # Same parameters as real hashes, so verifying against it costs the same.
        self._dummy = self._hasher.hash(secrets.token_urlsafe(24))

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def verify_or_dummy(self, stored: str | None, password: str) -> bool:
        """Verify, doing the same work when there is no stored hash (then always False)."""
        if stored is None:
            self.verify(self._dummy, password)
            return False
        return self.verify(stored, password)

    def needs_rehash(self, stored: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True
