"""Every trigger from every state through the API, as the role that presses it."""

import pytest

from app.extensions import db
from app.models import Organization, Technician
from app.testkit import factories
from app.testkit.helpers import row_counts
from tests.web.api.test_incidents_api import assert_error
from workflows import INCIDENT
from workflows.incident import STATES, TRANSITIONS, TRIGGERS

PARAMS = {"cancel": {"reason": "false positive"}, "release_technician": {"reason": "ill"},
          "deny_claim": {"reason": "not covered"}, "request_info": {"message": "receipt?"},
          "approve_claim": {"amount": 120000},
          "record_payment": {"amount": 120000, "paid_on": "2026-12-10"},
          "complete_onsite": {"work_report": "removed malware, restored from backup"}}
HELD_BY_TECHNICIAN = {"technician_assigned", "en_route", "on_site"}
triggers_from = INCIDENT.triggers_from
LEGAL = [(src, t["trigger"], t["dest"], t["roles"][-1] if t["roles"] else None)
         for t in TRANSITIONS
         for src in (t["source"] if isinstance(t["source"], list) else [t["source"]])]
ILLEGAL = [(state, trigger) for state in STATES for trigger in TRIGGERS
           if trigger not in triggers_from(state)]


def incident_in(app, world, state):
    with app.app_context():
        org = db.session.get(Organization, world.org_a)
        technician = db.session.get(Technician, world.technician) \
            if state in HELD_BY_TECHNICIAN else None
        return factories.make_incident(org, state=state, technician=technician).id


def params_for(trigger, world):
    if trigger == "assign_technician":
        return {"technician_id": world.technician}
    return PARAMS.get(trigger, {})


@pytest.mark.parametrize(("source", "trigger", "dest", "role"), LEGAL)
def test_every_legal_trigger_works_through_the_api(app, api, world, source, trigger, dest, role):
    incident = incident_in(app, world, source)
    if role is None:
        # The technician's steps follow their dispatch; no person fires them on the incident
        # (nor can give their parameters: the request takes only people's parameters).
        before = row_counts(app)
        for person in ("admin", "dispatcher"):
            response = api(person).post(f"/api/v1/incidents/{incident}/transitions",
                                        json={"trigger": trigger})
            assert_error(response, 403, "forbidden")
            response = api(person).post(f"/api/v1/incidents/{incident}/transitions",
                                        json={"trigger": trigger, **params_for(trigger, world)})
            unknown = set(params_for(trigger, world)) - set(INCIDENT.person_params())
            expected = (422, "validation_error") if unknown else (403, "forbidden")
            assert_error(response, *expected)
        assert row_counts(app) == before
        return
    response = api(role).post(f"/api/v1/incidents/{incident}/transitions",
                              json={"trigger": trigger, **params_for(trigger, world)})
    if trigger == "submit_claim":
        # An incident placed here by the factory has no cost lines: the guard says so
        # (a complete claim is submitted in tests/services/claims/test_claims.py).
        assert_error(response, 409, "guard_refused")
        assert response.json["error"]["details"]["reason"] == "no_cost_lines"
        return
    assert response.status_code == 200, response.json
    assert response.json["state"] == dest
    event = [e for e in response.json["timeline"] if e["kind"] == "transition"][-1]
    assert (event["from_state"], event["to_state"], event["trigger"]) == (source, dest, trigger)


@pytest.mark.parametrize(("state", "trigger"), ILLEGAL)
def test_every_illegal_trigger_is_a_409_and_writes_nothing(app, api, world, state, trigger):
    incident = incident_in(app, world, state)
    before = row_counts(app)
    role = "admin" if INCIDENT.may_fire("admin", trigger) else None
    if role is None:
        return  # system-only triggers are refused before the state is looked at (above)
    response = api(role).post(f"/api/v1/incidents/{incident}/transitions",
                              json={"trigger": trigger, **params_for(trigger, world)})
    assert_error(response, 409, "illegal_transition")
    assert response.json["error"]["details"] == {
        "state": state, "trigger": trigger,
        "allowed_triggers": INCIDENT.allowed_triggers(state, "admin")}
    assert row_counts(app) == before


def test_a_claim_needs_a_covering_policy(app, api, world):
    with app.app_context():
        org_b = db.session.get(Organization, world.org_b)
        incident = factories.make_incident(org_b, state="resolved_remotely").id
    response = api("desk").post(f"/api/v1/incidents/{incident}/transitions",
                                json={"trigger": "prepare_claim"})
    assert_error(response, 409, "guard_refused")
    assert response.json["error"]["details"]["reason"] == "no_policy"


@pytest.mark.parametrize(("role", "state", "trigger"), [
    ("customer", "received", "start_triage"), ("technician", "triaging", "request_dispatch"),
    ("insurer", "received", "cancel"), ("desk", "claim_submitted", "approve_claim"),
    ("desk", "dispatch_requested", "assign_technician"),
])
def test_a_role_may_not_press_another_roles_trigger(app, api, world, role, state, trigger):
    incident = incident_in(app, world, state)
    before = row_counts(app)
    params = {name: value for name, value in params_for(trigger, world).items()
              if name in INCIDENT.person_params()}  # the request takes people's parameters
    response = api(role).post(f"/api/v1/incidents/{incident}/transitions",
                              json={"trigger": trigger, **params})
    assert response.status_code in (403, 404)  # 404 where the role cannot even see it
    if role == "desk":
        assert_error(response, 403, "forbidden")
    assert row_counts(app) == before
