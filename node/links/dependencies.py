"""Dependencies of the linkage endpoints: who may enrol and who may decide reviews."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from node.auth.dependencies import RequireRole, StaffPrincipal

ENROL_ROLES = ("frontline", "coordinator", "admin")
REVIEW_ROLES = ("admin", "coordinator")

EnrolStaff = Annotated[StaffPrincipal, Depends(RequireRole(*ENROL_ROLES))]
ReviewStaff = Annotated[StaffPrincipal, Depends(RequireRole(*REVIEW_ROLES))]
