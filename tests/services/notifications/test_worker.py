"""The worker: claims, sends through providers, retries with backoff, fails visibly, shares."""

import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Dispatch, IncidentEvent, Notification, Organization, User
from app.services.dispatch import offers
from app.services.dispatch import visits as dispatch_service
from app.services.dispatch.links import read_offer_token
from app.testkit import factories
from notifications.worker import Worker, backoff, claim_notifications, run
from tests.scenes.notifications import (
    T0,
    RecordingProvider,
    incident,
    outbox,
    queue_messages,
    work,
)

ACCEPT_LINK = re.compile(r"http://kaketsuke\.test/a/(\S+)")


def test_backoff_doubles_from_five_seconds_up_to_ten_minutes_plus_a_little_jitter():
    assert [backoff(n, rand=lambda: 0).total_seconds() for n in range(1, 9)] == [
        5, 10, 20, 40, 80, 160, 320, 600]
    assert backoff(1, rand=lambda: 1).total_seconds() == pytest.approx(5.5)
    assert backoff(30, rand=lambda: 1).total_seconds() == pytest.approx(660)


def test_the_offer_sms_leaves_through_the_real_twilio_client_with_a_working_accept_link(
        fake_twilio, dispatch_requested, clock):
    scene = dispatch_requested
    assert work(clock) == 1
    (request,) = fake_twilio.requests
    assert (request.kind, request.form["To"], request.form["From"]) == (
        "Messages", scene.technician_phone, "+815012345678")
    assert request.form["StatusCallback"] == "http://kaketsuke.test/webhooks/twilio/status/sms"
    (offer,) = incident(scene).dispatches
    dispatch_id, technician_id, _nonce = read_offer_token(
        ACCEPT_LINK.search(request.form["Body"]).group(1))
    assert (dispatch_id, technician_id) == (offer.id, offer.technician_id)
    (sms,) = outbox()
    assert (sms.status, sms.provider, sms.provider_id, sms.sent_at, sms.attempts) == (
        "sent", "twilio", request.sid, T0, 1)


def test_the_call_three_minutes_later_fetches_the_offers_twiml(
        fake_twilio, dispatch_requested, clock):
    work(clock)
    clock.advance(minutes=3)
    work(clock)
    (offer,) = incident(dispatch_requested).dispatches
    (call,) = fake_twilio.calls
    assert call.form["To"] == dispatch_requested.technician_phone
    assert call.form["Url"].endswith(f"/webhooks/twilio/voice/offer/{offer.id}")
    assert call.form["StatusCallback"] == "http://kaketsuke.test/webhooks/twilio/status/voice"
    voice = outbox(channel="voice")[0]
    assert (voice.status, voice.provider_id) == ("sent", call.sid)


def test_500s_and_a_timeout_are_retried_with_growing_waits_until_delivered(
        fake_twilio, dispatch_requested, clock):
    fake_twilio.fail_next(2, 500)
    fake_twilio.hang_next(1, seconds=1.0)  # the client gives up after 0.3 s

    def sms():
        return outbox(channel="sms")[0]

    work(clock)
    assert (sms().status, sms().attempts, sms().last_error) == (
        "pending", 1, "Twilio HTTP 500 code 20500: Unable to create record: Internal Server Error")
    assert T0 + timedelta(seconds=5) <= sms().next_attempt_at <= T0 + timedelta(seconds=5.5)
    clock.advance(seconds=4)
    work(clock)
    assert len(fake_twilio.requests) == 1  # not due yet
    clock.advance(seconds=2)
    work(clock)
    assert (sms().attempts, len(fake_twilio.requests)) == (2, 2)
    assert clock.now + timedelta(seconds=10) <= sms().next_attempt_at <= \
        clock.now + timedelta(seconds=11)
    clock.advance(seconds=11)
    work(clock)
    assert (sms().status, sms().attempts, sms().last_error) == (
        "pending", 3, "Twilio unreachable: ReadTimeout")
    clock.advance(seconds=22)
    work(clock)
    assert (sms().status, sms().attempts, sms().sent_at) == ("sent", 4, clock.now)
    assert [r.status for r in fake_twilio.requests] == [500, 500, 0, 201]
    assert sms().provider_id == fake_twilio.messages[0].sid
    assert outbox(template="dispatcher_page") == []


