"""The identity assertions (X-PM-Identity) the gateway sends upstream, reused per session for a while."""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict

from pm_platform.identity import Identity, IdentitySigner

# An identity assertion lives 60 s; one is reused for half of that, so a busy session signs one
# assertion per 30 s instead of one per request.
_ASSERTION_REUSE_S = 30.0
_ASSERTION_CACHE_SIZE = 10_000


class IdentityAssertions:
    """X-PM-Identity values, signed with IDENTITY_SIGNING_KEY and reused per session for 30 s."""

    def __init__(self, signer: IdentitySigner) -> None:
        self._signer = signer
        self._cache: OrderedDict[tuple[uuid.UUID, uuid.UUID], tuple[float, str]] = OrderedDict()

    def for_identity(self, identity: Identity) -> str:
        key = (identity.user_id, identity.session_id)
        now = time.time()
        cached = self._cache.get(key)
        if cached is not None and now - cached[0] < _ASSERTION_REUSE_S:
            return cached[1]
        assertion = self._signer.sign(identity, now)
        self._cache[key] = (now, assertion)
        self._cache.move_to_end(key)
        if len(self._cache) > _ASSERTION_CACHE_SIZE:
            self._cache.popitem(last=False)
        return assertion
