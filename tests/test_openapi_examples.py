"""Both apps' OpenAPI documents carry examples, and every example is valid (issue 2).

The documents are built in-process (no server, no database: ``app.openapi()`` needs
neither). Checked:

- every 2xx JSON answer of the records API has an example, directly or through the
  component it refers to, and it round-trips through the handler's response model;
- every documented 4xx answer of both apps is ``application/problem+json`` with an
  RFC 9457 example (``type``, ``title``, ``status``, ``detail``) whose ``status`` is
  the code it documents, and 413 is documented on every records operation;
- every request body of both apps has an example the handler's body model accepts;
- every example anywhere in either document validates against its own JSON Schema
  (OpenAPI 3.1 schemas are JSON Schema 2020-12).

``KNOWN_GAPS`` lists what is still missing in modules outside this change; the
tests fail when one of them is fixed, so the list only shrinks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import TypeAdapter

from appkit.problems import PROBLEM_MEDIA_TYPE
from consent.config import ConsentSettings
from consent.main import create_app as create_consent_app
from federation.keys import MemberKeys
from node.config import NodeSettings
from node.main import create_app as create_node_app

RECORDS_TAGS = {"persons", "needs", "actions", "contacts"}
RECORDS_OPERATIONS = 16  # create, list, read and update for each of the four
RFC9457_FIELDS = ("type", "title", "status", "detail")

Gap = tuple[str, str, str, str]  # (app, METHOD, path, what is missing)
_SIGNED = "request body (SignedRequest)"
KNOWN_GAPS: dict[Gap, str] = {}


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, FastAPI]:
    data_dir = tmp_path_factory.mktemp("openapi")
    node = create_node_app(NodeSettings(org_id="council-a", data_dir=data_dir / "node"))
    consent = create_consent_app(
        ConsentSettings(
            data_dir=data_dir / "consent",
            registry_path=data_dir / "registry.json",
            authority_verify_key=MemberKeys.generate().verify_key_b64,
        )
    )
    return {"node": node, "consent": consent}


@pytest.fixture(scope="module")
def documents(apps: dict[str, FastAPI]) -> dict[str, dict[str, Any]]:
    return {name: app.openapi() for name, app in apps.items()}


# -- reading the documents ----------------------------------------------------


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    assert isinstance(node, dict), ref
    return node


def examples_of(document: dict[str, Any], media: dict[str, Any]) -> list[Any]:
    """The media type's own examples, else those of the schema it refers to."""
    if "example" in media:
        return [media["example"]]
    if "examples" in media:
        return [entry["value"] for entry in media["examples"].values()]
    return list(resolve(document, media.get("schema", {})).get("examples", []))


def schema_errors(document: dict[str, Any], schema: dict[str, Any], instance: Any) -> list[str]:
    # The components ride along so "#/components/schemas/..." refs resolve.
    root = {**schema, "components": document.get("components", {})}
    validator = jsonschema_rs.Draft202012Validator(root, validate_formats=True)
    return [f"{error.instance_path}: {error.message}" for error in validator.iter_errors(instance)]


def route_for(app: FastAPI, method: str, path: str) -> APIRoute:
    # Included routers stay nested in app.routes; their contexts carry the full path.
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if (
            isinstance(route, APIRoute)
            and context.path == path
            and method in (context.methods or ())
        ):
            return route
    raise LookupError(f"{method} {path}")


