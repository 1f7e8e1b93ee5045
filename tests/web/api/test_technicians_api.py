"""The technician and on-call shift API: roles, validation, overlaps; refusals write nothing."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Dispatch,
    EscalationStep,
    Incident,
    IncidentEvent,
    Notification,
    OnCallShift,
    Technician,
)
from tests.web.api.test_incidents_api import assert_error

NEW = {"name": "佐藤 健", "company": "駆付けサポート株式会社", "phone": "090-1234-5678",
       "email": "sato@support.example", "prefectures": [13, 14], "skills": ["ransomware", "dos"],
       "hourly_rate": 9000, "active": True, "locale": "ja"}
SHIFT = {"starts_at": "2090-04-01T09:00:00+09:00", "ends_at": "2090-04-01T18:00:00+09:00"}


def call(client, world, role, method, path, json=None):
    """A request with the role's bearer token (none for role=None)."""
    headers = {"Authorization": f"Bearer {world.tokens[role]}"} if role else {}
    return client.open(path, method=method, json=json, headers=headers)


def counts(app):
    """Every row the technician and dispatch endpoints could write, and the states."""
    with app.app_context():
        result = [db.session.scalar(select(func.count()).select_from(model)) for model in (
            Technician, OnCallShift, Dispatch, EscalationStep, Notification, IncidentEvent)]
        result.append(db.session.execute(select(Incident.id, Incident.state, Incident.version)
                                         .order_by(Incident.id)).all())
        result.append(db.session.execute(select(Dispatch.id, Dispatch.state, Dispatch.version)
                                         .order_by(Dispatch.id)).all())
        result.append(db.session.execute(select(
            Technician.id, Technician.name, Technician.phone, Technician.active)
            .order_by(Technician.id)).all())
        db.session.remove()
    return result


def error_fields(response):
    """The fields an error names: pydantic's list, or a service's single field."""
    details = response.json["error"]["details"]
    return [f["field"] for f in details.get("fields", [])] + [details.get("field")]


def create(client, world, role="admin", **changes):
    response = call(client, world, role, "POST", "/api/v1/technicians", NEW | changes)
    assert response.status_code == 201, response.json
    return response.json


def add_shift(client, world, tech, role="admin", **changes):
    return call(client, world, role, "POST", f"/api/v1/technicians/{tech}/shifts",
                SHIFT | changes)


# ---------------------------------------------------------------- technicians


def test_an_admin_adds_a_technician_with_the_phone_in_e164(client, world):
    body = create(client, world)
    assert body["phone"] == "+819012345678"
    assert (body["prefectures"], body["skills"]) == ([13, 14], ["ransomware", "dos"])
    assert body["on_call_now"] is False
    fetched = call(client, world, "desk", "GET", f"/api/v1/technicians/{body['id']}").json
    assert fetched == body


def test_a_dispatcher_may_add_technicians_too(client, world):
    assert create(client, world, role="dispatcher", phone="+1 415 555 0100")["phone"] == \
        "+14155550100"


def test_technicians_on_call_now_are_marked(client, world):
    items = call(client, world, "desk", "GET", "/api/v1/technicians").json["items"]
    by_id = {t["id"]: t for t in items}
    assert by_id[world.technician]["on_call_now"] is True
    assert by_id[world.other_technician]["on_call_now"] is True


def test_the_list_pages_with_a_cursor_and_filters_on_active(client, world):
    inactive = create(client, world, active=False)["id"]
    first = call(client, world, "admin", "GET", "/api/v1/technicians?limit=2").json
    assert [t["id"] for t in first["items"]] == [world.technician, world.other_technician]
    second = call(client, world, "admin", "GET",
                  f"/api/v1/technicians?limit=2&cursor={first['next_cursor']}").json
    assert [t["id"] for t in second["items"]] == [inactive]
    assert second["next_cursor"] is None
    active = call(client, world, "admin", "GET", "/api/v1/technicians?active=false").json
    assert [t["id"] for t in active["items"]] == [inactive]


def test_patch_changes_only_the_fields_sent(client, world):
    tech = create(client, world)
    response = call(client, world, "dispatcher", "PATCH", f"/api/v1/technicians/{tech['id']}",
                    {"hourly_rate": 12000, "prefectures": [27, 27, 26], "active": False,
                     "locale": "en", "phone": "+81 3 1234 5678", "email": ""})
    assert response.status_code == 200, response.json
    assert response.json == tech | {"hourly_rate": 12000, "prefectures": [26, 27],
                                    "active": False, "locale": "en", "phone": "+81312345678",
                                    "email": ""}


