"""The OAuth client registry: per provider its endpoints, scopes and quirks, and the pure steps of the
authorization-code flow (authorization URL, token request, token response, profile response).

Base URLs are the real hosts by default and come from settings, so tests and the native stack point
them at the provider emulator (``https://<host>`` → ``http://127.0.0.1:3199/<host>``).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlencode

from pm_contracts.providers import ProviderName


@dataclass(frozen=True)
class ProviderSpec:
    """What differs between the providers' authorization servers."""

    name: ProviderName
    title: str
    authorize_path: str  # on the authorize base URL
    grant_path: str  # on the token base URL
    scopes: tuple[str, ...]
    scope_separator: str
    pkce: bool  # Deezer has no PKCE
    refreshable: bool  # Deezer has no refresh token (offline_access tokens do not expire)
    revoke_path: str | None = None  # on the token base URL, where the provider offers revocation
    extra_authorize_params: tuple[tuple[str, str], ...] = ()


SPECS: dict[ProviderName, ProviderSpec] = {
    ProviderName.SPOTIFY: ProviderSpec(
        name=ProviderName.SPOTIFY,
        title="Spotify",
        authorize_path="/authorize",
        grant_path="/api/token",
        scopes=(
            "playlist-read-private",
            "playlist-read-collaborative",
            "playlist-modify-public",
            "playlist-modify-private",
            "user-library-read",
            "user-library-modify",
            "user-read-private",
        ),
        scope_separator=" ",
        pkce=True,
        refreshable=True,
    ),
    ProviderName.DEEZER: ProviderSpec(
        name=ProviderName.DEEZER,
        title="Deezer",
        authorize_path="/oauth/auth.php",
        grant_path="/oauth/access_token.php",
        scopes=("basic_access", "email", "offline_access", "manage_library", "delete_library"),
        scope_separator=",",
        pkce=False,
        refreshable=False,
    ),
    ProviderName.TIDAL: ProviderSpec(
        name=ProviderName.TIDAL,
        title="TIDAL",
        authorize_path="/authorize",
        grant_path="/v1/oauth2/token",
        scopes=(
            "user.read",
            "collection.read",
            "collection.write",
            "playlists.read",
            "playlists.write",
            "search.read",
        ),
        scope_separator=" ",
        pkce=True,
        refreshable=True,
    ),
    ProviderName.YOUTUBE: ProviderSpec(
        name=ProviderName.YOUTUBE,
        title="YouTube Music",
        authorize_path="/o/oauth2/v2/auth",
        grant_path="/token",
        scopes=("https://www.googleapis.com/auth/youtube",),
        scope_separator=" ",
        pkce=True,
        refreshable=True,
        revoke_path="/revoke",
        # A refresh token only with offline access; prompt=consent issues one again on re-linking.
        extra_authorize_params=(("access_type", "offline"), ("prompt", "consent")),
    ),
}


@dataclass(frozen=True)
class OAuthClient:
    """One configured client (app) at one provider."""

    spec: ProviderSpec
    client_id: str
    client_secret: str
    redirect_uri: str
    authorize_base: str
    token_base: str
    api_base: str

    @property
    def token_url(self) -> str:
        return self.token_base + self.spec.grant_path

    @property
    def revoke_url(self) -> str | None:
        return self.token_base + self.spec.revoke_path if self.spec.revoke_path else None

    def authorization_url(self, state: str, code_challenge: str | None) -> str:
        """The URL the user's browser opens to consent. ``code_challenge`` is S256 (None for Deezer)."""
        spec = self.spec
        scope = spec.scope_separator.join(spec.scopes)
        params: list[tuple[str, str]]
        if spec.name == ProviderName.DEEZER:
            params = [("app_id", self.client_id), ("redirect_uri", self.redirect_uri), ("perms", scope)]
        else:
            params = [
                ("client_id", self.client_id),
                ("response_type", "code"),
                ("redirect_uri", self.redirect_uri),
                ("scope", scope),
            ]
        params.append(("state", state))
        if spec.pkce:
            if code_challenge is None:
                raise ValueError(f"{spec.name} needs a PKCE code challenge")
            params += [("code_challenge_method", "S256"), ("code_challenge", code_challenge)]
        params += list(spec.extra_authorize_params)
        return f"{self.authorize_base}{spec.authorize_path}?{urlencode(params)}"

    def _basic(self) -> dict[str, str]:
        raw = f"{self.client_id}:{self.client_secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}

    def code_request(self, code: str, code_verifier: str | None) -> TokenRequest:
        """The token request that redeems an authorization code."""
        if self.spec.name == ProviderName.DEEZER:
            query = {"app_id": self.client_id, "secret": self.client_secret, "code": code, "output": "json"}
            return TokenRequest("GET", self.token_url, query=query)
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri}
        if code_verifier is not None:
            form["code_verifier"] = code_verifier
        return self._client_auth(form)

    def refresh_request(self, refresh_token: str) -> TokenRequest:
        if not self.spec.refreshable:
            raise ValueError(f"{self.spec.name} tokens cannot be refreshed")
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return self._client_auth(form)

    def _client_auth(self, form: dict[str, str]) -> TokenRequest:
        # Spotify and TIDAL take HTTP Basic client authentication; Google wants the credentials in the form.
        if self.spec.name == ProviderName.YOUTUBE:
            form = {**form, "client_id": self.client_id, "client_secret": self.client_secret}
            return TokenRequest("POST", self.token_url, form=form)
        if self.spec.name == ProviderName.TIDAL:
            form = {**form, "client_id": self.client_id}
        return TokenRequest("POST", self.token_url, form=form, headers=self._basic())

    def profile_request(self, access_token: str) -> TokenRequest:
        """The one API call that names the linked account."""
        bearer = {"Authorization": f"Bearer {access_token}"}
        match self.spec.name:
            case ProviderName.SPOTIFY:
                return TokenRequest("GET", f"{self.api_base}/v1/me", headers=bearer)
            case ProviderName.DEEZER:
                return TokenRequest("GET", f"{self.api_base}/user/me", query={"access_token": access_token})
            case ProviderName.TIDAL:
                headers = {**bearer, "Accept": "application/vnd.api+json"}
                return TokenRequest("GET", f"{self.api_base}/v2/users/me", headers=headers)
            case ProviderName.YOUTUBE:
                query = {"part": "snippet", "mine": "true"}
                return TokenRequest(
                    "GET", f"{self.api_base}/youtube/v3/channels", headers=bearer, query=query
                )
        raise AssertionError(self.spec.name)


