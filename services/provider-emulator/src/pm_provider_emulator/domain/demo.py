"""The demo users started with ``make up``: one per provider, libraries built from real playlists.

Pure planning: returns what to create; ``storage.state.Store.apply_demo`` creates it. Everything is
derived from the catalogs and fixed constants, so ids, tokens and contents are the same on every start.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pm_provider_emulator.domain.catalog import Catalogs, RealPlaylist

# 2026-01-15T10:00:00Z: the demo libraries' "now"; items were added before it.
DEMO_EPOCH = 1_768_471_200.0
DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class DemoAccount:
    provider: str
    user_id: str
    name: str
    email: str
    country: str
    access_token: str
    refresh_token: str | None
    scopes: tuple[str, ...]
    client_id: str


DEMO_ACCOUNTS: dict[str, DemoAccount] = {
    "spotify": DemoAccount(
        "spotify",
        "pmdemo.spotify",
        "PM Demo (Spotify)",
        "demo.spotify@example.org",
        "GB",
        "demo-spotify-access-token",
        "demo-spotify-refresh-token",
        (
            "playlist-read-private",
            "playlist-read-collaborative",
            "playlist-modify-public",
            "playlist-modify-private",
            "user-library-read",
            "user-library-modify",
            "user-read-private",
            "user-read-email",
        ),
        "pm-dev-spotify",
    ),
    "deezer": DemoAccount(
        "deezer",
        "5000000001",
        "pmdemo-deezer",
        "demo.deezer@example.org",
        "FR",
        "demo-deezer-access-token",
        None,
        ("basic_access", "email", "offline_access", "manage_library", "delete_library"),
        "pm-dev-deezer",
    ),
    "tidal": DemoAccount(
        "tidal",
        "190000001",
        "pmdemo-tidal",
        "demo.tidal@example.org",
        "US",
        "demo-tidal-access-token",
        "demo-tidal-refresh-token",
        (
            "user.read",
            "collection.read",
            "collection.write",
            "playlists.read",
            "playlists.write",
            "search.read",
        ),
        "pm-dev-tidal",
    ),
    "youtube": DemoAccount(
        "youtube",
        "UCpmdemoYouTube000000001",
        "PM Demo (YouTube)",
        "demo.youtube@example.org",
        "US",
        "ya29.demo-youtube-access-token",
        "1//demo-youtube-refresh-token",
        ("https://www.googleapis.com/auth/youtube",),
        "pm-dev-youtube.apps.googleusercontent.com",
    ),
}

# Indexes into Catalogs.playlists (the real playlists, in the derivation's seeded order).
OWN_PLAYLISTS = {
    "spotify": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    "deezer": [0, 1, 11, 12, 13, 14, 15, 16],
    "tidal": [0, 17, 18, 19, 20, 21],
    "youtube": [1, 22, 23, 24, 25, 26],
}
FOLLOWED_PLAYLIST = {"spotify": 10}
LIKED_FROM = {
    "spotify": (30, 34, 38, 42),
    "deezer": (31, 35, 39, 43, 44),
    "tidal": (32, 36, 40, 44),
    "youtube": (33, 37, 41, 45),
}
LIKED_COUNT = 150


@dataclass(slots=True)
class DemoPlaylist:
    name: str
    description: str
    public: bool
    tracks: list[str]  # provider track ids, in order
    added_at: list[float]
    owner_is_user: bool = True
    source_id: str = ""


@dataclass(slots=True)
class DemoLibrary:
    account: DemoAccount
    playlists: list[DemoPlaylist] = field(default_factory=list)
    liked: list[str] = field(default_factory=list)  # newest first
    liked_added_at: list[float] = field(default_factory=list)


def provider_ids(catalogs: Catalogs, provider: str, spotify_ids: tuple[str, ...] | list[str]) -> list[str]:
    """The provider's versions of ``spotify_ids`` (missing ones dropped; Deezer also dedupes)."""
    out: list[str] = []
    for sid in spotify_ids:
        if provider == "spotify":
            out.append(sid)
        elif provider == "deezer":
            if (d := catalogs.deezer_by_src.get(sid)) is not None and str(d.id) not in out:
                out.append(str(d.id))
        elif provider == "tidal" and (t := catalogs.tidal_by_src.get(sid)) is not None:
            out.append(t.id)
        elif provider == "youtube" and (y := catalogs.youtube_by_src.get(sid)) is not None:
            out.append(y.id)
    return out


def _times(seed_index: int, n: int) -> list[float]:
    start = DEMO_EPOCH - (400 - seed_index * 7) * DAY
    return [start + i * 3_600.0 + (i * 37 % 600) for i in range(n)]


def _playlist(catalogs: Catalogs, provider: str, idx: int, real: RealPlaylist) -> DemoPlaylist:
    ids = provider_ids(catalogs, provider, real.tracks)
    return DemoPlaylist(
        name=real.name,
        description=f"{real.subgenre.title()} ({real.genre})" if idx % 3 else "",
        public=idx % 2 == 0,
        tracks=ids,
        added_at=_times(idx, len(ids)),
        source_id=real.id,
    )


def plan_demo(catalogs: Catalogs, provider: str) -> DemoLibrary:
    account = DEMO_ACCOUNTS[provider]
    lib = DemoLibrary(account=account)
    for idx in OWN_PLAYLISTS[provider]:
        lib.playlists.append(_playlist(catalogs, provider, idx, catalogs.playlists[idx]))
    if provider in FOLLOWED_PLAYLIST:
        idx = FOLLOWED_PLAYLIST[provider]
        followed = _playlist(catalogs, provider, idx, catalogs.playlists[idx])
        followed.owner_is_user = False
        followed.public = True
        lib.playlists.append(followed)
    liked_src = [t for idx in LIKED_FROM[provider] for t in catalogs.playlists[idx].tracks]
    liked: list[str] = []
    for pid in provider_ids(catalogs, provider, liked_src):
        if pid not in liked:
            liked.append(pid)
    liked = liked[:LIKED_COUNT]
    times = _times(LIKED_FROM[provider][0], len(liked))
    lib.liked = list(reversed(liked))
    lib.liked_added_at = list(reversed(times))
    return lib
