"""The e-mail channel through the API: conversations, desk replies, the unmatched list."""

from datetime import datetime

from sqlalchemy import select

from app.extensions import db
from app.models import (
    CustodyEntry,
    Evidence,
    Incident,
    MailMessage,
    Notification,
    OrganizationDomain,
)
from app.services.mail.receive import receive
from tests.scenes.mail import mail_with_attachments, plain_mail, register_domain

NOW = datetime(2026, 11, 25, 1, 0)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
ZIP = b"PK\x03\x04" + b"\x00" * 64


def received(app, raw):
    with app.app_context():
        row = receive(raw, now=NOW)
        ids = row.id, row.incident_id
        db.session.remove()
    return ids


def test_the_desk_replies_and_the_customers_answer_threads_back(app, world, api):
    with app.app_context():
        register_domain(world.org_a)
    _mail_id, incident_id = received(app, plain_mail())
    response = api("desk").post(f"/api/v1/incidents/{incident_id}/messages",
                                json={"text": "PCをネットワークから外してください。"})
    assert response.status_code == 201, response.json
    reply = response.json
    with app.app_context():
        incident = db.session.get(Incident, incident_id)
        assert reply["subject"].startswith(f"[{incident.reference}] Re: ")
        assert reply["to"] == "boss@kou.example.jp" and reply["direction"] == "out"
        sent = db.session.get(Notification, db.session.get(MailMessage, reply["id"])
                              .notification_id)
        headers = dict(map(tuple, sent.context["headers"]))
        assert headers["Message-ID"] == f"<{reply['message_id']}>"
        assert headers["In-Reply-To"] == "<m1@kou.example.jp>"
    # The customer answers from another address, without the reference in the subject:
    # In-Reply-To names the reply, so it is theirs.
    answer = plain_mail(sender="it@other.example.com", subject="Re: 了解しました",
                        message_id="answer@other.example.com",
                        headers=(f"In-Reply-To: <{reply['message_id']}>",))
    _answer_id, answer_incident = received(app, answer)
    assert answer_incident == incident_id
    messages = api("customer").get(f"/api/v1/incidents/{incident_id}").json["messages"]
    assert [(m["direction"], m["kind"]) for m in messages] == [
        ("in", "customer"), ("out", "ack"), ("out", "reply"), ("in", "customer")]
    assert messages[3]["from"] == "it@other.example.com"
    assert messages[3]["text"] == "画面に警告が出ました。"
    assert messages[0]["received_at"] == "2026-11-25T01:00:00Z"


def test_a_reference_in_the_subject_threads_only_from_a_known_sender(app, world):
    with app.app_context():
        register_domain(world.org_a)
    _mail, incident_id = received(app, plain_mail())
    with app.app_context():
        reference = db.session.get(Incident, incident_id).reference
    _m, same = received(app, plain_mail(subject=f"Re: [{reference}] 追加", message_id="r2@k"))
    assert same == incident_id
    stranger_id, none = received(app, plain_mail(sender="x@evil.example",
                                                 subject=f"[{reference}] hi", message_id="e@e"))
    assert none is None
    with app.app_context():
        row = db.session.get(MailMessage, stranger_id)
        assert row.status == "unmatched" and "not known for it" in row.reason


def test_attachments_become_evidence_and_rule_breakers_wait_in_quarantine(app, world, api):
    with app.app_context():
        register_domain(world.org_a)
    raw = mail_with_attachments([("screen.png", "image/png", PNG),
                                 ("logs.zip", "application/zip", ZIP)])
    _mail, incident_id = received(app, raw)
    messages = api("desk").get(f"/api/v1/incidents/{incident_id}").json["messages"]
    png, zipped = messages[0]["attachments"]
    assert png["evidence_id"] and png["quarantine"] is None
    assert zipped["evidence_id"] is None and "Archives are not accepted" in zipped["quarantine"]
    with app.app_context():
        evidence = db.session.get(Evidence, png["evidence_id"])
        assert evidence.sha256 == png["sha256"] and evidence.incident_id == incident_id
        custody = db.session.scalars(select(CustodyEntry)).all()
        assert [c.action for c in custody] == ["upload"]
        assert db.session.scalars(select(MailMessage.raw).where(
            MailMessage.incident_id == incident_id, MailMessage.direction == "in")).one() == raw


def test_the_unmatched_list_is_for_staff_and_each_decision_is_kept(app, world, api):
    first, _ = received(app, plain_mail(sender="new@hei.example.jp", message_id="u1@h"))
    second, _ = received(app, plain_mail(sender="spam@junk.example", message_id="u2@j"))
    assert api("customer").get("/api/v1/mail/unmatched").status_code == 403
    listed = api("desk").get("/api/v1/mail/unmatched").json["items"]
    assert [m["id"] for m in listed] == [second, first]
    # Refused changes nothing: no reason, an unknown organization.
    assert api("desk").post(f"/api/v1/mail/{second}/discard", json={"reason": ""}) \
        .status_code == 422
    assert api("desk").post(f"/api/v1/mail/{first}/assign",
                            json={"organization_id": 999}).status_code == 422
    assigned = api("desk").post(f"/api/v1/mail/{first}/assign",
                                json={"organization_id": world.org_b,
                                      "register_as": "domain"})
    assert assigned.status_code == 200 and assigned.json["status"] == "incident"
    discarded = api("desk").post(f"/api/v1/mail/{second}/discard", json={"reason": "広告"})
    assert discarded.json["status"] == "discarded" and discarded.json["reason"] == "広告"
    assert api("desk").post(f"/api/v1/mail/{second}/discard", json={"reason": "again"}) \
        .status_code == 409
    assert api("desk").get("/api/v1/mail/unmatched").json["items"] == []
    with app.app_context():
        domain = db.session.scalars(select(OrganizationDomain)).one()
        assert (domain.domain, domain.organization_id) == ("hei.example.jp", world.org_b)
        incident = db.session.scalars(select(Incident)).one()
        assert (incident.organization_id, incident.channel) == (world.org_b, "email")
    # The next mail from that domain is known.
    _m, incident_id = received(app, plain_mail(sender="other@hei.example.jp", message_id="u3"))
    assert incident_id is not None


def test_an_unmatched_mail_attached_to_an_incident_keeps_its_attachments(app, world, api):
    with app.app_context():
        register_domain(world.org_a)
    _m, incident_id = received(app, plain_mail())
    stray, _ = received(app, mail_with_attachments([("photo.png", "image/png", PNG)],
                                                   sender="someone@gmail.example"))
    response = api("desk").post(f"/api/v1/mail/{stray}/attach",
                                json={"incident_id": incident_id})
    assert response.status_code == 200 and response.json["status"] == "message"
    assert response.json["attachments"][0]["evidence_id"]


def test_bad_replies_are_refused_and_change_nothing(app, world, api):
    with app.app_context():
        register_domain(world.org_a)
    _m, incident_id = received(app, plain_mail())
    desk = api("desk")
    assert desk.post(f"/api/v1/incidents/{incident_id}/messages", json={"text": ""}) \
        .status_code == 422
    assert desk.post(f"/api/v1/incidents/{incident_id}/messages",
                     json={"text": "x", "to": "not-an-address"}).status_code == 422
    assert desk.post("/api/v1/incidents/999999/messages", json={"text": "x"}).status_code == 404
    assert api("customer").post(f"/api/v1/incidents/{incident_id}/messages",
                                json={"text": "x"}).status_code == 403
    with app.app_context():
        assert db.session.scalars(select(MailMessage.kind).where(
            MailMessage.direction == "out")).all() == ["ack"]