@pytest.mark.parametrize("role", ["desk", "customer", "technician", "insurer"])
def test_only_dispatchers_and_admins_add_technicians(app, client, world, role):
    before = counts(app)
    assert_error(call(client, world, role, "POST", "/api/v1/technicians", NEW), 403,
                 "forbidden")
    assert_error(call(client, world, role, "PATCH",
                      f"/api/v1/technicians/{world.technician}", {"name": "x"}), 403,
                 "forbidden")
    assert counts(app) == before


@pytest.mark.parametrize("role", ["customer", "technician", "insurer", "other_customer"])
def test_only_staff_read_technicians(client, world, role):
    assert_error(call(client, world, role, "GET", "/api/v1/technicians"), 403, "forbidden")
    assert_error(call(client, world, role, "GET", f"/api/v1/technicians/{world.technician}"),
                 403, "forbidden")
    assert_error(call(client, world, role, "GET",
                      f"/api/v1/technicians/{world.technician}/shifts"), 403, "forbidden")


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/v1/technicians"), ("POST", "/api/v1/technicians"),
    ("GET", "/api/v1/technicians/1"), ("PATCH", "/api/v1/technicians/1"),
    ("GET", "/api/v1/technicians/1/shifts"), ("POST", "/api/v1/technicians/1/shifts"),
    ("DELETE", "/api/v1/shifts/1"),
])
def test_every_endpoint_needs_a_token(app, client, world, method, path):
    before = counts(app)
    response = call(client, world, None, method, path, {} if method in ("POST", "PATCH")
                    else None)
    assert_error(response, 401, "unauthorized")
    assert counts(app) == before


BAD_TECHNICIANS = [
    ({"name": ""}, "name"), ({"name": 42}, "name"), ({"name": "  "}, "name"),
    ({"name": "x" * 101}, "name"), ({"company": ["a"]}, "company"),
    ({"phone": "abc"}, "phone"), ({"phone": "12345"}, "phone"), ({"phone": "090-1234"}, "phone"),
    ({"phone": "+81 90"}, "phone"), ({"phone": "090-1234-5678 ext 2"}, "phone"),
    ({"phone": "++819012345678"}, "phone"), ({"phone": 9012345678}, "phone"),
    ({"email": "not-an-email"}, "email"), ({"prefectures": [0]}, "prefectures.0"),
    ({"prefectures": [48]}, "prefectures.0"), ({"prefectures": "13"}, "prefectures"),
    ({"prefectures": ["13"]}, "prefectures.0"), ({"prefectures": [True]}, "prefectures.0"),
    ({"skills": ["hacking"]}, "skills.0"), ({"skills": "malware"}, "skills"),
    ({"hourly_rate": -1}, "hourly_rate"), ({"hourly_rate": "8000"}, "hourly_rate"),
    ({"hourly_rate": 1.5}, "hourly_rate"), ({"active": "yes"}, "active"),
    ({"active": 1}, "active"), ({"locale": "fr"}, "locale"), ({"colour": "red"}, "colour"),
]


@pytest.mark.parametrize(("body", "field"), BAD_TECHNICIANS)
def test_bad_technician_fields_are_422_and_add_nothing(app, client, world, body, field):
    before = counts(app)
    response = call(client, world, "admin", "POST", "/api/v1/technicians", NEW | body)
    assert_error(response, 422, "validation_error")
    assert field in error_fields(response)
    assert counts(app) == before


@pytest.mark.parametrize(("body", "field"), BAD_TECHNICIANS + [
    ({"name": None}, "name"), ({"phone": None}, "phone"), ({"active": None}, "active")])
def test_bad_technician_changes_are_422_and_change_nothing(app, client, world, body, field):
    before = counts(app)
    response = call(client, world, "admin", "PATCH", f"/api/v1/technicians/{world.technician}",
                    body)
    assert_error(response, 422, "validation_error")
    assert field in error_fields(response)
    assert counts(app) == before


@pytest.mark.parametrize("missing", ["name", "phone"])
def test_name_and_phone_are_required(app, client, world, missing):
    before = counts(app)
    body = {k: v for k, v in NEW.items() if k != missing}
    response = call(client, world, "admin", "POST", "/api/v1/technicians", body)
    assert_error(response, 422, "validation_error")
    assert missing in error_fields(response)
    assert counts(app) == before


