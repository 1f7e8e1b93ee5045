"""POST /api/v1/incidents/{id}/links: duplicates (cancelled, linked both ways, the reporter
told to follow the original) and related incidents; every refusal changes nothing."""

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import IncidentLink, Notification
from app.testkit.helpers import row_counts
from tests.web.api.test_incidents_api import assert_error, create


def link(api, incident_id, other_id, kind, role="desk"):
    return api(role).post(f"/api/v1/incidents/{incident_id}/links",
                          json={"incident_id": other_id, "kind": kind})


def detail(api, incident_id, role="desk"):
    return api(role).get(f"/api/v1/incidents/{incident_id}").json


def link_rows(app):
    with app.app_context():
        count = len(db.session.scalars(select(IncidentLink)).all())
        db.session.remove()
    return count


def test_a_duplicate_is_cancelled_linked_both_ways_and_its_reporter_told(app, api, world):
    original = create(api, world)
    duplicate = create(api, world, reporter={"name": "田中", "phone": "090-1234-5678",
                                             "email": "tanaka@example.jp"})
    response = link(api, duplicate["id"], original["id"], "duplicate_of")
    assert response.status_code == 201, response.text
    body = response.json
    assert body["state"] == "cancelled"
    cancel = next(e for e in body["timeline"] if e["kind"] == "transition")
    assert cancel["trigger"] == "cancel" and cancel["data"] == {"reason": "duplicate"}
    assert [(lk["incident_id"], lk["kind"]) for lk in body["links"]] == [
        (original["id"], "duplicate_of")]
    assert body["links"][0]["reference"] == original["reference"]
    assert body["timeline"][-1]["kind"] == "linked"
    other = detail(api, original["id"])
    assert other["state"] == "received"
    assert [(lk["incident_id"], lk["kind"]) for lk in other["links"]] == [
        (duplicate["id"], "duplicated_by")]
    assert other["timeline"][-1]["data"] == {"link": "duplicated_by",
                                             "incident_id": duplicate["id"],
                                             "reference": duplicate["reference"]}
    # The customer sees the link on its own incident.
    mine = detail(api, duplicate["id"], role="customer")
    assert mine["links"][0]["reference"] == original["reference"]
    with app.app_context():
        messages = db.session.scalars(select(Notification).where(
            Notification.template == "customer_duplicate")).all()
        sent = {(m.channel, m.recipient) for m in messages}
        assert sent == {("sms", "090-1234-5678"), ("email", "tanaka@example.jp")}
        assert all(original["reference"] in m.body and duplicate["reference"] in m.body
                   for m in messages)
        db.session.remove()


def test_a_duplicate_reported_from_a_landline_is_told_by_e_mail_and_the_timeline_says_why(
        app, api, world):
    original = create(api, world)
    duplicate = create(api, world, reporter={"name": "田中", "phone": "03-1234-5678",
                                             "email": "tanaka@example.jp"})
    assert link(api, duplicate["id"], original["id"], "duplicate_of").status_code == 201
    with app.app_context():
        sent = {(m.channel, m.recipient) for m in db.session.scalars(select(Notification).where(
            Notification.template == "customer_duplicate"))}
        db.session.remove()
    assert sent == {("email", "tanaka@example.jp")}
    notes = [e["data"] for e in detail(api, duplicate["id"])["timeline"]
             if e["kind"] == "dispatch"]
    assert notes == [{"action": "sms_not_sent_landline", "recipient": "reporter",
                      "phone": "03-1234-5678", "channel": "email"}]


def test_related_incidents_are_linked_once_whichever_side(app, api, world):
    first, second = create(api, world), create(api, world)
    assert link(api, first["id"], second["id"], "related").status_code == 201
    assert detail(api, first["id"])["state"] == "received"
    assert [lk["kind"] for lk in detail(api, second["id"])["links"]] == ["related"]
    before = (row_counts(app), link_rows(app))
    for a, b in ((first, second), (second, first)):
        response = link(api, a["id"], b["id"], "related")
        assert_error(response, 409, "conflict")
        assert response.json["error"]["details"]["reason"] == "link_exists"
    assert (row_counts(app), link_rows(app)) == before


