"""The API's SLA clocks and personal-data leaks: the `sla` of incidents, the list filter,
marking a leak, recording its reports and taking the mark back (the statement count of a
page with clocks is pinned in test_incidents_api.py).

Clocks are placed relative to the current time (services take `now=`), so what a test
sees does not depend on the day it runs.
"""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.domain.timeutil import isoformat_utc, utcnow
from app.extensions import db
from app.models import Incident, IncidentEvent, SlaClock
from app.services.incidents.intake import IntakeRequest, report_incident

HOUR = timedelta(hours=1)


def assert_error(response, status, code, **details):
    assert response.status_code == status, response.text
    error = response.json["error"]
    assert error["code"] == code
    assert {k: error["details"].get(k) for k in details} == details


def reported(app, org_id, ago, category="data_leak"):
    """An incident discovered and reported `ago` before now: its id."""
    with app.app_context():
        at = utcnow() - ago
        incident = report_incident(IntakeRequest(
            organization_id=org_id, channel="email", category=category, severity="high",
            summary="顧客名簿の誤送信", discovered_at=at), actor_label="test", now=at)
        incident_id = incident.id
        db.session.remove()
    return incident_id


def snapshot(app, incident_id):
    """What a refusal must leave alone: version, events, clocks and their outcomes."""
    with app.app_context():
        incident = db.session.get(Incident, incident_id)
        state = (incident.version, incident.personal_data_leak, incident.leak_malicious,
                 incident.leak_preliminary_reported_at, incident.leak_final_reported_at,
                 db.session.scalar(select(func.count(IncidentEvent.id))),
                 sorted((c.name, c.outcome, c.due_at, c.stopped_at)
                        for c in incident.sla_clocks))
        db.session.remove()
    return state


def url(incident_id, tail="personal-data-leak"):
    return f"/api/v1/incidents/{incident_id}/{tail}"


def delete(api, role, path):
    return api(role).client.delete(path, headers=api(role)._headers())


def clocks(body):
    return {c["name"]: c for c in body["sla"]}


# ---------------------------------------------------------------- clocks in incident JSON

def test_an_incident_shows_its_clocks_and_the_worst_status(app, api, world):
    incident_id = reported(app, world.org_a, timedelta(minutes=25))
    body = api("desk").get(f"/api/v1/incidents/{incident_id}").json
    (clock,) = body["sla"]
    assert set(clock) == {"name", "calendar", "target_minutes", "started_at", "due_at",
                          "warn_at", "stopped_at", "status"}
    assert (clock["name"], clock["calendar"], clock["target_minutes"]) == (
        "first_response", "24h", 30)
    assert (clock["status"], clock["stopped_at"], body["sla_status"]) == ("near", None, "near")
    assert clock["due_at"].endswith("Z") and clock["due_at"] > clock["warn_at"]
    assert body["personal_data_leak"] is None


def test_a_stopped_clock_shows_its_outcome_and_no_running_status(app, api, world):
    incident_id = reported(app, world.org_a, timedelta(minutes=40))
    api("desk").post(f"/api/v1/incidents/{incident_id}/transitions",
                     json={"trigger": "start_triage"})
    body = api("desk").get(f"/api/v1/incidents/{incident_id}").json
    assert [(c["name"], c["status"]) for c in body["sla"]] == [("first_response", "missed")]
    assert body["sla"][0]["stopped_at"] is not None and body["sla_status"] is None


def test_an_organization_without_a_contract_has_no_clocks(app, api, world):
    body = api("desk").get(f"/api/v1/incidents/{reported(app, world.org_b, HOUR)}").json
    assert (body["sla"], body["sla_status"]) == ([], None)


def test_the_list_carries_each_incidents_clocks_and_filters_by_sla(app, api, world):
    late = reported(app, world.org_a, timedelta(minutes=45))
    near = reported(app, world.org_a, timedelta(minutes=26))
    fine = reported(app, world.org_a, timedelta(minutes=2))
    none = reported(app, world.org_b, HOUR)
    items = api("desk").get("/api/v1/incidents").json["items"]
    assert {i["id"]: i["sla_status"] for i in items} == {
        late: "breached", near: "near", fine: "ok", none: None}
    assert [c["name"] for c in next(i for i in items if i["id"] == late)["sla"]] == [
        "first_response"]
    for status, expected in (("breached", [late]), ("near", [near])):
        page = api("desk").get(f"/api/v1/incidents?sla={status}").json
        assert [i["id"] for i in page["items"]] == expected
    assert [i["id"] for i in api("customer").get(
        "/api/v1/incidents?sla=breached").json["items"]] == [late]  # still scoped
    assert api("other_customer").get("/api/v1/incidents?sla=breached").json["items"] == []