def test_a_body_that_is_not_json_is_refused(app, client, world):
    before = counts(app)
    headers = {"Authorization": f"Bearer {world.tokens['admin']}"}
    response = client.post("/api/v1/technicians", data="name=x", headers=headers,
                           content_type="application/x-www-form-urlencoded")
    assert_error(response, 415, "unsupported_media_type")
    response = client.patch(f"/api/v1/technicians/{world.technician}", data="{", headers=headers,
                            content_type="application/json")
    assert_error(response, 400, "malformed_json")
    assert counts(app) == before


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/api/v1/technicians/999999", None),
    ("PATCH", "/api/v1/technicians/999999", {"name": "x"}),
    ("GET", "/api/v1/technicians/999999/shifts", None),
    ("POST", "/api/v1/technicians/999999/shifts", SHIFT),
    ("DELETE", "/api/v1/shifts/999999", None),
])
def test_unknown_ids_are_404(app, client, world, method, path, body):
    before = counts(app)
    assert_error(call(client, world, "admin", method, path, body), 404, "not_found")
    assert counts(app) == before


def test_ids_out_of_range_are_422(client, world):
    response = call(client, world, "admin", "GET", f"/api/v1/technicians/{2**63}")
    assert response.status_code in (404, 422)  # werkzeug's int converter may refuse first
    assert response.is_json


# ---------------------------------------------------------------- shifts


def test_a_shift_is_stored_in_utc_and_listed(client, world):
    tech = create(client, world)["id"]
    response = add_shift(client, world, tech, note="夜間待機")
    assert response.status_code == 201, response.json
    assert response.json["starts_at"] == "2090-04-01T00:00:00Z"
    assert response.json["ends_at"] == "2090-04-01T09:00:00Z"
    listed = call(client, world, "desk", "GET", f"/api/v1/technicians/{tech}/shifts").json
    assert listed["items"] == [response.json]


def test_shifts_list_from_a_given_time(client, world):
    tech = create(client, world)["id"]
    add_shift(client, world, tech)
    later = add_shift(client, world, tech, starts_at="2090-04-02T09:00:00+09:00",
                      ends_at="2090-04-02T18:00:00+09:00").json
    listed = call(client, world, "admin", "GET", f"/api/v1/technicians/{tech}/shifts"
                  "?since=2090-04-01T12:00:00%2B00:00").json["items"]
    assert [s["id"] for s in listed] == [later["id"]]


@pytest.mark.parametrize(("starts", "ends"), [
    ("2090-04-01T08:00:00+09:00", "2090-04-01T10:00:00+09:00"),  # overlaps the start
    ("2090-04-01T17:00:00+09:00", "2090-04-02T01:00:00+09:00"),  # overlaps the end
    ("2090-04-01T10:00:00+09:00", "2090-04-01T11:00:00+09:00"),  # inside
    ("2090-03-31T00:00:00+09:00", "2090-04-03T00:00:00+09:00"),  # around
    ("2090-04-01T00:00:00Z", "2090-04-01T09:00:00Z"),  # the same period in UTC
])
def test_overlapping_shifts_of_one_technician_are_409(app, client, world, starts, ends):
    tech = create(client, world)["id"]
    first = add_shift(client, world, tech).json
    before = counts(app)
    response = add_shift(client, world, tech, starts_at=starts, ends_at=ends)
    assert_error(response, 409, "shift_overlap")
    assert response.json["error"]["details"]["shift_id"] == first["id"]
    assert counts(app) == before


def test_back_to_back_shifts_and_other_technicians_shifts_do_not_overlap(client, world):
    tech, other = create(client, world)["id"], create(client, world)["id"]
    add_shift(client, world, tech)
    assert add_shift(client, world, tech, starts_at=SHIFT["ends_at"],
                     ends_at="2090-04-02T09:00:00+09:00").status_code == 201
    assert add_shift(client, world, other).status_code == 201


