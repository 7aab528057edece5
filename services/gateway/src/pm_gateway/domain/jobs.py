"""Jobs as clients see them: the public view of a snapshot, and its Server-Sent Events framing."""

from __future__ import annotations

import json
from typing import Any

from pm_contracts.jobs import JobUpdated

TERMINAL_STATES = frozenset({"succeeded", "failed", "cancelled"})


def public_job(snapshot: JobUpdated) -> dict[str, Any]:
    """The job resource of the public API (`Job` in proto/openapi.yaml): the snapshot as it is."""
    return snapshot.model_dump(mode="json")


def is_terminal(snapshot: JobUpdated) -> bool:
    return snapshot.state in TERMINAL_STATES


def sse_event(snapshot: JobUpdated) -> bytes:
    """One ``job`` event; its id is the snapshot's time, so a client can tell updates apart."""
    data = json.dumps(public_job(snapshot), separators=(",", ":"))
    return f"event: job\nid: {snapshot.updated_at.isoformat()}\ndata: {data}\n\n".encode()


SSE_HEARTBEAT = b": keep-alive\n\n"
# A stream sends a comment line after this long without news (proxies time out idle connections), and
# ends after MAX_STREAM_S (EventSource reconnects by itself).
HEARTBEAT_S = 15.0
MAX_STREAM_S = 30 * 60.0
