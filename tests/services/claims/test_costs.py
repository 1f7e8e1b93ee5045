"""Cost services: entering lines, the visit's labour line, approval, evidence links, preview."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.extensions import db
from app.models import Claim, CostItem, Dispatch, Evidence, IncidentEvent
from app.services.claims import costs, coverage
from app.testkit import factories

T0 = datetime(2026, 11, 25, 1, 0)  # 10:00 JST
TODAY = date(2026, 11, 25)


@pytest.fixture
def scene(ctx):
    """An on-site incident of a covered SME, its technician's visit, staff and an outsider."""
    org = factories.make_organization()
    tech = factories.make_technician()
    other_tech = factories.make_technician()
    incident = factories.make_incident(org, state="on_site", technician=tech)
    return {"org": org, "incident": incident, "tech": tech,
            "technician": factories.make_user("technician", technician=tech),
            "other_technician": factories.make_user("technician", technician=other_tech),
            "desk": factories.make_user("desk"), "dispatcher": factories.make_user("dispatcher"),
            "customer": factories.make_user("customer", organization=org),
            "insurer": factories.make_user("insurer", insurer=factories.make_insurer()),
            "dispatch": incident.dispatches[0]}


def evidence(incident, n=1):
    row = Evidence(incident_id=incident.id, kind="receipt", original_name=f"r{n}.jpg",
                   stored_name=f"2026/11/ev{incident.id}-{n}", content_type="image/jpeg",
                   size=10, sha256="0" * 64)
    db.session.add(row)
    db.session.commit()
    return row


def add(scene, actor="desk", **overrides):
    values = dict(head_code="investigation", description="ログ調査", quantity=2,
                  unit_price=15_000, tax_rate=10, incurred_on=TODAY, now=T0)
    values.update(overrides)
    return costs.add_cost_line(scene["incident"].id, scene[actor], **values)


def counts():
    return (db.session.scalar(select(func.count(CostItem.id))),
            db.session.scalar(select(func.count(IncidentEvent.id))))


def test_a_desk_user_adds_a_draft_line_with_its_amount_and_a_timeline_event(scene):
    before = counts()
    item = add(scene, quantity=Decimal("1.5"), unit_price=12_345)
    assert (item.status, item.amount, item.head.code, item.entered_by_label) == (
        "draft", 18_517, "investigation", scene["desk"].email)
    assert counts() == (before[0] + 1, before[1] + 1)
    event = scene["incident"].events[-1]
    assert (event.kind, event.data["action"], event.data["cost_id"]) == ("cost", "added", item.id)


def test_a_technician_adds_a_line_to_their_visit_which_it_is_attached_to(scene):
    item = add(scene, "technician", head_code="dispatch", description="交通費", quantity=1,
               unit_price=1_200)
    assert item.dispatch_id == scene["dispatch"].id


def test_a_technician_without_a_visit_gets_not_found_and_nothing_changes(scene):
    before = counts()
    with pytest.raises(NotFound):
        add(scene, "other_technician")
    assert counts() == before


@pytest.mark.parametrize("role", ["customer", "insurer"])
def test_customers_and_insurers_may_not_enter_costs(scene, role):
    before = counts()
    with pytest.raises(Forbidden):
        add(scene, role)
    assert counts() == before


@pytest.mark.parametrize(("field", "value"), [
    ("head_code", "nonsense"), ("description", "  "), ("description", "x" * 501),
    ("quantity", 0), ("quantity", "-1"), ("quantity", "1.005"), ("quantity", "abc"),
    ("quantity", "NaN"), ("unit_price", -1), ("unit_price", 1.5), ("unit_price", "100"),
    ("unit_price", True), ("tax_rate", 5), ("tax_rate", "10"), ("incurred_on", "2026-11-25"),
    ("incurred_on", TODAY + timedelta(days=1)), ("dispatch_id", 999_999),
    ("evidence_ids", [999_999])])
def test_each_bad_value_is_refused_by_field_and_nothing_changes(scene, field, value):
    before = counts()
    with pytest.raises(InvalidInput) as refused:
        add(scene, **{field: value})
    assert refused.value.details["field"] == field.removesuffix("_code")
    assert counts() == before


def test_evidence_of_another_incident_cannot_be_linked(scene):
    other = factories.make_incident(scene["org"], state="triaging")
    foreign = evidence(other)
    with pytest.raises(InvalidInput):
        add(scene, evidence_ids=[foreign.id])
    item = add(scene)
    with pytest.raises(InvalidInput):
        costs.link_evidence(item.id, [foreign.id], scene["desk"], now=T0)
    assert item.evidence == []


def test_evidence_is_linked_once_and_recorded(scene):
    receipt = evidence(scene["incident"])
    item = add(scene, evidence_ids=[receipt.id])
    costs.link_evidence(item.id, [receipt.id, evidence(scene["incident"], 2).id],
                        scene["desk"], now=T0)
    assert [e.original_name for e in item.evidence] == ["r1.jpg", "r2.jpg"]
    assert scene["incident"].events[-1].data["action"] == "evidence_linked"


