"""Background tasks: the one way to stop them."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` (if any, and not done) and wait until it has really stopped, so what it holds
    (connections, subscriptions) is released before the caller goes on. Its cancellation is not
    re-raised; the caller's own cancellation is."""
    if task is None or task.done():
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
