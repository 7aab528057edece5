"""In-memory state: users, libraries, playlists, OAuth clients/codes/tokens, call counts.

Everything here is mutated from aiohttp handlers on one event loop, never across an ``await``, so
each handler's change is atomic. :meth:`Store.reset` drops everything; the app then re-seeds the
demo users (``app.seed_state``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pm_provider_emulator.domain.clock import Clock
from pm_provider_emulator.domain.demo import DemoLibrary
from pm_provider_emulator.domain.ids import IdGenerator
from pm_provider_emulator.domain.oauth import AccessToken, AuthCode, Client, RefreshToken

PROVIDERS = ("spotify", "deezer", "tidal", "youtube")
HISTORY_VERSIONS = 20


@dataclass(slots=True)
class Entry:
    """One playlist or library entry: the provider's track id plus when and by whom it was added."""

    track_id: str
    added_at: float
    added_by: str | None
    item_id: str  # stable per entry: TIDAL itemId, YouTube playlistItem id


@dataclass(slots=True)
class Playlist:
    provider: str
    id: str
    owner_id: str
    owner_name: str
    name: str
    description: str
    public: bool
    created_at: float
    modified_at: float
    collaborative: bool = False
    unlisted: bool = False
    entries: list[Entry] = field(default_factory=list)
    version: int = 1
    is_loved: bool = False
    followers: int = 0
    deleted: bool = False
    previous: list[Entry] | None = None
    history: dict[int, list[Entry]] = field(default_factory=dict)

    def touch(self, now: float) -> None:
        """Record the version being left (for snapshot-relative positions), then start a new one."""
        self.history[self.version] = self.previous if self.previous is not None else list(self.entries)
        for old in sorted(self.history)[:-HISTORY_VERSIONS]:
            del self.history[old]
        self.previous = None
        self.version += 1
        # Strictly later than the last change, to the millisecond, as a provider's modification
        # times are: two changes in one millisecond (or under the manual clock) still differ.
        self.modified_at = max(now, self.modified_at + 0.001)

    def remember(self) -> None:
        """Call before changing ``entries``: keeps the current order for :meth:`touch` to record."""
        self.previous = list(self.entries)

    def entries_at(self, version: int) -> list[Entry] | None:
        """The entries as they were at ``version`` (the last 20 versions), or ``None``."""
        if version == self.version:
            return self.entries
        return self.history.get(version)


@dataclass(slots=True)
class User:
    provider: str
    id: str
    name: str
    email: str
    country: str
    created_at: float
    playlist_ids: list[str] = field(default_factory=list)  # library order: newest first
    liked: list[Entry] = field(default_factory=list)  # newest first
    loved_playlist_id: str | None = None  # Deezer's "Loved tracks" playlist


@dataclass(slots=True)
class IdempotentResult:
    fingerprint: str
    status: int
    body: Any
    at: float


