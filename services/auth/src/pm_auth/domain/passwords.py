"""Passwords: the policy new passwords must meet, and argon2id hashing (parameters stored in the hash).

The policy follows NIST SP 800-63B (section 3.1.1.2): a minimum length and no composition rules (no
"one upper-case letter and one digit"); every printable character is allowed, spaces and any script
included, but no control character (NUL first of all). A new password is refused when it is among the
most common or breached ones, repetitive or sequential (``aaaaaaaaa1``, ``abcdefghij``, ``qwertyuiop``),
made of the context (the e-mail's local part or domain, the product's name) or otherwise too easy to
guess. Guessability is estimated offline by zxcvbn (zxcvbn-python, MIT: frequency lists of 30,000
common passwords from breach corpora, English words, names, and repeat, sequence, keyboard, date and
l33t detection); nothing is looked up over the network.

Hashing is CPU work (tens of milliseconds by design); callers run it off the event loop. A failed login
must cost the same for an unknown e-mail as for a wrong password: :meth:`PasswordHasher.verify_or_dummy`
checks against a dummy hash made with the same parameters when there is no user.
"""

from __future__ import annotations

import re
import secrets
import threading
import unicodedata
from dataclasses import dataclass
from typing import Any

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from zxcvbn import zxcvbn
from zxcvbn.matching import L33T_TABLE

MIN_LENGTH = 10
MAX_LENGTH = 256
# zxcvbn's estimate a new password must reach: 10^10 guesses (its top score, 4). The minimum length
# stays 10 (SP 800-63B-4 asks 15 of a single-factor password); this is what makes up for it: a short
# password passes only if it is close to random, and no breached pattern ("Summer2024!!", 10^8.4)
# does. With argon2id at tens of milliseconds a guess that is centuries of one core offline, and out of
# reach online (per-account throttling, usecases/throttle.py).
MIN_GUESSES_LOG10 = 10.0
# zxcvbn's cost grows with the square of the length, and many times over with the kinds of characters its
# l33t matcher substitutes ("1|7@4$(…": seconds for 64 of them, which anyone could send to register).
# So a password is estimated whole, as zxcvbn would, on its first _WHOLE_LENGTH characters, once every
# run of one part repeated is that part once (what follows the 32nd character does not make a weak
# start strong; a strong start is strong). Only a password longer than _SHORT_LENGTH with more than
# _MAX_L33T_KINDS kinds of those characters (close to random by construction) is estimated in pieces of
# _PIECE_LENGTH, whose guesses multiply, at most _MAX_PIECES of them. A tenth of a second at worst,
# under one Argon2id hash (bench/password_policy.py).
_WHOLE_LENGTH = 32
_SHORT_LENGTH = 16
_MAX_L33T_KINDS = 8
_L33T_CHARACTERS = frozenset(c for substitutes in L33T_TABLE.values() for c in substitutes)
_PIECE_LENGTH = 12
_MAX_PIECES = 6
_REPEATED = re.compile(r"(.+?)\1+", re.DOTALL)
_MIN_REPEATED_RUN = 6  # shorter runs ("ll", "ee") stay: collapsing them would break words apart
# Context words (NIST: "context-specific words, such as the name of the service").
PRODUCT_WORDS = ("playlist manager", "playlistmanager", "playlist", "manager", "playlists")
_PRODUCT_NAME = "playlistmanager"
# A local part shorter than this, or a domain label shorter than that, is not looked for as a whole.
_MIN_LOCAL_PART = 3
_MIN_DOMAIN_LABEL = 5

# Common passwords zxcvbn's lists do not rate as such: this product's own obvious ones, lower-cased.
COMMON_PASSWORDS: frozenset[str] = frozenset(
    {
        "spotify123",
        "spotify1234",
        "spotify12345",
        "playlist123",
        "playlist1234",
        "playlists123",
        "musiclover1",
        "musiclover123",
        "music12345",
        "music123456",
        "deezer12345",
        "youtube12345",
        "tidal123456",
    }
)

# zxcvbn keeps the user inputs of a call in a module global; checks run in threads, one at a time.
_ZXCVBN_LOCK = threading.Lock()


@dataclass(frozen=True)
class PolicyViolation:
    code: str
    message: str


_MESSAGES = {
    "too_short": f"use at least {MIN_LENGTH} characters",
    "too_long": f"use at most {MAX_LENGTH} characters",
    "control_character": "do not use control characters (such as NUL, tab or line breaks)",
    "common": "this password is one of the most common ones (it appears in password breaches)",
    "repetitive": 'avoid repeated characters or words, such as "aaaa" or "abcabc"',
    "sequence": 'avoid sequences and keyboard rows, such as "abcd", "6543" or "qwerty"',
    "guessable": "this password is too easy to guess: add another word or two; uncommon words are better",
    "contains_email": "do not use your e-mail address in the password",
    "contains_product_name": "do not use the product's name in the password",
}


def _violation(code: str) -> PolicyViolation:
    return PolicyViolation(code, _MESSAGES[code])


