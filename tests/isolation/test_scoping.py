"""Which incidents a technician and an insurer see (the scopes of app/access.py), and the
regressions of what the isolation matrix found.

A technician sees the incidents of their live offers and visits only; an insurer the
incidents it was given notice of, or that claim under one of its policies.
"""

from datetime import date

import pytest
from sqlalchemy import select

from app.access import get_incident_for
from app.errors import NotFound
from app.extensions import db
from app.models import (
    Claim,
    CostItem,
    Dispatch,
    Evidence,
    InsurancePolicy,
    Insurer,
    InsurerNotice,
    Organization,
    Technician,
    User,
)
from app.services.directory.organizations import visible_organizations
from app.services.incidents.queries import list_incidents
from app.testkit import factories
from tests.web.api.test_costs_api import counts as cost_rows
from workflows.dispatch import STATES as DISPATCH_STATES

LIVE = ("offered", "accepted", "en_route", "on_site", "completed")
ENDED = ("declined", "expired", "cancelled")
SECRET_SUMMARY = "秘匿すべき件名"


def incident_offered(world, state, summary=SECRET_SUMMARY):
    """An incident of org A with a dispatch of world.technician in `state` (call in ctx)."""
    incident = factories.make_incident(db.session.get(Organization, world.org_a),
                                       state="dispatch_requested", summary=summary)
    db.session.add(Dispatch(incident_id=incident.id, technician_id=world.technician,
                            state=state))
    db.session.commit()
    return incident


def sees(user, incident_id):
    """(get finds it, the list holds it, its organization is listed) for `user`."""
    try:
        found = get_incident_for(user, incident_id).id == incident_id
    except NotFound:
        found = False
    listed = incident_id in [i.id for i in list_incidents(user, {}).items]
    incident = factories.get(factories.Incident, incident_id)
    organizations = incident.organization_id in [o.id for o in visible_organizations(user)]
    return found, listed, organizations


# ---------------------------------------------------------------- technicians


def test_every_dispatch_state_is_either_live_or_ended():
    assert sorted(LIVE + ENDED) == sorted(DISPATCH_STATES)


@pytest.mark.parametrize("state", LIVE + ENDED)
def test_a_technician_sees_an_incident_only_while_their_offer_or_visit_is_live(ctx, world,
                                                                                 state):
    incident = incident_offered(world, state)
    technician = db.session.get(User, world.users["technician"])
    expected = state in LIVE
    assert sees(technician, incident.id) == (expected, expected, expected)
    other = db.session.get(User, world.users["other_technician"])
    assert sees(other, incident.id) == (False, False, False)


@pytest.mark.parametrize("state", LIVE + ENDED)
def test_the_api_answers_a_technician_as_the_scoping_does(app, api, world, state):
    with app.app_context():
        incident_id = incident_offered(world, state).id
        db.session.remove()
    response = api("technician").get(f"/api/v1/incidents/{incident_id}")
    listing = api("technician").get("/api/v1/incidents").json["items"]
    if state in LIVE:
        assert response.status_code == 200 and response.json["summary"] == SECRET_SUMMARY
        assert [i["id"] for i in listing] == [incident_id]
    else:
        assert response.status_code == 404 and response.json["error"]["code"] == "not_found"
        assert listing == []


def evidence_row(incident, name="p.jpg", sha256="0" * 64):
    """An evidence row of the incident (its file is never read by these tests)."""
    return Evidence(incident_id=incident.id, kind="photo", original_name=name,
                    stored_name="none.jpg", content_type="image/jpeg", size=1, sha256=sha256)


