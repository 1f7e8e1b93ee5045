"""Every bad input gets the right status and error code, in the one shape, and writes nothing."""

import pytest

from app.testkit.helpers import row_counts
from tests.web.api.test_incidents_api import assert_error, create, new_incident


@pytest.fixture
def incident(api, world):
    return create(api, world)["id"]


def post_raw(client, path, data, token, content_type="application/json"):
    return client.post(path, data=data, content_type=content_type,
                       headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize(("body", "field"), [
    ({"channel": "fax"}, "channel"),
    ({"category": "virus"}, "category"),
    ({"severity": 3}, "severity"),
    ({"summary": 42}, "summary"),
    ({"summary": ""}, "summary"),
    ({"summary": "x" * 201}, "summary"),
    ({"organization_id": "one"}, "organization_id"),
    ({"reporter": {"email": "not-an-email"}}, "reporter.email"),
    ({"reporter": "田中"}, "reporter"),
    ({"discovered_at": "yesterday"}, "discovered_at"),
    ({"discovered_at": "2026-11-25T09:00:00"}, "discovered_at"),  # no time zone
    ({"discovery_source": "rumour"}, "discovery_source"),
    ({"colour": "red"}, "colour"),
])
def test_wrong_types_and_values_are_422_with_the_field(app, api, world, body, field):
    before = row_counts(app)
    response = api("desk").post("/api/v1/incidents", json=new_incident(world, **body))
    assert_error(response, 422, "validation_error")
    assert field in [f["field"] for f in response.json["error"]["details"]["fields"]]
    assert row_counts(app) == before


@pytest.mark.parametrize("missing", ["channel", "category", "summary"])
def test_missing_fields_are_422(app, api, world, missing):
    body = {k: v for k, v in new_incident(world).items() if k != missing}
    before = row_counts(app)
    response = api("desk").post("/api/v1/incidents", json=body)
    assert_error(response, 422, "validation_error")
    assert missing in [f["field"] for f in response.json["error"]["details"]["fields"]]
    assert row_counts(app) == before


def test_staff_must_name_a_known_organization(app, api, world):
    before = row_counts(app)
    for org in (None, 999999):
        response = api("desk").post("/api/v1/incidents",
                                    json=new_incident(world, organization_id=org))
        assert_error(response, 422, "validation_error")
        assert response.json["error"]["details"]["reason"] == "unknown_organization"
    assert row_counts(app) == before


@pytest.mark.parametrize("data", ['{"channel": "phone",', "null", "[1, 2]", '"text"', "",
                                  "\xff\xfe"])
def test_malformed_json_is_400(app, client, world, data):
    before = row_counts(app)
    response = post_raw(client, "/api/v1/incidents", data, world.tokens["desk"])
    assert response.status_code in (400, 422)
    if data in ('{"channel": "phone",', "", "\xff\xfe"):
        assert_error(response, 400, "malformed_json")
    else:  # valid JSON of the wrong shape
        assert_error(response, 422, "validation_error")
    assert row_counts(app) == before


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x"])
def test_a_body_that_is_not_json_is_415(app, client, world, content_type):
    before = row_counts(app)
    response = post_raw(client, "/api/v1/incidents", "channel=phone", world.tokens["desk"],
                        content_type=content_type)
    assert_error(response, 415, "unsupported_media_type")
    assert row_counts(app) == before


def test_an_oversized_body_is_413(app, client, world):
    before = row_counts(app)
    huge = '{"summary": "' + "あ" * (app.config["MAX_CONTENT_LENGTH"]) + '"}'
    response = post_raw(client, "/api/v1/incidents", huge, world.tokens["desk"])
    assert_error(response, 413, "payload_too_large")
    assert row_counts(app) == before


def test_an_unknown_trigger_is_422(app, api, incident):
    before = row_counts(app)
    response = api("desk").post(f"/api/v1/incidents/{incident}/transitions",
                                json={"trigger": "teleport"})
    assert_error(response, 422, "validation_error")
    assert row_counts(app) == before


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer nonsense", "Basic dXNlcjpwdw==",
                                    "kkt_without_scheme"])
def test_no_or_a_bad_token_is_401(app, client, world, header):
    before = row_counts(app)
    headers = {"Authorization": header} if header else {}
    response = client.post("/api/v1/incidents", json=new_incident(world), headers=headers)
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert row_counts(app) == before


def test_a_revoked_token_is_401(app, api, world):
    from app.extensions import db
    from app.models import ApiToken
    with app.app_context():
        for row in db.session.query(ApiToken).filter_by(user_id=world.users["desk"]):
            row.revoked_at = row.created_at
        db.session.commit()
    assert_error(api("desk").get("/api/v1/incidents"), 401, "unauthorized")


@pytest.mark.parametrize("role", ["technician", "insurer"])
def test_roles_that_do_not_take_reports_get_403(app, api, world, role):
    before = row_counts(app)
    response = api(role).post("/api/v1/incidents", json=new_incident(world))
    assert_error(response, 403, "forbidden")
    assert row_counts(app) == before


def test_another_tenants_incident_is_404_for_every_endpoint(app, api, incident):
    before = row_counts(app)
    other = api("other_customer")
    assert_error(other.get(f"/api/v1/incidents/{incident}"), 404, "not_found")
    assert_error(other.post(f"/api/v1/incidents/{incident}/transitions",
                            json={"trigger": "cancel", "reason": "x"}), 404, "not_found")
    assert_error(other.post(f"/api/v1/incidents/{incident}/notes", json={"note": "hi"}),
                 404, "not_found")
    assert_error(other.post(f"/api/v1/incidents/{incident}/triage-checks",
                            json={"item": "isolate"}), 404, "not_found")
    assert row_counts(app) == before


def test_an_unknown_incident_and_path_are_404(api):
    assert_error(api("desk").get("/api/v1/incidents/424242"), 404, "not_found")
    assert_error(api("desk").get("/api/v1/nowhere"), 404, "not_found")


def test_a_wrong_method_is_405_with_allow(api):
    response = api("desk").client.delete("/api/v1/incidents", headers={
        "Authorization": f"Bearer {api('desk').token}"})
    assert_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


@pytest.mark.parametrize("note", ["", "x" * 5001])
def test_an_empty_or_huge_note_is_422(app, api, incident, note):
    before = row_counts(app)
    response = api("desk").post(f"/api/v1/incidents/{incident}/notes", json={"note": note})
    assert_error(response, 422, "validation_error")
    assert row_counts(app) == before


def test_script_in_text_is_stored_as_text_and_returned_as_json(api, world):
    created = create(api, world, summary="<script>alert(1)</script>")
    detail = api("desk").get(f"/api/v1/incidents/{created['id']}")
    assert detail.content_type == "application/json"
    assert detail.json["summary"] == "<script>alert(1)</script>"
