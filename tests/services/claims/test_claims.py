"""Claims: early notice, the submit and close guards, packets, and the insurer's decisions."""

import hmac
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.errors import Conflict, GuardConflict, InvalidInput, NotFound
from app.extensions import db
from app.models import Claim, Dispatch, Incident, InsurerNotice, Notification, Organization
from app.services.claims import claims, costs
from app.services.claims.packets import packet_path, verify_packet
from app.services.incidents.lifecycle import fire_trigger
from app.testkit import factories
from notifications.providers.webhook import sign
from tests.scenes.claims import (  # noqa: F401  (claim_files is a fixture)
    T0,
    WEBHOOK_SECRET,
    WEBHOOK_URL,
    accepted_incident,
    claim_files,
    costed,
    counts,
    integrate_insurer,
    ready_to_submit,
    submitted,
    user,
    visited_incident,
)

pytestmark = pytest.mark.usefixtures("claim_files")


def notices(incident_id):
    return db.session.scalars(select(InsurerNotice).where(
        InsurerNotice.incident_id == incident_id).order_by(InsurerNotice.id)).all()


def messages(channel, incident_id=None):
    stmt = select(Notification).where(Notification.channel == channel)
    if incident_id is not None:
        stmt = stmt.where(Notification.incident_id == incident_id)
    return db.session.scalars(stmt.order_by(Notification.id)).all()


# ---------------------------------------------------------------- early notice


def test_an_accepted_dispatch_notifies_the_insurer_by_portal_email_and_signed_webhook(
        ctx, world):
    integrate_insurer(world)
    incident_id, _, _ = accepted_incident(world)
    [notice] = notices(incident_id)
    assert (notice.kind, notice.insurer_id) == ("early_notice", world.insurer)
    assert notice.payload["policy"]["number"].startswith("POL-")
    assert notice.payload["insured"]["name"] == "甲商事"
    assert notice.payload["incident"]["category"] == "malware"
    assert notice.payload["incident"]["discovery_source"]
    assert [a["trigger"] for a in notice.payload["actions"] if a["trigger"]] == [
        "request_dispatch", "assign_technician"]
    [mail] = [m for m in messages("email", incident_id) if m.recipient == "claims@insurer.example"]
    assert "事故報告" in mail.subject and "甲商事" in mail.body and "POL-" in mail.body
    [hook] = messages("webhook", incident_id)
    assert hook.recipient == WEBHOOK_URL and hook.context["event"] == "early_notice"
    expected = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), hook.body.encode(),
                                    "sha256").hexdigest()
    assert hook.context["signature"] == expected == sign(WEBHOOK_SECRET, hook.body)


def test_a_second_accept_after_a_release_does_not_repeat_the_early_notice(ctx, world):
    integrate_insurer(world)
    incident_id, dispatch_id, _ = accepted_incident(world)
    from app.services.dispatch import visits as dispatch_service
    dispatch_service.cancel_dispatch(dispatch_id, user(world, "dispatcher"), "体調不良",
                                     now=T0 + timedelta(minutes=3))
    incident = db.session.get(Incident, incident_id)
    dispatch_service.override(incident_id, world.technician, user(world, "dispatcher"),
                              now=T0 + timedelta(minutes=4))
    offered = db.session.scalars(select(Dispatch).where(
        Dispatch.incident_id == incident.id, Dispatch.state == "offered")).one()
    dispatch_service.accept(offered.id, user(world, "technician"), now=T0 + timedelta(minutes=5))
    assert len(notices(incident_id)) == 1
    assert len(messages("webhook", incident_id)) == 1


def test_an_insurer_without_a_webhook_gets_the_notice_and_email_only(ctx, world):
    integrate_insurer(world, webhook=False)
    incident_id, _, _ = accepted_incident(world)
    assert len(notices(incident_id)) == 1
    assert messages("webhook") == []


def test_an_organization_without_a_policy_sends_no_notice(ctx, world):
    org = factories.make_organization(policy=False)
    incident = factories.make_incident(org, state="triaging")
    fire_trigger(incident.id, "request_dispatch", user(world, "dispatcher"), now=T0)
    offered = db.session.scalars(select(Dispatch).where(
        Dispatch.incident_id == incident.id)).first()
    role = "technician" if offered.technician_id == world.technician else "other_technician"
    from app.services.dispatch import visits as dispatch_service
    dispatch_service.accept(offered.id, user(world, role), now=T0)
    assert notices(incident.id) == []


# ---------------------------------------------------------------- the guards


def test_prepare_creates_the_claim_with_the_covering_policy(ctx, world):
    incident_id = ready_to_submit(world)
    claim = db.session.get(Incident, incident_id).claim
    assert claim.policy.organization_id == world.org_a
    assert claim.packets == [] and claim.claimed_amount == 0


