"""The guide's staff pages: an admin adds and changes services through the form; a
worker finds who can help, with eligibility from our own record of the person."""

from __future__ import annotations

import re

import pytest

from tests.node.web.conftest import WebNode


def _add(web_node: WebNode, **fields: object) -> int:
    client = web_node.as_role("admin")
    form: dict[str, object] = {"csrf_token": web_node.csrf("/ui/guide/catalogue"), **fields}
    response = client.post("/ui/guide/catalogue", data=form, follow_redirects=False)
    return response.status_code


@pytest.fixture(scope="module")
def services(web_node: WebNode) -> None:
    assert (
        _add(
            web_node,
            name="Rent arrears help",
            description="Advice to clear rent arrears.",
            categories=["housing", "income"],
            min_age="18",
            districts="LS6, LS7",
            capacity="waiting_list",
            wait="12",
            referrals="yes",
        )
        == 303
    )
    assert _add(web_node, name="Young tenants", categories=["housing"], max_age="25") == 303
    assert _add(web_node, name="Leeds 1 only", categories=["housing"], districts="LS1") == 303


@pytest.mark.parametrize("role", ["frontline", "coordinator", "auditor", "analyst"])
def test_only_admins_open_the_catalogue_page(web_node: WebNode, services, role: str) -> None:
    assert web_node.as_role(role).get("/ui/guide/catalogue").status_code == 403


def test_the_catalogue_page_lists_services_in_plain_words(web_node: WebNode, services) -> None:
    page = web_node.as_role("admin").get("/ui/guide/catalogue").text
    assert 'data-testid="catalogue-service-rent-arrears-help"' in page
    assert "Waiting list, typical wait 12 days." in page
    assert re.search(r"Version \d+, published", page)


def test_a_form_with_mistakes_is_shown_again_with_each_problem(web_node: WebNode) -> None:
    client = web_node.as_role("admin")
    form = {
        "csrf_token": web_node.csrf("/ui/guide/catalogue"),
        "name": "",
        "min_age": "old",
        "districts": "Leeds",
    }
    response = client.post("/ui/guide/catalogue", data=form)
    assert response.status_code == 422
    assert "Enter the service&#39;s name." in response.text
    assert "Choose at least one need the service helps with." in response.text
    assert "Enter an age as a whole number" in response.text


def test_a_worker_finds_who_can_help_for_a_person_we_hold(web_node: WebNode, services) -> None:
    # Grace (in the fixture) was born in 1984 and lives in LS6.
    page = web_node.as_role("frontline").get(
        f"/ui/guide?category=housing&person={web_node.person_id}"
    )
    assert page.status_code == 200
    text = page.text
    assert "living in the LS6 area" in text
    assert 'data-testid="guide-hit-council-a-rent-arrears-help"' in text
    assert "Waiting list: about 12 days" in text
    assert "guide-hit-council-a-young-tenants" not in text  # she is over 25
    assert "guide-hit-council-a-leeds-1-only" not in text  # she lives in LS6
    # Our own service: no referral to ourselves.
    assert 'data-testid="guide-refer"' not in text


def test_capacity_changes_and_removal_show_at_once(web_node: WebNode, services) -> None:
    client = web_node.as_role("admin")
    token = web_node.csrf("/ui/guide/catalogue")
    changed = client.post(
        "/ui/guide/catalogue/young-tenants/capacity",
        data={"csrf_token": token, "capacity": "closed", "wait": ""},
        follow_redirects=False,
    )
    assert changed.status_code == 303
    found = web_node.as_role("frontline").get("/ui/guide?q=young").text
    assert 'data-capacity="closed"' in found
    assert "Not taking anyone now" in found
    client = web_node.as_role("admin")
    removed = client.post(
        "/ui/guide/catalogue/leeds-1-only/remove",
        data={"csrf_token": web_node.csrf("/ui/guide/catalogue")},
        follow_redirects=False,
    )
    assert removed.status_code == 303
    assert "leeds-1-only" not in web_node.as_role("frontline").get("/ui/guide?q=leeds").text


@pytest.mark.parametrize(
    "query", ["age=200", "age=x", "postcode=nowhere!", "person=99999", "person=-1"]
)
def test_bad_search_input_is_a_page_not_a_crash(web_node: WebNode, query: str) -> None:
    response = web_node.as_role("frontline").get(f"/ui/guide?category=housing&{query}")
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"].startswith("text/html")
