"""Finding source tracks on a target service: the one matching pipeline transfers and syncs use.

:class:`TrackMatcher` decides a page of source tracks at a time, cheapest first: the same service's own
id, the user's own mapping (their picks, ``track_mappings``), the shared match cache (enrichment's
catalog: one batched lookup per page, answering a track, "known absent", or nothing), the target's ISRC
lookup (batched where the target takes several ISRCs; an ISRC hit only when the matcher agrees), then a
search by the normalised title and main artist scored by the matcher (pm_matching).

It collects what the shared catalog should learn (``track.matched`` for a confident automatic match,
``track.not_found`` for a definitive miss): the caller emits them in the transaction that saves the
page's results (:meth:`TrackMatcher.take_events`). A refusal that concerns the whole account, or anything
unexpected, met by one of a page's concurrent searches is held until the page's other results are saved:
:meth:`TrackMatcher.raise_held` raises it then.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Hashable, Sequence
from datetime import UTC, datetime
from typing import Generic, TypeVar

from loguru import logger

from pm_contracts.providers import ProviderName
from pm_contracts.transfers import (
    MAX_ID,
    MAX_TEXT,
    CatalogLookup,
    LookupKey,
    TrackMatched,
    TrackNotFound,
    TrackRef,
)
from pm_matching import ACCEPT_AT, ExplicitPreference, decide, search_terms
from pm_platform.internal import PeerUnavailable
from pm_platform.service import Runtime
from pm_provider_sync.domain.transfers import (
    SourceTrack,
    Status,
    TrackResult,
    candidate_info,
    decided,
    known_absent,
    shareable_miss,
    transferable,
)
from pm_provider_sync.resources import SERVICES
from pm_provider_sync.settings import provider_sync_settings
from pm_provider_sync.storage import transfers as stored
from pm_provider_sync.usecases.provider_calls import patiently
from pm_providers import ProviderAdapter, ProviderTrack
from pm_providers.errors import InvalidRequest, ProviderError
from pm_providers.errors import NotFound as ProviderNotFound

ISRC = re.compile(r"[A-Z]{2}[A-Z0-9]{3}[0-9]{7}")
# Search results scored per track (Spotify's maximum page since February 2026).
SEARCH_RESULTS = 10
# The reason of a track whose search the provider refused (not a miss: nothing was looked at).
REFUSED_SEARCH = "the provider refused the search"

K = TypeVar("K", bound=Hashable)


class TrackMatcher(Generic[K]):
    """Matches source tracks on ``adapter``'s service for one user and one job (``job_id`` names the
    job in the catalog's events). Tracks are keyed by the caller's ``K`` (a position, a pair...)."""

    def __init__(
        self,
        rt: Runtime,
        user_id: uuid.UUID,
        job_id: uuid.UUID,
        adapter: ProviderAdapter,
        preference: ExplicitPreference = ExplicitPreference.SOURCE,
    ) -> None:
        self.rt, self.user_id, self.job_id, self.adapter = rt, user_id, job_id, adapter
        self.target: ProviderName = adapter.name
        self.preference = preference
        self.settings = provider_sync_settings(rt.settings)
        # A refusal that stops the whole job, met by one of a page's concurrent searches.
        self._pending_error: ProviderError | None = None
        self._page_failure: BaseException | None = None
        # The page's confident automatic matches and definitive misses, for the shared catalog.
        self._shared: list[TrackMatched] = []
        self._missed: list[TrackNotFound] = []

    async def match_page(self, page: Sequence[tuple[K, SourceTrack, str]]) -> dict[K, TrackResult]:
        """A result for each ``(key, track, source_key)`` decided (a track left undecided because the
        provider refused the job midway stays out: :meth:`raise_held` says why)."""
        results: dict[K, TrackResult] = {}
        open_: list[tuple[K, SourceTrack, str]] = []
        for key, track, mapping_key in page:
            if not transferable(track):
                results[key] = TrackResult(Status.SKIPPED, reason="no title or artist to look for")
            elif (same := track.id_on(self.target)) is not None:
                results[key] = TrackResult(
                    Status.MATCHED,
                    target_id=same,
                    method="catalog",
                    confidence=1.0,
                    breakdown={"same_service": 1.0},
                )
            else:
                open_.append((key, track, mapping_key))
        async with self.rt.pool.acquire() as conn:
            own = await stored.mappings(conn, self.user_id, self.target.value, [m for *_, m in open_])
        rest: list[tuple[K, SourceTrack]] = []
        for key, track, mapping_key in open_:
            if mapping_key in own:
                chosen = own[mapping_key]
                results[key] = (
                    TrackResult(Status.MATCHED, target_id=chosen, method="mapping", confidence=1.0)
                    if chosen is not None
                    else TrackResult(
                        Status.SKIPPED, method="mapping", reason="you chose never to match this track"
                    )
                )
            else:
                rest.append((key, track))
        rest = await self._from_catalog(rest, results)
        isrc_candidates = await self._by_isrc(rest, results)
        rest = [r for r in rest if r[0] not in results]
        await self._by_search(rest, isrc_candidates, results)
        return results

    def take_events(self) -> tuple[list[TrackMatched], list[TrackNotFound]]:
        """The page's events for the shared catalog (emit them with the page's results)."""
        matched, self._shared = self._shared, []
        missed, self._missed = self._missed, []
        return matched, missed

    def raise_held(self) -> None:
        """Raise what stopped the page (an unexpected failure first, then the provider's refusal)."""
        if self._page_failure is not None:
            failure, self._page_failure = self._page_failure, None
            raise failure
        if self._pending_error is not None:
            error, self._pending_error = self._pending_error, None
            raise error

    async def _from_catalog(
        self, rest: list[tuple[K, SourceTrack]], results: dict[K, TrackResult]
    ) -> list[tuple[K, SourceTrack]]:
        keys = []
        for _, track in rest:
            ref = track.ref()
            keys.append(
                LookupKey(
                    provider=ref[0] if ref else None,
                    provider_track_id=ref[1] if ref else None,
                    isrc=track.isrc,
                )
            )
        # The shared catalog holds the source's own version: a user preferring explicit or clean searches.
        if not keys or self.preference is not ExplicitPreference.SOURCE:
            return rest
        try:
            lookup = await self.rt[SERVICES].catalog_lookup(CatalogLookup(target=self.target, tracks=keys))
        except PeerUnavailable as error:  # only a cache: the tracks are looked for on the target instead
            logger.warning("job {}: the shared catalog did not answer ({}); searching", self.job_id, error)
            return rest
        left = []
        for (key, track), hit, absent_since in zip(rest, lookup.hits, lookup.absent, strict=True):
            if hit is not None and hit.via == "id":
                results[key] = TrackResult(
                    Status.MATCHED,
                    target_id=hit.provider_track_id,
                    method="catalog",
                    confidence=1.0,
                    breakdown={"catalog": 1.0},
                )
            elif hit is None and absent_since is not None:
                # Nobody's ISRC lookup or search found it there lately: neither is made again.
                results[key] = known_absent(self.target, absent_since)
            else:
                left.append((key, track))
        return left

    async def _by_isrc(
        self, rest: list[tuple[K, SourceTrack]], results: dict[K, TrackResult]
    ) -> dict[K, list[ProviderTrack]]:
        """The ISRC lookup of the tracks that have one; an accepted hit is a match, the others are kept
        as candidates for the search's scoring."""
        # A malformed ISRC ("USRC1,7607839") is no ISRC: sent, it would break a whole batch's lookup.
        with_isrc = [r for r in rest if r[1].isrc and ISRC.fullmatch(r[1].isrc.strip().upper())]
        if not with_isrc or self.target is ProviderName.YOUTUBE:
            return {}
        found = await patiently(lambda: self.adapter.search_isrcs([r[1].isrc or "" for r in with_isrc]))
        kept: dict[K, list[ProviderTrack]] = {}
        for key, track in with_isrc:
            candidates = [c for c in found.get((track.isrc or "").strip().upper(), []) if c.id]
            if not candidates:
                continue
            decision = decide(
                track.info(),
                [candidate_info(c) for c in candidates],
                preference=self.preference,
                isrc_hits=range(len(candidates)),
            )
            if decision.chosen is not None:
                result = decided(decision, candidates, "isrc")
                results[key] = result
                self._share(track, candidates[decision.chosen], result)
            else:
                kept[key] = candidates
        return kept

    def _share(self, track: SourceTrack, chosen: ProviderTrack, result: TrackResult) -> None:
        """A confident automatic match of a track with a provider id goes to the shared catalog."""
        ref = track.ref()
        if ref is None or result.status is not Status.MATCHED or chosen.id is None:
            return
        if (result.confidence or 0.0) < ACCEPT_AT or result.method not in ("isrc", "search"):
            return
        if self.preference is not ExplicitPreference.SOURCE:
            return  # a version chosen for this user's taste is not the source's recording
        self._shared.append(
            TrackMatched(
                job_id=self.job_id,
                source=TrackRef(provider=ref[0], provider_track_id=ref[1]),
                source_isrc=track.isrc,
                target=TrackRef(provider=self.target, provider_track_id=chosen.id),
                target_isrc=chosen.isrc,
                title=track.title[:500],
                artists=list(track.artists[:50]),
                duration_ms=track.duration_ms,
                method="isrc" if result.method == "isrc" else "search",
                confidence=min(max(result.confidence or 0.0, 0.0), 1.0),
                matched_at=datetime.now(UTC),
            )
        )

    async def _by_search(
        self,
        rest: list[tuple[K, SourceTrack]],
        isrc_candidates: dict[K, list[ProviderTrack]],
        results: dict[K, TrackResult],
    ) -> None:
        """Search the target for each track left; the matcher scores the results together with the
        track's ISRC lookup's candidates."""
        slots = asyncio.Semaphore(self.settings.transfer_search_concurrency)
        limit = min(SEARCH_RESULTS, self.adapter.limits.search_page)

        async def one(key: K, track: SourceTrack) -> None:
            terms = search_terms(track.info())
            async with slots:
                if self._pending_error is not None:
                    return  # the provider refused for the whole job: leave the rest undecided
                try:
                    found = await patiently(
                        lambda: self.adapter.search_tracks(
                            title=terms.title, artist=terms.artist or None, limit=limit
                        )
                    )
                except (InvalidRequest, ProviderNotFound) as error:
                    results[key] = TrackResult(
                        Status.NOT_MATCHED, reason=f"{REFUSED_SEARCH}: {error.message}"[:500]
                    )
                    return
                except ProviderError as error:
                    self._pending_error = self._pending_error or error
                    return
            known = isrc_candidates.get(key, [])
            seen = {c.id for c in known}
            candidates = known + [c for c in found if c.id and c.id not in seen]
            decision = decide(
                track.info(),
                [candidate_info(c) for c in candidates],
                preference=self.preference,
                isrc_hits=range(len(known)),
            )
            result = decided(decision, candidates, "search")
            results[key] = result
            if decision.chosen is not None:
                self._share(track, candidates[decision.chosen], result)
            elif shareable_miss(track, decision, self.preference):
                self._share_miss(track)

        outcomes = await asyncio.gather(*(one(k, t) for k, t in rest), return_exceptions=True)
        # Anything unexpected ends the job once the page's other results are saved.
        self._page_failure = next((o for o in outcomes if isinstance(o, BaseException)), None)

    def _share_miss(self, track: SourceTrack) -> None:
        """A definitive miss (:func:`shareable_miss`) goes to the shared catalog."""
        ref = track.ref()
        if ref is None or len(ref[1]) > MAX_ID:
            return  # no id the catalog could key the miss by
        isrc = (track.isrc or "").strip().upper()
        duration = track.duration_ms
        self._missed.append(
            TrackNotFound(
                job_id=self.job_id,
                source=TrackRef(provider=ref[0], provider_track_id=ref[1]),
                # A malformed ISRC is no ISRC (the lookup did not send it either).
                source_isrc=isrc if ISRC.fullmatch(isrc) else None,
                target=self.target,
                title=track.title[:MAX_TEXT],
                artists=list(track.artists[:50]),
                duration_ms=duration if duration is not None and duration >= 0 else None,
                searched_at=datetime.now(UTC),
            )
        )