@pytest.mark.parametrize(("setup", "reason"), [
    ("no_lines", "no_cost_lines"), ("draft", "cost_lines_not_approved"),
    ("no_evidence", "cost_lines_without_evidence"), ("no_report", "work_report_missing"),
])
def test_submit_is_refused_until_the_claim_is_complete(ctx, world, setup, reason):
    incident_id, dispatch_id = visited_incident(world)
    if setup == "draft":
        costed(world, incident_id, approve=False)
    elif setup == "no_evidence":
        costed(world, incident_id, with_evidence=False)
    elif setup == "no_report":
        costed(world, incident_id)
        db.session.get(Dispatch, dispatch_id).work_report = ""
        db.session.commit()
    fire_trigger(incident_id, "prepare_claim", user(world, "desk"), now=T0)
    before = counts()
    with pytest.raises(GuardConflict) as refused:
        fire_trigger(incident_id, "submit_claim", user(world, "desk"), now=T0)
    assert refused.value.details["reason"] == reason
    assert counts() == before
    assert db.session.get(Incident, incident_id).state == "claim_preparing"


def test_a_rejected_line_is_left_out_and_does_not_block_the_claim(ctx, world):
    incident_id, _ = visited_incident(world)
    costed(world, incident_id, lines=((30_000, "dispatch"),))
    [rejected] = costed(world, incident_id, lines=((99_999, "recovery"),), approve=False)
    costs.reject(rejected, user(world, "desk"), now=T0)
    fire_trigger(incident_id, "prepare_claim", user(world, "desk"), now=T0)
    fire_trigger(incident_id, "submit_claim", user(world, "desk"), now=T0)
    assert db.session.get(Incident, incident_id).claim.claimed_amount == 33_000


# ---------------------------------------------------------------- submitting


def test_submitting_computes_the_payout_builds_a_verified_packet_and_tells_the_insurer(
        ctx, world):
    integrate_insurer(world)
    claim = db.session.get(Claim, submitted(world))
    assert claim.incident.state == "claim_submitted"
    assert (claim.claimed_amount, claim.payable_amount) == (33_000, 33_000)  # 30,000 + 10 % tax
    assert claim.computation["payable"] == 33_000 and claim.computation["customer_share"] == 0
    [packet] = claim.packets
    assert packet.version == 1 and verify_packet(packet_path(packet)) == []
    kinds = [n.kind for n in notices(claim.incident_id)]
    assert kinds == ["early_notice", "claim_submitted:1"]
    mail = [m for m in messages("email", claim.incident_id) if m.template ==
            "insurer_claim_submitted"]
    assert len(mail) == 1 and "33,000" in mail[0].body and packet.sha256 in mail[0].body
    events = [m.context["event"] for m in messages("webhook", claim.incident_id)]
    assert events == ["early_notice", "claim_submitted"]


def test_information_requested_goes_back_to_the_desk_and_a_resubmission_is_version_two(
        ctx, world):
    claim_id = submitted(world)
    claims.insurer_action(claim_id, user(world, "insurer"), "request_info",
                          message="領収書の原本を送ってください", now=T0 + timedelta(days=1))
    claim = db.session.get(Claim, claim_id)
    assert claim.incident.state == "claim_info_requested"
    [mail] = [m for m in messages("email") if m.template == "claim_info_requested"]
    assert mail.recipient == world.emails["desk"] and "領収書の原本" in mail.body
    costed(world, claim.incident_id, lines=((5_000, "consultation"),))
    fire_trigger(claim.incident_id, "submit_claim", user(world, "desk"),
                 now=T0 + timedelta(days=2))
    claim = db.session.get(Claim, claim_id)
    assert [p.version for p in claim.packets] == [1, 2]
    assert all(verify_packet(packet_path(p)) == [] for p in claim.packets)
    assert claim.claimed_amount == 38_500


def test_approval_payment_and_close(ctx, world):
    claim_id = submitted(world)
    insurer = user(world, "insurer")
    before = counts()
    with pytest.raises(InvalidInput):
        claims.insurer_action(claim_id, insurer, "approve", amount=50_000)
    assert counts() == before
    with pytest.raises(Conflict) as refused:  # a submitted claim's incident cannot close
        fire_trigger(db.session.get(Claim, claim_id).incident_id, "close", user(world, "desk"))
    assert refused.value.code == "illegal_transition"
    claims.insurer_action(claim_id, insurer, "acknowledge", now=T0 + timedelta(days=1))
    claims.insurer_action(claim_id, insurer, "approve", amount=30_000)
    claims.insurer_action(claim_id, insurer, "record_payment", amount=30_000,
                          paid_on=date(2026, 12, 10))
    claim = db.session.get(Claim, claim_id)
    assert (claim.approved_amount, claim.paid_amount, claim.paid_on) == (
        30_000, 30_000, date(2026, 12, 10))
    assert claim.acknowledged_at == T0 + timedelta(days=1)
    fire_trigger(claim.incident_id, "close", user(world, "desk"))
    assert db.session.get(Claim, claim_id).incident.state == "closed"


