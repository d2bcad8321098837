"""What the node answers besides its pages: `/`, the favicon, the count script, the header."""

from __future__ import annotations

from sqlmodel import Session

from node.auth.service import create_staff
from tests.fixtures.auth import TEST_PASSWORD
from tests.node.web.conftest import WebNode, sign_in


def test_the_bare_address_leads_to_the_staff_pages(web_node: WebNode) -> None:
    web_node.client.cookies.clear()
    response = web_node.client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/"
    # ...which sends a signed-out visitor on to sign in, not to a 404.
    landed = web_node.client.get("/", follow_redirects=True)
    assert landed.status_code == 200
    assert '<label for="username">' in landed.text


def test_the_favicon_and_the_count_script_are_served(web_node: WebNode) -> None:
    icon = web_node.client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO header
    script = web_node.client.get("/assets/charcount.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "data-maxchars" in script.text
    page = web_node.client.get("/ui/login").text
    assert '<link rel="icon" href="/favicon.ico">' in page


def test_the_header_names_the_staff_member_by_their_display_name(web_node: WebNode) -> None:
    with Session(web_node.app.state.engine) as session:
        create_staff(
            session=session,
            username="web-asha",
            password=TEST_PASSWORD,
            role="coordinator",
            display_name="Asha Patel",
        )
        session.commit()
    sign_in(web_node.client, "web-asha")
    page = web_node.client.get("/ui/persons").text
    assert ">Asha Patel (" in page
    assert ">web-asha (" not in page
    account = web_node.client.get("/ui/account").text
    assert "<dd>Asha Patel</dd>" in account
    assert "<dd>web-asha</dd>" in account  # the login name stays on the account page
