"""Dispatch services: choosing technicians, offers with timers, answers, the visit, overrides."""

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.extensions import db
from app.models import Contract, Dispatch, EscalationStep, Incident, Notification
from app.services.actors import ActingTechnician
from app.services.dispatch import offers, timers
from app.services.dispatch import visits as service
from app.services.incidents.lifecycle import fire_trigger
from app.testkit import factories

T0 = datetime(2026, 11, 25, 1, 0)  # 10:00 JST, a Wednesday
SHIFT = (T0 - timedelta(hours=2), T0 + timedelta(hours=8))


@pytest.fixture
def scene(ctx):
    """An incident in triage at a Tokyo SME, two fitting technicians on call, a dispatcher."""
    org = factories.make_organization(prefecture=13)
    first = factories.make_technician(prefectures=[13, 14], on_call=SHIFT)
    second = factories.make_technician(prefectures=[13], on_call=SHIFT)
    dispatcher = factories.make_user("dispatcher", phone="+819011110000")
    incident = factories.make_incident(org, state="triaging", category="ransomware",
                                       reporter_phone="+819099998888",
                                       reporter_email="boss@sme.example.jp")
    return {"org": org, "first": first, "second": second, "dispatcher": dispatcher,
            "incident": incident, "technician_user": factories.make_user(
                "technician", technician=first)}


def request(scene, now=T0):
    return fire_trigger(scene["incident"].id, "request_dispatch", scene["dispatcher"], now=now)


def messages(template=None):
    stmt = select(Notification).order_by(Notification.id)
    if template:
        stmt = stmt.where(Notification.template == template)
    return db.session.scalars(stmt).all()


def pending_steps(dispatch):
    return [(s.action, s.due_at) for s in dispatch.escalations if s.status == "pending"]


def test_candidates_are_on_call_in_the_prefecture_with_the_skill_least_loaded_first(scene):
    incident = scene["incident"]
    factories.make_technician(prefectures=[27], on_call=SHIFT)  # Osaka only
    factories.make_technician(prefectures=[13], skills=["dos"], on_call=SHIFT)  # no skill
    factories.make_technician(prefectures=[13], on_call=(T0 + timedelta(hours=9), T0 +
                                                          timedelta(hours=10)))  # not yet
    factories.make_technician(prefectures=[13], on_call=SHIFT, active=False)
    assert offers.candidates(incident, T0) == [scene["first"], scene["second"]]
    busy = factories.make_incident(scene["org"], state="technician_assigned",
                                   technician=scene["first"])
    assert busy.id
    assert offers.candidates(incident, T0) == [scene["second"], scene["first"]]


def test_requesting_dispatch_offers_the_best_candidate_by_sms_with_timers(scene):
    request(scene)
    incident = db.session.get(Incident, scene["incident"].id)
    (offer,) = incident.dispatches
    assert (offer.technician_id, offer.state, offer.escalation_step) == (
        scene["first"].id, "offered", 1)
    assert pending_steps(offer) == [("voice", T0 + timedelta(minutes=3)),
                                    ("next_candidate", T0 + timedelta(minutes=10)),
                                    ("page_dispatcher", T0 + timedelta(minutes=15))]
    (sms,) = messages("offer")
    assert (sms.channel, sms.recipient, sms.status) == ("sms", scene["first"].phone, "pending")
    assert "http://kaketsuke.test/a/" in sms.body and incident.reference in sms.body
    assert [e.data.get("action") for e in incident.events if e.kind == "dispatch"] == [
        "offered"]


def test_a_contracts_own_policy_replaces_the_default(scene):
    scene["org"].contracts[0].escalation_policy = [[0, "voice"], [5, "page_dispatcher"]]
    db.session.commit()
    request(scene)
    (offer,) = db.session.get(Incident, scene["incident"].id).dispatches
    assert pending_steps(offer) == [("page_dispatcher", T0 + timedelta(minutes=5))]
    assert [m.channel for m in messages("offer")] == ["voice"]


def test_the_policy_is_the_active_contracts_not_the_newest_ones(scene):
    """Bug: the newest contract with a policy was taken, even one not yet started."""
    scene["org"].contracts[0].escalation_policy = [[0, "voice"], [5, "page_dispatcher"]]
    db.session.add(Contract(
        organization_id=scene["org"].id, plan="combined", service_class=1, devices=5,
        monthly_fee=15000, onsite_support=True, starts_on=date(2027, 4, 1),
        escalation_policy=[[0, "sms"], [1, "page_dispatcher"]]))  # from next April
    db.session.commit()
    request(scene)
    (offer,) = db.session.get(Incident, scene["incident"].id).dispatches
    assert pending_steps(offer) == [("page_dispatcher", T0 + timedelta(minutes=5))]
    assert [m.channel for m in messages("offer")] == ["voice"]