def test_a_payment_above_the_approved_amount_is_refused(ctx, world):
    claim_id = submitted(world)
    insurer = user(world, "insurer")
    claims.insurer_action(claim_id, insurer, "approve", amount=30_000)
    before = counts()
    with pytest.raises(InvalidInput):
        claims.insurer_action(claim_id, insurer, "record_payment", amount=30_001,
                              paid_on="2026-12-10")
    assert counts() == before
    assert db.session.get(Claim, claim_id).incident.state == "claim_approved"


def test_a_denied_claim_may_close(ctx, world):
    claim_id = submitted(world)
    claims.insurer_action(claim_id, user(world, "insurer"), "deny", reason="補償対象外")
    claim = db.session.get(Claim, claim_id)
    fire_trigger(claim.incident_id, "close", user(world, "desk"))
    assert db.session.get(Claim, claim_id).incident.state == "closed"


def test_close_is_refused_while_a_claim_exists_unsettled(ctx, world):
    claim_id = submitted(world)
    incident = db.session.get(Claim, claim_id).incident
    incident.state = "onsite_completed"  # only a repair by hand could get here with a claim
    db.session.commit()
    before = counts()
    with pytest.raises(GuardConflict) as refused:
        fire_trigger(incident.id, "close", user(world, "desk"))
    assert refused.value.details["reason"] == "claim_open"
    assert counts() == before


def test_acknowledging_twice_changes_nothing_the_second_time(ctx, world):
    claim_id = submitted(world)
    insurer = user(world, "insurer")
    claims.acknowledge(claim_id, insurer, now=T0 + timedelta(days=1))
    before = counts()
    claims.acknowledge(claim_id, insurer, now=T0 + timedelta(days=2))
    assert counts() == before
    assert db.session.get(Claim, claim_id).acknowledged_at == T0 + timedelta(days=1)


def test_an_unknown_action_is_refused(ctx, world):
    claim_id = submitted(world)
    with pytest.raises(InvalidInput):
        claims.insurer_action(claim_id, user(world, "insurer"), "pay_twice")


# ---------------------------------------------------------------- insurer isolation


def test_another_insurer_cannot_see_or_decide_the_claim(ctx, world):
    claim_id = submitted(world)
    other = user(world, "other_insurer")
    before = counts()
    assert claims.list_claims(other) == []
    for action, kwargs in [("acknowledge", {}), ("approve", {"amount": 1}),
                           ("deny", {"reason": "x"}), ("request_info", {"message": "x"})]:
        with pytest.raises(NotFound):
            claims.insurer_action(claim_id, other, action, **kwargs)
    assert counts() == before
    assert [c.id for c in claims.list_claims(user(world, "insurer"))] == [claim_id]


def test_an_insurer_of_the_organization_under_another_policy_cannot_decide_through_the_incident(
        ctx, world):
    claim_id = submitted(world)
    claim = db.session.get(Claim, claim_id)
    stranger = factories.make_insurer()
    org = db.session.get(Organization, world.org_a)
    db.session.add(factories.InsurancePolicy(
        number="POL-OLD", insurer_id=stranger.id, organization_id=org.id,
        starts_on=date(2010, 1, 1), ends_on=date(2011, 1, 1), per_incident_limit=1,
        annual_aggregate=1))
    db.session.commit()
    person = factories.make_user("insurer", insurer=stranger)
    with pytest.raises(NotFound):
        fire_trigger(claim.incident_id, "approve_claim", person, params={"amount": 1})
    assert db.session.get(Claim, claim_id).incident.state == "claim_submitted"


def test_whose_claim_it_is_is_checked_before_the_workflow_reads_the_request(ctx, world):
    """The ownership check runs before the state changes, so another insurer learns
    nothing from the workflow's answer either (no amount: still not found, not 422)."""
    claim_id = submitted(world)
    incident_id = db.session.get(Claim, claim_id).incident_id
    other = user(world, "other_insurer")
    db.session.add(InsurerNotice(insurer_id=other.insurer_id, incident_id=incident_id,
                                 kind="early_notice", payload={}))
    db.session.commit()
    before = counts()
    for trigger, params in [("approve_claim", {}), ("request_info", {}),
                            ("deny_claim", {"reason": "x"})]:
        with pytest.raises(NotFound):
            fire_trigger(incident_id, trigger, other, params=params)
    assert counts() == before
    assert db.session.get(Claim, claim_id).incident.state == "claim_submitted"


def test_customers_and_technicians_see_no_claims_list(ctx, world):
    submitted(world)
    for role in ("customer", "technician"):
        assert claims.list_claims(user(world, role)) == []


def test_conflict_is_the_answer_to_acknowledging_a_claim_not_yet_submitted(
        ctx, world):
    incident_id = ready_to_submit(world)
    claim = db.session.get(Incident, incident_id).claim
    with pytest.raises(Conflict):
        claims.acknowledge(claim.id, user(world, "insurer"))
