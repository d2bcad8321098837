"""The node's fast entry encoder is byte-identical to federation's canonical JSON."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from federation.merkle import canonical_entry_bytes
from node.audit.models import canonical_entry_json, canonical_fields, format_time

text = st.text(max_size=20)  # quotes, controls, non-ASCII, astral: all but lone surrogates
maybe = st.none() | text


@settings(max_examples=150, deadline=None)
@given(
    seq=st.integers(min_value=0, max_value=2**53 - 1),
    at=st.datetimes(
        min_value=dt.datetime(1000, 1, 1),
        max_value=dt.datetime(9999, 1, 1),
        timezones=st.just(dt.UTC),
    ),
    strings=st.tuples(text, text, text, text, text),
    optional=st.tuples(maybe, maybe, maybe, maybe, maybe, maybe, maybe, maybe),
    categories=st.lists(text, max_size=4),
    emergency=st.booleans(),
)
def test_fast_encoder_matches_canonical_json(seq, at, strings, optional, categories, emergency):
    request_id, kind, actor_org, decision, reason = strings
    actor_staff, actor_role, subject_id, purpose, action, holder_org, basis, why = optional
    fields = {
        "seq": seq,
        "request_id": request_id,
        "kind": kind,
        "actor_org": actor_org,
        "actor_staff": actor_staff,
        "actor_role": actor_role,
        "subject_id": subject_id,
        "purpose": purpose,
        "action": action,
        "decision": decision,
        "categories": categories,
        "reason": reason,
        "emergency": emergency,
        "holder_org": holder_org,
        "emergency_basis": basis,
        "justification": why,
    }
    expected = canonical_entry_bytes(canonical_fields(recorded_at=at, **fields))
    assert canonical_entry_json(at=format_time(at), **fields) == expected


def test_times_are_utc_with_microseconds():
    moment = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert format_time(moment) == "2026-03-01T11:00:00.000000Z"
    assert format_time(dt.datetime(2026, 3, 1, 12, 0, 0, 5)) == "2026-03-01T12:00:00.000005Z"


def test_an_entry_without_an_emergency_basis_keeps_its_format_1_bytes():
    """Entries written before format 2 must hash as they did: these bytes are from then."""
    fields = {
        "seq": 3,
        "request_id": "view_1",
        "kind": "share_decided",
        "actor_org": "police",
        "actor_staff": "5c0ffee1d2a3b4c5",
        "actor_role": "frontline",
        "subject_id": "sub_1",
        "purpose": "safeguarding",
        "action": "read",
        "decision": "allow",
        "categories": ["housing"],
        "reason": "ok",
        "emergency": True,
        "holder_org": "council",
    }
    at = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
    format_1 = (
        b'{"action":"read","actor_org":"police","actor_role":"frontline",'
        b'"actor_staff":"5c0ffee1d2a3b4c5","at":"2026-11-30T09:00:00.000000Z",'
        b'"categories":["housing"],"decision":"allow","emergency":true,"holder_org":"council",'
        b'"kind":"share_decided","purpose":"safeguarding","reason":"ok","request_id":"view_1",'
        b'"seq":3,"subject_id":"sub_1","v":1}'
    )
    assert canonical_entry_json(at=format_time(at), **fields) == format_1
    assert canonical_entry_bytes(canonical_fields(recorded_at=at, **fields)) == format_1
    with_basis = canonical_fields(
        recorded_at=at, **fields, emergency_basis="vital_interests", justification="why"
    )
    assert with_basis["v"] == 2
    assert (with_basis["emergency_basis"], with_basis["justification"]) == (
        "vital_interests",
        "why",
    )