def same_shape(left: Any, right: Any) -> bool:
    """Same keys and list lengths all the way down (leaf values may differ)."""
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(same_shape(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(same_shape, left, right))
    return not isinstance(left, dict | list) and not isinstance(right, dict | list)


# -- the checks, as functions that list what is wrong --------------------------


def response_example_problems(
    document: dict[str, Any], app: FastAPI | None, tags: set[str] | None
) -> tuple[int, list[str]]:
    """(operations checked, what is wrong) for 2xx JSON answers."""
    checked, wrong = 0, []
    for method, path, operation in operations(document):
        if tags is not None and not tags & set(operation.get("tags", [])):
            continue
        checked += 1
        for code, response in operation.get("responses", {}).items():
            media = response.get("content", {}).get("application/json")
            if not code.startswith("2") or media is None:
                continue
            where = f"{method} {path} {code}"
            found = examples_of(document, media)
            if not found:
                wrong.append(f"{where}: no example")
            for example in found:
                wrong += [
                    f"{where}: {e}" for e in schema_errors(document, media["schema"], example)
                ]
                if app is not None:
                    wrong += _round_trip(
                        route_for(app, method, path).response_model, example, where
                    )
    return checked, wrong


def _round_trip(model: Any, example: Any, where: str) -> list[str]:
    if model is None:
        return []
    adapter: TypeAdapter[Any] = TypeAdapter(model)
    try:
        parsed = adapter.validate_json(json.dumps(example))
    except ValueError as exc:
        return [f"{where}: response model refuses the example: {exc}"]
    # FastAPI leaves null values out of the OpenAPI document, so leave them out here too.
    dumped = adapter.dump_python(parsed, mode="json", exclude_none=True)
    return [] if dumped == example else [f"{where}: example changes in a round trip: {dumped}"]


def problem_example_problems(document: dict[str, Any]) -> dict[tuple[str, str, str], str]:
    """{(METHOD, path, code): what is wrong} for problem answers (4xx, and 5xx examples)."""
    wrong: dict[tuple[str, str, str], str] = {}
    for method, path, operation in operations(document):
        for code, response in operation.get("responses", {}).items():
            if code[0] not in "45":
                continue
            key = (method, path, code)
            media = response.get("content", {}).get(PROBLEM_MEDIA_TYPE)
            if media is None:
                wrong[key] = f"not documented as {PROBLEM_MEDIA_TYPE}"
                continue
            found = examples_of(document, media)
            if not found:
                if code.startswith("4"):  # 5xx examples are welcome, not required
                    wrong[key] = "no example"
                continue
            for example in found:
                missing = [f for f in RFC9457_FIELDS if f not in example]
                if missing:
                    wrong[key] = f"example lacks {missing}"
                elif example["status"] != int(code):
                    wrong[key] = f"example says status {example['status']}"
                elif "schema" not in media:
                    wrong[key] = "no schema"
                elif errors := schema_errors(document, media["schema"], example):
                    wrong[key] = "; ".join(errors)
    return wrong


def request_example_problems(
    document: dict[str, Any], app: FastAPI | None
) -> dict[tuple[str, str, str], str]:
    """{(METHOD, path, what): what is wrong} for request bodies."""
    wrong: dict[tuple[str, str, str], str] = {}
    for method, path, operation in operations(document):
        body = operation.get("requestBody")
        if body is None:
            continue
        for media_type, media in body["content"].items():
            schema = media.get("schema", {})
            signed = resolve(document, schema).get("title") == "SignedRequest"
            key = (method, path, _SIGNED if signed else "request body")
            found = examples_of(document, media)
            if not found:
                wrong[key] = f"{media_type}: no example"
            for example in found:
                errors = schema_errors(document, schema, example)
                if errors:
                    wrong[key] = "; ".join(errors)
                elif app is not None and media_type == "application/json":
                    refused = _accepted_by_handler(route_for(app, method, path), example)
                    if refused:
                        wrong[key] = refused
    return wrong


def _accepted_by_handler(route: APIRoute, example: Any) -> str | None:
    annotation = route.body_field.field_info.annotation if route.body_field else None
    if annotation is None:  # parsed by hand; the schema check above is all there is
        return None
    adapter: TypeAdapter[Any] = TypeAdapter(annotation)
    try:
        parsed = adapter.validate_json(json.dumps(example))
    except ValueError as exc:
        return f"body model refuses the example: {exc}"
    dumped = adapter.dump_python(parsed, mode="json", exclude_unset=True)
    return None if same_shape(dumped, example) else f"example changes when parsed: {dumped}"


# -- tests --------------------------------------------------------------------


def test_every_records_answer_has_an_example_its_model_round_trips(
    apps: dict[str, FastAPI], documents: dict[str, dict[str, Any]]
) -> None:
    checked, wrong = response_example_problems(documents["node"], apps["node"], RECORDS_TAGS)
    assert checked == RECORDS_OPERATIONS
    assert wrong == []


def test_every_example_of_an_answer_is_valid(
    apps: dict[str, FastAPI], documents: dict[str, dict[str, Any]]
) -> None:
    for name, document in documents.items():
        # Outside the records API an example is optional, but one that is given must hold.
        _, wrong = response_example_problems(document, apps[name], tags=None)
        assert [w for w in wrong if not w.endswith("no example")] == [], name


@pytest.mark.parametrize("app_name", ["node", "consent"])
def test_every_problem_answer_has_an_rfc9457_example(
    app_name: str, documents: dict[str, dict[str, Any]]
) -> None:
    wrong = problem_example_problems(documents[app_name])
    unlisted = {key: why for key, why in wrong.items() if (app_name, *key) not in KNOWN_GAPS}
    assert unlisted == {}
    fixed = {
        gap
        for gap in KNOWN_GAPS
        if gap[0] == app_name and gap[3].isdigit() and gap[1:] not in wrong
    }
    assert fixed == set(), "fixed: remove from KNOWN_GAPS"


@pytest.mark.parametrize("app_name", ["node", "consent"])
def test_payload_too_large_is_documented_everywhere_problems_are(
    app_name: str, documents: dict[str, dict[str, Any]]
) -> None:
    with_problems = [
        (method, path, op["responses"])
        for method, path, op in operations(documents[app_name])
        if "404" in op.get("responses", {})
    ]
    assert with_problems
    assert [(m, p) for m, p, responses in with_problems if "413" not in responses] == []


@pytest.mark.parametrize("app_name", ["node", "consent"])
def test_every_request_body_has_an_example_its_handler_accepts(
    app_name: str, apps: dict[str, FastAPI], documents: dict[str, dict[str, Any]]
) -> None:
    wrong = request_example_problems(documents[app_name], apps[app_name])
    unlisted = {key: why for key, why in wrong.items() if (app_name, *key) not in KNOWN_GAPS}
    assert unlisted == {}
    fixed = {
        gap
        for gap in KNOWN_GAPS
        if gap[0] == app_name and not gap[3].isdigit() and gap[1:] not in wrong
    }
    assert fixed == set(), "fixed: remove from KNOWN_GAPS"


@pytest.mark.parametrize("app_name", ["node", "consent"])
def test_every_component_example_matches_its_schema(
    app_name: str, documents: dict[str, dict[str, Any]]
) -> None:
    document = documents[app_name]
    components = document["components"]["schemas"]
    with_examples = {name: s for name, s in components.items() if s.get("examples")}
    assert with_examples
    wrong = {
        name: errors
        for name, schema in with_examples.items()
        for example in schema["examples"]
        if (errors := schema_errors(document, {"$ref": f"#/components/schemas/{name}"}, example))
    }
    assert wrong == {}


def test_the_checks_catch_a_missing_and_a_wrong_example() -> None:
    person = {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]}
    document: dict[str, Any] = {
        "components": {"schemas": {"Person": {**person, "examples": [{"id": "one"}]}}},
        "paths": {
            "/persons": {
                "get": {
                    "tags": ["persons"],
                    "responses": {
                        "200": {"content": {"application/json": {"schema": person}}},
                        "404": {"content": {PROBLEM_MEDIA_TYPE: {"example": {"title": "x"}}}},
                    },
                },
                "post": {
                    "tags": ["persons"],
                    "requestBody": {
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Person"}}
                        }
                    },
                    "responses": {"409": {"description": "Conflict"}},
                },
            }
        },
    }
    checked, wrong = response_example_problems(document, None, RECORDS_TAGS)
    assert checked == 2
    assert wrong == ["GET /persons 200: no example"]
    problems = problem_example_problems(document)
    assert problems[("GET", "/persons", "404")].startswith("example lacks")
    assert problems[("POST", "/persons", "409")].startswith("not documented")
    requests = request_example_problems(document, None)
    assert "not of type" in requests[("POST", "/persons", "request body")]
