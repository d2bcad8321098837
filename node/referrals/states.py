"""The referral state machine, one table enforced at both ends (docs/referrals.md).

Each allowed transition names the side that drives it. The sender's node puts a
new referral in ``sending`` (it is in the outbox); the receiver's signed
acknowledgement moves it to ``received`` or ``declined_by_policy``. From there the
receiver accepts, declines, asks for more information or completes; the sender
withdraws or answers a request for more information. Both ends check every change
against ``TRANSITIONS``: a staff member asking for anything else, or a partner's
status message that is not allowed, gets ``IllegalTransition`` (409).
"""

from __future__ import annotations

from typing import Literal, get_args

from node.referrals.exceptions import IllegalTransition

State = Literal[
    "sending",
    "received",
    "declined_by_policy",
    "accepted",
    "declined",
    "more_info_requested",
    "withdrawn",
    "completed",
]
STATES: tuple[State, ...] = get_args(State)
Side = Literal["sender", "receiver"]
Direction = Literal["outgoing", "incoming"]

# (from, to) -> the side that may make the change.
TRANSITIONS: dict[tuple[str, str], Side] = {
    ("sending", "received"): "receiver",
    ("sending", "declined_by_policy"): "receiver",
    ("received", "accepted"): "receiver",
    ("received", "declined"): "receiver",
    ("received", "more_info_requested"): "receiver",
    ("received", "withdrawn"): "sender",
    ("more_info_requested", "received"): "sender",
    ("more_info_requested", "withdrawn"): "sender",
    ("accepted", "completed"): "receiver",
    ("accepted", "withdrawn"): "sender",
}
FINAL: frozenset[str] = frozenset({"declined", "completed", "withdrawn", "declined_by_policy"})
# Waiting for the receiver's answer: these count against the response target.
AWAITING_RESPONSE: frozenset[str] = frozenset({"sending", "received"})
OPEN: frozenset[str] = frozenset(STATES) - FINAL

LABELS: dict[str, str] = {
    "sending": "Being sent",
    "received": "Received, waiting for a decision",
    "declined_by_policy": "Declined by policy",
    "accepted": "Accepted",
    "declined": "Declined",
    "more_info_requested": "More information asked for",
    "withdrawn": "Withdrawn",
    "completed": "Completed",
}


def side_of(direction: str) -> Side:
    """Which side a node is on for a referral of ``direction``."""
    return "sender" if direction == "outgoing" else "receiver"


def is_allowed(from_state: str, to_state: str, side: Side) -> bool:
    return TRANSITIONS.get((from_state, to_state)) == side


def check_transition(from_state: str, to_state: str, side: Side) -> None:
    """``IllegalTransition`` unless ``side`` may move a referral ``from_state`` → ``to_state``."""
    if to_state not in STATES:
        raise IllegalTransition(f"there is no referral state {to_state!r}")
    if not is_allowed(from_state, to_state, side):
        raise IllegalTransition(
            f"a referral that is {LABELS.get(from_state, from_state).lower()} cannot be "
            f"moved to {LABELS[to_state].lower()} by the {side}"
        )


def next_states(from_state: str, side: Side) -> list[str]:
    """The states ``side`` may move a referral to from ``from_state`` (for pages)."""
    return [to for (frm, to), who in TRANSITIONS.items() if frm == from_state and who == side]
