"""The one error type the CLI turns into a single line (no traceback)."""

from __future__ import annotations

from pathlib import Path


class DevstackError(Exception):
    """A failure a user can act on: names the component and, when there is one, its log file."""

    def __init__(self, component: str, message: str, log_path: Path | None = None) -> None:
        super().__init__(message)
        self.component = component
        self.message = message
        self.log_path = log_path

    def one_line(self) -> str:
        line = f"error: {self.component}: {self.message}"
        if self.log_path is not None:
            line += f" (see {self.log_path})"
        return line

    def __str__(self) -> str:
        return self.one_line()
