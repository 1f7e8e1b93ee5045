"""Received mail into incidents, the unmatched list or refusals; each exactly once."""

from datetime import datetime

from sqlalchemy import func, select

from app.extensions import db
from app.models import Incident, MailMessage, Notification, SlaClock
from app.services.mail.receive import Source, receive
from tests.scenes.mail import mail_with_attachments, plain_mail, register_domain

NOW = datetime(2026, 11, 25, 1, 0)
SOURCE = Source("desk@imap:143/INBOX", 7, 1)


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_known_domain_opens_an_email_incident_with_clock_and_acknowledgement(ctx, world):
    register_domain(world.org_a)
    row = receive(plain_mail(), SOURCE, now=NOW)
    assert row.status == "incident"
    incident = row.incident
    assert (incident.channel, incident.organization_id) == ("email", world.org_a)
    assert incident.summary == "ウイルス感染の疑い"
    assert incident.description == "画面に警告が出ました。"
    assert incident.reporter_email == "boss@kou.example.jp"
    clock = db.session.scalars(select(SlaClock).where(SlaClock.incident_id == incident.id)).one()
    assert (clock.name, clock.started_at) == ("first_response", NOW)
    ack = db.session.scalars(select(Notification)).one()
    assert ack.recipient == "boss@kou.example.jp" and incident.reference in ack.subject
    assert "電源は切らないで" in ack.body
    assert ("Auto-Submitted", "auto-replied") in map(tuple, ack.context["headers"])


def test_a_user_address_is_known_too(ctx, world):
    row = receive(plain_mail(sender=world.emails["customer"]), SOURCE, now=NOW)
    assert row.status == "incident" and row.incident.organization_id == world.org_a


def test_the_same_uid_or_the_same_mail_again_is_not_processed_twice(ctx, world):
    register_domain(world.org_a)
    first = receive(plain_mail(), SOURCE, now=NOW)
    assert receive(plain_mail(), SOURCE, now=NOW).id == first.id
    # The same bytes under another UID (UIDVALIDITY changed, or delivered twice).
    assert receive(plain_mail(), Source(SOURCE.mailbox, 8, 1), now=NOW).id == first.id
    assert (count(Incident), count(MailMessage.__table__)) == (1, 2)  # the mail and its ack


def test_an_unknown_sender_waits_in_the_unmatched_list(ctx, world):
    row = receive(plain_mail(sender="stranger@example.com"), SOURCE, now=NOW)
    assert (row.status, row.reason, row.incident_id) == ("unmatched", "unknown sender", None)
    assert count(Incident) == 0 and count(Notification) == 0


def test_no_acknowledgement_to_auto_submitted_or_list_mail_nor_beyond_the_cap(ctx, world):
    register_domain(world.org_a)
    refused = [("Auto-Submitted: auto-replied",), ("Precedence: bulk",),
               ("List-Id: <x.kou.example.jp>",)]
    for n, headers in enumerate(refused):
        row = receive(plain_mail(message_id=f"a{n}@x", headers=headers),
                      Source(SOURCE.mailbox, 7, 10 + n), now=NOW)
        assert row.status == "incident" and row.reason.startswith("no acknowledgement")
    assert count(Notification) == 0
    for n in range(6):
        receive(plain_mail(message_id=f"b{n}@x"), Source(SOURCE.mailbox, 7, 20 + n), now=NOW)
    assert count(Notification) == 5  # MAIL_ACK_PER_HOUR


def test_too_many_recipients_and_no_sender_are_refused_with_the_reason(ctx, world):
    register_domain(world.org_a)
    many = ", ".join(f"u{n}@example.com" for n in range(2000))
    row = receive(plain_mail(headers=(f"Cc: {many}",)), SOURCE, now=NOW)
    assert row.status == "refused" and "2001 recipients" in row.reason
    raw = plain_mail().replace(b"From: boss@kou.example.jp\r\n", b"")
    row = receive(raw, Source(SOURCE.mailbox, 7, 2), now=NOW)
    assert (row.status, row.reason) == ("refused", "no sender address (From)")
    assert count(Incident) == 0


def test_failed_authentication_never_opens_under_a_known_organization(ctx, world):
    register_domain(world.org_a)
    header = ("Authentication-Results: mx.kaketsuke.test; spf=fail smtp.mailfrom=kou.example.jp;"
              " dkim=none; dmarc=fail header.from=kou.example.jp")
    row = receive(plain_mail(headers=(header,)), SOURCE, now=NOW)
    assert row.status == "unmatched" and row.auth_failures == "spf=fail dmarc=fail"
    assert count(Incident) == 0


def test_only_the_receiving_servers_authentication_results_count(ctx, world, app):
    register_domain(world.org_a)
    ours = "Authentication-Results: mx.kaketsuke.test; spf=pass; dmarc=pass"
    planted = "Authentication-Results: evil.example; spf=fail; dmarc=fail"
    row = receive(plain_mail(headers=(ours, planted)), SOURCE, now=NOW)
    assert row.status == "incident" and row.auth_failures == ""
    app.config["MAIL_AUTHSERV_ID"] = "mx.kaketsuke.test"
    try:
        row = receive(plain_mail(message_id="x2@x", headers=(planted, ours)),
                      Source(SOURCE.mailbox, 7, 2), now=NOW)
        assert row.status == "incident"
    finally:
        app.config["MAIL_AUTHSERV_ID"] = ""


SAMPLES = __import__("pathlib").Path(__file__).resolve().parents[2] / "samples" / "mail"


def test_every_sample_ends_somewhere_the_desk_sees(ctx, world):
    register_domain(world.org_a)
    for uid, path in enumerate(sorted(SAMPLES.glob("*.eml")), start=1):
        row = receive(path.read_bytes(), Source(SOURCE.mailbox, 7, uid), now=NOW)
        assert row.status == "incident", (path.name, row.status, row.reason)
        assert row.raw == path.read_bytes()


def test_a_forwarded_mail_is_kept_as_evidence_with_its_headers(ctx, world):
    from app.models import Evidence
    register_domain(world.org_a)
    row = receive((SAMPLES / "forwarded_phish.eml").read_bytes(), SOURCE, now=NOW)
    (attachment,) = row.attachments
    assert attachment["forwarded_headers"]["Subject"] == "【重要】口座の確認をお願いします"
    evidence = db.session.get(Evidence, attachment["evidence_id"])
    assert evidence.original_name == "phish.eml" and evidence.content_type.startswith("text/")


def test_an_attachment_over_the_limit_waits_in_quarantine_and_a_huge_mail_is_refused(
        ctx, world, app, monkeypatch):
    register_domain(world.org_a)
    monkeypatch.setitem(app.config, "EVIDENCE_MAX_BYTES", 1000)
    big = b"\x89PNG\r\n\x1a\n" + b"\x00" * 2000
    row = receive(mail_with_attachments([("big.png", "image/png", big)]), SOURCE, now=NOW)
    assert row.status == "incident"
    assert row.attachments[0]["quarantine"] == "A file may have at most 1000 bytes."
    assert row.attachments[0]["size"] == len(big)
    monkeypatch.setitem(app.config, "MAIL_MAX_BYTES", 3000)
    row = receive(mail_with_attachments([("big.png", "image/png", big)], message_id="b2@x"),
                  Source(SOURCE.mailbox, 7, 2), now=NOW)
    assert row.status == "refused" and row.reason.startswith("larger than 3000 bytes")
    assert row.from_address == "boss@kou.example.jp" and row.raw is None