def test_only_the_author_edits_a_draft_and_an_approved_line_is_fixed(scene):
    item = add(scene, "technician", head_code="dispatch", unit_price=1_000)
    with pytest.raises(Forbidden):
        costs.update_cost_line(item.id, scene["desk"], unit_price=2_000, now=T0)
    costs.update_cost_line(item.id, scene["technician"], unit_price=2_000, now=T0)
    assert item.amount == 4_000
    costs.approve(item.id, scene["desk"], now=T0)
    with pytest.raises(Conflict):
        costs.update_cost_line(item.id, scene["technician"], unit_price=3_000, now=T0)
    assert db.session.get(CostItem, item.id).amount == 4_000


def test_a_rejected_line_corrected_by_its_author_is_a_draft_again(scene):
    item = add(scene, "technician")
    costs.reject(item.id, scene["dispatcher"], now=T0)
    assert item.status == "rejected"
    costs.update_cost_line(item.id, scene["technician"], description="ログ調査（訂正）", now=T0)
    assert item.status == "draft"


def test_approval_is_for_staff_and_only_once(scene):
    item = add(scene)
    with pytest.raises(Forbidden):
        costs.approve(item.id, scene["technician"], now=T0)
    costs.approve(item.id, scene["desk"], now=T0)
    assert (item.status, item.approved_by_id, item.approved_at) == (
        "approved", scene["desk"].id, T0)
    with pytest.raises(Conflict):
        costs.reject(item.id, scene["desk"], now=T0)


def test_lines_are_frozen_once_the_claim_is_submitted(scene):
    item = add(scene)
    scene["incident"].state = "claim_submitted"
    db.session.commit()
    before = counts()
    with pytest.raises(Conflict):
        add(scene)
    with pytest.raises(Conflict):
        costs.approve(item.id, scene["desk"], now=T0)
    assert counts() == before


def complete_visit(scene, minutes):
    dispatch = scene["dispatch"]
    dispatch.state = "completed"
    dispatch.arrived_at = T0
    dispatch.completed_at = T0 + timedelta(minutes=minutes)
    db.session.commit()
    return dispatch


@pytest.mark.parametrize(("minutes", "quantity", "amount"), [
    (60, Decimal("1.00"), 8_000), (61, Decimal("1.25"), 10_000), (100, Decimal("1.75"), 14_000),
    (1, Decimal("0.25"), 2_000)])
def test_the_labour_line_rounds_the_visit_up_to_the_next_quarter_hour(scene, minutes, quantity,
                                                                     amount):
    dispatch = complete_visit(scene, minutes)
    item = costs.labour_line(dispatch.id, scene["technician"], now=T0 + timedelta(hours=3))
    assert (item.head.code, item.quantity, item.unit_price, item.amount, item.tax_rate) == (
        "dispatch", quantity, 8_000, amount, 10)
    assert item.description.startswith(costs.LABOUR_PREFIX)
    assert "10:00" in item.description  # JST


def test_a_visit_has_one_labour_line_and_needs_its_times(scene):
    with pytest.raises(Conflict):
        costs.labour_line(scene["dispatch"].id, scene["desk"], now=T0)
    dispatch = complete_visit(scene, 30)
    costs.labour_line(dispatch.id, scene["desk"], now=T0 + timedelta(hours=1))
    with pytest.raises(Conflict):
        costs.labour_line(dispatch.id, scene["desk"], now=T0 + timedelta(hours=1))


def test_another_technician_cannot_fill_a_labour_line(scene):
    dispatch = complete_visit(scene, 30)
    with pytest.raises(NotFound):
        costs.labour_line(dispatch.id, scene["other_technician"], now=T0 + timedelta(hours=1))
    assert db.session.scalar(select(func.count(Dispatch.id))) == 1


def test_the_preview_computes_approved_lines_after_other_paid_claims_of_the_year(scene):
    incident = scene["incident"]
    approved = add(scene, quantity=1, unit_price=100_000)  # 110,000 × 90%
    add(scene, quantity=1, unit_price=50_000)  # a draft: not counted
    costs.approve(approved.id, scene["desk"], now=T0)
    policy, computation = coverage.preview(incident)
    assert (computation.claimed_total, computation.payable) == (110_000, 99_000)
    earlier = factories.make_incident(scene["org"], state="closed")
    db.session.add(Claim(incident_id=earlier.id, policy_id=policy.id, paid_amount=2_950_000,
                         paid_on=date.today()))
    db.session.commit()
    _, computation = coverage.preview(incident)
    assert (computation.prior_paid, computation.payable, computation.customer_share) == (
        2_950_000, 50_000, 60_000)


def test_an_incident_without_a_policy_has_no_preview(ctx):
    org = factories.make_organization(policy=False)
    assert coverage.preview(factories.make_incident(org)) == (None, None)


@pytest.mark.parametrize(("starts", "on", "year"), [
    (date(2024, 4, 1), date(2026, 3, 31), (date(2025, 4, 1), date(2026, 4, 1))),
    (date(2024, 4, 1), date(2026, 4, 1), (date(2026, 4, 1), date(2027, 4, 1))),
    (date(2024, 2, 29), date(2025, 3, 1), (date(2025, 2, 28), date(2026, 2, 28)))])
def test_the_policy_year_runs_from_the_start_dates_anniversary(starts, on, year):
    class Policy:
        starts_on = starts
    assert coverage.policy_year(Policy, on) == year
