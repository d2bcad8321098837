import json

import pytest

from federation.errors import RegistryInvalid, UnknownMember
from federation.keys import MemberKeys
from federation.registry import RegistryHolder, new_document, sign_registry, verify_registry
from tests.federation.conftest import member_for
from tests.fixtures.wire import unchecked


def test_signed_registry_round_trips(federation):
    assert federation.registry.member("gp").kind == "gp"
    assert {m.org_id for m in federation.registry.organisations()} == {"council", "gp", "police"}
    assert federation.registry.consent_service.org_id == "consent"


def test_unknown_member_is_refused(federation):
    with pytest.raises(UnknownMember):
        federation.registry.member("stranger")


def test_registry_signed_by_another_authority_is_rejected(federation):
    signed = sign_registry(federation.registry.document, MemberKeys.generate().signing_key)
    with pytest.raises(RegistryInvalid, match="signature"):
        verify_registry(signed, federation.authority.verify_key)


def test_edited_readable_copy_is_rejected(federation):
    signed = sign_registry(federation.registry.document, federation.authority.signing_key)
    signed["registry"]["members"][0]["base_url"] = "http://evil.invalid"
    with pytest.raises(RegistryInvalid, match="differs"):
        verify_registry(signed, federation.authority.verify_key)


def test_holder_reloads_newer_and_refuses_rollback(tmp_path, federation):
    path = tmp_path / "registry.json"
    doc = federation.registry.document
    path.write_text(json.dumps(sign_registry(doc, federation.authority.signing_key)))
    holder = RegistryHolder(path, federation.authority.verify_key, check_interval_s=0)

    newcomer = member_for("school", "school", MemberKeys.generate())
    v2 = new_document("test", 2, [*doc.members, newcomer])
    path.write_text(json.dumps(sign_registry(v2, federation.authority.signing_key)))
    assert holder.current().has("school")

    path.write_text(json.dumps(sign_registry(doc, federation.authority.signing_key)))
    assert holder.current().version == 2, "a lower version must not replace the current one"
    assert holder.last_error is not None
    assert "older" in holder.last_error


def test_rotation_overlap_accepts_both_keys(federation):
    from federation.envelope import ReplayCache, sign_request, verify_request

    old = federation.keys["gp"]
    new = MemberKeys.generate()
    doc = federation.registry.document
    members = [
        m.model_copy(update={"verify_keys": [new.verify_key_b64, old.verify_key_b64]})
        if m.org_id == "gp"
        else m
        for m in doc.members
    ]
    signed = sign_registry(new_document("test", 2, members), federation.authority.signing_key)
    registry = verify_registry(signed, federation.authority.verify_key)
    cache = ReplayCache()
    for keys in (old, new):
        token = sign_request(unchecked("share", {}), keys=keys, issuer="gp", audience="council")
        assert verify_request(token, registry=registry, audience="council", replay_cache=cache)
