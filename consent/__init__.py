"""consent: the federation's consent service (DESIGN "Consent").

A FastAPI app with its own database: enrolment of customers as opaque subjects,
consent records shaped after HL7 FHIR R4 ``Consent`` whose grant, amendment and
revocation are appended events, signed short-lived consent tokens for member
nodes, revocation pushes, and the customer's own API.

Importing any ``consent.*`` module first runs this file, which gives SQLModel's
shared metadata the constraint naming convention (``appkit.sqltypes``, as the node
does) so Alembic migrations can name constraints on SQLite and PostgreSQL alike.
"""

from sqlmodel import SQLModel

from appkit.sqltypes import NAMING_CONVENTION

SQLModel.metadata.naming_convention = NAMING_CONVENTION
