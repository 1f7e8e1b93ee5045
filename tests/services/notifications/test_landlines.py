"""Texts go only to mobiles: a landline gets a voice call or an e-mail, and the timeline says why.

Through the real outbox and worker, the Twilio provider against the fake server and e-mail
to the test SMTP server.
"""

from datetime import timedelta

from app.extensions import db
from app.models import Dispatch, Incident, Organization, User
from app.services.dispatch import visits
from app.services.incidents.lifecycle import fire_trigger
from app.testkit import factories
from tests.scenes.notifications import T0, outbox, work

LANDLINE = "+81312345678"  # 03-1234-5678


def _incident(world, **reporter):
    org = db.session.get(Organization, world.org_a)
    return factories.make_incident(org, state="triaging", category="ransomware", **reporter)


def _visit_started(world, incident, clock):
    """Dispatch requested, accepted and the technician on the way; the outbox worked."""
    dispatcher = db.session.get(User, world.users["dispatcher"])
    fire_trigger(incident.id, "request_dispatch", dispatcher, now=T0)
    technician = db.session.get(User, world.users["technician"])
    (offer,) = [d for d in db.session.get(Incident, incident.id).dispatches
                if d.technician_id == technician.technician_id]
    visits.accept(offer.id, technician, now=T0 + timedelta(minutes=1))
    visits.advance(offer.id, technician, "depart", now=T0 + timedelta(minutes=2))
    clock.advance(minutes=2)
    work(clock)
    return db.session.get(Incident, incident.id)


def _not_texted(incident):
    return [(e.data["action"], e.data["recipient"], e.data.get("channel"))
            for e in incident.events if e.data.get("action", "").startswith("sms_not_sent")]


def test_a_landline_reporter_gets_a_voice_message_and_the_email(fake_twilio, world, ctx,
                                                                 clock):
    incident = _incident(world, reporter_phone=LANDLINE, reporter_email="boss@sme.example.jp")
    incident = _visit_started(world, incident, clock)
    told = [(m.channel, m.recipient, m.status) for m in outbox(template="customer_en_route")]
    assert told == [("voice", LANDLINE, "sent"), ("email", "boss@sme.example.jp", "sent")]
    assert LANDLINE not in [r.form["To"] for r in fake_twilio.messages]
    (call,) = [c for c in fake_twilio.calls if c.form["To"] == LANDLINE]
    voice = outbox(template="customer_en_route", channel="voice")[0]
    assert call.form["Url"] == f"http://kaketsuke.test/webhooks/twilio/voice/message/{voice.id}"
    assert "出発しました" in voice.body and "0、0、0、0" in voice.body  # digits read one by one
    assert _not_texted(incident) == [("sms_not_sent_landline", "reporter", "voice")]


def test_an_ip_phone_without_email_gets_the_voice_message_only(fake_twilio, world, ctx, clock):
    incident = _visit_started(world, _incident(world, reporter_phone="+815012345678"), clock)
    told = [(m.channel, m.recipient) for m in outbox(template="customer_en_route")]
    assert told == [("voice", "+815012345678")]
    assert _not_texted(incident) == [("sms_not_sent_ip", "reporter", "voice")]


def test_a_number_that_is_neither_is_told_nothing_and_the_desk_sees_why(
        fake_twilio, world, ctx, clock):
    incident = _visit_started(world, _incident(world, reporter_phone="+81570123456"), clock)
    assert outbox(template="customer_en_route") == []
    assert _not_texted(incident) == [("sms_not_sent_unknown", "reporter", None)]


def test_a_mobile_reporter_is_still_texted(fake_twilio, world, ctx, clock):
    incident = _visit_started(world, _incident(world, reporter_phone="+819099998888"), clock)
    (sms,) = outbox(template="customer_en_route")
    assert (sms.channel, sms.recipient, sms.status) == ("sms", "+819099998888", "sent")
    assert _not_texted(incident) == []


def test_a_technician_on_a_landline_is_offered_by_voice_call(fake_twilio, world, ctx, clock):
    for name in ("technician", "other_technician"):
        db.session.get(User, world.users[name]).technician.phone = "+81612345678"
    db.session.commit()
    incident = _incident(world)
    fire_trigger(incident.id, "request_dispatch",
                 db.session.get(User, world.users["dispatcher"]), now=T0)
    work(clock)
    (offer,) = db.session.get(Incident, incident.id).dispatches
    assert [m.channel for m in outbox(template="offer")] == ["voice"]
    assert fake_twilio.messages == []
    (call,) = fake_twilio.calls
    assert call.form["To"] == "+81612345678"
    assert call.form["Url"].endswith(f"/webhooks/twilio/voice/offer/{offer.id}")
    assert _not_texted(db.session.get(Incident, incident.id)) == [
        ("sms_not_sent_landline", "technician", "voice")]


def test_a_dispatcher_with_an_ip_phone_is_paged_by_email_only(fake_twilio, world, ctx, clock):
    dispatcher = db.session.get(User, world.users["dispatcher"])
    dispatcher.phone = "+815011112222"
    for name in ("technician", "other_technician"):  # nobody fits: the dispatchers are paged
        db.session.get(User, world.users[name]).technician.active = False
    db.session.commit()
    incident = _incident(world)
    fire_trigger(incident.id, "request_dispatch", dispatcher, now=T0)
    work(clock)
    pages = [(m.channel, m.recipient, m.status) for m in outbox(template="dispatcher_page")]
    assert pages == [("email", dispatcher.email, "sent")]
    assert _not_texted(db.session.get(Incident, incident.id)) == [
        ("sms_not_sent_ip", "dispatcher", "email")]
    assert db.session.query(Dispatch).count() == 0
