"""Settings for one organisation's node (pydantic-settings, prefix ``JOINEDUP_NODE_``).

A ``NodeSettings`` object is built once — from the environment by
``node.main.create_app_from_env`` or the CLI, or directly by a test — and passed to
``create_app``; nothing reads settings from a global. Validators refuse what an
operator would regret in production: a malformed org id, a PostgreSQL URL naming a
driver that is not installed, an OPA engine without a URL, and placeholder secrets
(unless ``demo=True``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from appkit.outbox.settings import OutboxSettings
from federation.linkage import LinkageKey
from federation.vocabulary import ORG_ID_PATTERN, VocabularyInvalid, load_vocabulary

_ORG_ID = re.compile(ORG_ID_PATTERN)
# Values copied from a README or a sample file: never acceptable outside the demo.
PLACEHOLDER_SECRETS = frozenset(
    {
        "",
        "changeme",
        "change-me",
        "change_me",
        "secret",
        "password",
        "placeholder",
        "example",
        "demo",
        "test",
        "xxx",
        "todo",
    }
)


class NodeSettings(OutboxSettings):
    """Everything a node needs to know about itself; see docs/operations.md."""

    model_config = SettingsConfigDict(env_prefix="JOINEDUP_NODE_", extra="ignore")

    org_id: str = Field(description="The organisation's slug in the federation, e.g. 'council-a'.")
    org_name: str = ""
    org_kind: str = Field(
        default="council",
        description="An organisation kind of the taxonomy (policy_dir/taxonomy/data.json).",
    )
    data_dir: Path = Field(description="Directory for keys and the default SQLite database.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default sqlite:///{data_dir}/node.db."
    )
    host: str = "127.0.0.1"
    migrate_on_start: bool = Field(
        default=True,
        description="Run migrations in the lifespan; false where a Job or `serve` migrates.",
    )
    port: int = Field(default=8000, ge=1, le=65535)
    public_url: str | None = None
    demo: bool = False
    staff_token_ttl_s: int = Field(default=900, ge=30, le=3600)
    max_body_bytes: int = Field(default=1_000_000, ge=1_024, le=100_000_000)
    linkage_key: SecretStr | None = None
    linkage_key_version: int = Field(default=1, ge=1)
    registry_path: Path | None = None
    registry_url: str | None = Field(
        default=None,
        description="The authority's published registry; polled, and cached at registry_path "
        "(default {data_dir}/registry.json).",
    )
    registry_poll_s: float = Field(default=30.0, gt=0, le=86_400)
    authority_verify_key: str | None = None
    policy_engine: Literal["embedded", "opa"] = "embedded"
    # Which Rego implementation the embedded engine uses (docs/policies.md).
    policy_rego: Literal["regorus", "regopy"] = "regorus"
    opa_url: str | None = None
    policy_dir: Path | None = None
    share_deadline_s: float = Field(default=2.0, gt=0, le=60)
    # Keep a consent token per subject and purpose while it is valid and no consent
    # change was pushed for the subject since (node/views/token_cache.py): a view in
    # the steady state then makes one round trip, not two. Entries held at most.
    consent_token_cache_size: int = Field(default=10_000, ge=0, le=1_000_000)
    # The needs guide (node/guide, docs/guide.md): how often partners' catalogues are
    # fetched again (conditional GETs, so an unchanged one costs a 304); false stops
    # the background refresher (announced versions then wait for a manual refresh).
    guide_refresh_s: float = Field(default=300.0, gt=0, le=86_400)
    guide_refresh: bool = True
    # How long an evidence query waits for each partner in each round (counting
    # 100,000 needs takes well under a second; docs/evidence.md).
    evidence_deadline_s: float = Field(default=10.0, gt=0, le=60)
    audit_tree_head_every: int = Field(default=100, ge=1)
    audit_tree_head_seconds: float = Field(default=10.0, gt=0)
    log_json: bool = True
    # Database pool (node/db.py). No request holds a connection while it awaits the
    # network, but an ordinary request keeps its session's connection between the
    # handler's worker thread and the commit's: pool_size + max_overflow should cover
    # anyio's 40 worker threads plus admission_other_limit (docs/operations.md).
    db_pool_size: int = Field(default=20, ge=1, le=500)
    db_max_overflow: int = Field(default=60, ge=0, le=500)
    db_pool_timeout_s: float = Field(default=10.0, gt=0, le=120)
    # Admission control (node/admission.py): requests in progress per endpoint class;
    # as many again may wait up to ``admission_queue_wait_s``, the rest get 503 with
    # Retry-After at once. ``/health`` is never limited.
    admission_view_limit: int = Field(default=16, ge=1, le=10_000)
    admission_federation_limit: int = Field(default=64, ge=1, le=10_000)
    admission_other_limit: int = Field(default=32, ge=1, le=10_000)
    admission_queue_wait_s: float = Field(default=1.0, ge=0, le=60)
    # Test/diagnostic only (node/federation/state.py): append every outgoing federation
    # request body to this file so tests can check no raw identifier leaves the node.
    traffic_log: Path | None = None
    # Staff sign-in through the organisation's OpenID Connect provider (node.auth.oidc).
    # Unset: local accounts only. Local accounts keep working either way.
    oidc_issuer: str | None = Field(default=None, description="The provider's issuer URL.")
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_provider_name: str = Field(
        default="", description="Shown on the sign-in button, e.g. 'Northdale Council account'."
    )
    oidc_groups_claim: str = "groups"
    oidc_roles: dict[str, str] = Field(
        default_factory=dict,
        description="Provider group -> joinedup role (JSON); the first listed group held wins.",
    )
    oidc_jwks_refetch_s: float = Field(default=60.0, ge=0, le=86_400)

    @field_validator("org_id")
    @classmethod
    def _check_org_id(cls, value: str) -> str:
        if not _ORG_ID.match(value):
            raise ValueError("org_id must be a lowercase slug: a-z, 0-9 and '-', 2-63 chars")
        return value

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

    @model_validator(mode="after")
    def _check_production_safety(self) -> NodeSettings:
        # The kind is checked against the taxonomy of this node's own policy bundle.
        try:
            load_vocabulary(self.policy_dir).check("org_kinds", self.org_kind)
        except VocabularyInvalid as exc:
            raise ValueError(f"policy_dir: {exc}") from exc
        except ValueError as exc:
            raise ValueError(f"org_kind: {exc}") from exc
        if self.policy_engine == "opa" and not self.opa_url:
            raise ValueError("policy_engine 'opa' needs opa_url")
        if self.oidc_issuer is not None:
            _check_oidc(self)
        if self.linkage_key is not None and not self.demo:
            secret = self.linkage_key.get_secret_value()
            if secret.strip().lower() in PLACEHOLDER_SECRETS or len(secret.encode()) < 16:
                raise ValueError(
                    "linkage_key is a placeholder or shorter than 16 bytes; "
                    "set a real shared secret (placeholders are allowed only with demo=true)"
                )
        return self

    @property
    def oidc_enabled(self) -> bool:
        return self.oidc_issuer is not None

    @property
    def effective_database_url(self) -> str:
        """The configured URL, or a SQLite file in the data directory."""
        return self.database_url or f"sqlite:///{self.data_dir}/node.db"

    @property
    def linkage(self) -> LinkageKey | None:
        """The federation linkage key (UTF-8 bytes of the secret), if configured."""
        if self.linkage_key is None:
            return None
        secret = self.linkage_key.get_secret_value().encode()
        if len(secret) < 16:  # only reachable in demo mode; pad deterministically
            secret = secret.ljust(16, b"\0")
        return LinkageKey(self.linkage_key_version, secret)


def _check_oidc(settings: NodeSettings) -> None:
    if not settings.oidc_client_id or settings.oidc_client_secret is None:
        raise ValueError("oidc_issuer needs oidc_client_id and oidc_client_secret")
    if not settings.oidc_roles:
        raise ValueError("oidc_issuer needs oidc_roles: provider group -> joinedup role")
    roles = load_vocabulary(settings.policy_dir).roles
    unknown = sorted(set(settings.oidc_roles.values()) - set(roles))
    if unknown:
        raise ValueError(f"oidc_roles names unknown roles {unknown}; expected {', '.join(roles)}")
    issuer = settings.oidc_issuer or ""
    loopback = issuer.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]"))
    if not issuer.startswith("https://") and not (loopback and settings.demo):
        # OIDC Core §3.1.3.7: the issuer and its endpoints are trusted over TLS only.
        raise ValueError("oidc_issuer must be an https:// URL (loopback http only with demo=true)")
