"""The route table of docs/security.md: which service owns a path, whether it needs a token, its limit."""

import pytest

from pm_gateway.domain.routes import (
    GATEWAY,
    IMPORT_TIMEOUT_S,
    LIBRARY_EDIT_BYTES,
    LIBRARY_EDIT_TIMEOUT_S,
    ROUTES,
    Auth,
    longest_upstream_timeout,
    resolve,
    segments_of,
)


@pytest.mark.parametrize(
    ("path", "service", "auth", "rate"),
    [
        ("/api/v1/auth/register", "auth", Auth.NONE, "auth"),
        ("/api/v1/auth/login", "auth", Auth.NONE, "auth"),
        ("/api/v1/auth/refresh", "auth", Auth.NONE, "general"),
        ("/api/v1/auth/spotify/callback", "auth", Auth.NONE, "general"),
        ("/api/v1/auth/spotify/start", "auth", Auth.NONE, "general"),
        ("/api/v1/auth/logout", "auth", Auth.BEARER, "general"),
        ("/api/v1/auth/spotify/authorize", "auth", Auth.BEARER, "general"),
        ("/api/v1/auth/attempts/8d1f", "auth", Auth.BEARER, "general"),
        ("/api/v1/me", "auth", Auth.BEARER, "general"),
        ("/api/v1/me/password", "auth", Auth.BEARER, "auth"),
        ("/api/v1/sessions", "auth", Auth.BEARER, "general"),
        ("/api/v1/sessions/abc", "auth", Auth.BEARER, "general"),
        ("/api/v1/providers/deezer", "auth", Auth.BEARER, "general"),
        ("/api/v1/playlists/1/tracks", "playlist", Auth.BEARER, "general"),
        ("/api/v1/library", "playlist", Auth.BEARER, "general"),
        ("/api/v1/library/playlists", "playlist", Auth.BEARER, "general"),
        ("/api/v1/library/imports", "provider-sync", Auth.BEARER, "general"),
        ("/api/v1/library/importsx", "playlist", Auth.BEARER, "general"),
        ("/api/v1/transfers", "provider-sync", Auth.BEARER, "general"),
        ("/api/v1/sync/x", "provider-sync", Auth.BEARER, "general"),
        ("/api/v1/exports/1", "export", Auth.BEARER, "general"),
        ("/api/v1/backups", "export", Auth.BEARER, "general"),
        ("/api/v1/catalog/tracks", "enrichment", Auth.BEARER, "general"),
        ("/api/v1/enrichment", "enrichment", Auth.BEARER, "general"),
        ("/api/v1/jobs/7c9e6679", GATEWAY, Auth.BEARER, "general"),
        ("/api/v1/jobs/7c9e6679/events", GATEWAY, Auth.BEARER, "general"),
        ("/.well-known/jwks.json", "auth", Auth.NONE, "general"),
        ("/openapi.json", GATEWAY, Auth.NONE, "none"),
        ("/docs", GATEWAY, Auth.NONE, "none"),
        ("/health", GATEWAY, Auth.NONE, "none"),
        ("/health/ready", GATEWAY, Auth.NONE, "none"),
        ("/metrics", GATEWAY, Auth.NONE, "none"),
    ],
)
def test_public_routes(path, service, auth, rate):
    route = resolve(path)
    assert route is not None, path
    assert (route.service, route.auth, route.rate) == (service, auth, rate)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/api/v1",
        "/api/v1/no-such-route",
        "/api/v1/meow",  # a prefix covers its sub-paths, not longer names
        "/api/v1/playlistsx",
        "/api/v2/me",
        "/internal/provider-tokens/u/spotify",  # internal endpoints are never routed
        "/api/v1/me/../../internal/x",
        "/api/v1/./me",
        "/api/v1//me",
        "/api/v1/me\\..\\internal",
        "/api/v1/jobs",
        "/api/v1/jobs/1/events/more",
        "/metrics/x",
    ],
)
def test_paths_that_are_not_public(path):
    assert resolve(path) is None


def test_one_trailing_slash_is_tolerated():
    assert segments_of("/api/v1/me/") == ["api", "v1", "me"]
    route = resolve("/api/v1/me/")
    assert route is not None
    assert route.service == "auth"


def test_specific_routes_come_before_their_prefixes():
    # Otherwise login would need a token: the first match wins.
    prefixes = [r for r in ROUTES if r.prefix]
    for route in ROUTES:
        for prefix in prefixes:
            if route is not prefix and prefix.matches(list(route.pattern)):
                assert ROUTES.index(route) < ROUTES.index(prefix), (route, prefix)


