"""Deterministic id and token generation: same seed and same sequence of calls, same ids."""

from __future__ import annotations

import hashlib
import uuid

from pm_provider_emulator.domain.derive import B62, YT_ALPHABET, encode


class IdGenerator:
    """Counter-based ids keyed by kind; :meth:`reset` starts every sequence again."""

    def __init__(self, seed: str) -> None:
        self.seed = seed
        self._counters: dict[str, int] = {}

    def reset(self) -> None:
        self._counters.clear()

    def _next(self, kind: str) -> tuple[int, int]:
        n = self._counters.get(kind, 0) + 1
        self._counters[kind] = n
        digest = hashlib.sha256(f"{self.seed}\x1f{kind}\x1f{n}".encode()).digest()
        return n, int.from_bytes(digest, "big")

    def token(self, prefix: str) -> str:
        _, h = self._next("token:" + prefix)
        return prefix + encode(h, B62, 40)

    def base62(self, kind: str, length: int = 22) -> str:
        _, h = self._next(kind)
        return encode(h, B62, length)

    def number(self, kind: str, start: int) -> int:
        n, _ = self._next(kind)
        return start + n

    def uuid(self, kind: str) -> str:
        _, h = self._next(kind)
        return str(uuid.UUID(int=h >> 128, version=4))

    def youtube(self, kind: str, prefix: str, length: int) -> str:
        _, h = self._next(kind)
        return prefix + encode(h, YT_ALPHABET, length)