def test_related_may_cross_organizations_for_staff_and_customers_see_only_theirs(api, world):
    mine = create(api, world)
    theirs = create(api, world, organization_id=world.org_b)
    assert link(api, mine["id"], theirs["id"], "related").status_code == 201
    assert [lk["incident_id"] for lk in detail(api, mine["id"])["links"]] == [theirs["id"]]
    assert detail(api, mine["id"], role="customer")["links"] == []
    assert detail(api, theirs["id"], role="other_customer")["links"] == []


@pytest.mark.parametrize("case, status, reason", [
    ("self", 422, "self_link"),
    ("other_org", 422, "different_organization"),
    ("other_cancelled", 409, "other_final"),
    ("twice", 409, "illegal_transition"),
])
def test_refused_duplicates_change_nothing(app, api, world, case, status, reason):
    original, duplicate = create(api, world), create(api, world)
    other_id = original["id"]
    if case == "self":
        other_id = duplicate["id"]
    elif case == "other_org":
        other_id = create(api, world, organization_id=world.org_b)["id"]
    elif case == "other_cancelled":
        api("desk").post(f"/api/v1/incidents/{original['id']}/transitions",
                         json={"trigger": "cancel", "reason": "誤報"})
    elif case == "twice":  # the duplicate is cancelled already: not again
        third = create(api, world)
        assert link(api, duplicate["id"], third["id"], "duplicate_of").status_code == 201
    before = (row_counts(app), link_rows(app))
    response = link(api, duplicate["id"], other_id, "duplicate_of")
    assert response.status_code == status, response.text
    details = response.json["error"]["details"]
    assert reason in (details.get("reason"), response.json["error"]["code"])
    assert (row_counts(app), link_rows(app)) == before


def test_the_same_duplicate_link_twice_is_a_409(app, api, world):
    original, duplicate = create(api, world), create(api, world)
    assert link(api, duplicate["id"], original["id"], "duplicate_of").status_code == 201
    response = link(api, duplicate["id"], original["id"], "duplicate_of")
    assert_error(response, 409, "conflict")
    assert response.json["error"]["details"]["reason"] == "link_exists"


def test_a_duplicate_cannot_be_merged_once_a_technician_is_on_site(app, api, world):
    original, duplicate = create(api, world), create(api, world)
    for trigger in ("start_triage", "request_dispatch"):
        api("desk").post(f"/api/v1/incidents/{duplicate['id']}/transitions",
                         json={"trigger": trigger})
    with app.app_context():
        from app.models import Incident
        db.session.get(Incident, duplicate["id"]).state = "on_site"
        db.session.commit()
        db.session.remove()
    before = (row_counts(app), link_rows(app))
    assert_error(link(api, duplicate["id"], original["id"], "duplicate_of"), 409,
                 "illegal_transition")
    assert (row_counts(app), link_rows(app)) == before


@pytest.mark.parametrize("role, status", [("customer", 403), ("technician", 404),
                                          ("insurer", 404), ("other_customer", 404)])
def test_only_staff_link(app, api, world, role, status):
    original, duplicate = create(api, world), create(api, world)
    before = (row_counts(app), link_rows(app))
    response = link(api, duplicate["id"], original["id"], "related", role=role)
    assert response.status_code == status
    assert (row_counts(app), link_rows(app)) == before


def test_an_unknown_other_or_kind_is_refused(api, world):
    incident = create(api, world)
    assert_error(link(api, incident["id"], 999999, "related"), 404, "not_found")
    assert_error(link(api, incident["id"], incident["id"], "same"), 422, "validation_error")
    response = api("desk").post(f"/api/v1/incidents/{incident['id']}/links",
                                json={"incident_id": 1, "kind": "related", "x": 1})
    assert_error(response, 422, "validation_error")


@pytest.mark.parametrize("role", ["dispatcher", "admin"])
def test_dispatchers_and_admins_merge_duplicates(api, world, role):
    original, duplicate = create(api, world), create(api, world)
    response = link(api, duplicate["id"], original["id"], "duplicate_of", role=role)
    assert response.status_code == 201
    assert response.json["state"] == "cancelled"
