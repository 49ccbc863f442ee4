"""The token-key settings shared by the services that verify tokens (gateway, analytics)."""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from common.keys import KeyRing, load_keyring


class AuthSettings(BaseSettings):
    """``AUTH_KEYS`` / ``AUTH_KEYS_FILE`` / ``AUTH_SECRET`` (see :mod:`common.keys`)."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    auth_secret: str | None = Field(
        None, validation_alias="AUTH_SECRET", description="one key, key id 'default' (compatibility)"
    )
    auth_keys: str | None = Field(
        None, validation_alias="AUTH_KEYS", description="kid1:secret1,kid2:secret2: every key that verifies"
    )
    auth_keys_file: str | None = Field(
        None, validation_alias="AUTH_KEYS_FILE", description='a JSON file {"kid": "secret", ...}'
    )
    auth_signing_kid: str | None = Field(
        None, validation_alias="AUTH_SIGNING_KID", description="the key that issues (default: the first)"
    )
    auth_disabled: bool = Field(
        False,
        validation_alias="AUTH_DISABLED",
        description="must be set explicitly to serve anonymous callers",
    )

    @model_validator(mode="after")
    def _keys_configured(self) -> AuthSettings:
        if not self.auth_disabled or self.auth_secret or self.auth_keys or self.auth_keys_file:
            try:
                self.keyring()
            except ValueError as exc:
                raise ValueError(f"{exc} (or set AUTH_DISABLED=true explicitly)") from None
        return self

    def keyring(self) -> KeyRing:
        """The configured keys (reads ``AUTH_KEYS_FILE``)."""
        return load_keyring(self.auth_secret, self.auth_keys, self.auth_keys_file, self.auth_signing_kid)
