"""The whole loop with real servers: Dovecot in, the outbox worker out to the test SMTP
server, and the customer's answer to the desk's reply threading back by In-Reply-To."""

from datetime import datetime

from sqlalchemy import select

from app.extensions import db
from app.models import Incident, MailMessage
from app.services.mail import poller
from notifications.worker import run as run_worker
from tests.scenes.mail import plain_mail, register_domain

NOW = datetime(2026, 11, 25, 1, 0)


def test_ack_and_reply_leave_by_smtp_and_the_answer_threads_back(app, world, mailbox, smtp,
                                                                 api, monkeypatch):
    monkeypatch.setitem(app.config, "IMAP_URL", mailbox.url)
    with app.app_context():
        register_domain(world.org_a)
    mailbox.append(plain_mail())
    with app.app_context():
        poller.run(app.config, once=True, clock=lambda: NOW)
        incident = db.session.scalars(select(Incident)).one()
        incident_id, reference = incident.id, incident.reference
        db.session.remove()
    assert api("desk").post(f"/api/v1/incidents/{incident_id}/messages",
                            json={"text": "電源は入れたままにしてください。"}).status_code == 201
    with app.app_context():
        run_worker(once=True)
        db.session.remove()
    # (The worker's real clock may also page the dispatchers about the SLA: not ours.)
    ack, reply = (received.message for received in smtp.received
                  if received.rcpt_tos == ["boss@kou.example.jp"])
    assert ack["Auto-Submitted"] == "auto-replied" and reference in ack["Subject"]
    assert ack["In-Reply-To"] == "<m1@kou.example.jp>"
    assert "電源は切らないで" in ack.get_content()
    assert reply["Subject"] == f"[{reference}] Re: ウイルス感染の疑い"
    assert reply["In-Reply-To"] == "<m1@kou.example.jp>" and "Auto-Submitted" not in reply
    with app.app_context():
        recorded = db.session.scalars(select(MailMessage.message_id).where(
            MailMessage.kind == "reply")).one()
    assert reply["Message-ID"] == f"<{recorded}>"
    # The customer answers the reply (no reference in the subject: the header is enough).
    mailbox.append(plain_mail(subject="Re: 承知しました", text="電源は入れたままです。",
                              message_id="answer@kou.example.jp",
                              headers=(f"In-Reply-To: {reply['Message-ID']}",
                                       f"References: <m1@kou.example.jp> {reply['Message-ID']}")))
    with app.app_context():
        poller.run(app.config, once=True, clock=lambda: NOW)
        db.session.remove()
    messages = api("desk").get(f"/api/v1/incidents/{incident_id}").json["messages"]
    assert [m["kind"] for m in messages] == ["customer", "ack", "reply", "customer"]
    assert messages[-1]["text"] == "電源は入れたままです。"
    assert messages[1]["delivery"] == "sent"
