"""Where a user's objects live in the bucket."""

import uuid


def user_prefix(user_id: uuid.UUID) -> str:
    """Every object of a user lives under this prefix (exports, backups), so erasing them is one sweep."""
    return f"users/{user_id}/"