@dataclass(frozen=True)
class TokenRequest:
    method: Literal["GET", "POST"]
    url: str
    form: dict[str, str] | None = None
    query: dict[str, str] | None = None
    headers: dict[str, str] | None = None


@dataclass(frozen=True)
class TokenSet:
    """Tokens as a provider issued them. ``expires_at`` None: the token does not expire."""

    access_token: str
    refresh_token: str | None
    expires_at: datetime | None
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class Profile:
    account_id: str
    display_name: str | None


class TokenError(Exception):
    """The provider refused a token request. ``error`` is the OAuth error code (``invalid_grant``…)."""

    def __init__(self, error: str, description: str = "", status: int | None = None) -> None:
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error
        self.description = description
        self.status = status

    @property
    def needs_reconsent(self) -> bool:
        return self.error == "invalid_grant"


class ProviderResponseError(Exception):
    """The provider answered something we cannot use (not a refusal): transient or a provider bug."""


def parse_token_response(
    spec: ProviderSpec, status: int, body: Any, now: datetime, previous_refresh: str | None = None
) -> TokenSet:
    """Turn a token endpoint's answer into a :class:`TokenSet` or raise :class:`TokenError`.

    A refresh answer without a refresh token keeps ``previous_refresh`` (TIDAL and Google never send one,
    Spotify only when it rotates).
    """
    if not isinstance(body, dict):
        if spec.name == ProviderName.DEEZER and isinstance(body, str) and "wrong code" in body:
            raise TokenError("invalid_grant", body.strip(), status)
        raise ProviderResponseError(f"{spec.name} token endpoint answered {status} without JSON")
    if "error" in body:
        error = body["error"]
        if isinstance(error, dict):  # Deezer's HTTP-200 errors
            raise TokenError("invalid_grant", str(error.get("message", "")), status)
        raise TokenError(str(error), str(body.get("error_description", "")), status)
    if status >= 500:
        raise ProviderResponseError(f"{spec.name} token endpoint answered {status}")
    if status >= 400:
        raise TokenError("invalid_request", f"HTTP {status}", status)
    access = body.get("access_token")
    if not isinstance(access, str) or not access:
        raise ProviderResponseError(f"{spec.name} token response has no access_token")
    lifetime = body.get("expires_in", body.get("expires"))
    expires_at: datetime | None
    try:
        seconds = int(lifetime) if lifetime is not None else None
    except (TypeError, ValueError):
        seconds = None
    expires_at = None if not seconds else now + timedelta(seconds=seconds)  # Deezer: 0 = never
    refresh = body.get("refresh_token")
    if not isinstance(refresh, str) or not refresh:
        refresh = previous_refresh
    raw_scope = body.get("scope")
    scopes = tuple(str(raw_scope).replace(",", " ").split()) if raw_scope else spec.scopes
    return TokenSet(access, refresh, expires_at, scopes)


def parse_profile(spec: ProviderSpec, status: int, body: Any) -> Profile:
    """The account id and display name from the provider's profile answer."""
    if status >= 400 or not isinstance(body, dict) or "error" in body or "errors" in body:
        raise ProviderResponseError(f"{spec.name} profile call failed ({status})")
    match spec.name:
        case ProviderName.SPOTIFY:
            account, name = body.get("id"), body.get("display_name")
        case ProviderName.DEEZER:
            account, name = body.get("id"), body.get("name")
        case ProviderName.TIDAL:
            data = body.get("data") or {}
            account, name = data.get("id"), (data.get("attributes") or {}).get("username")
        case ProviderName.YOUTUBE:
            items = body.get("items") or []
            if not items:
                raise ProviderResponseError("the Google account has no YouTube channel")
            account, name = items[0].get("id"), (items[0].get("snippet") or {}).get("title")
    if account is None or str(account) == "":
        raise ProviderResponseError(f"{spec.name} profile has no account id")
    return Profile(str(account), str(name) if name else None)
