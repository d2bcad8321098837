"""The consent schema from Alembic matches the models, on SQLite and PostgreSQL.

Also runs the core services (enrol, grant, token provisions, revoke) on each backend,
since JSON columns and timezone-aware timestamps differ between the two.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import Session

from consent.consents.schemas import ConsentGrant
from consent.consents.service import grant_consent, revoke_consent
from consent.db import consent_metadata, make_engine, upgrade_database
from consent.subjects.service import enrol_subject
from consent.tokens.service import applicable_provisions
from tests.fixtures.db import BACKENDS, temporary_database


@pytest.fixture(scope="module", params=BACKENDS)
def consent_engine(request, tmp_path_factory) -> Iterator[Engine]:
    with temporary_database(request.param, tmp_path_factory.mktemp("cdb")) as url:
        engine = make_engine(url)
        upgrade_database(engine)
        yield engine
        engine.dispose()


def test_migrations_match_the_models(consent_engine):
    with consent_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, consent_metadata()) == []


def test_upgrade_is_idempotent(consent_engine):
    upgrade_database(consent_engine)


def test_services_round_trip_on_the_backend(consent_engine):
    now = datetime.now(UTC)
    with Session(consent_engine) as session:
        subject_id, created = enrol_subject(
            session=session, linkage_tokens=["v1.nn." + "e" * 64], enrolled_by="council"
        )
        assert created
        grant = ConsentGrant.model_validate(
            {
                "period_end": (now + timedelta(days=1)).isoformat(),
                "provisions": [
                    {
                        "purposes": ["care_coordination"],
                        "recipients": ["council"],
                        "categories": ["housing"],
                        "actions": ["read"],
                    }
                ],
            }
        )
        consent = grant_consent(
            session=session,
            subject_id=subject_id,
            grant=grant,
            recorded_by="customer",
            known_orgs=frozenset({"council"}),
            now=now,
        )
        consent_id = consent.id
        session.commit()
    with Session(consent_engine) as session:
        claims = applicable_provisions(
            session=session,
            subject_id=subject_id,
            requester="council",
            purpose="care_coordination",
            now=now + timedelta(seconds=1),
        )
        assert [c.consent_id for c in claims] == [consent_id]
        assert claims[0].period_end == int((now + timedelta(days=1)).timestamp())
        stored = session.get(type(consent), consent_id)
        assert revoke_consent(session=session, consent=stored, actor="customer")
        session.commit()
    with Session(consent_engine) as session:
        assert (
            applicable_provisions(
                session=session,
                subject_id=subject_id,
                requester="council",
                purpose="care_coordination",
                now=now + timedelta(seconds=2),
            )
            == []
        )
