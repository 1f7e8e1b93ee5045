"""Escalation timers fired by the worker, with frozen time, through the real Twilio client."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import EscalationStep, Incident, Organization, User
from app.services.dispatch import timers
from app.services.dispatch import visits as dispatch_service
from app.services.incidents.lifecycle import fire_trigger
from app.testkit import factories
from tests.scenes.notifications import T0, incident, outbox, work

POLICY_MINUTES = (0, 3, 10, 13, 15, 20)  # when something is due for an unanswered request


def phone_log(fake):
    """(what, to) of every SMS and call the fake Twilio accepted, in order."""
    return [(r.kind, r.form["To"]) for r in fake.requests if r.status == 201]


def work_until(clock, minutes):
    """Run the worker at each due time of the policy up to T0 + `minutes`."""
    for due in POLICY_MINUTES:
        if due <= minutes:
            clock.now = T0 + timedelta(minutes=due)
            work(clock)


def dispatch_actions(scene):
    return [e.data["action"] for e in incident(scene).events if e.kind == "dispatch"]


def test_no_answer_leads_to_a_call_then_the_next_candidate_then_the_dispatcher(
        fake_twilio, smtp, dispatch_requested, clock):
    scene, fake = dispatch_requested, fake_twilio
    tech, other = scene.technician_phone, scene.other_technician_phone
    work(clock)
    assert phone_log(fake) == [("Messages", tech)]
    clock.advance(minutes=2, seconds=59)
    work(clock)
    assert phone_log(fake) == [("Messages", tech)]
    clock.advance(seconds=1)
    work(clock)
    assert phone_log(fake)[1:] == [("Calls", tech)]
    clock.now = T0 + timedelta(minutes=10)
    work(clock)
    assert phone_log(fake)[2:] == [("Messages", other)]
    clock.now = T0 + timedelta(minutes=13)  # the second offer's own call
    work(clock)
    assert phone_log(fake)[3:] == [("Calls", other)]
    clock.now = T0 + timedelta(minutes=15)
    work(clock)
    assert phone_log(fake)[4:] == [("Messages", scene.dispatcher_phone)]
    assert [m.rcpt_tos for m in smtp.received] == [[scene.dispatcher_email]]
    assert dispatch_actions(scene) == ["offered", "voice_sent", "expired", "offered",
                                       "voice_sent", "dispatcher_paged"]
    first, second = incident(scene).dispatches
    assert (first.state, second.state) == ("expired", "offered")


@pytest.mark.parametrize(("minutes", "who"), [
    (1, "technician"), (4, "technician"), (11, "other_technician")],
    ids=["after the sms", "after the call", "the next candidate"])
def test_an_accept_at_any_step_stops_the_rest(fake_twilio, dispatch_requested, clock,
                                              minutes, who):
    scene = dispatch_requested
    work_until(clock, minutes)
    before = phone_log(fake_twilio)
    user = db.session.get(User, getattr(scene, f"{who}_user_id"))
    (offer,) = [d for d in incident(scene).dispatches if d.state == "offered"]
    dispatch_service.accept(offer.id, user, now=T0 + timedelta(minutes=minutes))
    for later in range(minutes + 1, 31):
        clock.now = T0 + timedelta(minutes=later)
        work(clock)
    assert phone_log(fake_twilio) == before
    assert db.session.scalars(select(EscalationStep).where(
        EscalationStep.status == "pending")).all() == []
    assert incident(scene).state == "technician_assigned"


def second_request(world):
    """Another incident of org A with dispatch requested at T0 (its own timers)."""
    org = db.session.get(Organization, world.org_a)
    other = factories.make_incident(org, state="triaging")
    fire_trigger(other.id, "request_dispatch", db.session.get(User, world.users["dispatcher"]),
                 now=T0)
    return other.id


def voice_step(incident_id):
    return db.session.scalars(select(EscalationStep).join(EscalationStep.dispatch).where(
        EscalationStep.action == "voice",
        EscalationStep.dispatch.has(incident_id=incident_id))).one()


def test_a_step_that_fails_is_rolled_back_and_retried_later_without_stopping_the_others(
        dispatch_requested, world, clock, monkeypatch):
    broken_incident, healthy_incident = dispatch_requested.incident_id, second_request(world)
    work(clock)

    run_step = timers.run_escalation_step

    def half_then_fail(step, now):
        run_step(step, now)  # queues a call, marks the step done
        if step.dispatch.incident_id == broken_incident:
            raise RuntimeError("boom")

    monkeypatch.setattr(timers, "run_escalation_step", half_then_fail)
    clock.advance(minutes=3)
    work(clock)
    broken, healthy = voice_step(broken_incident), voice_step(healthy_incident)
    assert (broken.status, broken.due_at, broken.outcome) == (
        "pending", clock.now + timedelta(seconds=30), "retrying after an error")
    assert (healthy.status, healthy.outcome) == ("done", "voice queued")
    calls = outbox(channel="voice")
    assert [c.incident_id for c in calls] == [healthy_incident]
    monkeypatch.undo()
    clock.advance(seconds=30)
    work(clock)
    assert voice_step(broken_incident).status == "done"
    assert sorted(c.incident_id for c in outbox(channel="voice")) == sorted(
        [broken_incident, healthy_incident])


@pytest.mark.postgres
def test_a_step_of_an_incident_locked_by_an_answer_in_progress_waits_for_the_next_pass(
        app, dispatch_requested, dialect, clock):
    if dialect != "postgresql":
        pytest.skip("SQLite has no row locks: its writers queue instead")
    work(clock)
    clock.advance(minutes=3)
    with db.engine.connect() as other:  # e.g. an accept holding the incident's row lock
        other.execute(select(Incident.id).where(
            Incident.id == dispatch_requested.incident_id).with_for_update())
        work(clock)
        assert voice_step(dispatch_requested.incident_id).status == "pending"
        other.rollback()
    work(clock)
    assert voice_step(dispatch_requested.incident_id).status == "done"
