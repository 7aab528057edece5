"""Idempotency-Key on POST: the first request with a key claims it and its outcome is kept; a request
repeating the key gets that outcome replayed (409 while the first is still in flight, 422 when it
comes with another body). domain/idempotency.py decides, storage/idempotency.py keeps the records."""

from __future__ import annotations

from dataclasses import dataclass

from pm_gateway.domain import idempotency
from pm_gateway.domain.idempotency import Record, StoredResponse
from pm_gateway.storage.idempotency import IdempotencyStore
from pm_platform.errors import Conflict, Problem


@dataclass(frozen=True)
class Claim:
    """This request holds the key: it must ``finish`` or ``release`` it."""

    storage_id: str
    fingerprint: str


class IdempotentRequests:
    def __init__(self, store: IdempotencyStore) -> None:
        self._store = store

    async def claim(
        self, scope: str, method: str, path: str, key: str, body: bytes
    ) -> Claim | StoredResponse:
        """Claim ``key`` (scoped to who sent it, the method and the path) for this request, or the
        stored response to replay. Problem 422 when the key was used with another body, Conflict 409
        while the request that claimed it is still being processed."""
        storage_id = idempotency.storage_id(scope, method, path, key)
        fingerprint = idempotency.fingerprint(body)
        existing = await self._store.claim(storage_id, fingerprint)
        if existing is None:
            return Claim(storage_id, fingerprint)
        if existing.fingerprint != fingerprint:
            raise Problem(
                f"this {idempotency.HEADER} was used with another request body",
                status=422,
                code="idempotency-key-reused",
                title="Idempotency key reused",
            )
        if existing.response is None:
            raise Conflict(
                f"a request with this {idempotency.HEADER} is still being processed",
                headers={"Retry-After": "1"},
            )
        return existing.response

    async def finish(
        self, claim: Claim, status: int, headers: list[tuple[str, str]], body: bytes | None
    ) -> None:
        """Keep the outcome for replays when it is worth keeping (a whole body, not a failure the client
        should retry) and safe to keep (it hands out no credential: those never go to Redis); otherwise
        free the key, so a retry with it is sent on as if it had none."""
        if (
            body is not None
            and idempotency.worth_storing(status)
            and not idempotency.carries_credentials(headers, body)
        ):
            stored = StoredResponse(status, idempotency.replayable_headers(headers), body)
            await self._store.complete(claim.storage_id, Record(claim.fingerprint, stored))
        else:
            await self._store.release(claim.storage_id)

    async def release(self, claim: Claim) -> None:
        """The request failed before it had an outcome: the client may retry with the same key."""
        await self._store.release(claim.storage_id)
