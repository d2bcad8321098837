"""``joinedup consent ...``: a thin typer shell over the consent service's functions.

Commands: ``migrate``, ``serve``, ``enrol``, ``add-customer`` (an active customer account,
password from a prompt or stdin), ``grant`` (record a consent for a subject, as
an operator would for a demo) and ``list`` (a subject's consents as JSON lines).
Settings come from ``JOINEDUP_CONSENT_*`` like the service's, with options to
override the data directory and database URL.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from sqlmodel import Session

from consent.config import ConsentSettings
from federation.errors import JoinedUpError

consent_app = typer.Typer(no_args_is_help=True, help="Run and administer the consent service.")

DataDir = Annotated[
    Path | None, typer.Option(help="Consent data directory (else JOINEDUP_CONSENT_DATA_DIR).")
]
DatabaseUrl = Annotated[
    str | None, typer.Option(help="Database URL (else JOINEDUP_CONSENT_DATABASE_URL or SQLite).")
]
SubjectId = Annotated[str, typer.Option(help="The customer's subject_id.")]


def _settings(data_dir: Path | None, database_url: str | None) -> ConsentSettings:
    overrides: dict[str, Any] = {
        k: v for k, v in {"data_dir": data_dir, "database_url": database_url}.items() if v
    }
    try:
        return ConsentSettings(**overrides)
    except ValidationError as exc:
        for error in exc.errors():
            loc = ".".join(str(p) for p in error["loc"]) or "settings"
            typer.echo(f"invalid setting {loc}: {error['msg']}", err=True)
        raise typer.Exit(2) from None


@contextmanager
def _session(settings: ConsentSettings) -> Iterator[Session]:
    """A migrated database session, committed on success; domain errors exit 1."""
    from consent.db import make_engine, upgrade_database

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.effective_database_url)
    try:
        upgrade_database(engine)
        with Session(engine, expire_on_commit=False) as session:
            yield session
            session.commit()
    except JoinedUpError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()


def _known_orgs(settings: ConsentSettings, recipients: list[str]) -> frozenset[str]:
    from consent.members.dependencies import organisation_ids
    from federation.registry import load_registry

    authority = settings.authority_key
    if settings.registry_path is not None and authority is not None:
        return organisation_ids(load_registry(settings.registry_path, authority))
    # Demo without a registry: nobody can check recipients, so take them as given.
    return frozenset(recipients)


@consent_app.command("migrate")
def migrate(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Upgrade the consent database to the latest schema."""
    with _session(_settings(data_dir, database_url)):
        pass
    typer.echo("database is at the latest schema")


