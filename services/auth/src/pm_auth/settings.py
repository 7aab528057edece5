from pydantic import Field, SecretStr, field_validator

from pm_platform.settings import InfraSettings, check_jwt_secret, decode_master_key


class AuthSettings(InfraSettings):
    """Settings of the auth service: the shared ones plus the keys that protect tokens."""

    master_key: SecretStr = Field(alias="MASTER_KEY")
    master_key_previous: SecretStr | None = Field(default=None, alias="MASTER_KEY_PREVIOUS")
    jwt_secret: SecretStr = Field(alias="JWT_SECRET")

    @field_validator("master_key", "master_key_previous")
    @classmethod
    def _aes_256_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            decode_master_key(value.get_secret_value())
        return value

    @field_validator("jwt_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        return check_jwt_secret(value)