def test_a_refused_number_fails_at_once_and_pages_the_dispatchers(
        fake_twilio, dispatch_requested, clock):
    scene = dispatch_requested
    fake_twilio.reject_next(1)
    work(clock)
    offer_sms = outbox(template="offer")[0]
    assert (offer_sms.status, offer_sms.attempts) == ("failed", 1)
    assert "21211" in offer_sms.last_error
    pages = outbox(template="dispatcher_page")
    assert [(p.channel, p.recipient, p.status) for p in pages] == [
        ("sms", scene.dispatcher_phone, "sent"), ("email", scene.dispatcher_email, "sent")]
    assert all(p.dedupe_key.startswith(f"page:failed:{offer_sms.id}:") for p in pages)
    assert [r.form["To"] for r in fake_twilio.messages] == [scene.dispatcher_phone]
    assert "通知を送れませんでした" in fake_twilio.messages[0].form["Body"]
    events = db.session.scalars(select(IncidentEvent).where(
        IncidentEvent.incident_id == scene.incident_id)).all()
    assert events[-1].data == {
        "action": "dispatcher_paged", "reason": "notification_failed",
        "dispatchers": [scene.dispatcher_email], "notification_id": offer_sms.id,
        "channel": "sms", "recipient": offer_sms.recipient, "error": offer_sms.last_error}


def test_after_the_last_attempt_the_message_fails_and_the_dispatchers_are_paged(
        fake_twilio, world, ctx, clock):
    org = db.session.get(Organization, world.org_a)
    (message_id,) = queue_messages(1, incident=factories.make_incident(org), max_attempts=3)
    fake_twilio.fail_next(3, 503, 20503, "Service Unavailable")
    for _ in range(3):
        work(clock)
        clock.advance(minutes=11)
    message = db.session.get(Notification, message_id)
    assert (message.status, message.attempts) == ("failed", 3)
    assert message.last_error == \
        "Twilio HTTP 503 code 20503: Unable to create record: Service Unavailable"
    assert [p.status for p in outbox(template="dispatcher_page")] == ["sent", "sent"]
    clock.advance(days=1)
    work(clock)
    # Three tries and the page, nothing more (by then the incident's SLA clock pages too).
    retries = [r for r in fake_twilio.requests if "SLA" not in r.form.get("Body", "")]
    assert len(retries) == 4


def test_a_failed_dispatcher_page_is_logged_but_pages_nobody(world, ctx, clock, caplog):
    org = db.session.get(Organization, world.org_a)
    offers.page_dispatchers(factories.make_incident(org), "no_candidate", T0)
    db.session.commit()

    class Refusing(RecordingProvider):
        def send_sms(self, to, body, status_callback, *, reference=""):
            from notifications.providers import DeliveryError
            raise DeliveryError("Twilio HTTP 400 code 21211: bad number", permanent=True)

    work(clock, providers=Refusing().providers())
    assert [(p.channel, p.status) for p in outbox()] == [("sms", "failed"), ("email", "sent")]
    assert "dispatcher page" in caplog.text


def test_rows_of_a_killed_worker_go_out_after_their_lease_and_are_never_sent_again(
        world, ctx, clock):
    ids = queue_messages(3)
    abandoned = claim_notifications(clock())  # worker A claims, then "dies"
    assert [m.id for m in abandoned] == ids
    other = RecordingProvider()
    clock.advance(seconds=30)
    assert work(clock, providers=other.providers()) == 0  # still leased to A
    clock.advance(seconds=31)
    work(clock, providers=other.providers())
    assert sorted(ref for _c, _to, ref in other.sent) == ids
    assert {(m.status, m.attempts, m.provider) for m in outbox()} == {("sent", 2, "recording")}
    zombie = RecordingProvider()  # worker A wakes up and goes on with its old batch
    Worker(zombie.providers(), clock, "http://kaketsuke.test").send_batch(abandoned)
    assert zombie.sent == []
    assert {(m.status, m.provider_id) for m in outbox()} == {
        ("sent", f"rec-{i}") for i in ids}
    clock.advance(days=1)
    work(clock, providers=other.providers())
    assert len(other.sent) == 3


def test_the_provider_is_called_with_no_transaction_open(world, ctx, clock):
    queue_messages(2)
    queue_messages(1, channel="email")
    provider = RecordingProvider()
    work(clock, providers=provider.providers())
    assert [c for c, _to, _ref in provider.sent] == ["sms", "sms", "email"]
    assert provider.in_transaction == [False, False, False]


