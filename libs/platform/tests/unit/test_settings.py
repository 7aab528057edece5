import base64
import secrets

import pytest

from pm_platform.identity import raw_public_key
from pm_platform.settings import (
    InfraSettings,
    SettingsError,
    decode_ed25519_key,
    decode_master_key,
    load_settings,
)

PUBLIC_KEY = base64.b64encode(raw_public_key(secrets.token_bytes(32))).decode()
OTHER_PUBLIC_KEY = base64.b64encode(raw_public_key(secrets.token_bytes(32))).decode()
# .env.example's published development key pair.
DEV_PUBLIC_KEY = "DYSLt3iZhcvG0SAhogbu6+S3cNCxI+DeHOXS/xwz/4A="

VALID = {
    "DATABASE_URL": "postgresql://pm_auth:s3cret-pw@127.0.0.1:15432/playlistmgr",
    "REDIS_URL": "redis://127.0.0.1:16379/0",
    "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:19092",
    "SERVICE_TOKEN": "a-long-service-token-value-123",
    "IDENTITY_PUBLIC_KEYS": PUBLIC_KEY,
}


@pytest.fixture
def clean_env(monkeypatch):
    for key in [*VALID, "ENVIRONMENT", "DATABASE_URL_FILE", "IDENTITY_PUBLIC_KEYS_FILE", "PORT"]:
        monkeypatch.delenv(key, raising=False)
    return monkeypatch


def test_loads_from_environment(clean_env):
    for key, value in VALID.items():
        clean_env.setenv(key, value)
    settings = load_settings(InfraSettings)
    assert settings.kafka_bootstrap_servers == "127.0.0.1:19092"
    assert settings.database_url.get_secret_value() == VALID["DATABASE_URL"]
    assert "s3cret-pw" not in repr(settings)


def test_missing_variable_is_named_in_one_line(clean_env):
    for key, value in VALID.items():
        if key != "DATABASE_URL":
            clean_env.setenv(key, value)
    with pytest.raises(SettingsError) as err:
        load_settings(InfraSettings)
    assert str(err.value) == "DATABASE_URL: missing"


def test_invalid_value_is_named(clean_env):
    for key, value in VALID.items():
        clean_env.setenv(key, value)
    clean_env.setenv("KAFKA_BOOTSTRAP_SERVERS", "no-port-here")
    with pytest.raises(SettingsError, match=r"^KAFKA_BOOTSTRAP_SERVERS: must be a comma-separated list"):
        load_settings(InfraSettings)
    clean_env.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")
    clean_env.setenv("PORT", "99999")
    with pytest.raises(SettingsError, match=r"^PORT: "):
        load_settings(InfraSettings)


def test_secret_from_file(clean_env, tmp_path):
    for key, value in VALID.items():
        if key != "DATABASE_URL":
            clean_env.setenv(key, value)
    secret = tmp_path / "db_url"
    secret.write_text(VALID["DATABASE_URL"] + "\n")
    clean_env.setenv("DATABASE_URL_FILE", str(secret))
    assert load_settings(InfraSettings).database_url.get_secret_value() == VALID["DATABASE_URL"]


def test_secret_file_and_variable_together_is_an_error(clean_env, tmp_path):
    for key, value in VALID.items():
        clean_env.setenv(key, value)
    secret = tmp_path / "db_url"
    secret.write_text(VALID["DATABASE_URL"])
    clean_env.setenv("DATABASE_URL_FILE", str(secret))
    with pytest.raises(SettingsError, match="DATABASE_URL: set either"):
        load_settings(InfraSettings)


def test_unreadable_secret_file(clean_env, tmp_path):
    for key, value in VALID.items():
        if key != "DATABASE_URL":
            clean_env.setenv(key, value)
    clean_env.setenv("DATABASE_URL_FILE", str(tmp_path / "missing"))
    with pytest.raises(SettingsError, match="DATABASE_URL_FILE: cannot read"):
        load_settings(InfraSettings)


