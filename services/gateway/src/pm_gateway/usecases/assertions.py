"""The identity assertions (X-PM-Identity) the gateway sends upstream, reused per session for a while,
and the signing key they use, re-read from IDENTITY_SIGNING_KEY_FILE without a restart."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from pathlib import Path

from loguru import logger

from pm_platform.identity import Identity, IdentityKeys, IdentitySigner
from pm_platform.settings import decode_ed25519_key

# An identity assertion lives 60 s; one is reused for half of that, so a busy session signs one
# assertion per 30 s instead of one per request.
_ASSERTION_REUSE_S = 30.0
_ASSERTION_CACHE_SIZE = 10_000
SIGNING_KEY_SOURCE = "IDENTITY_SIGNING_KEY_FILE"


class IdentityAssertions:
    """X-PM-Identity values, signed with IDENTITY_SIGNING_KEY and reused per session for 30 s."""

    def __init__(self, signer: IdentitySigner) -> None:
        self._signer = signer
        self._cache: OrderedDict[tuple[uuid.UUID, uuid.UUID], tuple[float, str]] = OrderedDict()

    @property
    def kid(self) -> str:
        """The id of the key assertions are signed with now."""
        return self._signer.kid

    def replace_signer(self, signer: IdentitySigner) -> None:
        """Sign with ``signer`` from now on; the reused assertions are dropped, so the next request of
        every session carries one under the new key. Atomic for the event loop."""
        self._signer, self._cache = signer, OrderedDict()

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


async def reload_signing_key(assertions: IdentityAssertions, keys: IdentityKeys, path: str) -> bool:
    """Re-read the signing key from ``path`` (IDENTITY_SIGNING_KEY_FILE) and sign with it, if its public
    key is among the public keys this gateway verifies with now (``keys``: the services hold the same
    list, so they accept what it signs). Otherwise, or when the file is unreadable or invalid, the key in
    use stays and the error is reported in ``keys`` (``/health``). True when the key changed."""
    try:
        text = await asyncio.to_thread(Path(path).read_text, encoding="utf-8")
        signer = IdentitySigner(decode_ed25519_key(text))
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return _refused(assertions, keys, f"{SIGNING_KEY_SOURCE}: cannot use {path}: {reason}")
    if signer.kid not in keys.verifier.key_ids:
        return _refused(
            assertions,
            keys,
            f"{SIGNING_KEY_SOURCE}: its public key (kid {signer.kid}) is not among the identity public "
            f"keys in use ({', '.join(sorted(keys.verifier.key_ids))}): publish it everywhere first",
        )
    keys.report(SIGNING_KEY_SOURCE, None)
    if signer.kid == assertions.kid:
        logger.info("identity signing key re-read (unchanged): {}", signer.kid)
        return False
    previous = assertions.kid
    assertions.replace_signer(signer)
    keys.signing_key_id = signer.kid
    logger.info("identity signing key reloaded: {} (was {})", signer.kid, previous)
    return True


def _refused(assertions: IdentityAssertions, keys: IdentityKeys, error: str) -> bool:
    keys.report(SIGNING_KEY_SOURCE, error)
    logger.error("identity signing key not reloaded, keeping {}: {}", assertions.kid, error)
    return False