def test_an_open_offer_shows_the_incident_but_not_its_files_or_costs(app, api, world):
    with app.app_context():
        incident = incident_offered(world, "offered")
        db.session.add(evidence_row(incident))
        db.session.commit()
        incident_id, evidence_id = incident.id, incident.evidence[0].id
        db.session.remove()
    technician = api("technician")
    assert technician.get(f"/api/v1/incidents/{incident_id}").status_code == 200
    assert technician.get(f"/api/v1/evidence/{evidence_id}").status_code == 404
    assert technician.get(f"/api/v1/evidence/{evidence_id}/content").status_code == 404
    assert technician.get(f"/api/v1/incidents/{incident_id}/costs").status_code == 404
    listed = technician.get(f"/api/v1/incidents/{incident_id}/evidence")
    assert (listed.status_code, listed.json["error"]["message"]) == (404, "Incident not found.")


def test_an_open_offer_shows_no_files_costs_or_custody_on_the_incident_page(app, world, login):
    with app.app_context():
        incident = incident_offered(world, "offered")
        db.session.add(evidence_row(incident, name="秘密.jpg", sha256="ab" * 32))
        db.session.commit()
        incident_id = incident.id
        db.session.remove()
    page = login(world.emails["technician"]).get(f"/desk/incidents/{incident_id}")
    assert page.status_code == 200
    assert "秘密.jpg" not in page.text and "ab" * 32 not in page.text
    assert 'id="evidence"' not in page.text


@pytest.mark.parametrize(("url", "missing"), [
    ("/api/v1/costs/{cost}", "Cost line not found."),
    ("/api/v1/dispatches/{dispatch}", "Dispatch not found."),
    ("/api/v1/evidence/{evidence}", "Evidence not found."),
])
def test_another_tenants_row_is_answered_in_the_words_of_a_missing_one(app, api, world, url,
                                                                       missing):
    """"Not yours" and "does not exist" are the same answer, word for word."""
    with app.app_context():
        incident = factories.make_incident(db.session.get(Organization, world.org_b),
                                           state="dispatch_requested")
        technician = db.session.get(Technician, world.technician)
        dispatch = Dispatch(incident_id=incident.id, technician_id=technician.id,
                            state="declined")
        evidence = evidence_row(incident)
        head = next(iter(factories.coverage_heads().values()))
        cost = CostItem(incident_id=incident.id, head_id=head.id, description="x", quantity=1,
                        unit_price=1, amount=1, incurred_on=date(2026, 11, 1), version=1)
        db.session.add_all([dispatch, evidence, cost])
        db.session.commit()
        ids = {"cost": cost.id, "dispatch": dispatch.id, "evidence": evidence.id}
        db.session.remove()
    customer = api("customer")  # org A's customer; the rows are org B's
    theirs = customer.get(url.format(**ids))
    absent = customer.get(url.format(**dict.fromkeys(ids, 999999)))
    assert theirs.status_code == absent.status_code == 404
    assert theirs.json["error"]["message"] == absent.json["error"]["message"] == missing


# ---------------------------------------------------------------- insurers


def other_policy(organization, insurer):
    """A second policy on `organization`, underwritten by `insurer` (call in ctx)."""
    policy = InsurancePolicy(number="POL-OTHER", insurer_id=insurer.id,
                             organization_id=organization.id, starts_on=date(2020, 1, 1),
                             ends_on=date(2099, 12, 31), per_incident_limit=1,
                             annual_aggregate=1, deductible=0)
    db.session.add(policy)
    db.session.flush()
    return policy


def insurer_cases(world):
    """Incidents of org A (insured by the world's insurer), one per way of being told."""
    org = db.session.get(Organization, world.org_a)
    ours = db.session.scalars(select(InsurancePolicy).where(
        InsurancePolicy.insurer_id == world.insurer)).one()
    other_insurer = db.session.get(Insurer, db.session.get(
        User, world.users["other_insurer"]).insurer_id)
    theirs = other_policy(org, other_insurer)
    case = {name: factories.make_incident(org, summary=name).id for name in (
        "noticed", "claimed", "insured_only", "noticed_to_other", "claimed_under_other")}
    db.session.add_all([
        InsurerNotice(insurer_id=world.insurer, incident_id=case["noticed"],
                      kind="early_notice"),
        Claim(incident_id=case["claimed"], policy_id=ours.id, computation={}),
        InsurerNotice(insurer_id=other_insurer.id, incident_id=case["noticed_to_other"],
                      kind="early_notice"),
        Claim(incident_id=case["claimed_under_other"], policy_id=theirs.id, computation={}),
    ])
    db.session.commit()
    return case


