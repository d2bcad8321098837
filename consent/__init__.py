"""consent: the federation's consent service (DESIGN "Consent").

A FastAPI app with its own database: enrolment of customers as opaque subjects,
consent records shaped after HL7 FHIR R4 ``Consent`` whose grant, amendment and
revocation are appended events, signed short-lived consent tokens for member
nodes, revocation pushes, and the customer's own API.

Importing any ``consent.*`` module first runs this file, which gives SQLModel's
shared metadata the constraint naming convention (the same one the node uses) so
Alembic migrations can name constraints on SQLite and PostgreSQL alike.
"""

from sqlmodel import SQLModel

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