@pytest.mark.parametrize("value", ["late", "ok", "BREACHED", ""])
def test_an_unknown_sla_filter_is_refused(api, world, value):
    assert_error(api("desk").get(f"/api/v1/incidents?sla={value}"), 422, "validation_error")


def test_the_sla_filter_follows_the_cursor(app, api, world):
    late = [reported(app, world.org_a, timedelta(minutes=40 + n)) for n in range(3)]
    reported(app, world.org_a, timedelta(minutes=1))
    first = api("desk").get("/api/v1/incidents?sla=breached&limit=2").json
    second = api("desk").get(
        f"/api/v1/incidents?sla=breached&limit=2&cursor={first['next_cursor']}").json
    assert [i["id"] for i in first["items"] + second["items"]] == sorted(late, reverse=True)
    assert second["next_cursor"] is None


# ---------------------------------------------------------------- marking a leak

def test_marking_a_leak_starts_the_legal_clocks_from_discovery(app, api, world):
    incident_id = reported(app, world.org_a, timedelta(days=4))
    before = api("desk").get(f"/api/v1/incidents/{incident_id}").json
    response = api("desk").post(url(incident_id), json={"malicious": False,
                                                        "version": before["version"]})
    assert response.status_code == 200, response.text
    body = response.json
    assert body["personal_data_leak"] == {"malicious": False, "preliminary_reported_at": None,
                                          "final_reported_at": None}
    preliminary, final = clocks(body)["leak_preliminary"], clocks(body)["leak_final"]
    assert preliminary["started_at"] == before["discovered_at"]
    assert (preliminary["target_minutes"], final["target_minutes"]) == (5 * 1440, 30 * 1440)
    assert (preliminary["status"], final["status"]) == ("near", "ok")  # day 4 of 3..5
    assert body["sla_status"] == "breached"  # the first response, never given
    (leak_event,) = [e for e in body["timeline"] if e["kind"] == "leak"]
    assert (leak_event["data"], leak_event["actor"]) == (
        {"action": "marked", "malicious": False}, world.emails["desk"])
    assert body["version"] > before["version"]


@pytest.mark.parametrize("role", ["dispatcher", "admin"])
def test_dispatchers_and_admins_may_mark_a_malicious_leak(app, api, world, role):
    incident_id = reported(app, world.org_a, HOUR)
    body = api(role).post(url(incident_id), json={"malicious": True}).json
    assert body["personal_data_leak"]["malicious"] is True
    assert clocks(body)["leak_final"]["target_minutes"] == 60 * 1440


def test_marking_again_changes_only_the_malice_and_the_final_deadline(app, api, world):
    incident_id = reported(app, world.org_a, HOUR)
    first = api("desk").post(url(incident_id), json={}).json
    changed = api("desk").post(url(incident_id), json={"malicious": True}).json
    assert changed["personal_data_leak"]["malicious"] is True
    assert clocks(changed)["leak_final"]["target_minutes"] == 60 * 1440
    assert clocks(changed)["leak_preliminary"] == clocks(first)["leak_preliminary"]
    assert [e["data"]["action"] for e in changed["timeline"] if e["kind"] == "leak"] == [
        "marked", "malicious_changed"]
    before = snapshot(app, incident_id)
    assert_error(api("desk").post(url(incident_id), json={"malicious": True}), 409,
                 "conflict", reason="already_marked")
    assert snapshot(app, incident_id) == before


@pytest.mark.parametrize(("role", "status", "code"), [
    ("customer", 403, "forbidden"), ("technician", 404, "not_found"),
    ("insurer", 404, "not_found"), ("other_customer", 404, "not_found"), (None, 401,
                                                                           "unauthorized")])
def test_others_may_not_mark_a_leak(app, api, world, role, status, code):
    incident_id = reported(app, world.org_a, HOUR)
    before = snapshot(app, incident_id)
    assert_error(api(role).post(url(incident_id), json={"malicious": False}), status, code)
    assert_error(delete(api, role, url(incident_id)), status, code)
    assert_error(api(role).post(url(incident_id, "leak-reports"), json={
        "kind": "preliminary", "reported_at": "2026-11-25T10:00:00+09:00"}), status, code)
    assert snapshot(app, incident_id) == before


