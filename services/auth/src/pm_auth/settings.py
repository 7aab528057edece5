"""Settings of the auth service, built once at start-up (the master keys may be re-read: see
usecases/keys.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationInfo, field_validator

from pm_auth.domain.oauth_clients import SPECS, OAuthClient
from pm_auth.domain.throttle import ThrottlePolicy
from pm_contracts.providers import PROVIDERS, ProviderName
from pm_platform.settings import BaseServiceSettings, InfraSettings, check_jwt_secret, decode_master_key
from pm_providers.settings import ProviderHostSettings


class MasterKeySettings(BaseServiceSettings):
    """MASTER_KEY and MASTER_KEY_PREVIOUS alone: what a running auth re-reads on SIGHUP.

    An empty MASTER_KEY_PREVIOUS (e.g. an emptied secret file) means "no previous key". The paths of
    their ``_FILE`` forms are kept too: the running service watches those files for changes.
    """

    master_key: SecretStr = Field(alias="MASTER_KEY")
    master_key_previous: SecretStr | None = Field(default=None, alias="MASTER_KEY_PREVIOUS")
    master_key_file: str | None = Field(default=None, alias="MASTER_KEY_FILE")
    master_key_previous_file: str | None = Field(default=None, alias="MASTER_KEY_PREVIOUS_FILE")

    @property
    def master_key_files(self) -> list[str]:
        """The key files named by MASTER_KEY_FILE and MASTER_KEY_PREVIOUS_FILE (none, one or both)."""
        return [p for p in (self.master_key_file, self.master_key_previous_file) if p]

    @field_validator("master_key_previous", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        if isinstance(value, SecretStr) and not value.get_secret_value().strip():
            return None
        return value

    @field_validator("master_key", "master_key_previous")
    @classmethod
    def _aes_256_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            decode_master_key(value.get_secret_value().strip())
        return value


class AuthSettings(InfraSettings, MasterKeySettings, ProviderHostSettings):
    """Settings of the auth service: the shared ones, the keys that protect tokens, the OAuth clients.

    The providers' hosts and PROVIDER_TIMEOUT_S (one exchange with a provider) are the project's one
    declaration of them, :class:`~pm_providers.settings.ProviderHostSettings`.
    """

    jwt_secret: SecretStr = Field(alias="JWT_SECRET")
    # EdDSA (Ed25519 keys kept in the schema) by default; HS256 with JWT_SECRET only as a fallback.
    jws_alg: Literal["EdDSA", "HS256"] = Field(default="EdDSA", alias="AUTH_TOKEN_ALG")
    api_base_url: str = Field(default="http://127.0.0.1:3101", alias="API_BASE_URL")
    cors_origins: str = Field(default="", alias="CORS_ORIGINS")
    access_token_ttl_s: int = Field(default=900, alias="ACCESS_TOKEN_TTL_S", ge=60, le=3600)
    # How often MASTER_KEY_FILE / MASTER_KEY_PREVIOUS_FILE are looked at for changes: the chassis's
    # SECRET_FILE_WATCH_INTERVAL_S (InfraSettings), which MASTER_KEY_WATCH_INTERVAL_S still sets.
    # Ended sessions (revoked or expired) are kept this long, then purged with their refresh tokens
    # (a live session keeps every token it used: one presented again revokes it, reuse detection).
    session_retention_days: int = Field(default=30, alias="SESSION_RETENTION_DAYS", ge=1, le=3650)
    # How often each replica runs the purge; 0 turns it off.
    session_purge_interval_s: float = Field(default=3600.0, alias="SESSION_PURGE_INTERVAL_S", ge=0)
    # Per-account throttling of password checks (domain/throttle.py): this many attempts on one account
    # go through at once; each further one makes the next wait the base delay, doubling each time, at
    # most the max delay; the count is forgotten a window after the last attempt. A client that proved
    # the password is recognised this many days (0: never), and counted apart from the others.
    login_throttle_free_attempts: int = Field(default=5, alias="LOGIN_THROTTLE_FREE_ATTEMPTS", ge=1, le=100)
    login_throttle_base_delay_s: float = Field(default=1.0, alias="LOGIN_THROTTLE_BASE_DELAY_S", gt=0, le=60)
    login_throttle_max_delay_s: float = Field(
        default=300.0, alias="LOGIN_THROTTLE_MAX_DELAY_S", ge=1, le=3600
    )
    login_throttle_window_s: float = Field(default=900.0, alias="LOGIN_THROTTLE_WINDOW_S", ge=60, le=86400)
    login_throttle_known_client_days: int = Field(
        default=30, alias="LOGIN_THROTTLE_KNOWN_CLIENT_DAYS", ge=0, le=365
    )

    spotify_client_id: str = Field(default="", alias="SPOTIFY_CLIENT_ID")
    spotify_client_secret: SecretStr = Field(default=SecretStr(""), alias="SPOTIFY_CLIENT_SECRET")
    spotify_redirect_uri: str = Field(default="", alias="SPOTIFY_REDIRECT_URI")

    deezer_client_id: str = Field(
        default="", validation_alias=AliasChoices("DEEZER_CLIENT_ID", "DEEZER_APP_ID")
    )
    deezer_client_secret: SecretStr = Field(
        default=SecretStr(""), validation_alias=AliasChoices("DEEZER_CLIENT_SECRET", "DEEZER_SECRET")
    )
    deezer_redirect_uri: str = Field(default="", alias="DEEZER_REDIRECT_URI")

    tidal_client_id: str = Field(default="", alias="TIDAL_CLIENT_ID")
    tidal_client_secret: SecretStr = Field(default=SecretStr(""), alias="TIDAL_CLIENT_SECRET")
    tidal_redirect_uri: str = Field(default="", alias="TIDAL_REDIRECT_URI")

    youtube_client_id: str = Field(
        default="", validation_alias=AliasChoices("YOUTUBE_CLIENT_ID", "GOOGLE_CLIENT_ID")
    )
    youtube_client_secret: SecretStr = Field(
        default=SecretStr(""), validation_alias=AliasChoices("YOUTUBE_CLIENT_SECRET", "GOOGLE_CLIENT_SECRET")
    )
    youtube_redirect_uri: str = Field(
        default="", validation_alias=AliasChoices("YOUTUBE_REDIRECT_URI", "GOOGLE_REDIRECT_URI")
    )

    @field_validator("jwt_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        return check_jwt_secret(value)

    # Named apart from ProviderHostSettings' validator of the hosts: SettingsBase refuses a shadowing name.
    @field_validator("api_base_url")
    @classmethod
    def _api_base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("login_throttle_max_delay_s")
    @classmethod
    def _max_delay_covers_the_base(cls, value: float, info: ValidationInfo) -> float:
        base = info.data.get("login_throttle_base_delay_s")
        if base is not None and value < base:
            raise ValueError(f"must be at least LOGIN_THROTTLE_BASE_DELAY_S ({base:g})")
        return value

    @property
    def login_throttle(self) -> ThrottlePolicy:
        return ThrottlePolicy(
            free_attempts=self.login_throttle_free_attempts,
            base_delay_s=self.login_throttle_base_delay_s,
            max_delay_s=self.login_throttle_max_delay_s,
            window_s=self.login_throttle_window_s,
        )

    @property
    def access_ttl(self) -> timedelta:
        return timedelta(seconds=self.access_token_ttl_s)

    @property
    def session_retention(self) -> timedelta:
        return timedelta(days=self.session_retention_days)

    @property
    def issuer(self) -> str:
        return self.api_base_url

    @property
    def allowed_origins(self) -> list[str]:
        """Origins a redirect-flow ``return_to`` may point at: the public base URL and CORS_ORIGINS."""
        origins = [o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip()]
        return [self.api_base_url, *origins]

    def oauth_client(self, provider: ProviderName) -> OAuthClient | None:
        """The configured OAuth client of ``provider``, or None when its client id is not set."""
        client_id: str = getattr(self, f"{provider}_client_id")
        if not client_id:
            return None
        secret: SecretStr = getattr(self, f"{provider}_client_secret")
        redirect_uri: str = getattr(self, f"{provider}_redirect_uri") or (
            f"{self.api_base_url}/api/v1/auth/{provider}/callback"
        )
        # Where the browser consents, where tokens are granted, where the profile is read.
        urls = {
            ProviderName.SPOTIFY: (
                self.spotify_accounts_url,
                self.spotify_accounts_url,
                self.spotify_api_url,
            ),
            ProviderName.DEEZER: (self.deezer_connect_url, self.deezer_connect_url, self.deezer_api_url),
            ProviderName.TIDAL: (self.tidal_login_url, self.tidal_auth_url, self.tidal_api_url),
            ProviderName.YOUTUBE: (self.google_accounts_url, self.google_oauth2_url, self.youtube_api_url),
        }[provider]
        return OAuthClient(
            spec=SPECS[provider],
            client_id=client_id,
            client_secret=secret.get_secret_value(),
            redirect_uri=redirect_uri,
            authorize_base=urls[0],
            token_base=urls[1],
            api_base=urls[2],
        )

    def oauth_clients(self) -> dict[ProviderName, OAuthClient]:
        """The providers that have an OAuth client configured, with it."""
        clients = {}
        for name in PROVIDERS:
            client = self.oauth_client(name)
            if client is not None:
                clients[name] = client
        return clients


def auth_settings(settings: InfraSettings) -> AuthSettings:
    """Auth's settings, where the chassis hands them over as its base class (``rt.settings``, the
    argument of a command)."""
    assert isinstance(settings, AuthSettings)
    return settings