def test_production_refuses_development_defaults(clean_env):
    for key, value in VALID.items():
        clean_env.setenv(key, value)
    clean_env.setenv("ENVIRONMENT", "production")
    load_settings(InfraSettings)  # real values pass
    clean_env.setenv("DATABASE_URL", "postgresql://postgres:postgres@db:5432/playlistmgr")
    with pytest.raises(SettingsError, match="DATABASE_URL still holds a development default"):
        load_settings(InfraSettings)
    clean_env.setenv("ENVIRONMENT", "development")
    load_settings(InfraSettings)  # fine outside production


def test_master_key_must_be_32_bytes_of_base64():
    assert decode_master_key(base64.b64encode(b"k" * 32).decode()) == b"k" * 32
    with pytest.raises(ValueError, match="32 bytes"):
        decode_master_key(base64.b64encode(b"short").decode())
    with pytest.raises(ValueError, match="base64"):
        decode_master_key("not base64 at all!")


def test_identity_public_keys_are_required_and_validated(clean_env):
    for key, value in VALID.items():
        if key != "IDENTITY_PUBLIC_KEYS":
            clean_env.setenv(key, value)
    with pytest.raises(SettingsError) as err:
        load_settings(InfraSettings)
    assert str(err.value) == "IDENTITY_PUBLIC_KEYS: missing"
    for bad, message in (
        ("", "IDENTITY_PUBLIC_KEYS: must list at least one base64 Ed25519 public key"),
        (" , ", "IDENTITY_PUBLIC_KEYS: must list at least one base64 Ed25519 public key"),
        ("not base64!", "IDENTITY_PUBLIC_KEYS: key 1: must be base64 of a raw 32-byte Ed25519 key"),
        (
            f"{PUBLIC_KEY},{base64.b64encode(b'short').decode()}",
            "IDENTITY_PUBLIC_KEYS: key 2: must decode to 32 bytes (a raw Ed25519 key), got 5",
        ),
    ):
        clean_env.setenv("IDENTITY_PUBLIC_KEYS", bad)
        with pytest.raises(SettingsError) as err:
            load_settings(InfraSettings)
        assert str(err.value) == message
        assert "\n" not in str(err.value)


def test_several_identity_public_keys_for_rotation(clean_env, tmp_path):
    for key, value in VALID.items():
        clean_env.setenv(key, value)
    clean_env.setenv("IDENTITY_PUBLIC_KEYS", f" {PUBLIC_KEY} , {OTHER_PUBLIC_KEY} ")
    settings = load_settings(InfraSettings)
    assert settings.identity_public_keys == f"{PUBLIC_KEY},{OTHER_PUBLIC_KEY}"
    assert settings.identity_public_key_bytes() == [
        base64.b64decode(PUBLIC_KEY),
        base64.b64decode(OTHER_PUBLIC_KEY),
    ]
    # Like every setting, from a file too.
    clean_env.delenv("IDENTITY_PUBLIC_KEYS")
    keys = tmp_path / "identity_public_keys"
    keys.write_text(PUBLIC_KEY + "\n")
    clean_env.setenv("IDENTITY_PUBLIC_KEYS_FILE", str(keys))
    assert load_settings(InfraSettings).identity_public_keys == PUBLIC_KEY


def test_identity_public_keys_from_exactly_one_of_the_variable_and_the_file(clean_env, tmp_path):
    for key, value in VALID.items():
        if key != "IDENTITY_PUBLIC_KEYS":
            clean_env.setenv(key, value)
    keys = tmp_path / "identity_public_keys"
    keys.write_text(f"{PUBLIC_KEY},{OTHER_PUBLIC_KEY}\n")
    # Neither: refused.
    with pytest.raises(SettingsError, match=r"^IDENTITY_PUBLIC_KEYS: missing$"):
        load_settings(InfraSettings)
    # The file: its path is kept, so the running service can re-read it.
    clean_env.setenv("IDENTITY_PUBLIC_KEYS_FILE", str(keys))
    settings = load_settings(InfraSettings)
    assert settings.identity_public_keys == f"{PUBLIC_KEY},{OTHER_PUBLIC_KEY}"
    assert settings.identity_public_keys_file == str(keys)
    # Both: refused.
    clean_env.setenv("IDENTITY_PUBLIC_KEYS", PUBLIC_KEY)
    with pytest.raises(SettingsError) as err:
        load_settings(InfraSettings)
    assert str(err.value) == (
        "IDENTITY_PUBLIC_KEYS: set either IDENTITY_PUBLIC_KEYS or IDENTITY_PUBLIC_KEYS_FILE, not both"
    )
    # The variable alone: no file to re-read.
    clean_env.delenv("IDENTITY_PUBLIC_KEYS_FILE")
    assert load_settings(InfraSettings).identity_public_keys_file is None


