"""Settings for the consent service (pydantic-settings, prefix ``JOINEDUP_CONSENT_``).

A ``ConsentSettings`` object is built once — from the environment by
``consent.main.create_app_from_env`` or the CLI, or directly by a test — and passed
to ``create_app``; nothing reads settings from a global. The service's own keys live
in ``data_dir/keys`` (``MemberKeys.load_or_create``); it learns who the members are
from the signed registry at ``registry_path``, checked with ``authority_verify_key``.
"""

from __future__ import annotations

from pathlib import Path

from nacl.signing import VerifyKey
from pydantic import Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from appkit.outbox.settings import OutboxSettings
from federation.consent_token import DEFAULT_TOKEN_AGE_S, MAX_TOKEN_AGE_S
from federation.keys import b64decode


class ConsentSettings(OutboxSettings):
    """Everything the consent service needs to know about itself; see docs/consent.md."""

    model_config = SettingsConfigDict(env_prefix="JOINEDUP_CONSENT_", extra="ignore")

    data_dir: Path = Field(description="Directory for keys and the default SQLite database.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default sqlite:///{data_dir}/consent.db."
    )
    host: str = "127.0.0.1"
    migrate_on_start: bool = Field(
        default=True,
        description="Run migrations in the lifespan; false where a Job or `serve` migrates.",
    )
    port: int = Field(default=8100, ge=1, le=65535)
    public_url: str | None = None
    demo: bool = False
    token_max_age_s: int = Field(default=DEFAULT_TOKEN_AGE_S, ge=1, le=MAX_TOKEN_AGE_S)
    registry_path: Path | None = None
    registry_url: str | None = Field(
        default=None,
        description="The authority's published registry; polled, and cached at registry_path "
        "(default {data_dir}/registry.json).",
    )
    registry_poll_s: float = Field(default=30.0, gt=0, le=86_400)
    authority_verify_key: str | None = None
    policy_dir: Path | None = Field(
        default=None,
        description="The policy bundle whose taxonomy (purposes, categories, actions) consents "
        "are checked against; default the packaged one. Give the nodes' POLICY_DIR.",
    )
    customer_token_ttl_s: int = Field(default=900, ge=30, le=3600)
    revocation_push_timeout_s: float = Field(default=2.0, gt=0, le=30)
    access_report_deadline_s: float = Field(
        default=3.0, gt=0, le=30, description="How long each node has to answer a report."
    )
    activation_code_ttl_s: int = Field(default=7 * 24 * 3600, ge=60)
    recovery_code_ttl_s: int = Field(
        default=24 * 3600, ge=60, description="How long a password recovery code works."
    )
    max_body_bytes: int = Field(default=200_000, ge=1_024, le=10_000_000)
    log_json: bool = Field(default=True, description="Log JSON lines (false: plain text).")

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        # Only psycopg 3 is installed; a bare postgresql:// would pick psycopg2.
        for prefix in ("postgresql://", "postgres://", "postgresql+psycopg2://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        if not value.startswith(("sqlite:", "postgresql+psycopg:")):
            raise ValueError("database_url must be a sqlite:// or postgresql+psycopg:// URL")
        return value

    @field_validator("authority_verify_key")
    @classmethod
    def _check_authority_key(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        try:
            raw = b64decode(value)
        except ValueError as exc:
            raise ValueError("authority_verify_key must be base64url") from exc
        if len(raw) != 32:
            raise ValueError("authority_verify_key must be a 32-byte Ed25519 key")
        return value

    @model_validator(mode="after")
    def _check_registry(self) -> ConsentSettings:
        # Without a registry nobody could be authenticated or receive revocations:
        # refuse to start rather than run a service that admits no one silently.
        if self.registry_url is not None and self.registry_path is None:
            self.registry_path = self.data_dir / "registry.json"  # the followed copy's cache
        if (self.registry_path is None) != (self.authority_verify_key is None):
            raise ValueError("registry_path and authority_verify_key go together")
        if self.registry_path is None and not self.demo:
            raise ValueError("registry_path and authority_verify_key are required (or demo=true)")
        return self

    @property
    def effective_database_url(self) -> str:
        """The configured URL, or a SQLite file in the data directory."""
        return self.database_url or f"sqlite:///{self.data_dir}/consent.db"

    @property
    def authority_key(self) -> VerifyKey | None:
        if self.authority_verify_key is None:
            return None
        return VerifyKey(b64decode(self.authority_verify_key))
