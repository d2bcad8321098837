"""A browser meets a failing database: a plain-words 503 page, not problem+json.

The API answers the same failure as RFC 9457 problem+json (``appkit.database_errors``,
tests/appkit/test_node_hardening.py); a person at a browser (``Accept: text/html``)
gets the staff pages' error page with the same status and ``Retry-After``.
"""

from __future__ import annotations

from pathlib import Path

from tests.fixtures.db import database_out_of_reach
from tests.node.web.conftest import WebNode

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def test_a_page_on_a_failing_database_is_a_plain_503_page(
    web_node: WebNode, tmp_path: Path
) -> None:
    client = web_node.as_role("frontline")
    with database_out_of_reach(web_node.app, tmp_path):
        page = client.get("/ui/persons", headers=HTML)
        machine = client.get("/ui/persons", headers={"Accept": "application/json"})
    assert page.status_code == 503
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["retry-after"].isdigit()
    assert page.headers["cache-control"] == "no-store"
    assert "This service is busy" in page.text
    assert "Nothing was changed or shared" in page.text
    assert "OperationalError" not in page.text
    assert "sqlite" not in page.text.lower()
    # A client that asks for JSON keeps the machine-readable answer.
    assert machine.status_code == 503
    assert machine.headers["content-type"].startswith("application/problem+json")
    # Once the database is back, the same page works again.
    assert client.get("/ui/persons", headers=HTML).status_code == 200