def test_the_secret_file_watch_interval_has_auths_older_name_too(clean_env):
    for key, value in VALID.items():
        clean_env.setenv(key, value)
    for name in ("SECRET_FILE_WATCH_INTERVAL_S", "MASTER_KEY_WATCH_INTERVAL_S"):
        clean_env.delenv(name, raising=False)
    assert load_settings(InfraSettings).secret_file_watch_interval_s == 5.0
    clean_env.setenv("MASTER_KEY_WATCH_INTERVAL_S", "0")
    assert load_settings(InfraSettings).secret_file_watch_interval_s == 0.0
    clean_env.setenv("SECRET_FILE_WATCH_INTERVAL_S", "2.5")
    assert load_settings(InfraSettings).secret_file_watch_interval_s == 2.5


def test_production_refuses_the_development_identity_key_even_among_others(clean_env):
    for key, value in VALID.items():
        clean_env.setenv(key, value)
    clean_env.setenv("ENVIRONMENT", "production")
    for keys in (DEV_PUBLIC_KEY, f"{PUBLIC_KEY},{DEV_PUBLIC_KEY}"):
        clean_env.setenv("IDENTITY_PUBLIC_KEYS", keys)
        with pytest.raises(SettingsError, match="IDENTITY_PUBLIC_KEYS still holds a development default"):
            load_settings(InfraSettings)


def test_ed25519_key_must_be_32_bytes_of_base64():
    assert decode_ed25519_key(base64.b64encode(b"k" * 32).decode()) == b"k" * 32
    with pytest.raises(ValueError, match="32 bytes"):
        decode_ed25519_key(base64.b64encode(b"k" * 64).decode())
    with pytest.raises(ValueError, match="base64"):
        decode_ed25519_key("not base64 at all!")


def test_services_listen_on_loopback_unless_told_otherwise(clean_env):
    # The images set HOST=0.0.0.0 (services/Dockerfile.template); anything else gets loopback only.
    for key, value in VALID.items():
        clean_env.setenv(key, value)
    clean_env.delenv("HOST", raising=False)
    assert load_settings(InfraSettings).host == "127.0.0.1"
    clean_env.setenv("HOST", "0.0.0.0")  # noqa: S104 - what a container asks for
    assert load_settings(InfraSettings).host == "0.0.0.0"  # noqa: S104


def test_request_time_bounds_default_and_can_be_set(clean_env):
    for key, value in VALID.items():
        clean_env.setenv(key, value)
    for key in ("BODY_TIMEOUT_S", "MIN_BODY_RATE", "KEEPALIVE_TIMEOUT_S"):
        clean_env.delenv(key, raising=False)
    settings = load_settings(InfraSettings)
    assert (settings.body_timeout_s, settings.min_body_rate, settings.keepalive_timeout_s) == (
        30.0,
        500,
        75.0,
    )
    clean_env.setenv("BODY_TIMEOUT_S", "12.5")
    clean_env.setenv("MIN_BODY_RATE", "0")  # no minimum rate, the deadline only
    clean_env.setenv("KEEPALIVE_TIMEOUT_S", "40")
    settings = load_settings(InfraSettings)
    assert (settings.body_timeout_s, settings.min_body_rate, settings.keepalive_timeout_s) == (12.5, 0, 40.0)
    # Not at or below the 30 s for which the gateway's pool reuses idle connections.
    clean_env.setenv("KEEPALIVE_TIMEOUT_S", "30")
    with pytest.raises(SettingsError, match=r"^KEEPALIVE_TIMEOUT_S: "):
        load_settings(InfraSettings)
