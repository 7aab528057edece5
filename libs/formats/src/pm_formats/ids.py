"""Identifiers every format carries (providers.md B8), checked the one way."""

from __future__ import annotations

import re

# 12 characters: country (2), registrant (3), year (2), designation (5).
_ISRC = re.compile(r"[A-Z]{2}[A-Z0-9]{3}\d{7}")


def clean_isrc(text: str | None) -> str | None:
    """An ISRC upper-case without hyphens or spaces when well-formed, else None (a bad one is dropped)."""
    if text is None:
        return None
    isrc = text.strip().replace("-", "").replace(" ", "").upper()
    return isrc if _ISRC.fullmatch(isrc) else None
