"""A node restarted after `joinedup keys rotate` still opens answers sealed to its old key.

During a registry overlap a partner may hold the previous registry version and seal
its share answer to the requester's previous encryption key; the view must open it.
"""

from pathlib import Path

from starlette.requests import Request

from federation.envelope import seal_response
from federation.fanout import SHARE_PATH, build_calls
from federation.keys import MemberKeys, rotate_keys
from federation.registry import new_document, sign_registry, verify_registry
from node.config import NodeSettings
from node.main import create_app
from node.views.dependencies import view_context
from tests.federation.conftest import member_for
from tests.fixtures.wire import unchecked


async def test_a_view_opens_an_answer_sealed_to_the_key_retired_by_rotation(tmp_path: Path):
    old, new = rotate_keys(tmp_path)
    gp = MemberKeys.generate()
    authority = MemberKeys.generate()
    members = [member_for("council-a", "council", new), member_for("gp", "gp", gp)]
    registry = verify_registry(
        sign_registry(new_document("test", 2, members), authority.signing_key),
        authority.verify_key,
    )
    app = create_app(NodeSettings(org_id="council-a", data_dir=tmp_path, log_json=False))
    async with app.router.lifespan_context(app):
        context = view_context(Request({"type": "http", "app": app}), registry)
        assert context.keys.kid == new.kid
        assert [k.kid for k in context.retired_keys] == [old.kid]
        (call,) = build_calls(
            registry=registry,
            keys=context.keys,
            me="council-a",
            message=unchecked("share", {"subject_id": "sub_x"}),
            path=SHARE_PATH,
            members=[registry.member("gp")],
            retired_keys=context.retired_keys,
        )
    request_id = call.request_id
    # The GP still holds the registry version with the council's old encryption key.
    answer = seal_response(
        keys=gp,
        issuer="gp",
        audience="council-a",
        request_id=request_id,
        body={"needs": []},
        recipient_key=old.public_key,
    )
    assert call.opener.open(answer, expected_issuer="gp", request_id=request_id) == {"needs": []}