def test_an_insurer_sees_what_it_was_told_of_or_what_claims_under_its_policies(ctx, world):
    case = insurer_cases(world)
    insurer = db.session.get(User, world.users["insurer"])
    seen = {name: sees(insurer, ident)[:2] for name, ident in case.items()}
    assert seen == {"noticed": (True, True), "claimed": (True, True),
                    "insured_only": (False, False), "noticed_to_other": (False, False),
                    "claimed_under_other": (False, False)}
    other = db.session.get(User, world.users["other_insurer"])
    assert {name for name, ident in case.items() if sees(other, ident)[0]} == \
        {"noticed_to_other", "claimed_under_other"}


def test_an_insurer_that_was_told_nothing_sees_no_organization(ctx, world):
    factories.make_incident(db.session.get(Organization, world.org_a))
    assert visible_organizations(db.session.get(User, world.users["insurer"])) == []


def test_the_api_answers_an_insurer_as_the_scoping_does(app, api, world):
    with app.app_context():
        case = insurer_cases(world)
        db.session.remove()
    insurer = api("insurer")
    for name in ("noticed", "claimed"):
        assert insurer.get(f"/api/v1/incidents/{case[name]}").status_code == 200
    for name in ("insured_only", "noticed_to_other", "claimed_under_other"):
        response = insurer.get(f"/api/v1/incidents/{case[name]}")
        assert response.status_code == 404 and name not in response.text
    listed = {i["summary"] for i in insurer.get("/api/v1/incidents").json["items"]}
    assert listed == {"noticed", "claimed"}


# ---------------------------------------------------------------- regressions


@pytest.mark.parametrize("state", ENDED)
def test_an_ended_offer_shows_nothing_of_the_incident_on_the_technician_pages(
        app, world, login, state):
    """Found by the matrix: /tech/ listed a declined offer with the organization's name and
    the reference, and its page showed the summary and the address."""
    with app.app_context():
        incident = incident_offered(world, state)
        reference, dispatch_id = incident.reference, incident.dispatches[0].id
        db.session.remove()
    client = login(world.emails["technician"])
    for path in ("/tech/", f"/tech/dispatches/{dispatch_id}"):
        page = client.get(path)
        assert page.status_code == 200
        for secret in ("甲商事", SECRET_SUMMARY, reference):
            assert secret not in page.text, (path, secret)
        assert f"#{dispatch_id}" in page.text  # the technician still finds their answer


def test_a_live_offer_still_shows_the_incident_on_the_technician_pages(app, world, login):
    with app.app_context():
        incident = incident_offered(world, "offered")
        reference, dispatch_id = incident.reference, incident.dispatches[0].id
        db.session.remove()
    client = login(world.emails["technician"])
    for path in ("/tech/", f"/tech/dispatches/{dispatch_id}"):
        page = client.get(path)
        assert all(s in page.text for s in ("甲商事", SECRET_SUMMARY, reference)), path


@pytest.mark.parametrize("role", ["customer", "insurer", "other_customer"])
def test_the_labour_line_does_not_tell_which_dispatches_exist(app, api, world, role):
    """Found by the matrix: a customer or an insurer got 403 for an existing dispatch and
    404 for a missing one."""
    with app.app_context():
        dispatch_id = incident_offered(world, "completed").dispatches[0].id
        db.session.remove()
    before = cost_rows(app)
    existing = api(role).post(f"/api/v1/dispatches/{dispatch_id}/labour", json={})
    missing = api(role).post("/api/v1/dispatches/999999/labour", json={})
    assert existing.status_code == missing.status_code == 403
    assert existing.json["error"] == missing.json["error"]
    assert cost_rows(app) == before
