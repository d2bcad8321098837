"""Field types the wire models share: identifiers as the federation mints them.

Each is the one definition its receivers validate with (the consent service's
``sub_`` subject ids, enrolment linkage tokens, portal usernames, registry org ids).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from federation.registry import ORG_ID_PATTERN

# The consent service's opaque subject id.
SubjectId = Annotated[str, StringConstraints(pattern=r"^sub_[A-Za-z0-9_-]{1,60}$")]
# v{key version}.{kind}.{64 hex}: exactly what federation.linkage produces.
LinkageTokenStr = Annotated[
    str, StringConstraints(pattern=r"^v[0-9]{1,6}\.[a-z]{1,16}\.[0-9a-f]{64}$", max_length=100)
]
OrgId = Annotated[str, StringConstraints(pattern=ORG_ID_PATTERN)]
Username = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{2,63}$", to_lower=True, strip_whitespace=True),
]
