"""The referral state machine (node/referrals/states.py): one table, both ends.

Checked exhaustively over every (from, to, side): what the contract allows
(docs/referrals.md) is allowed for exactly the side that drives it, and
everything else is an ``IllegalTransition`` that the apps answer with 409
problem+json.
"""

import itertools

import httpx
import pytest
from fastapi import FastAPI

from appkit.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers
from node.referrals.exceptions import IllegalTransition
from node.referrals.states import (
    AWAITING_RESPONSE,
    FINAL,
    LABELS,
    OPEN,
    STATES,
    TRANSITIONS,
    check_transition,
    is_allowed,
    next_states,
    side_of,
)

SIDES = ("sender", "receiver")

# The contract (refcontract): who drives each change.
RECEIVER_DRIVES = {
    ("sending", "received"),
    ("sending", "declined_by_policy"),
    ("received", "accepted"),
    ("received", "declined"),
    ("received", "more_info_requested"),
    ("accepted", "completed"),
}
SENDER_DRIVES = {
    ("received", "withdrawn"),
    ("more_info_requested", "received"),
    ("more_info_requested", "withdrawn"),
    ("accepted", "withdrawn"),
}


def test_the_table_is_the_contract():
    assert {pair for pair, side in TRANSITIONS.items() if side == "receiver"} == RECEIVER_DRIVES
    assert {pair for pair, side in TRANSITIONS.items() if side == "sender"} == SENDER_DRIVES


@pytest.mark.parametrize(
    ("from_state", "to_state", "side"),
    list(itertools.product(STATES, STATES, SIDES)),
)
def test_every_change_is_allowed_only_for_the_side_that_drives_it(from_state, to_state, side):
    expected = TRANSITIONS.get((from_state, to_state)) == side
    assert is_allowed(from_state, to_state, side) is expected
    if expected:
        check_transition(from_state, to_state, side)
    else:
        with pytest.raises(IllegalTransition):
            check_transition(from_state, to_state, side)


def test_final_states_are_final():
    assert FINAL == {"declined", "completed", "withdrawn", "declined_by_policy"}
    assert FINAL | OPEN == set(STATES)
    assert not FINAL & OPEN
    for state, side in itertools.product(FINAL, SIDES):
        assert next_states(state, side) == []


def test_every_open_state_can_still_end_and_every_state_is_reachable():
    reachable, frontier = {"sending"}, ["sending"]
    while frontier:
        state = frontier.pop()
        for (frm, to), _ in TRANSITIONS.items():
            if frm == state and to not in reachable:
                reachable.add(to)
                frontier.append(to)
    assert reachable == set(STATES)
    for state in OPEN:
        ends, seen = False, {state}
        frontier = [state]
        while frontier:
            current = frontier.pop()
            ends = ends or current in FINAL
            for (frm, to), _ in TRANSITIONS.items():
                if frm == current and to not in seen:
                    seen.add(to)
                    frontier.append(to)
        assert ends, state


def test_a_referral_awaiting_a_response_is_open():
    assert AWAITING_RESPONSE <= OPEN
    assert "accepted" not in AWAITING_RESPONSE


def test_next_states_offer_each_side_its_own_choices():
    assert set(next_states("received", "receiver")) == {
        "accepted",
        "declined",
        "more_info_requested",
    }
    assert next_states("received", "sender") == ["withdrawn"]
    assert set(next_states("more_info_requested", "sender")) == {"received", "withdrawn"}
    assert next_states("more_info_requested", "receiver") == []
    assert next_states("accepted", "receiver") == ["completed"]
    assert next_states("sending", "sender") == []


def test_side_of_a_direction():
    assert side_of("outgoing") == "sender"
    assert side_of("incoming") == "receiver"


def test_an_unknown_state_is_refused_in_plain_words():
    with pytest.raises(IllegalTransition, match="there is no referral state"):
        check_transition("received", "lost", "receiver")


def test_the_refusal_names_the_states_in_plain_words():
    with pytest.raises(IllegalTransition) as refused:
        check_transition("completed", "accepted", "receiver")
    message = refused.value.message
    assert "completed" in message
    assert "accepted" in message
    assert "_" not in message


def test_every_state_has_a_label_in_plain_words():
    assert set(LABELS) == set(STATES)
    assert all("_" not in label and label[0].isupper() for label in LABELS.values())


async def test_an_illegal_transition_is_answered_409_problem_json():
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/referrals/{referral_id}/accept")
    async def accept_referral(referral_id: str) -> dict[str, str]:
        check_transition("completed", "accepted", "receiver")
        return {"id": referral_id}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://node.test") as client:
        response = await client.post("/referrals/abc/accept")
    assert response.status_code == 409
    assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    body = response.json()
    assert body["status"] == 409
    assert body["type"].endswith("illegal-transition")
    assert body["instance"] == "/referrals/abc/accept"