class Store:
    def __init__(self, ids: IdGenerator, clock: Clock) -> None:
        self.ids = ids
        self.clock = clock
        self.users: dict[str, dict[str, User]] = {p: {} for p in PROVIDERS}
        self.playlists: dict[str, dict[str, Playlist]] = {p: {} for p in PROVIDERS}
        self.clients: dict[tuple[str, str], Client] = {}
        self.codes: dict[str, AuthCode] = {}
        self.tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.calls: Counter[str] = Counter()
        self.idempotency: dict[tuple[str, str], IdempotentResult] = {}

    def reset(self) -> None:
        self.ids.reset()
        for p in PROVIDERS:
            self.users[p].clear()
            self.playlists[p].clear()
        self.clients.clear()
        self.codes.clear()
        self.tokens.clear()
        self.refresh_tokens.clear()
        self.calls.clear()
        self.idempotency.clear()

    # ------------------------------------------------------------------ ids

    def new_user_id(self, provider: str) -> str:
        if provider == "spotify":
            return self.ids.base62("spotify-user", 28).lower()
        if provider == "deezer":
            return str(self.ids.number("deezer-user", 5_100_000_000))
        if provider == "tidal":
            return str(self.ids.number("tidal-user", 191_000_000))
        return self.ids.youtube("youtube-channel", "UC", 22)

    def new_playlist_id(self, provider: str) -> str:
        if provider == "spotify":
            return self.ids.base62("spotify-playlist")
        if provider == "deezer":
            return str(self.ids.number("deezer-playlist", 13_000_000_000))
        if provider == "tidal":
            return self.ids.uuid("tidal-playlist")
        return self.ids.youtube("youtube-playlist", "PL", 32)

    def new_item_id(self, provider: str) -> str:
        if provider == "youtube":
            return self.ids.youtube("youtube-item", "", 48)
        if provider == "tidal":
            return self.ids.uuid("tidal-item")
        return self.ids.base62(provider + "-item", 16)

    def entry(self, provider: str, track_id: str, added_at: float, added_by: str | None) -> Entry:
        return Entry(track_id, added_at, added_by, self.new_item_id(provider))

    # ------------------------------------------------------------------ users and playlists

    def create_user(
        self,
        provider: str,
        *,
        user_id: str | None = None,
        name: str | None = None,
        email: str | None = None,
        country: str = "US",
    ) -> User:
        uid = user_id or self.new_user_id(provider)
        if uid in self.users[provider]:
            raise ValueError(f"{provider} user {uid} exists")
        user = User(
            provider=provider,
            id=uid,
            name=name or f"user-{uid[-6:]}",
            email=email or f"{uid.lower()}@example.org",
            country=country,
            created_at=self.clock.now(),
        )
        self.users[provider][uid] = user
        if provider == "deezer":
            loved = self.create_playlist(provider, user, "Loved Tracks", public=False, in_library=False)
            loved.is_loved = True
            user.loved_playlist_id = loved.id
        return user

    def user(self, provider: str, user_id: str | None) -> User | None:
        return self.users[provider].get(user_id) if user_id is not None else None

    def create_playlist(
        self,
        provider: str,
        owner: User,
        name: str,
        *,
        description: str = "",
        public: bool = True,
        collaborative: bool = False,
        unlisted: bool = False,
        in_library: bool = True,
        playlist_id: str | None = None,
    ) -> Playlist:
        now = self.clock.now()
        pl = Playlist(
            provider=provider,
            id=playlist_id or self.new_playlist_id(provider),
            owner_id=owner.id,
            owner_name=owner.name,
            name=name,
            description=description,
            public=public,
            collaborative=collaborative,
            unlisted=unlisted,
            created_at=now,
            modified_at=now,
        )
        self.playlists[provider][pl.id] = pl
        if in_library:
            owner.playlist_ids.insert(0, pl.id)
        return pl

    def playlist(self, provider: str, playlist_id: str) -> Playlist | None:
        pl = self.playlists[provider].get(playlist_id)
        return None if pl is None or pl.deleted else pl

    def library_playlists(self, user: User) -> list[Playlist]:
        out = []
        for pid in user.playlist_ids:
            pl = self.playlist(user.provider, pid)
            if pl is not None:
                out.append(pl)
        return out

    def remove_from_library(self, user: User, playlist_id: str) -> bool:
        """Unfollow; an owner's unfollow deletes the playlist for everyone (as the services do)."""
        if playlist_id not in user.playlist_ids:
            return False
        user.playlist_ids.remove(playlist_id)
        pl = self.playlists[user.provider].get(playlist_id)
        if pl is not None and pl.owner_id == user.id:
            pl.deleted = True
        return True

    # ------------------------------------------------------------------ OAuth

    def add_client(self, client: Client) -> None:
        self.clients[(client.provider, client.client_id)] = client

    def client(self, provider: str, client_id: str | None) -> Client | None:
        return self.clients.get((provider, client_id or ""))

    def issue_code(self, code: AuthCode) -> None:
        self.codes[code.code] = code

    def issue_access_token(
        self,
        provider: str,
        client_id: str,
        user_id: str | None,
        scopes: tuple[str, ...] | frozenset[str],
        ttl: float | None,
        token: str | None = None,
    ) -> AccessToken:
        tok = AccessToken(
            token=token or self.ids.token(_TOKEN_PREFIX[provider]),
            provider=provider,
            client_id=client_id,
            user_id=user_id,
            scopes=frozenset(scopes),
            expires_at=None if ttl is None else self.clock.now() + ttl,
        )
        self.tokens[tok.token] = tok
        return tok

    def issue_refresh_token(
        self,
        provider: str,
        client_id: str,
        user_id: str,
        scopes: tuple[str, ...],
        *,
        lifetime: float | None,
        rotates: bool,
        consented_at: float | None = None,
        token: str | None = None,
    ) -> RefreshToken:
        consented = self.clock.now() if consented_at is None else consented_at
        tok = RefreshToken(
            token=token or self.ids.token(_REFRESH_PREFIX[provider]),
            provider=provider,
            client_id=client_id,
            user_id=user_id,
            scopes=scopes,
            consented_at=consented,
            expires_at=None if lifetime is None else consented + lifetime,
            rotates=rotates,
        )
        self.refresh_tokens[tok.token] = tok
        return tok

    def revoke_access(self, provider: str, client_id: str, user_id: str) -> int:
        """The user removes an app's access at the provider (Spotify: account → Apps → Remove access):
        every access and refresh token of that app for that user stops working. Returns how many."""

        def granted(t: AccessToken | RefreshToken) -> bool:
            return (t.provider, t.client_id, t.user_id) == (provider, client_id, user_id)

        access = [k for k, t in self.tokens.items() if granted(t)]
        refresh = [k for k, t in self.refresh_tokens.items() if granted(t)]
        for k in access:
            del self.tokens[k]
        for k in refresh:
            del self.refresh_tokens[k]
        return len(access) + len(refresh)

    def access_token(self, provider: str, token: str | None) -> AccessToken | None:
        tok = self.tokens.get(token or "")
        return tok if tok is not None and tok.provider == provider else None

    # ------------------------------------------------------------------ demo

    def apply_demo(
        self, lib: DemoLibrary, *, access_ttl: float | None, refresh_lifetime: float | None
    ) -> User:
        acc = lib.account
        user = self.create_user(
            acc.provider, user_id=acc.user_id, name=acc.name, email=acc.email, country=acc.country
        )
        for demo_pl in reversed(lib.playlists):
            owner = user
            if not demo_pl.owner_is_user:
                owner = self.users[acc.provider].get("spotify") or self.create_user(
                    acc.provider, user_id="spotify", name="Spotify", country="SE"
                )
            pl = self.create_playlist(
                acc.provider,
                owner,
                demo_pl.name,
                description=demo_pl.description,
                public=demo_pl.public,
                in_library=False,
                playlist_id=demo_pl.source_id if not demo_pl.owner_is_user else None,
            )
            pl.entries = [
                self.entry(acc.provider, tid, at, owner.id)
                for tid, at in zip(demo_pl.tracks, demo_pl.added_at, strict=True)
            ]
            if demo_pl.added_at:
                pl.created_at = demo_pl.added_at[0] - 3_600
                pl.modified_at = demo_pl.added_at[-1]
            pl.followers = 0 if demo_pl.owner_is_user else 123_456
            user.playlist_ids.insert(0, pl.id)
        user.liked = [
            self.entry(acc.provider, tid, at, user.id)
            for tid, at in zip(lib.liked, lib.liked_added_at, strict=True)
        ]
        if user.loved_playlist_id is not None:
            loved = self.playlists[acc.provider][user.loved_playlist_id]
            loved.entries = list(user.liked)
        self.issue_access_token(
            acc.provider, acc.client_id, user.id, acc.scopes, access_ttl, token=acc.access_token
        )
        if acc.refresh_token is not None:
            self.issue_refresh_token(
                acc.provider,
                acc.client_id,
                user.id,
                acc.scopes,
                lifetime=refresh_lifetime,
                rotates=False,
                token=acc.refresh_token,
            )
        return user


_TOKEN_PREFIX = {"spotify": "BQ", "deezer": "fr", "tidal": "eyJ", "youtube": "ya29."}
_REFRESH_PREFIX = {"spotify": "AQ", "deezer": "dz", "tidal": "eyJr", "youtube": "1//"}