@pytest.mark.parametrize(("body", "field"), [
    ({"ends_at": "2090-04-01T09:00:00+09:00"}, "ends_at"),  # ends when it starts
    ({"ends_at": "2090-04-01T08:00:00+09:00"}, "ends_at"),  # ends before it starts
    ({"ends_at": "2090-04-08T09:00:01+09:00"}, "ends_at"),  # longer than 7 days
    ({"starts_at": "2000-01-01T00:00:00+09:00", "ends_at": "2000-01-01T09:00:00+09:00"},
     "ends_at"),  # already over
    ({"starts_at": "2090-04-01T09:00:00"}, "starts_at"),  # no time zone
    ({"starts_at": "tomorrow"}, "starts_at"),
    ({"starts_at": 1700000000}, "starts_at"),
    ({"note": "x" * 201}, "note"),
    ({"technician_id": 1}, "technician_id"),
])
def test_bad_shifts_are_422_and_add_nothing(app, client, world, body, field):
    tech = create(client, world)["id"]
    before = counts(app)
    response = add_shift(client, world, tech, **body)
    assert_error(response, 422, "validation_error")
    assert field in error_fields(response)
    assert counts(app) == before


def test_a_missing_end_is_422(app, client, world):
    before = counts(app)
    response = call(client, world, "admin", "POST",
                    f"/api/v1/technicians/{world.technician}/shifts",
                    {"starts_at": SHIFT["starts_at"]})
    assert_error(response, 422, "validation_error")
    assert "ends_at" in error_fields(response)
    assert counts(app) == before


def test_a_shift_of_exactly_seven_days_is_allowed(client, world):
    tech = create(client, world)["id"]
    response = add_shift(client, world, tech, ends_at="2090-04-08T09:00:00+09:00")
    assert response.status_code == 201, response.json


def test_a_shift_is_deleted_once(app, client, world):
    tech = create(client, world)["id"]
    shift = add_shift(client, world, tech).json["id"]
    response = call(client, world, "dispatcher", "DELETE", f"/api/v1/shifts/{shift}")
    assert response.status_code == 204
    assert call(client, world, "admin", "GET",
                f"/api/v1/technicians/{tech}/shifts").json["items"] == []
    before = counts(app)
    assert_error(call(client, world, "dispatcher", "DELETE", f"/api/v1/shifts/{shift}"), 404,
                 "not_found")
    assert counts(app) == before


@pytest.mark.parametrize("role", ["desk", "customer", "technician", "insurer"])
def test_only_dispatchers_and_admins_change_shifts(app, client, world, role):
    tech = create(client, world)["id"]
    shift = add_shift(client, world, tech).json["id"]
    before = counts(app)
    assert_error(add_shift(client, world, tech, role=role,
                           starts_at="2090-05-01T09:00:00+09:00",
                           ends_at="2090-05-01T18:00:00+09:00"), 403, "forbidden")
    assert_error(call(client, world, role, "DELETE", f"/api/v1/shifts/{shift}"), 403,
                 "forbidden")
    assert counts(app) == before


def test_a_technician_is_on_call_during_a_shift_that_covers_now(client, world):
    tech = create(client, world)["id"]
    now = datetime.now(UTC)
    response = add_shift(client, world, tech, starts_at=(now - timedelta(hours=1)).isoformat(),
                         ends_at=(now + timedelta(hours=1)).isoformat())
    assert response.status_code == 201, response.json
    assert call(client, world, "desk", "GET",
                f"/api/v1/technicians/{tech}").json["on_call_now"] is True


def test_the_openapi_document_lists_the_technician_and_dispatch_endpoints(client):
    spec = client.get("/api/openapi.json").json
    expected = {
        ("/api/v1/technicians", "get"), ("/api/v1/technicians", "post"),
        ("/api/v1/technicians/{technician_id}", "patch"),
        ("/api/v1/technicians/{technician_id}/shifts", "post"),
        ("/api/v1/shifts/{shift_id}", "delete"),
        ("/api/v1/incidents/{incident_id}/candidates", "get"),
        ("/api/v1/incidents/{incident_id}/dispatches", "post"),
        ("/api/v1/incidents/{incident_id}/reoffer", "post"),
        ("/api/v1/dispatches", "get"), ("/api/v1/dispatches/{dispatch_id}", "get"),
        ("/api/v1/dispatches/{dispatch_id}/transitions", "post"),
    }
    for path, method in expected:
        operation = spec["paths"][path][method]
        assert operation["security"] == [{"bearerAuth": []}]
        assert operation["tags"][0] in ("technicians", "dispatches")
        assert {"401", "403", "404", "422"} <= set(operation["responses"])
    schemas = spec["components"]["schemas"]
    assert schemas["DispatchTransitionRequest"]["properties"]["trigger"]["enum"] == [
        "accept", "decline", "depart", "arrive", "complete", "cancel"]
    assert {"escalations", "notifications"} <= set(schemas["DispatchOut"]["properties"])
