"""The one error type the CLI turns into a single line and exit code 2."""

from __future__ import annotations


class AdminError(Exception):
    """A failure the operator can act on; its message is one line."""
