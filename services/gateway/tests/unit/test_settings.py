import base64
import secrets

import pytest

from pm_gateway.settings import GatewaySettings
from pm_platform.identity import identity_key_id, raw_public_key
from pm_platform.settings import SettingsError, load_settings

SIGNING_KEY = secrets.token_bytes(32)
OTHER_PUBLIC_KEY = base64.b64encode(raw_public_key(secrets.token_bytes(32))).decode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


VALID = {
    "DATABASE_URL": "postgresql://pm_gateway:s3cret-pw@127.0.0.1:15432/playlistmgr",
    "REDIS_URL": "redis://127.0.0.1:16379/0",
    "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:19092",
    "SERVICE_TOKEN": "a-long-service-token-value-123",
    "S3_ENDPOINT": "127.0.0.1:18333",
    "AWS_ACCESS_KEY_ID": "access",
    "AWS_SECRET_ACCESS_KEY": "secret-key-value",
    "API_BASE_URL": "http://localhost:3101",
    "AUTH_URL": "http://auth:3102/",
    "PLAYLIST_URL": "http://playlist:3103",
    "PROVIDER_SYNC_URL": "http://provider-sync:3104",
    "EXPORT_URL": "http://export:3105",
    "ENRICHMENT_URL": "http://enrichment:3106",
    "IDENTITY_SIGNING_KEY": _b64(SIGNING_KEY),
    "IDENTITY_PUBLIC_KEYS": _b64(raw_public_key(SIGNING_KEY)),
}


@pytest.fixture
def env(monkeypatch):
    for key, value in VALID.items():
        monkeypatch.setenv(key, value)
    return monkeypatch


def test_upstreams_are_plain_http_base_urls(env):
    assert load_settings(GatewaySettings).upstreams()["auth"] == "http://auth:3102"


@pytest.mark.parametrize(
    "value", ["https://playlist:3103", "playlist:3103", "http://", "http://playlist?x=1"]
)
def test_an_upstream_the_proxy_cannot_reach_is_refused_at_start(env, value):
    env.setenv("PLAYLIST_URL", value)
    with pytest.raises(SettingsError, match=r"^PLAYLIST_URL: must be an http://host\[:port\] URL$"):
        load_settings(GatewaySettings)


def test_the_signing_key_must_be_a_raw_ed25519_key(env):
    env.delenv("IDENTITY_SIGNING_KEY")
    with pytest.raises(SettingsError, match=r"^IDENTITY_SIGNING_KEY: missing$"):
        load_settings(GatewaySettings)
    env.setenv("IDENTITY_SIGNING_KEY", _b64(b"short"))
    with pytest.raises(SettingsError, match=r"^IDENTITY_SIGNING_KEY: must decode to 32 bytes"):
        load_settings(GatewaySettings)


def test_the_signing_keys_public_key_must_be_published(env):
    env.setenv("IDENTITY_PUBLIC_KEYS", OTHER_PUBLIC_KEY)
    with pytest.raises(SettingsError) as err:
        load_settings(GatewaySettings)
    kid = identity_key_id(raw_public_key(SIGNING_KEY))
    assert str(err.value) == (
        f"settings: IDENTITY_SIGNING_KEY: its public key (kid {kid}) is not among IDENTITY_PUBLIC_KEYS"
    )
    # During a rotation both public keys are listed; the one signing must be among them.
    env.setenv("IDENTITY_PUBLIC_KEYS", f"{OTHER_PUBLIC_KEY},{_b64(raw_public_key(SIGNING_KEY))}")
    settings = load_settings(GatewaySettings)
    assert settings.identity_signing_key_bytes() == SIGNING_KEY
    assert _b64(SIGNING_KEY) in settings.secret_values()