def _is_control(c: str) -> bool:
    """C0 and C1 controls and DEL (category Cc), and lone surrogates (Cs: not text, not encodable)."""
    return unicodedata.category(c) in ("Cc", "Cs")


def _context_words(email: str) -> tuple[list[str], list[str]]:
    """The e-mail's words zxcvbn treats as cheap guesses, and the ones refused outright."""
    local, _, domain = email.lower().partition("@")
    labels = [label for label in domain.split(".")[:-1] if label]  # without the top-level domain
    pieces = [p for p in re.split(r"[^0-9a-z]+", local) if p]
    refused = ([local] if len(local) >= _MIN_LOCAL_PART else []) + [
        label for label in labels if len(label) >= _MIN_DOMAIN_LABEL
    ]
    return [local, *pieces, *labels, domain], refused


def _estimate(password: str, user_inputs: list[str]) -> dict[str, Any]:
    with _ZXCVBN_LOCK:
        result: dict[str, Any] = zxcvbn(password, user_inputs=user_inputs)
    return result


def _collapse_repeats(password: str) -> str:
    """Every run of one part repeated (of _MIN_REPEATED_RUN characters or more) as that part once: the
    pieces of a repetition would each look new (zxcvbn counts the part once, times the repeats)."""
    return _REPEATED.sub(
        lambda run: run.group(1) if len(run.group(0)) >= _MIN_REPEATED_RUN else run.group(0), password
    )


def _pieces(password: str) -> list[str]:
    """What zxcvbn is asked about (see _WHOLE_LENGTH): the password's start, whole, or its distinct pieces
    (a short last piece joined to the one before: on its own it would look like a fresh random string)."""
    if len(password) <= _SHORT_LENGTH or len(set(password) & _L33T_CHARACTERS) <= _MAX_L33T_KINDS:
        return [password[:_WHOLE_LENGTH]]
    pieces = [password[i : i + _PIECE_LENGTH] for i in range(0, len(password), _PIECE_LENGTH)]
    if len(pieces) > 1 and len(pieces[-1]) < _PIECE_LENGTH // 2:
        pieces[-2:] = [pieces[-2] + pieces[-1]]
    return list(dict.fromkeys(pieces))[:_MAX_PIECES]


def _weaknesses(password: str, user_inputs: list[str]) -> set[str] | None:
    """None when ``password`` is hard enough to guess; else what makes it easy (possibly nothing named)."""
    found: set[str] = set()
    collapsed = _collapse_repeats(password) if len(password) > _SHORT_LENGTH else password
    if collapsed != password:
        found.add("repetitive")
    pieces = _pieces(collapsed)
    exact = pieces == [password]  # zxcvbn judges the very password
    guesses_log10 = 0.0
    for piece in pieces:
        result = _estimate(piece, user_inputs)
        guesses_log10 += result["guesses_log10"]
        if guesses_log10 >= MIN_GUESSES_LOG10:
            return None
        sequence = result["sequence"]
        if (
            exact
            and len(sequence) == 1
            and sequence[0]["pattern"] == "dictionary"
            and sequence[0]["dictionary_name"] == "passwords"
        ):
            found.add("common")  # the whole password, perhaps reversed or in l33t
        for match in sequence:
            if match["pattern"] == "repeat":
                found.add("repetitive")
            elif match["pattern"] in ("sequence", "spatial"):
                found.add("sequence")
    return found


def check_policy(password: str, email: str) -> list[PolicyViolation]:
    """Every way ``password`` breaks the policy (empty: acceptable), for the account of ``email``.

    10 to 256 characters, no control character, not a common (breached) password, not repetitive or
    sequential, not containing the e-mail's local part or domain or the product's name, and not
    otherwise too easy to guess (zxcvbn's estimate under 10^10 guesses). No composition rules.
    """
    codes: list[str] = []
    if len(password) < MIN_LENGTH:
        codes.append("too_short")
    if len(password) > MAX_LENGTH:
        codes.append("too_long")
        password = password[:MAX_LENGTH]  # the rest is judged on what may be kept, at a bounded cost
    if any(_is_control(c) for c in password):
        codes.append("control_character")
        password = "".join(c for c in password if not _is_control(c))
    lowered = password.lower()
    user_inputs, refused = _context_words(email)
    context = []
    if any(word in lowered for word in refused):
        context.append("contains_email")
    if _PRODUCT_NAME in re.sub(r"[^a-z]", "", lowered):
        context.append("contains_product_name")
    # Guessability only of a password of an acceptable length: the length is to be fixed first.
    if password and not ({"too_short", "too_long"} & set(codes)):
        weak = _weaknesses(password, [*user_inputs, *PRODUCT_WORDS])
        if lowered in COMMON_PASSWORDS:
            weak = (weak or set()) | {"common"}
        if weak is not None:
            # A common password is that, whatever it is made of.
            named = ["common"] if "common" in weak else [c for c in ("repetitive", "sequence") if c in weak]
            codes += named
            if not named and not context and "control_character" not in codes:
                codes.append("guessable")
    codes += context
    return [_violation(code) for code in codes]


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