@pytest.mark.parametrize("body", [
    {"malicious": "yes"}, {"malicious": 1}, {"malicious": None}, {"malicious": False, "x": 1},
    {"version": "one"}], ids=["string", "number", "null", "unknown field", "bad version"])
def test_a_malformed_mark_is_refused(app, api, world, body):
    incident_id = reported(app, world.org_a, HOUR)
    before = snapshot(app, incident_id)
    assert_error(api("desk").post(url(incident_id), json=body), 422, "validation_error")
    assert snapshot(app, incident_id) == before


def test_a_mark_needs_json_and_an_existing_incident(app, api, world):
    incident_id = reported(app, world.org_a, HOUR)
    response = api("desk").client.post(url(incident_id), data="malicious=true", headers={
        **api("desk")._headers(), "Content-Type": "application/x-www-form-urlencoded"})
    assert_error(response, 415, "unsupported_media_type")
    assert_error(api("desk").post(url(incident_id + 99), json={}), 404, "not_found")


def test_a_stale_version_is_a_409_and_changes_nothing(app, api, world):
    incident_id = reported(app, world.org_a, HOUR)
    version = api("desk").get(f"/api/v1/incidents/{incident_id}").json["version"]
    api("desk").post(f"/api/v1/incidents/{incident_id}/notes", json={"note": "確認中"})
    before = snapshot(app, incident_id)
    assert_error(api("desk").post(url(incident_id), json={"version": version}), 409,
                 "concurrent_update")
    assert snapshot(app, incident_id) == before


# ---------------------------------------------------------------- reports

def marked(app, api, world, ago=timedelta(days=2), malicious=False):
    incident_id = reported(app, world.org_a, ago)
    assert api("desk").post(url(incident_id), json={"malicious": malicious}).status_code == 200
    return incident_id


def report_leak(api, incident_id, kind, at):
    """Record a report made at `at` (naive UTC)."""
    return api("desk").post(url(incident_id, "leak-reports"), json={
        "kind": kind, "reported_at": isoformat_utc(at)})


def test_recording_the_reports_stops_their_clocks(app, api, world):
    incident_id = marked(app, api, world, ago=timedelta(days=6))
    preliminary_at = utcnow() - timedelta(days=2)  # day 4 of 5: on time
    body = report_leak(api, incident_id, "preliminary", preliminary_at).json
    assert body["personal_data_leak"]["preliminary_reported_at"] == isoformat_utc(
        preliminary_at)
    assert clocks(body)["leak_preliminary"]["stopped_at"] == isoformat_utc(preliminary_at)
    assert clocks(body)["leak_preliminary"]["status"] == "met"
    assert clocks(body)["leak_final"]["status"] == "ok"
    final_at = utcnow() - HOUR
    body = report_leak(api, incident_id, "final", final_at).json
    assert body["personal_data_leak"]["final_reported_at"] is not None
    assert clocks(body)["leak_final"]["status"] == "met"
    assert [e["data"]["action"] for e in body["timeline"] if e["kind"] == "leak"] == [
        "marked", "preliminary_reported", "final_reported"]


def test_a_late_preliminary_report_is_missed(app, api, world):
    incident_id = marked(app, api, world, ago=timedelta(days=8))
    body = report_leak(api, incident_id, "preliminary", utcnow() - timedelta(days=1)).json
    assert clocks(body)["leak_preliminary"]["status"] == "missed"


def test_one_report_can_serve_as_both_when_recorded_at_the_same_time(app, api, world):
    incident_id = marked(app, api, world)
    at = utcnow() - HOUR
    report_leak(api, incident_id, "preliminary", at)
    body = report_leak(api, incident_id, "final", at).json
    assert {c["status"] for n, c in clocks(body).items() if n.startswith("leak")} == {"met"}


@pytest.mark.parametrize(("setup", "kind", "when", "status", "code", "reason"), [
    ("marked", "preliminary", timedelta(hours=-1), 422, "validation_error", "in_future"),
    ("marked", "preliminary", timedelta(days=3), 422, "validation_error", "before_discovery"),
    ("marked", "final", timedelta(hours=1), 409, "conflict", "preliminary_first"),
    ("reported", "final", timedelta(hours=5), 422, "validation_error", "before_preliminary"),
    ("reported", "preliminary", timedelta(hours=1), 409, "conflict", "already_reported"),
    ("unmarked", "preliminary", timedelta(hours=1), 409, "conflict", "not_marked"),
], ids=["future", "before discovery", "final first", "final before preliminary",
        "twice", "not marked"])
