"""Cost pages: the desk's cost section (lines, approval, evidence links, the computation)
and the technician's visit costs (entry, labour line); CSRF, roles, tenants, bad input."""

import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    CostItem,
    Dispatch,
    Evidence,
    IncidentEvent,
    InsurancePolicy,
    Organization,
    Technician,
)
from app.testkit import factories
from app.testkit.helpers import csrf_token
from tests.scenes.dispatch import ESCAPED, XSS

TODAY = date.today().isoformat()
FORM = {"head": "investigation", "description": "ログ調査", "quantity": "2",
        "unit_price": "15000", "tax_rate": "10", "incurred_on": TODAY}


@pytest.fixture
def incident(app, world):
    """An incident of org A whose visit by world.technician is completed (80 minutes)."""
    with app.app_context():
        org = db.session.get(Organization, world.org_a)
        tech = db.session.get(Technician, world.technician)
        row = factories.make_incident(org, state="onsite_completed", technician=tech)
        dispatch = row.dispatches[0]
        dispatch.state, dispatch.arrived_at = "completed", datetime(2026, 1, 5, 1, 0)
        dispatch.completed_at = dispatch.arrived_at + timedelta(minutes=80)
        db.session.add(Evidence(incident_id=row.id, kind="receipt", original_name="receipt.jpg",
                                stored_name=f"ev-{row.id}", content_type="image/jpeg", size=1,
                                sha256="0" * 64))
        db.session.commit()
        ids = {"id": row.id, "dispatch": dispatch.id, "evidence": row.evidence[0].id}
        db.session.remove()
    return ids


def counts(app):
    with app.app_context():
        result = (db.session.scalar(select(func.count(CostItem.id))),
                  db.session.scalar(select(func.count(IncidentEvent.id))))
        db.session.remove()
    return result


def lines(app):
    with app.app_context():
        rows = [(c.id, c.head.code, c.amount, c.status, [e.id for e in c.evidence])
                for c in db.session.scalars(select(CostItem).order_by(CostItem.id))]
        db.session.remove()
    return rows


def page_of(incident):
    return f"/desk/incidents/{incident['id']}?lang=en"


def post(client, path, page, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, page), **data})


def test_the_desk_enters_approves_and_links_evidence_and_sees_the_computation(
        app, world, login, incident):
    client = login(world.emails["desk"])
    page = page_of(incident)
    assert post(client, f"/desk/incidents/{incident['id']}/costs", page,
                **FORM).status_code == 302
    ((cost_id, head, amount, status, _),) = lines(app)
    assert (head, amount, status) == ("investigation", 30_000, "draft")
    post(client, f"/desk/costs/{cost_id}/evidence", page, evidence_id=incident["evidence"])
    post(client, f"/desk/costs/{cost_id}/approve", page)
    assert lines(app) == [(cost_id, "investigation", 30_000, "approved", [incident["evidence"]])]
    html = client.get(page).text
    assert 'data-payable="29700"' in html  # 33,000 × 90%
    assert "¥3,300" in html  # the customer's own share
    assert "receipt.jpg" in html


def test_the_desk_fills_the_labour_line_of_a_completed_visit(app, world, login, incident):
    client = login(world.emails["dispatcher"])
    post(client, f"/desk/dispatches/{incident['dispatch']}/labour", page_of(incident))
    ((_, head, amount, status, _),) = lines(app)
    assert (head, amount, status) == ("dispatch", 12_000, "draft")  # 1.5 h × ¥8,000


@pytest.mark.parametrize("changes", [
    {"quantity": "abc"}, {"quantity": "0"}, {"unit_price": "-5"}, {"head": "nope"},
    {"tax_rate": "5"}, {"incurred_on": "2999-01-01"}, {"description": ""}])
def test_bad_input_is_flashed_and_changes_nothing(app, world, login, incident, changes):
    client = login(world.emails["desk"])
    before = counts(app)
    response = post(client, f"/desk/incidents/{incident['id']}/costs", page_of(incident),
                    **{**FORM, **changes})
    assert response.status_code == 302
    assert 'class="flash error"' in client.get(page_of(incident)).text
    assert counts(app) == before


def test_a_post_without_csrf_token_changes_nothing(app, world, login, incident):
    client = login(world.emails["desk"])
    before = counts(app)
    client.post(f"/desk/incidents/{incident['id']}/costs", data=FORM)
    assert counts(app) == before


def test_html_in_a_description_is_escaped(app, world, login, incident):
    client = login(world.emails["desk"])
    post(client, f"/desk/incidents/{incident['id']}/costs", page_of(incident),
         **{**FORM, "description": XSS})
    html = client.get(page_of(incident)).text
    assert ESCAPED in html and XSS not in html