def test_an_active_contract_without_a_policy_takes_the_default(scene, app):
    db.session.add(Contract(  # an old contract's policy does not outlive it
        organization_id=scene["org"].id, plan="combined", service_class=1, devices=5,
        monthly_fee=15000, onsite_support=True, starts_on=date(2019, 1, 1),
        ends_on=date(2019, 12, 31), escalation_policy=[[0, "voice"]]))
    db.session.commit()
    request(scene)
    (offer,) = db.session.get(Incident, scene["incident"].id).dispatches
    default = app.config["ESCALATION_POLICY"]
    assert [m.channel for m in messages("offer")] == [
        action for minutes, action in default if minutes == 0 and action in ("sms", "voice")]


def test_escalation_no_answer_then_call_then_next_candidate_then_dispatcher(scene):
    request(scene)
    first_offer = db.session.scalars(select(Dispatch)).one()

    def run_due(now):
        for step in db.session.scalars(select(EscalationStep).where(
                EscalationStep.status == "pending", EscalationStep.due_at <= now)).all():
            timers.run_escalation_step(step, now)
        db.session.commit()

    run_due(T0 + timedelta(minutes=3))
    assert [m.channel for m in messages("offer")] == ["sms", "voice"]
    run_due(T0 + timedelta(minutes=10))
    made = db.session.scalars(select(Dispatch).order_by(Dispatch.id)).all()
    assert [(o.technician_id, o.state) for o in made] == [
        (scene["first"].id, "expired"), (scene["second"].id, "offered")]
    assert messages("offer")[-1].recipient == scene["second"].phone
    run_due(T0 + timedelta(minutes=15))
    pages = messages("dispatcher_page")
    assert {(m.channel, m.recipient) for m in pages} == {
        ("sms", "+819011110000"), ("email", scene["dispatcher"].email)}
    assert first_offer.escalations[-1].outcome == "paged"


def test_an_accept_stops_every_timer_and_takes_the_incident(scene):
    request(scene)
    offer = db.session.scalars(select(Dispatch)).one()
    service.accept(offer.id, scene["technician_user"], now=T0 + timedelta(minutes=2))
    incident = db.session.get(Incident, scene["incident"].id)
    assert incident.state == "technician_assigned"
    assert incident.assigned_technician_id == scene["first"].id
    assert {s.status for s in offer.escalations} == {"cancelled"}
    transition = [e for e in incident.events if e.kind == "transition"][-1]
    assert (transition.trigger, transition.actor_label) == (
        "assign_technician", scene["technician_user"].email)


def test_a_decline_offers_the_next_candidate(scene):
    request(scene)
    offer = db.session.scalars(select(Dispatch)).one()
    acting = ActingTechnician(scene["first"].id, "技術者 (SMS link)")
    service.decline(offer.id, acting, "別件対応中", now=T0 + timedelta(minutes=1))
    made = db.session.scalars(select(Dispatch).order_by(Dispatch.id)).all()
    assert [(o.technician_id, o.state) for o in made] == [
        (scene["first"].id, "declined"), (scene["second"].id, "offered")]
    assert made[0].decline_reason == "別件対応中"
    # The dispatcher page stays scheduled: it counts from the request, not from this offer.
    assert [s.action for s in made[0].escalations if s.status == "pending"] == [
        "page_dispatcher"]


def test_a_decline_needs_a_reason_and_changes_nothing_without(scene):
    request(scene)
    offer = db.session.scalars(select(Dispatch)).one()
    with pytest.raises(InvalidInput):
        service.decline(offer.id, scene["technician_user"], "  ", now=T0)
    db.session.rollback()
    assert db.session.get(Dispatch, offer.id).state == "offered"


def test_with_no_candidate_the_dispatcher_is_paged_at_once(scene):
    for tech in (scene["first"], scene["second"]):
        tech.active = False
    db.session.commit()
    request(scene)
    assert db.session.scalars(select(Dispatch)).all() == []
    assert {m.recipient for m in messages("dispatcher_page")} >= {"+819011110000"}


def test_a_second_accept_is_refused_as_taken(scene):
    request(scene)
    offer = db.session.scalars(select(Dispatch)).one()
    service.accept(offer.id, scene["technician_user"], now=T0)
    with pytest.raises(Conflict) as info:
        service.accept(offer.id, scene["technician_user"], now=T0)
    assert info.value.code == "offer_closed"


def test_a_technician_cannot_answer_another_technicians_offer(scene):
    request(scene)
    offer = db.session.scalars(select(Dispatch)).one()
    other = factories.make_user("technician", technician=scene["second"])
    with pytest.raises(NotFound):
        service.accept(offer.id, other, now=T0)
    db.session.rollback()
    assert db.session.get(Dispatch, offer.id).state == "offered"


