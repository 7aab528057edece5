import pytest

from pm_gateway.settings import GatewaySettings
from pm_platform.settings import SettingsError, load_settings

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
}


@pytest.fixture
def env(monkeypatch):
    for key, value in VALID.items():
        monkeypatch.setenv(key, value)
    return monkeypatch


def test_upstreams_are_plain_http_base_urls(env):
    assert load_settings(GatewaySettings).upstreams()["auth"] == "http://auth:3102"


@pytest.mark.parametrize("value", ["https://playlist:3103", "playlist:3103", "http://", "http://playlist?x=1"])
def test_an_upstream_the_proxy_cannot_reach_is_refused_at_start(env, value):
    env.setenv("PLAYLIST_URL", value)
    with pytest.raises(SettingsError, match=r"^PLAYLIST_URL: must be an http://host\[:port\] URL$"):
        load_settings(GatewaySettings)
