import base64
import secrets

import pytest

from pm_contracts.services import deployed_services
from pm_gateway.settings import GatewaySettings
from pm_platform.identity import identity_key_id, raw_public_key
from pm_platform.settings import InfraSettings, SettingsError, load_settings

SIGNING_KEY = secrets.token_bytes(32)
OTHER_PUBLIC_KEY = base64.b64encode(raw_public_key(secrets.token_bytes(32))).decode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# The services the gateway routes to: every deployed one but itself (proto/services.yaml).
UPSTREAMS = [spec for spec in deployed_services() if not spec.public]

VALID = {
    "DATABASE_URL": "postgresql://pm_gateway:s3cret-pw@127.0.0.1:15432/playlistmgr",
    "REDIS_URL": "redis://127.0.0.1:16379/0",
    "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:19092",
    "SERVICE_TOKEN": "a-long-service-token-value-123",
    "API_BASE_URL": "http://localhost:3101",
    **{spec.url_variable: f"http://{spec.name}:{spec.port}" for spec in UPSTREAMS},
    "AUTH_URL": "http://auth:3102/",
    "IDENTITY_SIGNING_KEY": _b64(SIGNING_KEY),
    "IDENTITY_PUBLIC_KEYS": _b64(raw_public_key(SIGNING_KEY)),
}


@pytest.fixture
def env(monkeypatch):
    for key in (
        "S3_ENDPOINT",
        "S3_BUCKET",
        "S3_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "IDENTITY_SIGNING_KEY_FILE",
        "IDENTITY_PUBLIC_KEYS_FILE",
    ):
        monkeypatch.delenv(key, raising=False)
    for key, value in VALID.items():
        monkeypatch.setenv(key, value)
    return monkeypatch


def test_upstreams_are_plain_http_base_urls(env):
    upstreams = load_settings(GatewaySettings).upstreams()
    assert upstreams["auth"] == "http://auth:3102"
    assert upstreams["playlist"] == "http://playlist:3103"


def test_every_service_is_an_upstream_and_every_upstream_a_service(env):
    """The upstreams are proto/services.yaml's services (but the gateway), each from its <NAME>_URL: a
    service added there without a setting here, or a *_URL setting for no listed service, fails."""
    fields = GatewaySettings.model_fields
    for spec in UPSTREAMS:
        field = fields.get(spec.url_variable.lower())
        assert field is not None, (
            f"{spec.name} is in proto/services.yaml; GatewaySettings lacks {spec.url_variable}"
        )
        assert field.alias == spec.url_variable
    own_url_fields = {
        name for name in fields if name.endswith("_url") and name not in InfraSettings.model_fields
    }
    own_url_fields.discard("api_base_url")  # the gateway's own public URL, not an upstream
    assert own_url_fields == {spec.url_variable.lower() for spec in UPSTREAMS}
    assert list(load_settings(GatewaySettings).upstreams()) == [spec.name for spec in UPSTREAMS]


@pytest.mark.parametrize("spec", UPSTREAMS, ids=lambda spec: spec.name)
@pytest.mark.parametrize("value", ["https://service:3103", "service:3103", "http://", "http://service?x=1"])
def test_an_upstream_the_proxy_cannot_reach_is_refused_at_start(env, spec, value):
    env.setenv(spec.url_variable, value)
    with pytest.raises(SettingsError, match=rf"^{spec.url_variable}: must be an http://host\[:port\] URL$"):
        load_settings(GatewaySettings)


def test_the_public_base_url_must_be_http(env):
    env.setenv("API_BASE_URL", "https://api.example.com/")
    assert load_settings(GatewaySettings).api_base_url == "https://api.example.com"
    env.setenv("API_BASE_URL", "api.example.com")
    with pytest.raises(SettingsError, match=r"^API_BASE_URL: must be an http:// or https:// URL$"):
        load_settings(GatewaySettings)


def test_object_storage_is_not_the_gateways(env):
    """The gateway neither needs nor reads S3_*: a shared environment may carry them, valid or not."""
    settings = load_settings(GatewaySettings)
    assert not any(name.startswith(("s3_", "aws_")) for name in type(settings).model_fields)
    env.setenv("S3_ENDPOINT", "not-a-url")
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


def test_nobody_is_a_trusted_proxy_unless_configured(env):
    """Behind no proxy the TCP peer is the client; a proxy (even one on loopback) is trusted by name."""
    env.delenv("TRUSTED_PROXIES", raising=False)
    assert load_settings(GatewaySettings).trusted_proxies == ""
    env.setenv("TRUSTED_PROXIES", "127.0.0.1,::1")
    assert load_settings(GatewaySettings).trusted_proxies == "127.0.0.1,::1"


def test_the_signing_key_from_exactly_one_of_the_variable_and_the_file(env, tmp_path):
    key_file = tmp_path / "identity_signing_key"
    key_file.write_text(_b64(SIGNING_KEY) + "\n")
    env.delenv("IDENTITY_SIGNING_KEY")
    # Neither: refused.
    with pytest.raises(SettingsError, match=r"^IDENTITY_SIGNING_KEY: missing$"):
        load_settings(GatewaySettings)
    # The file: its path is kept, so the running gateway can re-read it.
    env.setenv("IDENTITY_SIGNING_KEY_FILE", str(key_file))
    settings = load_settings(GatewaySettings)
    assert settings.identity_signing_key_bytes() == SIGNING_KEY
    assert settings.identity_signing_key_file == str(key_file)
    # Both: refused.
    env.setenv("IDENTITY_SIGNING_KEY", _b64(SIGNING_KEY))
    with pytest.raises(SettingsError) as err:
        load_settings(GatewaySettings)
    assert str(err.value) == (
        "IDENTITY_SIGNING_KEY: set either IDENTITY_SIGNING_KEY or IDENTITY_SIGNING_KEY_FILE, not both"
    )
    # The variable alone: unchanged start-up, nothing to re-read.
    env.delenv("IDENTITY_SIGNING_KEY_FILE")
    assert load_settings(GatewaySettings).identity_signing_key_file is None
