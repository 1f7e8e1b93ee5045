"""PATCH /api/v1/incidents/{id}: correcting an incident's facts; every field, the version,
each role's limits, tenant isolation, the checklist and the SLA clocks that follow."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Contract, Incident, InsurerNotice, Notification, SlaClock
from app.testkit import factories
from app.testkit.helpers import row_counts
from tests.web.api.test_incidents_api import assert_error, create


def patch(api, role, incident_id, body):
    client = api(role)
    return client.client.patch(f"/api/v1/incidents/{incident_id}", json=body,
                               headers=client._headers())


def detail(api, incident_id, role="desk"):
    return api(role).get(f"/api/v1/incidents/{incident_id}").json


def version_of(api, incident_id):
    return detail(api, incident_id)["version"]


EVERY_FIELD = {
    "category": "ransomware", "severity": "high", "summary": "ファイルが暗号化された",
    "description": "朝9時に気づいた。身代金要求の画面。",
    "reporter": {"name": "佐藤", "phone": "090-1111-2222", "email": "sato@example.jp"},
    "occurred_at": "2026-11-24T23:00:00+09:00", "discovered_at": "2026-11-25T08:30:00+09:00",
    "discovery_source": "external_notice",
}


def test_the_desk_corrects_every_field_in_one_event_with_before_and_after(api, world):
    incident = create(api, world, category="other", severity="medium", summary="電話での相談")
    version = version_of(api, incident["id"])
    response = patch(api, "desk", incident["id"],
                     {"version": version, "reason": "折り返しで確認", **EVERY_FIELD})
    assert response.status_code == 200, response.text
    body = response.json
    assert (body["category"], body["severity"], body["summary"]) == (
        "ransomware", "high", "ファイルが暗号化された")
    assert body["description"] == "朝9時に気づいた。身代金要求の画面。"
    assert body["reporter"] == {"name": "佐藤", "phone": "+819011112222",
                                "email": "sato@example.jp"}
    assert body["occurred_at"] == "2026-11-24T14:00:00Z"
    assert body["discovered_at"] == "2026-11-24T23:30:00Z"
    assert body["discovery_source"] == "external_notice"
    assert body["version"] > version
    event = body["timeline"][-1]
    assert event["kind"] == "corrected"
    assert event["data"]["reason"] == "折り返しで確認"
    changes = event["data"]["changes"]
    assert changes["category"] == {"before": "other", "after": "ransomware"}
    assert changes["severity"] == {"before": "medium", "after": "high"}
    assert changes["reporter_phone"] == {"before": "03-1234-5678", "after": "+819011112222"}
    assert changes["discovered_at"] == {"before": "2026-11-25T00:00:00Z",
                                        "after": "2026-11-24T23:30:00Z"}
    assert changes["occurred_at"] == {"before": None, "after": "2026-11-24T14:00:00Z"}
    assert set(changes) == {"category", "severity", "summary", "description", "reporter_name",
                            "reporter_phone", "reporter_email", "occurred_at",
                            "discovered_at", "discovery_source"}
    assert [e["kind"] for e in body["timeline"]] == ["intake", "corrected"]


def test_only_the_fields_that_differ_are_recorded(api, world):
    incident = create(api, world)
    response = patch(api, "desk", incident["id"], {
        "version": version_of(api, incident["id"]), "category": "ransomware",
        "severity": "high"})  # the category is ransomware already
    assert response.status_code == 200
    assert set(response.json["timeline"][-1]["data"]["changes"]) == {"severity"}


def test_a_correction_that_changes_nothing_is_refused(app, api, world):
    incident = create(api, world)
    before = row_counts(app)
    response = patch(api, "desk", incident["id"], {
        "version": version_of(api, incident["id"]), "category": "ransomware"})
    assert_error(response, 422, "validation_error")
    assert response.json["error"]["details"]["reason"] == "nothing_changed"
    assert_error(patch(api, "desk", incident["id"], {"version": 1}), 422, "validation_error")
    assert row_counts(app) == before


def test_a_stale_version_is_a_409_and_changes_nothing(app, api, world):
    incident = create(api, world)
    version = version_of(api, incident["id"])
    assert patch(api, "desk", incident["id"], {"version": version,
                                               "severity": "low"}).status_code == 200
    before = row_counts(app)
    response = patch(api, "dispatcher", incident["id"], {"version": version,
                                                        "severity": "critical"})
    assert_error(response, 409, "concurrent_update")
    assert detail(api, incident["id"])["severity"] == "low"
    assert row_counts(app) == before


@pytest.mark.parametrize("body, field", [
    ({"category": "nonsense"}, "category"),
    ({"severity": None}, "severity"),
    ({"summary": ""}, "summary"),
    ({"summary": "x" * 201}, "summary"),
    ({"reporter": {"phone": "not a number"}}, "reporter_phone"),
    ({"reporter": {"email": "nobody"}}, "email"),
    ({"reporter": {"fax": "03"}}, "fax"),
    ({"discovered_at": "2026-11-25T08:30:00"}, "discovered_at"),  # no zone
    ({"discovered_at": "2099-01-01T00:00:00Z"}, "discovered_at"),  # in the future
    ({"occurred_at": "2026-11-26T00:00:00Z"}, "occurred_at"),  # after the discovery
    ({"state": "closed"}, "state"),
    ({"channel": "web"}, "channel"),
])
def test_bad_values_are_refused_with_the_field_and_change_nothing(app, api, world, body,
                                                                   field):
    incident = create(api, world)
    before = row_counts(app)
    response = patch(api, "desk", incident["id"],
                     {"version": version_of(api, incident["id"]), **body})
    assert_error(response, 422, "validation_error")
    assert field in response.text
    assert row_counts(app) == before


def test_the_version_is_required(api, world):
    incident = create(api, world)
    assert_error(patch(api, "desk", incident["id"], {"severity": "low"}), 422,
                 "validation_error")
    assert_error(patch(api, "desk", incident["id"], {"version": "1", "severity": "low"}), 422,
                 "validation_error")


def test_the_organization_is_corrected_with_a_reason_while_received(app, api, world):
    incident = create(api, world)
    version = version_of(api, incident["id"])
    refused = patch(api, "desk", incident["id"], {"version": version,
                                                  "organization_id": world.org_b})
    assert_error(refused, 422, "validation_error")
    assert refused.json["error"]["details"]["field"] == "reason"
    unknown = patch(api, "desk", incident["id"], {"version": version, "reason": "x",
                                                  "organization_id": 99999})
    assert unknown.json["error"]["details"]["reason"] == "unknown_organization"
    response = patch(api, "desk", incident["id"], {
        "version": version, "organization_id": world.org_b, "reason": "別会社の番号だった"})
    assert response.status_code == 200, response.text
    assert response.json["organization_id"] == world.org_b
    change = response.json["timeline"][-1]["data"]["changes"]["organization_id"]
    assert change["before"]["id"] == world.org_a and change["after"]["id"] == world.org_b
    # The customer of the first organization no longer sees it; the second one's does.
    assert_error(api("customer").get(f"/api/v1/incidents/{incident['id']}"), 404, "not_found")
    assert api("other_customer").get(f"/api/v1/incidents/{incident['id']}").status_code == 200


def test_the_organization_stays_once_past_triage(app, api, world):
    incident = create(api, world)
    for trigger in ("start_triage", "request_dispatch"):
        api("desk").post(f"/api/v1/incidents/{incident['id']}/transitions",
                         json={"trigger": trigger})
    before = row_counts(app)
    response = patch(api, "desk", incident["id"], {
        "version": version_of(api, incident["id"]), "organization_id": world.org_b,
        "reason": "x"})
    assert_error(response, 409, "conflict")
    assert response.json["error"]["details"]["reason"] == "organization_locked"
    assert row_counts(app) == before


@pytest.mark.parametrize("role", ["desk", "dispatcher", "admin"])
def test_every_staff_role_corrects(api, world, role):
    incident = create(api, world)
    response = patch(api, role, incident["id"], {"version": version_of(api, incident["id"]),
                                                 "category": "phishing_bec"})
    assert response.status_code == 200
    assert response.json["category"] == "phishing_bec"


def test_a_customer_corrects_only_its_description_and_contact(app, api, world):
    incident = create(api, world, role="customer")
    version = version_of(api, incident["id"])
    before = row_counts(app)
    for body in ({"category": "malware"}, {"severity": "low"}, {"summary": "x"},
                 {"discovered_at": "2026-11-25T08:00:00+09:00"},
                 {"organization_id": world.org_b, "reason": "x"},
                 {"description": "ok", "severity": "low"}, {"completed": True}):
        response = patch(api, "customer", incident["id"], {"version": version, **body})
        assert_error(response, 403, "forbidden")
    assert row_counts(app) == before
    response = patch(api, "customer", incident["id"], {
        "version": version, "description": "追記: 共有フォルダも開けない",
        "reporter": {"name": "田中一郎", "phone": "", "email": "ichiro@example.jp"}})
    assert response.status_code == 200, response.text
    assert response.json["description"] == "追記: 共有フォルダも開けない"
    assert response.json["reporter"] == {"name": "田中一郎", "phone": "",
                                         "email": "ichiro@example.jp"}
    # The customer's timeline is the customer-facing one (app/domain/customer_timeline.py);
    # the desk reads the correction with its before and after.
    assert "corrected" not in {e["kind"] for e in response.json["timeline"]}
    event = detail(api, incident["id"])["timeline"][-1]
    assert event["kind"] == "corrected"
    assert set(event["data"]["changes"]) == {"description", "reporter_name", "reporter_phone",
                                             "reporter_email"}


def test_tenants_cannot_correct_what_they_cannot_see(app, api, world):
    theirs = create(api, world, organization_id=world.org_b)
    version = version_of(api, theirs["id"])
    before = row_counts(app)
    for role in ("customer", "technician", "insurer"):
        response = patch(api, role, theirs["id"], {"version": version, "description": "x"})
        assert_error(response, 404, "not_found")
    assert_error(patch(api, "desk", 999999, {"version": 1, "description": "x"}), 404,
                 "not_found")
    assert row_counts(app) == before


def test_technicians_and_insurers_correct_nothing_they_see(app, api, world):
    with app.app_context():
        org = db.session.get(factories.Organization, world.org_a)
        tech = db.session.get(factories.Technician, world.technician)
        incident = factories.make_incident(org, state="technician_assigned", technician=tech)
        incident_id, version = incident.id, incident.version
        db.session.remove()
    before = row_counts(app)
    for role in ("technician", "insurer"):
        assert api(role).get(f"/api/v1/incidents/{incident_id}").status_code == 200
        response = patch(api, role, incident_id, {"version": version, "description": "x"})
        assert_error(response, 403, "forbidden")
    assert row_counts(app) == before


def test_the_checklist_follows_the_new_category_and_old_ticks_stay(api, world, login):
    incident = create(api, world, category="phishing_bec")
    api("desk").post(f"/api/v1/incidents/{incident['id']}/transitions",
                     json={"trigger": "start_triage"})
    tick = api("desk").post(f"/api/v1/incidents/{incident['id']}/triage-checks",
                            json={"item": "no_transfer"})
    assert tick.status_code == 201
    patch(api, "desk", incident["id"], {"version": version_of(api, incident["id"]),
                                        "category": "ransomware"})
    # The old tick stays in the history; ransomware's items can be ticked now, the old not.
    timeline = detail(api, incident["id"])["timeline"]
    assert any(e["kind"] == "triage_check" and e["data"]["item"] == "no_transfer"
               for e in timeline)
    assert api("desk").post(f"/api/v1/incidents/{incident['id']}/triage-checks",
                            json={"item": "ransom_note"}).status_code == 201
    assert_error(api("desk").post(f"/api/v1/incidents/{incident['id']}/triage-checks",
                                  json={"item": "no_transfer"}), 422, "validation_error")
    client = login(world.emails["desk"])
    page = client.get(f"/desk/incidents/{incident['id']}").text
    assert 'data-item="ransom_note"' in page and 'data-item="no_transfer"' not in page
    # The old tick is still shown in words on the timeline.
    assert "依頼されている送金・振込を止めるよう伝えた" in page


def _first_response(app, incident_id):
    with app.app_context():
        clock = db.session.query(SlaClock).filter_by(incident_id=incident_id,
                                                     name="first_response").one_or_none()
        result = None if clock is None else (clock.started_at, clock.due_at, clock.outcome)
        db.session.remove()
    return result


def test_sla_running_clocks_follow_the_contract_of_the_corrected_organization(app, api, world):
    """The rule (docs/architecture.md): a running clock keeps its start and takes the
    target the incident now falls under; stopped clocks do not move."""
    with app.app_context():
        org_c = factories.make_organization(name="丙物産")
        db.session.query(Contract).filter_by(organization_id=org_c.id).update(
            {"sla_first_response_minutes": 90})
        db.session.commit()
        org_c_id = org_c.id
        db.session.remove()
    incident = create(api, world)
    started, due, outcome = _first_response(app, incident["id"])
    assert outcome == "running" and due - started == timedelta(minutes=30)
    # A severity change keeps the target: the contract's targets do not differ by severity.
    patch(api, "desk", incident["id"], {"version": version_of(api, incident["id"]),
                                        "severity": "critical"})
    assert _first_response(app, incident["id"]) == (started, due, "running")
    patch(api, "desk", incident["id"], {"version": version_of(api, incident["id"]),
                                        "organization_id": org_c_id, "reason": "取り違え"})
    assert _first_response(app, incident["id"]) == (started, started + timedelta(minutes=90),
                                                     "running")
    # Under no contract the running clock is withdrawn.
    patch(api, "desk", incident["id"], {"version": version_of(api, incident["id"]),
                                        "organization_id": world.org_b, "reason": "再取り違え"})
    assert _first_response(app, incident["id"])[2] == "withdrawn"


def test_stopped_clocks_do_not_move(app, api, world):
    incident = create(api, world)
    api("desk").post(f"/api/v1/incidents/{incident['id']}/transitions",
                     json={"trigger": "start_triage"})
    stopped = _first_response(app, incident["id"])
    assert stopped[2] in ("met", "missed")
    with app.app_context():
        org_c = factories.make_organization(name="丁産業")
        db.session.commit()
        org_c_id = org_c.id
        db.session.remove()
    response = patch(api, "desk", incident["id"], {
        "version": version_of(api, incident["id"]), "organization_id": org_c_id,
        "reason": "x", "severity": "low"})
    assert response.status_code == 200
    assert _first_response(app, incident["id"]) == stopped


def test_later_messages_use_the_corrected_values(app, api, world):
    """The insurer's early notice and the customer's SMS are written when they are queued,
    from the incident as it is then: after a correction they say the corrected values."""
    incident = create(api, world, category="other", severity="medium")
    patch(api, "desk", incident["id"], {"version": version_of(api, incident["id"]),
                                        "category": "ransomware", "severity": "critical",
                                        "reporter": {"phone": "090-3333-4444"}})
    for trigger in ("start_triage", "request_dispatch"):
        api("desk").post(f"/api/v1/incidents/{incident['id']}/transitions",
                         json={"trigger": trigger})
    (offer,) = api("dispatcher").get(
        f"/api/v1/incidents/{incident['id']}/dispatches").json["items"]
    for trigger in ("accept", "depart"):
        response = api("technician").post(f"/api/v1/dispatches/{offer['id']}/transitions",
                                          json={"trigger": trigger})
        assert response.status_code == 200, response.text
    with app.app_context():
        messages = db.session.scalars(select(Notification)).all()
        notice = db.session.scalars(select(InsurerNotice).where(
            InsurerNotice.kind == "early_notice")).one()
        assert (notice.payload["incident"]["category"],
                notice.payload["incident"]["severity"]) == ("ransomware", "critical")
        sms = [m.recipient for m in messages
               if m.template == "customer_en_route" and m.channel == "sms"]
        assert sms == ["+819033334444"]
        db.session.remove()


def test_get_returns_version_links_and_needs_completion(api, world):
    incident = create(api, world)
    body = detail(api, incident["id"])
    assert body["needs_completion"] is False
    assert body["links"] == []
    assert isinstance(body["version"], int)


def test_patch_needs_a_token(client, world):
    response = client.patch("/api/v1/incidents/1", json={"version": 1, "severity": "low"})
    assert response.status_code == 401


def test_discovered_time_is_stored_exactly(api, world):
    incident = create(api, world)
    response = patch(api, "desk", incident["id"], {
        "version": version_of(api, incident["id"]),
        "discovered_at": "2026-11-25T08:30:15.250000+09:00"})
    assert response.json["discovered_at"].startswith("2026-11-24T23:30:15")
    assert datetime.fromisoformat(response.json["discovered_at"].replace("Z", "+00:00"))


def test_a_corrected_discovery_moves_the_running_leak_clocks_only(app, api, world):
    incident = create(api, world)
    api("desk").post(f"/api/v1/incidents/{incident['id']}/personal-data-leak",
                     json={"malicious": False})
    api("desk").post(f"/api/v1/incidents/{incident['id']}/leak-reports", json={
        "kind": "preliminary", "reported_at": "2026-11-26T09:00:00+09:00"})
    response = patch(api, "desk", incident["id"], {
        "version": version_of(api, incident["id"]),
        "discovered_at": "2026-11-24T09:00:00+09:00"})
    assert response.status_code == 200, response.text
    clocks = {c["name"]: c for c in response.json["sla"]}
    assert clocks["leak_final"]["started_at"] == "2026-11-24T00:00:00Z"
    assert clocks["leak_final"]["due_at"] == "2026-12-24T00:00:00Z"
    # The preliminary report was recorded: its stopped clock keeps the first discovery.
    assert clocks["leak_preliminary"]["started_at"] == "2026-11-25T00:00:00Z"
    assert clocks["leak_preliminary"]["status"] in ("met", "missed")


def test_concurrent_corrections_of_one_version_one_wins(app, world):
    """Ten operators correct the same version at once: one correction, nine 409s."""
    from tests.web.api.test_concurrency import _race

    with app.app_context():
        incident = factories.make_incident(db.session.get(factories.Organization, world.org_a))
        incident_id, version = incident.id, incident.version
        db.session.remove()
    headers = {"Authorization": f"Bearer {world.tokens['desk']}"}

    def correction(severity):
        return lambda c: c.patch(f"/api/v1/incidents/{incident_id}", headers=headers,
                                 json={"version": version, "severity": severity})

    responses = _race(app, [correction(s) for s in ("critical", "high", "low") * 3 +
                            ("critical",)])
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * 9, statuses
    winner = next(r for r in responses if r.status_code == 200).json
    with app.app_context():
        row = db.session.get(Incident, incident_id)
        assert row.severity == winner["severity"]
        assert [e.kind for e in row.events].count("corrected") == 1
        db.session.remove()
