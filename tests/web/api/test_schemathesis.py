"""Schemathesis over the whole OpenAPI document, in process (WSGI), as an admin and a customer.

Every operation the document lists when the suite runs gets generated requests: each answer
must not be a 5xx and must match the document (a declared status code, content type, headers
and body schema); an answer that succeeds must also need the token (sent again without it,
it is a 401), and a method the operation does not have must be refused.

The admin run adds Schemathesis' coverage phase (boundary and invalid values for every
parameter and body field, unsupported methods, missing headers) to random generation; the
customer run is random generation only. SCHEMATHESIS_MAX_EXAMPLES sets the random examples
per operation and role (default 10: about 4,500 cases in all; docs/security.md).

A third run sends hostile values (strategies below, random generation only): one string of the
body, query or path made to hold a NUL or a lone surrogate (in a key too), an integer past
2^31-1 or 2^63, an instant outside the calendar (9999-12-31T23:59:59-23:59), or the body nested
100 deep; every answer must still be as documented and not a 5xx (issue 15: each was a 500 on
PostgreSQL). SCHEMATHESIS_HOSTILE_EXAMPLES sets its examples per operation (default 5).

POST /api/v1/alerts is left out: it takes a sensor's ingest key, not a user token, and raw
JSON or CEF text that the document cannot describe; tests/web/api/test_alerts_api.py covers it.
"""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    missing_required_header,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from app import create_app
from app.config import TestConfig

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", 10))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance, ignored_auth,
          unsupported_method, missing_required_header]
# The database and world are set up once per operation and shared by its examples.
GENERATION = settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
                      database=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                            HealthCheck.too_slow,
                                                            HealthCheck.filter_too_much])
HOSTILE_EXAMPLES = int(os.environ.get("SCHEMATHESIS_HOSTILE_EXAMPLES", 5))
HOSTILE = settings(GENERATION, max_examples=HOSTILE_EXAMPLES)
ALERT_INGEST = "/api/v1/alerts"
pytestmark = pytest.mark.fuzz  # in `make test` (both passes); -m "not fuzz" skips it locally


def _document_server():
    """An app that only serves the document (building it opens no database); every test
    request goes to the suite's app instead, passed as `app=`."""
    return create_app(TestConfig, SQLALCHEMY_DATABASE_URI="sqlite://")


def _schema(coverage, mode="all"):
    config = schemathesis.Config.from_dict({"phases": {"coverage": {"enabled": coverage}},
                                            "generation": {"mode": mode}})
    loaded = schemathesis.openapi.from_wsgi("/api/openapi.json", _document_server(),
                                            config=config)
    return loaded.exclude(method="POST", path=ALERT_INGEST)


# ---------------------------------------------------------------- hostile values

URL_TEXT = ["\x00", "a\x00b"]  # a lone surrogate cannot be put in a URL at all
BODY_TEXT = URL_TEXT + ["\ud800", "a\udfffb"]
HUGE = [2**31, 2**63, 10**30, -(2**63) - 1]
INSTANTS = ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+14:00", "9999-12-31"]
DEPTH = 100  # past the API's 64; a 50,000-deep body is tests/web/test_hostile_input.py's


def _variants(value, texts, huge, keys=True):
    """(kind, copy) of a JSON value with one leaf or key made hostile."""
    if isinstance(value, dict):
        for key, item in value.items():
            for text in texts if keys else ():
                yield "key", {**{k: v for k, v in value.items() if k != key}, key + text: item}
            for kind, variant in _variants(item, texts, huge):
                yield kind, {**value, key: variant}
    elif isinstance(value, list):
        for index, item in enumerate(value):
            for kind, variant in _variants(item, texts, huge):
                yield kind, value[:index] + [variant] + value[index + 1:]
    elif isinstance(value, str):
        yield from (("text", value + text) for text in texts)
        yield from (("instant", instant) for instant in INSTANTS)
    elif isinstance(value, int) and not isinstance(value, bool):
        yield from (("integer", str(n) if huge == "text" else n) for n in HUGE)


def _one_of_each_kind(variants, *extra):
    """A kind of hostility first (text, key, integer, instant, depth), then one copy of it:
    the few examples of an operation each try another kind."""
    by_kind = {}
    for kind, variant in [*variants, *extra]:
        by_kind.setdefault(kind, []).append(variant)
    if not by_kind:
        return None
    return st.sampled_from(sorted(by_kind)).flatmap(lambda kind: st.sampled_from(by_kind[kind]))


def _deep(value):
    for _level in range(DEPTH):
        value = [value]
    return value


