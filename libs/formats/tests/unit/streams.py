"""A file made on demand, for the tests that read 100,000 entries: its bytes come from a generator as
they are read, so reading it never holds the whole file, and the test sees how far the reader got."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any


class GeneratedStream(io.RawIOBase):
    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""
        self.chunks_read = 0
        self.exhausted = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                self.exhausted = True
                return 0
            self.chunks_read += 1
            self._pending = chunk
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size