def test_a_used_link_cannot_be_used_again(scene):
    request(scene)
    offer = db.session.scalars(select(Dispatch)).one()
    acting = ActingTechnician(scene["first"].id, "技術者 (SMS link)")
    service.accept(offer.id, acting, now=T0, link_nonce="n-1")
    with pytest.raises(Conflict) as info:
        service.decline(offer.id, acting, "x", now=T0, link_nonce="n-1")
    assert info.value.details["reason"] == "link_used"


def test_the_visit_moves_the_incident_and_tells_the_customer(scene):
    request(scene)
    offer = db.session.scalars(select(Dispatch)).one()
    tech = scene["technician_user"]
    service.accept(offer.id, tech, now=T0)
    service.advance(offer.id, tech, "depart", now=T0 + timedelta(minutes=5))
    service.advance(offer.id, tech, "arrive", now=T0 + timedelta(minutes=50))
    with pytest.raises(InvalidInput):
        service.advance(offer.id, tech, "complete", params={"work_report": "done"},
                        now=T0 + timedelta(hours=3))
    db.session.rollback()
    service.advance(offer.id, tech, "complete", now=T0 + timedelta(hours=3), params={
        "work_report": "感染端末を隔離し、ログを保全した", "signoff_name": "田中 一郎"})
    incident = db.session.get(Incident, scene["incident"].id)
    assert incident.state == "onsite_completed"
    visit = db.session.get(Dispatch, offer.id)
    assert (visit.state, visit.signoff_name) == ("completed", "田中 一郎")
    assert (visit.departed_at, visit.arrived_at) == (T0 + timedelta(minutes=5),
                                                     T0 + timedelta(minutes=50))
    customer = [(m.template, m.channel, m.recipient) for m in messages()
                if m.template.startswith("customer_")]
    assert customer == [
        ("customer_en_route", "sms", "+819099998888"),
        ("customer_en_route", "email", "boss@sme.example.jp"),
        ("customer_arrived", "sms", "+819099998888"),
        ("customer_arrived", "email", "boss@sme.example.jp")]
    assert "10:05" in messages("customer_en_route")[0].body  # shown in Japan time
    triggers = [e.trigger for e in incident.events if e.kind == "transition"]
    assert triggers[-4:] == ["assign_technician", "depart", "arrive", "complete_onsite"]


def test_arriving_before_departing_is_refused(scene):
    request(scene)
    offer = db.session.scalars(select(Dispatch)).one()
    service.accept(offer.id, scene["technician_user"], now=T0)
    with pytest.raises(Conflict):
        service.advance(offer.id, scene["technician_user"], "arrive", now=T0)


def test_cancelling_an_accepted_visit_releases_the_incident(scene):
    request(scene)
    offer = db.session.scalars(select(Dispatch)).one()
    service.accept(offer.id, scene["technician_user"], now=T0)
    service.cancel_dispatch(offer.id, scene["dispatcher"], "体調不良", now=T0)
    incident = db.session.get(Incident, scene["incident"].id)
    assert (incident.state, incident.assigned_technician_id) == ("dispatch_requested", None)


def test_override_withdraws_open_offers_and_asks_the_chosen_technician(scene):
    request(scene)
    chosen = factories.make_technician(prefectures=[40])  # not on call, other prefecture
    service.override(scene["incident"].id, chosen.id, scene["dispatcher"],
                     reason="顧客の指名", now=T0 + timedelta(minutes=4))
    made = db.session.scalars(select(Dispatch).order_by(Dispatch.id)).all()
    assert [(o.technician_id, o.state) for o in made] == [
        (scene["first"].id, "cancelled"), (chosen.id, "offered")]
    assert messages("offer")[-1].recipient == chosen.phone


def test_only_a_dispatcher_overrides(scene):
    request(scene)
    desk = factories.make_user("desk")
    with pytest.raises(Forbidden):
        service.override(scene["incident"].id, scene["second"].id, desk, now=T0)


def test_cancelling_the_incident_closes_offers_and_timers(scene):
    request(scene)
    fire_trigger(scene["incident"].id, "cancel", scene["dispatcher"],
                 params={"reason": "false positive"}, now=T0)
    offer = db.session.scalars(select(Dispatch)).one()
    assert offer.state == "cancelled"
    assert {s.status for s in offer.escalations} == {"cancelled"}


def test_offer_messages_are_in_the_technicians_language(scene):
    scene["first"].locale = "en"
    db.session.commit()
    request(scene)
    (sms,) = messages("offer")
    assert sms.body.startswith("[Dispatch request]") and "Ransomware" in sms.body