def test_a_report_that_cannot_be_is_refused_and_changes_nothing(
        app, api, world, setup, kind, when, status, code, reason):
    """The incident was discovered 2 days ago; `when` is how long before now."""
    incident_id = reported(app, world.org_a, timedelta(days=2))
    if setup != "unmarked":
        api("desk").post(url(incident_id), json={})
    if setup == "reported":
        report_leak(api, incident_id, "preliminary", utcnow() - timedelta(hours=2))
    before = snapshot(app, incident_id)
    assert_error(report_leak(api, incident_id, kind, utcnow() - when), status, code,
                 reason=reason)
    assert snapshot(app, incident_id) == before


@pytest.mark.parametrize("body", [
    {"kind": "interim", "reported_at": "2026-11-25T10:00:00+09:00"},
    {"kind": "preliminary", "reported_at": "2026-11-25T10:00:00"},
    {"kind": "preliminary", "reported_at": "yesterday"},
    {"kind": "preliminary"}, {"reported_at": "2026-11-25T10:00:00+09:00"},
    {"kind": "preliminary", "reported_at": "2026-11-25T10:00:00+09:00", "note": "x"},
], ids=["unknown kind", "no time zone", "not a time", "no time", "no kind", "unknown field"])
def test_a_malformed_report_is_refused(app, api, world, body):
    incident_id = marked(app, api, world)
    before = snapshot(app, incident_id)
    assert_error(api("desk").post(url(incident_id, "leak-reports"), json=body), 422,
                 "validation_error")
    assert snapshot(app, incident_id) == before


# ---------------------------------------------------------------- taking the mark back

def test_taking_back_a_mistaken_mark_withdraws_the_clocks(app, api, world):
    incident_id = marked(app, api, world)
    response = delete(api, "desk", url(incident_id))
    assert response.status_code == 200, response.text
    body = response.json
    assert body["personal_data_leak"] is None
    assert {n: c["status"] for n, c in clocks(body).items() if n.startswith("leak")} == {
        "leak_preliminary": "withdrawn", "leak_final": "withdrawn"}
    again = api("desk").post(url(incident_id), json={}).json
    assert clocks(again)["leak_preliminary"]["status"] == "ok"
    assert clocks(again)["leak_preliminary"]["stopped_at"] is None


def test_a_mark_is_not_taken_back_once_reported_or_when_absent(app, api, world):
    incident_id = marked(app, api, world)
    report_leak(api, incident_id, "preliminary", utcnow() - HOUR)
    before = snapshot(app, incident_id)
    assert_error(delete(api, "desk", url(incident_id)), 409, "conflict", reason="reported")
    assert snapshot(app, incident_id) == before
    plain = reported(app, world.org_a, HOUR)
    assert_error(delete(api, "desk", url(plain)), 409, "conflict", reason="not_marked")


def test_taking_back_checks_the_version(app, api, world):
    incident_id = marked(app, api, world)
    version = api("desk").get(f"/api/v1/incidents/{incident_id}").json["version"]
    before = snapshot(app, incident_id)
    assert_error(delete(api, "desk", url(incident_id) + f"?version={version - 1}"), 409,
                 "concurrent_update")
    assert snapshot(app, incident_id) == before
    assert delete(api, "desk", url(incident_id) + f"?version={version}").status_code == 200
    with app.app_context():
        assert db.session.scalar(select(func.count(SlaClock.id)).where(
            SlaClock.incident_id == incident_id, SlaClock.outcome == "running")) == 1


def test_the_openapi_document_lists_the_leak_endpoints(client):
    spec = client.get("/api/openapi.json").json
    leak = spec["paths"]["/api/v1/incidents/{incident_id}/personal-data-leak"]
    assert {"post", "delete"} <= set(leak)
    assert "post" in spec["paths"]["/api/v1/incidents/{incident_id}/leak-reports"]
    summary = spec["components"]["schemas"]["IncidentSummary"]["properties"]
    assert {"sla", "sla_status"} <= set(summary)