@pytest.mark.postgres
def test_two_workers_at_once_never_send_the_same_row_twice(app, world, dialect, clock):
    if dialect != "postgresql":
        pytest.skip("SQLite has one writer at a time; row locks are PostgreSQL's")
    with app.app_context():
        ids = queue_messages(60)
        db.session.remove()
    provider = RecordingProvider(latency=0.002)
    start = threading.Barrier(2)

    def worker():
        with app.app_context():
            start.wait()
            run(once=True, now=clock, providers=provider.providers())
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert sorted(ref for _c, _to, ref in provider.sent) == ids
    assert len(set(provider.threads)) == 2  # both took part
    with app.app_context():
        assert {m.status for m in outbox()} == {"sent"}


def test_an_offer_closed_before_its_retry_is_cancelled_not_sent(
        fake_twilio, dispatch_requested, clock):
    fake_twilio.fail_next(1, 500)
    work(clock)
    (offer,) = incident(dispatch_requested).dispatches
    technician = db.session.get(User, dispatch_requested.technician_user_id)
    dispatch_service.accept(offer.id, technician, now=clock.advance(seconds=2))
    clock.advance(seconds=10)
    work(clock)
    sms = outbox(template="offer")[0]
    assert (sms.status, sms.last_error) == ("cancelled", "not sent: the offer is accepted")
    assert fake_twilio.messages == []
    assert db.session.get(Dispatch, offer.id).state == "accepted"


def test_email_goes_out_in_a_real_smtp_conversation_and_records_its_message_id(
        smtp, world, ctx, clock):
    (message_id,) = queue_messages(1, channel="email")
    work(clock)
    (received,) = smtp.received
    message = db.session.get(Notification, message_id)
    assert (message.status, message.provider) == ("sent", "smtp")
    assert received.message["Message-ID"] == message.provider_id
    assert received.message["Subject"] == message.subject
    assert received.rcpt_tos == [message.recipient] and received.login == "mailer"
    assert "INC-2026-000001" in received.message.get_content()


def test_an_smtp_server_busy_now_gets_the_message_on_the_next_try(smtp, world, ctx, clock):
    (message_id,) = queue_messages(1, channel="email")
    smtp.refuse_next(1, "451 4.3.0 Try again later")
    work(clock)
    assert db.session.get(Notification, message_id).status == "pending"
    clock.advance(seconds=6)
    work(clock)
    message = db.session.get(Notification, message_id)
    assert (message.status, message.attempts, len(smtp.received)) == ("sent", 2, 1)


def test_a_slow_batch_gives_back_what_it_cannot_send_within_half_its_lease(world, ctx, clock):
    ids = queue_messages(3)

    class Slow(RecordingProvider):
        def _record(self, channel, to, reference):
            clock.advance(seconds=20)  # each send takes 20 s of the 60 s lease
            return super()._record(channel, to, reference)

    slow = Slow()
    Worker(slow.providers(), clock, "http://kaketsuke.test").send_due_messages()
    assert [ref for _c, _to, ref in slow.sent] == ids[:2]
    given_back = db.session.get(Notification, ids[2])
    assert (given_back.status, given_back.lease_until) == ("pending", None)
    work(clock, providers=slow.providers())
    assert [ref for _c, _to, ref in slow.sent] == ids


def test_a_stopping_worker_gives_its_batch_back_unsent(world, ctx, clock):
    queue_messages(2)
    provider = RecordingProvider()
    worker = Worker(provider.providers(), clock, "http://kaketsuke.test")
    worker.stop.set()
    worker.send_batch(claim_notifications(clock()))
    assert provider.sent == []
    assert {(m.status, m.attempts) for m in outbox()} == {("pending", 1)}


def test_a_message_whose_workers_keep_dying_is_failed_and_paged_without_another_try(
        world, ctx, clock):
    org = db.session.get(Organization, world.org_a)
    (message_id,) = queue_messages(1, incident=factories.make_incident(org), max_attempts=2)
    for _ in range(2):
        claim_notifications(clock())  # a worker claims it and dies
        clock.advance(seconds=61)
    provider = RecordingProvider()
    work(clock, providers=provider.providers())
    message = db.session.get(Notification, message_id)
    assert (message.status, message.attempts) == ("failed", 3)
    assert message.last_error == "given up: claimed too often without a recorded outcome"
    pages = outbox(template="dispatcher_page")
    assert len(pages) == 2  # only the dispatcher's SMS and e-mail went out
    assert sorted(ref for _c, _to, ref in provider.sent) == [page.id for page in pages]
