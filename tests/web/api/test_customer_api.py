"""The customer through the API: the online sign-off of a work report
(POST /api/v1/dispatches/{id}/sign-off) and the timeline a customer token reads."""

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Dispatch, IncidentEvent
from tests.scenes.claims import claim_files  # noqa: F401  (fixture)
from tests.scenes.customer_page import (
    COST_LINE,
    INSURER_QUESTION,
    INTERNAL_NOTE,
    RECEIPT,
    claimed_and_approved,
    visited,
)
from tests.scenes.evidence import held_incident
from tests.web.api.test_incidents_api import assert_error

pytestmark = pytest.mark.usefixtures("claim_files")


def scene(app, world, build=visited):
    with app.app_context():
        ids = build(world)
        db.session.remove()
    return ids


def state(app):
    """What a refused sign-off must leave as it was."""
    with app.app_context():
        result = (db.session.scalar(select(func.count(IncidentEvent.id))), tuple(
            db.session.execute(select(Dispatch.id, Dispatch.customer_signoff_at,
                                      Dispatch.version).order_by(Dispatch.id)).all()))
        db.session.remove()
    return result


def sign_off(api, role, dispatch_id, body=None):
    return api(role).post(f"/api/v1/dispatches/{dispatch_id}/sign-off",
                          json={} if body is None else body)


def test_the_customer_signs_off_once_and_everyone_sees_it(app, api, world):
    incident_id, dispatch_id = scene(app, world)
    response = sign_off(api, "customer", dispatch_id, {"comment": "確認しました"})
    assert response.status_code == 200, response.json
    signed = response.json["customer_signoff"]
    assert (signed["by"], signed["comment"]) == (world.emails["customer"], "確認しました")
    assert signed["at"].endswith("Z")
    desk_view = api("desk").get(f"/api/v1/dispatches/{dispatch_id}").json
    assert desk_view["customer_signoff"] == signed
    timeline = api("desk").get(f"/api/v1/incidents/{incident_id}").json["timeline"]
    assert (timeline[-1]["kind"], timeline[-1]["data"]) == (
        "customer_signoff", {"dispatch_id": dispatch_id, "comment": "確認しました"})
    before = state(app)
    assert_error(sign_off(api, "customer", dispatch_id), 409, "already_signed_off")
    assert state(app) == before


def test_no_sign_off_before_the_work_report(app, api, world):
    case = held_incident(app, world)
    before = state(app)
    assert_error(sign_off(api, "customer", case["dispatch"]), 409, "no_work_report")
    assert state(app) == before


@pytest.mark.parametrize(("role", "status", "code"), [
    ("other_customer", 404, "not_found"), ("desk", 403, "forbidden"),
    ("technician", 403, "forbidden"), ("insurer", 403, "forbidden")])
def test_only_the_organizations_customer_signs_off(app, api, world, role, status, code):
    _, dispatch_id = scene(app, world)
    before = state(app)
    theirs = sign_off(api, role, dispatch_id)
    missing = sign_off(api, role, 999_999)
    assert_error(theirs, status, code)
    assert theirs.json == missing.json  # another organization's visit is not told apart
    assert state(app) == before


@pytest.mark.parametrize("body", [{"comment": "x" * 1001}, {"comment": 5}, {"extra": 1}])
def test_a_bad_body_is_a_422_that_changes_nothing(app, api, world, body):
    _, dispatch_id = scene(app, world)
    before = state(app)
    assert sign_off(api, "customer", dispatch_id, body).status_code == 422
    assert state(app) == before


def test_a_customer_token_reads_only_the_customer_facing_timeline(app, api, world):
    incident_id, _ = scene(app, world, claimed_and_approved)
    response = api("customer").get(f"/api/v1/incidents/{incident_id}")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    for hidden in (INTERNAL_NOTE, COST_LINE, RECEIPT, INSURER_QUESTION,
                   world.emails["desk"], world.emails["insurer"]):
        assert hidden not in text, hidden
    kinds = {e["kind"] for e in response.json["timeline"]}
    assert kinds <= {"intake", "transition", "customer_note", "customer_signoff", "evidence"}
    triggers = [e["trigger"] for e in response.json["timeline"] if e["trigger"]]
    assert "request_info" not in triggers and "approve_claim" in triggers
    assert all(e["data"] == {} for e in response.json["timeline"])
    # The desk's token still reads everything.
    staff = api("desk").get(f"/api/v1/incidents/{incident_id}").get_data(as_text=True)
    assert INTERNAL_NOTE in staff and INSURER_QUESTION in staff
