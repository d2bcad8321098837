"""federation."""

# Fan-out and joined-up view (part B of the federation work); other modules add
# their public names below in the same way.
from federation.fanout import (
    PartnerCall,
    ResponseOpener,
    SourceResult,
    SourceStatus,
    build_share_calls,
    fan_out,
)
from federation.view import (
    InteractionRule,
    JoinedUpView,
    assemble_view,
    load_interactions,
)

__all__ = [
    "InteractionRule",
    "JoinedUpView",
    "PartnerCall",
    "ResponseOpener",
    "SourceResult",
    "SourceStatus",
    "assemble_view",
    "build_share_calls",
    "fan_out",
    "load_interactions",
]
