"""What every endpoint of auth's API has on top of the platform's (pm_platform.api): request bodies are
small, and answers are never cached (they carry tokens and personal data: ``NO_STORE``)."""

from __future__ import annotations

# Small bodies only: anything larger is refused with 413 before it is parsed.
MAX_BODY_BYTES = 16 * 1024