def _multipart(context):
    return any(alternative.media_type.startswith("multipart/")
               for alternative in context.operation.body)


def flatmap_body(context, body):
    """The body with one hostile leaf or key, or nested too deep."""
    if _multipart(context):  # the test client cannot encode a lone surrogate in a form
        strategy = _one_of_each_kind(_variants(body or {}, URL_TEXT, "text"))
        return st.just(body) if strategy is None else strategy
    if isinstance(body, dict | list):
        return _one_of_each_kind(_variants(body, BODY_TEXT, "int"), ("depth", _deep(body)))
    return st.just(body)


def _flatmap_parameters(parameters, keys=True):
    strategy = _one_of_each_kind(_variants(parameters or {}, URL_TEXT, "text", keys))
    return st.just(parameters) if strategy is None else strategy


def flatmap_query(_context, query):
    """The query with one hostile value or name."""
    return _flatmap_parameters(query)


def flatmap_path_parameters(_context, path_parameters):
    """The path with one hostile id or text."""
    return _flatmap_parameters(path_parameters, keys=False)


def _hostile_schema():
    """Valid requests (positive mode) made hostile in one place each, so that nothing else
    refuses them first."""
    loaded = _schema(coverage=False, mode="positive")
    for hook in (flatmap_body, flatmap_query, flatmap_path_parameters):
        loaded.hook(hook)
    return loaded


# Loaded at collection, so each operation is its own test with a fresh database.
with_coverage = _schema(coverage=True)
random_only = _schema(coverage=False)
hostile = _hostile_schema()


def call(case, app, token):
    """Send the case to the suite's app through WSGI and check the answer."""
    case.call_and_validate(app=app, headers={"Authorization": f"Bearer {token}"},
                           checks=CHECKS)


@with_coverage.parametrize()
@GENERATION
def test_every_operation_answers_as_documented_for_an_admin(case, app, world):
    call(case, app, world.tokens["admin"])


@random_only.parametrize()
@GENERATION
def test_every_operation_answers_as_documented_for_a_customer(case, app, world):
    call(case, app, world.tokens["customer"])


@hostile.parametrize()
@HOSTILE
def test_hostile_values_are_answered_as_documented_never_a_5xx(case, app, world):
    call(case, app, world.tokens["admin"])


def test_the_runs_cover_every_operation_but_alert_ingest(client):
    document = client.get("/api/openapi.json").json
    listed = {(method.upper(), path) for path, item in document["paths"].items()
              for method in item if method in ("get", "post", "put", "patch", "delete")}
    for schema in (with_coverage, random_only, hostile):
        tested = {(result.ok().method.upper(), result.ok().path)
                  for result in schema.get_all_operations()}
        assert listed - tested == {("POST", ALERT_INGEST)}
    assert len(listed) >= 60


@pytest.mark.parametrize("path", [
    "/api/v1/incidents/{id}", "/api/v1/claims/{id}", "/api/v1/costs/{id}",
    "/api/v1/dispatches/{id}", "/api/v1/technicians/{id}", "/api/v1/contracts/{id}",
    "/api/v1/insurers/{id}", "/api/v1/evidence/{id}", "/api/v1/reports/{id}",
    "/api/v1/incidents?organization_id={id}",
])
def test_an_id_past_the_integer_columns_is_a_422_not_a_database_error(api, path):
    """Found by the runs above: ids up to 2**62 reached PostgreSQL's int4 columns (500)."""
    admin = api("admin")
    assert admin.get(path.format(id=2**31 - 1)).status_code in (200, 404)
    too_large = admin.get(path.format(id=2**31))
    assert too_large.status_code == 422, too_large.text
    assert too_large.json["error"]["code"] == "validation_error"


def test_an_amount_past_the_integer_columns_is_a_422_not_a_database_error(client, world):
    """Found by the runs above: yen up to 10**10 reached PostgreSQL's int4 columns (500)."""
    admin = {"Authorization": f"Bearer {world.tokens['admin']}"}
    policy = client.get("/api/v1/policies", headers=admin).json["items"][0]["id"]
    terms = {"per_incident_limit": 0, "annual_aggregate": 0, "heads": {}}

    def put_terms(deductible):
        return client.put(f"/api/v1/policies/{policy}/terms", headers=admin,
                          json=terms | {"deductible": deductible})
    too_large = put_terms(2**31)
    assert too_large.status_code == 422, too_large.text
    assert too_large.json["error"]["details"]["fields"][0]["field"] == "deductible"
    assert put_terms(2**31 - 1).status_code == 200
