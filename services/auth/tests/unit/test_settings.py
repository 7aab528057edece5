import base64

import pytest

from pm_auth.settings import AuthSettings
from pm_contracts.providers import ProviderName
from pm_platform.settings import SettingsError, load_settings

VALID = {
    "DATABASE_URL": "postgresql://pm_auth:s3cret-pw@127.0.0.1:15432/playlistmgr",
    "REDIS_URL": "redis://127.0.0.1:16379/0",
    "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:19092",
    "SERVICE_TOKEN": "a-long-service-token-value-123",
    "IDENTITY_PUBLIC_KEYS": base64.b64encode(b"p" * 32).decode(),
    "MASTER_KEY": base64.b64encode(b"m" * 32).decode(),
    "JWT_SECRET": "j" * 40,
}


@pytest.fixture
def env(monkeypatch):
    for key, value in VALID.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("MASTER_KEY_PREVIOUS", raising=False)
    return monkeypatch


def test_valid_keys_load(env):
    settings = load_settings(AuthSettings)
    assert base64.b64decode(settings.master_key.get_secret_value()) == b"m" * 32
    assert settings.master_key_previous is None


def test_master_key_must_be_32_bytes(env):
    env.setenv("MASTER_KEY", base64.b64encode(b"m" * 16).decode())
    with pytest.raises(SettingsError, match=r"^MASTER_KEY: must decode to 32 bytes, got 16$"):
        load_settings(AuthSettings)


def test_previous_master_key_is_checked_too(env):
    env.setenv("MASTER_KEY_PREVIOUS", "not-base64!")
    with pytest.raises(SettingsError, match=r"^MASTER_KEY_PREVIOUS: must be base64$"):
        load_settings(AuthSettings)


def test_jwt_secret_must_be_long(env):
    env.setenv("JWT_SECRET", "short")
    with pytest.raises(SettingsError, match=r"^JWT_SECRET: must be at least 32 characters$"):
        load_settings(AuthSettings)


def test_session_retention_and_purge_interval(env):
    settings = load_settings(AuthSettings)
    assert settings.session_retention_days == 30 and settings.session_retention.days == 30
    assert settings.session_purge_interval_s == 3600
    env.setenv("SESSION_RETENTION_DAYS", "7")
    env.setenv("SESSION_PURGE_INTERVAL_S", "0")
    settings = load_settings(AuthSettings)
    assert settings.session_retention.days == 7 and settings.session_purge_interval_s == 0
    env.setenv("SESSION_RETENTION_DAYS", "0")
    with pytest.raises(SettingsError, match=r"^SESSION_RETENTION_DAYS: "):
        load_settings(AuthSettings)


def test_master_key_files_come_from_the_settings(env, tmp_path):
    current, previous = tmp_path / "master_key", tmp_path / "master_key_previous"
    current.write_text(base64.b64encode(b"n" * 32).decode() + "\n")
    previous.write_text("\n")
    assert load_settings(AuthSettings).master_key_files == []
    env.delenv("MASTER_KEY")
    env.setenv("MASTER_KEY_FILE", str(current))
    env.setenv("MASTER_KEY_PREVIOUS_FILE", str(previous))
    settings = load_settings(AuthSettings)
    assert settings.master_key_files == [str(current), str(previous)]
    assert base64.b64decode(settings.master_key.get_secret_value()) == b"n" * 32
    assert settings.master_key_previous is None


def test_provider_hosts_and_timeout_are_the_projects_one_declaration(env):
    for name in (
        "PROVIDER_TIMEOUT_S",
        "TIDAL_CLIENT_ID",
        "TIDAL_LOGIN_URL",
        "TIDAL_AUTH_URL",
        "API_BASE_URL",
    ):
        env.delenv(name, raising=False)
    settings = load_settings(AuthSettings)
    assert settings.provider_timeout_s == 10
    assert ProviderName.TIDAL not in settings.oauth_clients()  # no client id, no client
    env.setenv("TIDAL_CLIENT_ID", "tidal-app")
    env.setenv("TIDAL_LOGIN_URL", "http://127.0.0.1:3199/login.tidal.com/")
    env.setenv("PROVIDER_TIMEOUT_S", "12.5")
    settings = load_settings(AuthSettings)
    tidal = settings.oauth_clients()[ProviderName.TIDAL]
    assert tidal.authorize_base == "http://127.0.0.1:3199/login.tidal.com"  # the consent page's host
    assert tidal.token_base == "https://auth.tidal.com"
    assert tidal.redirect_uri == "http://127.0.0.1:3101/api/v1/auth/tidal/callback"
    assert settings.provider_timeout_s == 12.5
    env.setenv("TIDAL_AUTH_URL", "auth.tidal.com")
    with pytest.raises(SettingsError, match=r"^TIDAL_AUTH_URL: "):
        load_settings(AuthSettings)
    env.delenv("TIDAL_AUTH_URL")
    env.setenv("API_BASE_URL", "localhost:3101")  # auth's own URL check is not shadowed by the hosts'
    with pytest.raises(SettingsError, match=r"^API_BASE_URL: "):
        load_settings(AuthSettings)


def test_login_throttle_defaults_and_bounds(env):
    settings = load_settings(AuthSettings)
    policy = settings.login_throttle
    assert (policy.free_attempts, policy.base_delay_s, policy.max_delay_s, policy.window_s) == (
        5,
        1,
        300,
        900,
    )
    assert settings.login_throttle_known_client_days == 30
    env.setenv("LOGIN_THROTTLE_FREE_ATTEMPTS", "3")
    env.setenv("LOGIN_THROTTLE_MAX_DELAY_S", "60")
    assert load_settings(AuthSettings).login_throttle.max_delay_s == 60
    for name, bad in (
        ("LOGIN_THROTTLE_FREE_ATTEMPTS", "0"),
        ("LOGIN_THROTTLE_BASE_DELAY_S", "0"),
        ("LOGIN_THROTTLE_MAX_DELAY_S", "3601"),
        ("LOGIN_THROTTLE_MAX_DELAY_S", "0.5"),  # below the base delay (1 s)
        ("LOGIN_THROTTLE_WINDOW_S", "59"),
        ("LOGIN_THROTTLE_KNOWN_CLIENT_DAYS", "-1"),
    ):
        env.setenv(name, bad)
        with pytest.raises(SettingsError, match=rf"^{name}: "):
            load_settings(AuthSettings)
        env.delenv(name)
    env.setenv("LOGIN_THROTTLE_BASE_DELAY_S", "10")
    env.setenv("LOGIN_THROTTLE_MAX_DELAY_S", "5")
    with pytest.raises(SettingsError, match=r"^LOGIN_THROTTLE_MAX_DELAY_S: .*LOGIN_THROTTLE_BASE_DELAY_S"):
        load_settings(AuthSettings)
