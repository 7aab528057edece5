"""The password policy and the Argon2id hasher."""

import pytest

from pm_auth.domain.passwords import PasswordHasher, check_policy


@pytest.mark.parametrize(
    ("password", "codes"),
    [
        ("Tr0ub4dor-and-3", []),
        ("correct horse battery staple", []),
        ("An0ther-g00d-one", []),
        ("lowercase only but long and odd", []),  # no composition rules
        ("7391-carrot-planet", []),
        ("Ünïcödé-Pässwörd-Ωμέγα", []),
        ("short-1A", ["too_short"]),
        ("x" * 300 + "A", ["too_long"]),
        # Repeats and sequences (NIST SP 800-63B: repetitive or sequential characters).
        ("aaaaaaaaa1", ["repetitive"]),
        ("Aaaaaaaaaa", ["repetitive"]),
        (" " * 10 + "a", ["repetitive"]),
        ("aaaaaaaaaaaa", ["repetitive"]),
        ("abcabcabcabc", ["repetitive"]),
        ("abcdefghijkl", ["sequence"]),
        ("123456789012", ["sequence"]),
        ("zyxwvutsrqpo", ["sequence"]),
        # Common and breached passwords, whole or barely changed.
        ("Password123", ["common"]),
        ("1234567890", ["common"]),
        ("qwertyuiop", ["common"]),
        ("iloveyou12345", ["guessable"]),
        ("Sunshine2024", ["guessable"]),
        ("Summer2024!!", ["guessable"]),
        ("Liverpool2020!", ["guessable"]),
        ("spotify123", ["common"]),
        # Context: the e-mail's local part and domain, the product's name.
        ("alice-Rocks-2026", ["contains_email"]),
        ("Wonderland-Rocks-2026", ["contains_email"]),
        ("Playlist-Manager-77", ["contains_product_name"]),
        ("my PLAYLISTMANAGER pass", ["contains_product_name"]),
        # Control characters, NUL first (a C string ends there; PostgreSQL refuses it in text).
        ("Tr0ub4dor-\x00and-3", ["control_character"]),
        ("Tr0ub4dor-\nand-3", ["control_character"]),
        ("Tr0ub4dor-\x7fand-3", ["control_character"]),
        ("Tr0ub4dor-\x85and-3", ["control_character"]),
        ("Tr0ub4dor-\ud800and-3", ["control_character"]),  # a lone surrogate: not text
        ("\x00" * 12, ["control_character"]),
    ],
)
def test_policy(password, codes):
    assert [v.code for v in check_policy(password, "alice@wonderland.example.com")] == codes


def test_every_violation_has_a_message():
    for password in ("short", "aaaaaaaaaaaa", "Password123", "alice-Rocks-2026", "a\x00" * 6):
        for violation in check_policy(password, "alice@wonderland.example.com"):
            assert violation.code and violation.message


def test_short_local_parts_and_domain_labels_are_not_checked():
    assert check_policy("ab-Rocks-on-2026", "ab@io.com") == []


def test_a_long_password_is_judged_on_its_start_with_repeats_collapsed():
    import secrets

    strong = secrets.token_urlsafe(30)
    assert check_policy("a" * 100 + strong, "alice@example.com") == []
    assert [v.code for v in check_policy("password" * 20, "alice@example.com")] == ["repetitive"]
    assert check_policy(secrets.token_urlsafe(200)[:256], "alice@example.com") == []


def test_the_cost_of_a_check_is_bounded_whatever_the_password(monkeypatch):
    """zxcvbn takes seconds on 64 characters such as "1|7@4$(": it only ever sees at most 32 characters
    with few kinds of those, or short pieces of a password of many kinds, a bounded number of them (the
    cost itself is measured by bench/password_policy.py, not here)."""
    from pm_auth.domain import passwords

    seen: list[str] = []
    real = passwords.zxcvbn

    def recording(password, user_inputs=None):
        seen.append(password)
        return real(password, user_inputs=user_inputs)

    monkeypatch.setattr(passwords, "zxcvbn", recording)
    l33t = "!$%(+0123456789<@[{|"
    for length in (17, 33, 64, 254):
        for kinds in (3, 8, 9, len(l33t)):
            seen.clear()
            password = "".join(l33t[(i * 7) % kinds] for i in range(length)) + "Zq"
            check_policy(password, "alice@example.com")
            limit = 32 if kinds <= 8 else 17
            assert seen and all(len(piece) <= limit for piece in seen), (kinds, seen)
            assert len(seen) <= (1 if kinds <= 8 else 6), (kinds, seen)


@pytest.mark.parametrize(
    "password",
    [
        "qwertyuiopasdfghjklzxcvbnm",
        "qwertyuiopasdfghjklzxcvbnm123",
        "1qaz2wsx3edc4rfv5tgb6yhn",
        "welcome123welcome",
        "administrator123456",
        "iloveyou12iloveyou13",
        "thisismypassword123",
        "Password123Password123",
        "qwertyuiopasdfghjkl",
        "iloveyouiloveyou2024",
        "abcdefghijklmnopqrstuvwxyz0123456789",
    ],
)
def test_long_weak_passwords_are_refused(password):
    """Passwords longer than 16 characters are still judged whole (a piecewise estimate split words)."""
    assert check_policy(password, "alice@example.com") != []


def test_long_strong_passphrases_pass():
    for password in ("iloveyoumorethananything but not tuesdays", "violet harbour quiet lantern seven"):
        assert check_policy(password, "alice@example.com") == [], password


def test_a_long_password_made_of_one_part_repeated_is_judged_on_that_part():
    import secrets

    assert [v.code for v in check_policy("Xk9#mQ2v" * 4, "alice@example.com")] == ["repetitive"]
    assert [v.code for v in check_policy("summer-Rain" * 3, "alice@example.com")] == ["repetitive"]
    # Not the unaligned pieces of the repetition, each of which looks new: the part, as zxcvbn would.
    assert [v.code for v in check_policy("summer-Rain" * 5 + "!", "alice@example.com")] != []
    # A strong part repeated is still strong (zxcvbn: the part's guesses times the repeats).
    assert check_policy("Tr0ub4dor-and-3-" * 3, "alice@example.com") == []
    assert check_policy(secrets.token_urlsafe(24) * 2, "alice@example.com") == []


def test_the_policy_check_is_thread_safe():
    """zxcvbn keeps the user inputs in a module global: concurrent checks must not see each other's."""
    from concurrent.futures import ThreadPoolExecutor

    def check(i: int) -> list[str]:
        email = "mallory@example.com" if i % 2 else "bob@example.com"
        return [v.code for v in check_policy("mallory-Is-Here-2026!", email)]

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(check, range(200)))
    assert all(r == (["contains_email"] if i % 2 else []) for i, r in enumerate(results))


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
