"""The password policy's cost (auth's ``check_policy``): what one registration or password change costs
in CPU, at worst, whatever password an attacker sends.

zxcvbn's own estimate grows with the square of the length and many times over with the kinds of l33t
characters (``1|7@4$(…``): the policy estimates at most 32 characters whole, and only when they hold at
most 8 kinds of those; a longer password of more kinds in pieces of 12 (pm_auth.domain.passwords). Measured here on adversarial and ordinary inputs, each class
``samples`` times (seeded, so every run sends the same passwords); beside it, zxcvbn called on the
whole of a 64-character l33t password, what a check cost before. Single-threaded, in this process;
no server is needed.
"""

from __future__ import annotations

import random
import string
import time
from collections.abc import Callable

from zxcvbn import zxcvbn

from pm_auth.domain.passwords import PasswordHasher, check_policy

L33T = "!$%(+0123456789<@[{|"  # every character zxcvbn's l33t table substitutes
EMAIL = "bench.user@example.com"


def _classes(rng: random.Random) -> dict[str, Callable[[], str]]:
    def drawn(alphabet: str, length: int) -> Callable[[], str]:
        return lambda: "".join(rng.choice(alphabet) for _ in range(length))

    words = ["correct", "horse", "battery", "staple", "violet", "harbour", "quiet", "lantern", "seven"]
    return {
        "l33t characters, 256": drawn(L33T, 256),
        "l33t characters, 64": drawn(L33T, 64),
        "l33t characters, 16": drawn(L33T, 16),
        # The most a password estimated whole may hold: 8 kinds (the ambiguous ones), 32 characters.
        "8 kinds of l33t characters, 32": drawn("1|7!({[<", 32),
        "8 kinds of l33t characters and letters, 32": drawn("1|7!({[<" + string.ascii_lowercase, 32),
        "printable, 256": drawn(string.printable[:94], 256),
        "weak pieces (4 and @), 256": drawn("4@", 256),
        "passphrase, 5 words": lambda: " ".join(rng.choice(words) for _ in range(5)),
        "common (Password123)": lambda: "Password123",
    }


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _timed(name: str, call: Callable[[str], object], passwords: list[str]) -> dict[str, object]:
    """Milliseconds of ``call`` on each password: median, p99 and the maximum."""
    times = []
    for password in passwords:
        started = time.perf_counter()
        call(password)
        times.append((time.perf_counter() - started) * 1000)
    return {
        "input": name,
        "median_ms": _percentile(times, 0.5),
        "p99_ms": _percentile(times, 0.99),
        "max_ms": max(times),
    }


def run(samples: int = 50, seed: int = 20261203) -> list[dict[str, object]]:
    rng = random.Random(seed)
    rows = [
        _timed(name, lambda password: check_policy(password, EMAIL), [draw() for _ in range(samples)])
        for name, draw in _classes(rng).items()
    ]
    few = max(3, samples // 10)
    # The cost the piecewise judgement removes: zxcvbn on the whole of a 64-character l33t password.
    l33t_64 = ["".join(rng.choice(L33T) for _ in range(64)) for _ in range(few)]
    rows.append(_timed("(zxcvbn on the whole, l33t, 64)", zxcvbn, l33t_64))
    # The yardstick: what every login and registration costs anyway (auth's Argon2id parameters).
    rows.append(
        _timed("(an Argon2id hash, auth's parameters)", PasswordHasher().hash, ["correct horse"] * few)
    )
    return rows


def table(rows: list[dict[str, object]], samples: int) -> str:
    lines = [
        f"check_policy, {samples} passwords per row (seeded), one thread:",
        "",
        "| input | median ms | p99 ms | max ms |",
        "|---|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['input']} | {row['median_ms']:.1f} | {row['p99_ms']:.1f} | {row['max_ms']:.1f} |"
        )
    return "\n".join(lines)