@consent_app.command("enrol")
def enrol(
    linkage_token: Annotated[
        list[str], typer.Option(help="Linkage token v{n}.{kind}.{hex} (repeatable).")
    ],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Enrol a person by linkage tokens and print their subject_id (same person, same id)."""
    from consent.subjects.schemas import EnrolRequest
    from consent.subjects.service import enrol_subject

    settings = _settings(data_dir, database_url)
    try:
        body = EnrolRequest(linkage_tokens=linkage_token)
    except ValidationError:
        typer.echo("invalid linkage token(s)", err=True)
        raise typer.Exit(2) from None
    with _session(settings) as session:
        subject_id, _ = enrol_subject(
            session=session, linkage_tokens=body.linkage_tokens, enrolled_by="cli"
        )
        typer.echo(subject_id)


@consent_app.command("add-customer")
def add_customer(
    subject_id: SubjectId,
    username: Annotated[str, typer.Option(help="The customer's login name.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create an active customer account for an enrolled subject."""
    from consent.customers.service import create_customer_account

    settings = _settings(data_dir, database_url)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with _session(settings) as session:
        account = create_customer_account(
            session=session, subject_id=subject_id, username=username.lower(), password=password
        )
        typer.echo(f"created customer {account.username} for {account.subject_id}")


@consent_app.command("recovery-code")
def recovery_code(
    subject_id: SubjectId,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Issue a one-time code with which a customer sets a new password (recorded as
    issued by the operator; hand it over only to the person, in person or by phone)."""
    from consent.customers.service import OPERATOR, issue_recovery_code

    settings = _settings(data_dir, database_url)
    with _session(settings) as session:
        account, code, expires_at = issue_recovery_code(
            session=session,
            subject_id=subject_id,
            issued_by=OPERATOR,
            code_ttl_s=settings.recovery_code_ttl_s,
        )
        typer.echo(f"recovery code for {account.username}: {code}")
        typer.echo(f"valid until {expires_at:%Y-%m-%d %H:%M} UTC, once, at /portal/recover")


@consent_app.command("grant")
def grant(
    subject_id: SubjectId,
    recipient: Annotated[list[str], typer.Option(help="Recipient org_id (repeatable).")],
    category: Annotated[
        list[str], typer.Option(help="A category of the taxonomy, e.g. housing (repeatable).")
    ],
    purpose: Annotated[list[str], typer.Option(help="A purpose of the taxonomy (repeatable).")] = [  # noqa: B006
        "care_coordination"
    ],
    action: Annotated[list[str], typer.Option(help="A consent action, e.g. read (repeatable).")] = [  # noqa: B006
        "read"
    ],
    period_end: Annotated[
        datetime | None, typer.Option(help="End of the consent (UTC if no zone).")
    ] = None,
    advocate: Annotated[
        str | None, typer.Option(help="Advocate's name, if not the customer.")
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Record a consent for a subject (one provision) and print its id."""
    from datetime import UTC

    from consent.consents.schemas import ConsentGrant
    from consent.consents.service import grant_consent
    from federation.vocabulary import load_vocabulary, vocabulary_in_force

    settings = _settings(data_dir, database_url)
    if period_end is not None and period_end.tzinfo is None:
        period_end = period_end.replace(tzinfo=UTC)
    try:
        # Checked against the service's own taxonomy (its policy_dir), as the API does.
        with vocabulary_in_force(load_vocabulary(settings.policy_dir)):
            body = ConsentGrant.model_validate(
                {
                    "grantor_kind": "advocate" if advocate else "customer",
                    "grantor_name": advocate,
                    "period_end": period_end,
                    "provisions": [
                        {
                            "purposes": purpose,
                            "recipients": recipient,
                            "categories": category,
                            "actions": action,
                        }
                    ],
                }
            )
    except ValidationError as exc:
        for error in exc.errors():
            typer.echo(f"invalid {'.'.join(map(str, error['loc']))}: {error['msg']}", err=True)
        raise typer.Exit(2) from None
    with _session(settings) as session:
        consent = grant_consent(
            session=session,
            subject_id=subject_id,
            grant=body,
            recorded_by="cli",
            known_orgs=_known_orgs(settings, recipient),
        )
        typer.echo(consent.id)


@consent_app.command("list")
def list_subject_consents(
    subject_id: SubjectId, data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    """Print a subject's consents, one JSON object per line."""
    from consent.consents.service import list_consents

    with _session(_settings(data_dir, database_url)) as session:
        for consent in list_consents(session=session, subject_id=subject_id):
            typer.echo(json.dumps(consent.model_dump(mode="json")))


@consent_app.command("serve")
def serve(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    host: Annotated[str | None, typer.Option(help="Bind address (else settings).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (else settings).")] = None,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Worker processes on the one port.")
    ] = 1,
) -> None:
    """Run the consent service with uvicorn (``--workers N``: N processes, one database)."""
    from appkit.header_limit import HTTP_PROTOCOL
    from appkit.serve import serve as serve_app
    from consent.db import make_engine, upgrade_database
    from consent.main import create_app

    settings = _settings(data_dir, database_url)

    def migrate() -> None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings.effective_database_url)
        try:
            upgrade_database(engine)
        finally:
            engine.dispose()

    serve_app(
        build_app=lambda: create_app(settings),
        factory="consent.main:create_app_from_env",
        env_prefix="JOINEDUP_CONSENT_",
        overrides={"data_dir": data_dir, "database_url": database_url},
        migrate=migrate,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        http=HTTP_PROTOCOL,  # 431 for oversized headers
    )