@pytest.mark.parametrize(
    ("method", "path", "rate"),
    [
        # Every check of a password has the login limits (per IP and per user).
        ("POST", "/api/v1/auth/login", "auth"),
        ("POST", "/api/v1/auth/register", "auth"),
        ("POST", "/api/v1/me/password", "auth"),
        ("DELETE", "/api/v1/me", "auth"),
        # Reading or changing the account otherwise does not.
        ("GET", "/api/v1/me", "general"),
        ("GET", "/api/v1/me/", "general"),
        ("POST", "/api/v1/auth/refresh", "general"),
        ("DELETE", "/api/v1/sessions/abc", "general"),
        ("DELETE", "/api/v1/playlists/1", "general"),
        ("GET", "/health", "none"),
    ],
)
def test_the_rate_class_of_a_request(method, path, rate):
    route = resolve(path)
    assert route is not None
    assert route.rate_for(method) == rate


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/auth/login",
        "/api/v1/auth/register/",
        "/api/v1/auth/refresh",
        "/api/v1/auth/refresh/",
        "/api/v1/auth/spotify/callback",
        "/api/v1/auth/spotify/start",
        "/api/v1/auth/spotify/authorize",
        "/api/v1/me",
        "/api/v1/me/",
        "/api/v1/me/password",
        "/api/v1/me/password/",
        "/api/v1/sessions/0b7f4f5e-2d1c-4d4e-9f64-1a2b3c4d5e6f",
        "/api/v1/providers/spotify",
    ],
)
def test_no_answer_of_auth_is_kept_for_an_idempotency_key(path):
    """auth's answers carry credentials (tokens, binding cookies): never stored, never replayed, whatever
    spelling of the path reaches the gateway (it resolves the decoded path: %61uth is auth)."""
    route = resolve(path)
    assert route is not None and route.service == "auth", path
    assert not route.idempotent, path


@pytest.mark.parametrize("path", ["/api/v1/AUTH/refresh", "/api/v1//auth/refresh", "/api/v1/auth/./refresh"])
def test_other_spellings_of_auth_routes_are_not_routed_at_all(path):
    assert resolve(path) is None


def test_the_other_services_keep_answers_for_an_idempotency_key():
    assert {r.service for r in ROUTES if r.idempotent} == {
        "playlist",
        "provider-sync",
        "export",
        "enrichment",
        GATEWAY,
    }


def test_only_the_gateways_own_routes_are_unlimited():
    assert {r.service for r in ROUTES if r.rate == "none"} == {GATEWAY}
    assert all(r.auth is Auth.NONE for r in ROUTES if r.rate == "none")


def test_the_library_takes_a_whole_playlist_in_one_body_and_the_rest_the_default():
    assert resolve("/api/v1/playlists/x/entries").body_limit(1 << 20) == LIBRARY_EDIT_BYTES
    assert resolve("/api/v1/library/liked").body_limit(1 << 20) == LIBRARY_EDIT_BYTES
    assert resolve("/api/v1/library/imports").body_limit(1 << 20) == 1 << 20
    assert resolve("/api/v1/me").body_limit(1 << 20) == 1 << 20


def test_the_librarys_edits_may_take_longer_than_an_ordinary_call_and_never_less_than_the_default():
    assert resolve("/api/v1/playlists/x/entries").upstream_timeout(10.0) == LIBRARY_EDIT_TIMEOUT_S
    assert resolve("/api/v1/library/liked").upstream_timeout(10.0) == LIBRARY_EDIT_TIMEOUT_S
    assert resolve("/api/v1/library/imports").upstream_timeout(10.0) == 10.0
    assert resolve("/api/v1/me").upstream_timeout(10.0) == 10.0
    # An operator's longer UPSTREAM_TIMEOUT_S holds for the library too.
    assert resolve("/api/v1/playlists/x/entries").upstream_timeout(120.0) == 120.0
    # A playlist file's upload (export's imports) may take longest.
    assert resolve("/api/v1/imports/files").upstream_timeout(10.0) == IMPORT_TIMEOUT_S
    assert longest_upstream_timeout(10.0) == max(LIBRARY_EDIT_TIMEOUT_S, IMPORT_TIMEOUT_S)
    assert longest_upstream_timeout(120.0) == 120.0
