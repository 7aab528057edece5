"""The one error a reader raises for a file it cannot read: a one-line message, with the line where that
helps. Anything else escaping a reader is a bug (the fuzz tests hold every reader to this)."""

from __future__ import annotations


class FormatError(ValueError):
    def __init__(self, message: str, line: int | None = None) -> None:
        self.message = message
        self.line = line
        super().__init__(f"line {line}: {message}" if line is not None else message)