def test_the_insurer_sees_costs_without_buttons_and_other_tenants_get_404(
        app, world, login, client, incident):
    login(world.emails["desk"])
    post(client, f"/desk/incidents/{incident['id']}/costs", page_of(incident), **FORM)
    client.get("/logout")
    login(world.emails["insurer"])
    html = client.get(page_of(incident)).text
    assert "ログ調査" in html and "/approve" not in html
    ((cost_id, *_),) = lines(app)
    assert client.post(f"/desk/costs/{cost_id}/approve").status_code in (400, 403, 404)
    client.get("/logout")
    login(world.emails["other_insurer"])
    assert client.get(page_of(incident)).status_code == 404
    assert lines(app)[0][3] == "draft"


def test_the_technician_records_a_cost_and_labour_on_their_visit(app, world, login, incident):
    client = login(world.emails["technician"])
    page = f"/tech/dispatches/{incident['dispatch']}?lang=en"
    assert "Costs of this visit" in client.get(page).text
    post(client, f"/tech/dispatches/{incident['dispatch']}/costs", page,
         **{**FORM, "head": "dispatch", "description": "駐車場代", "quantity": "1",
            "unit_price": "800"})
    post(client, f"/tech/dispatches/{incident['dispatch']}/labour", page)
    assert [(h, a, s) for _, h, a, s, _ in lines(app)] == [
        ("dispatch", 800, "draft"), ("dispatch", 12_000, "draft")]
    html = client.get(page).text
    assert "駐車場代" in html and len(re.findall(r'data-cost="\d+"', html)) == 2


def test_the_technician_links_a_receipt_while_entering_the_line(app, world, login, incident):
    client = login(world.emails["technician"])
    page = f"/tech/dispatches/{incident['dispatch']}?lang=en"
    assert f'<option value="{incident["evidence"]}">receipt.jpg' in client.get(page).text
    post(client, f"/tech/dispatches/{incident['dispatch']}/costs", page,
         **{**FORM, "head": "dispatch", "description": "タクシー代", "quantity": "1",
            "unit_price": "2400", "evidence_id": str(incident["evidence"])})
    assert [(a, e) for _, _, a, _, e in lines(app)] == [(2400, [incident["evidence"]])]


def test_another_technician_cannot_post_costs_on_a_visit_not_theirs(app, world, login,
                                                                     incident):
    client = login(world.emails["other_technician"])
    before = counts(app)
    token = csrf_token(client, "/tech/")
    response = client.post(f"/tech/dispatches/{incident['dispatch']}/costs",
                           data={"csrf_token": token, **FORM})
    assert response.status_code == 404
    assert counts(app) == before
    with app.app_context():
        assert db.session.get(Dispatch, incident["dispatch"]).state == "completed"
        db.session.remove()


def policy_terms(app):
    with app.app_context():
        policy = db.session.scalar(select(InsurancePolicy))
        result = (policy.id, policy.deductible,
                  {c.head.code: (c.payout_ratio, c.sub_limit) for c in policy.coverages})
        db.session.remove()
    return result


def test_the_admin_adds_a_head_and_sets_a_policys_terms_on_the_page(app, world, login):
    client = login(world.emails["admin"])
    assert "甲商事" in client.get("/admin/policies?lang=en").text
    post(client, "/admin/coverage-heads", "/admin/policies", code="forensics",
         name_ja="フォレンジック費用", name_en="Forensics")
    policy_id, _, _ = policy_terms(app)
    page = f"/admin/policies/{policy_id}?lang=en"
    assert 'name="ratio_forensics"' in client.get(page).text
    form = {"per_incident_limit": "2000000", "annual_aggregate": "5000000",
            "deductible": "10000", "ratio_dispatch": "100", "limit_dispatch": "400000",
            "ratio_forensics": "70", "limit_forensics": "800000"}
    assert post(client, f"/admin/policies/{policy_id}", page, **form).status_code == 302
    assert policy_terms(app) == (policy_id, 10_000, {"dispatch": (100, 400_000),
                                                     "forensics": (70, 800_000)})


@pytest.mark.parametrize("changes", [
    {"ratio_dispatch": "101"}, {"ratio_dispatch": "50", "limit_dispatch": ""},
    {"deductible": "-1"}, {"per_incident_limit": "9000000"}, {"ratio_recovery": "x",
                                                               "limit_recovery": "1"}])
def test_bad_policy_terms_are_refused_and_nothing_changes(app, world, login, changes):
    client = login(world.emails["admin"])
    before = policy_terms(app)
    page = f"/admin/policies/{before[0]}?lang=en"
    form = {"per_incident_limit": "1000000", "annual_aggregate": "3000000", "deductible": "0",
            "ratio_dispatch": "100", "limit_dispatch": "300000", **changes}
    response = post(client, f"/admin/policies/{before[0]}", page, **form)
    assert response.status_code == 422
    assert 'class="flash error"' in response.text
    assert policy_terms(app) == before


def test_a_dispatcher_may_not_change_policies(app, world, login):
    client = login(world.emails["dispatcher"])
    policy_id, *_ = policy_terms(app)
    assert client.get(f"/admin/policies/{policy_id}").status_code == 403
    assert client.get("/admin/policies").status_code == 403
