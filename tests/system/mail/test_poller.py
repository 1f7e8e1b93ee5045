"""The poller against a real Dovecot: processed, committed, then moved; exactly once."""

import threading
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Incident, MailMessage
from app.services.mail import poller
from app.services.mail.receive import Source, receive
from tests.scenes.mail import plain_mail, register_domain

NOW = datetime(2026, 11, 25, 1, 0)
DONE = "Kaketsuke/Done"


@pytest.fixture
def desk(app, mailbox, monkeypatch):
    monkeypatch.setitem(app.config, "IMAP_URL", mailbox.url)
    monkeypatch.setitem(app.config, "IMAP_POLL_SECONDS", 0.2)
    with app.app_context():
        yield mailbox
        db.session.remove()


def received():
    return db.session.scalar(select(func.count(MailMessage.id)).where(
        MailMessage.direction == "in"))


def test_one_pass_processes_every_mail_then_moves_it_to_a_new_done_folder(app, world, desk):
    register_domain(world.org_a)
    for n in range(3):
        desk.append(plain_mail(message_id=f"m{n}@kou.example.jp"))
    desk.append(plain_mail(sender="stranger@example.com", message_id="s@example.com"))
    result = poller.run(app.config, once=True, clock=lambda: NOW)
    assert (result.processed, result.moved_only) == (4, 0)
    assert desk.uids() == [] and len(desk.uids(DONE)) == 4
    statuses = db.session.scalars(select(MailMessage.status).where(
        MailMessage.direction == "in").order_by(MailMessage.uid)).all()
    assert statuses == ["incident", "incident", "incident", "unmatched"]
    # The mail as it was on the server is what is stored.
    assert db.session.scalars(select(MailMessage.raw).where(MailMessage.uid == 1)).one() \
        == desk.messages(DONE)[0]


def test_a_mail_committed_before_a_crash_is_only_moved_on_restart(app, world, desk):
    register_domain(world.org_a)
    uid = desk.append(plain_mail())
    address = poller.parse_imap_url(desk.url)
    with poller.connect(address) as imap:
        uidvalidity = int(imap.folder.status("INBOX", ["UIDVALIDITY"])["UIDVALIDITY"])
    # The crash: processed and committed, never moved.
    receive(desk.messages()[0], Source(address.key, uidvalidity, uid), now=NOW)
    result = poller.run(app.config, once=True, clock=lambda: NOW)
    assert (result.processed, result.moved_only) == (0, 1)
    assert received() == 1 and db.session.scalar(select(func.count(Incident.id))) == 1
    assert desk.uids() == [] and len(desk.uids(DONE)) == 1


def test_a_mailbox_that_vanishes_is_waited_for_and_read_again(app, world, desk, monkeypatch):
    register_domain(world.org_a)
    desk.folder = "Desk"
    desk.append(plain_mail(), folder="INBOX")  # so the user exists
    with desk._session() as imap:
        imap.create("Desk")
    monkeypatch.setitem(app.config, "IMAP_URL", desk.url)
    monkeypatch.setattr(poller, "BACKOFF_FIRST_SECONDS", 0.05)
    passes, stop = [], threading.Event()
    first_pass = threading.Event()

    def on_pass(result):
        passes.append(result)
        first_pass.set()
        if received() >= 1:
            stop.set()

    def work():
        with app.app_context():
            poller.run(app.config, stop=stop, clock=lambda: NOW, on_pass=on_pass)
            db.session.remove()

    thread = threading.Thread(target=work)
    thread.start()
    try:
        assert first_pass.wait(10)
        desk.delete_folder("Desk")  # the mailbox goes away under the running poller
        with desk._session() as imap:
            imap.create("Desk")
        desk.append(plain_mail(message_id="after@kou.example.jp"))
        thread.join(20)
        assert not thread.is_alive(), "the poller did not pick the mail up again"
    finally:
        stop.set()
        thread.join(5)
    assert received() == 1 and desk.uids() == []


def test_once_against_a_server_that_is_not_there_fails_with_the_reason(app, runner,
                                                                        monkeypatch):
    monkeypatch.setitem(app.config, "IMAP_URL", "imap://desk:pw@127.0.0.1:1/INBOX")
    result = runner.invoke(args=["mail", "poll", "--once"])
    assert result.exit_code == 1 and "mailbox desk@127.0.0.1:1/INBOX" in result.output


SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "mail"


def test_bad_mail_never_stops_the_poller_and_each_ends_with_a_reason(app, world, desk,
                                                                     monkeypatch):
    from app.services.mail import receive as receive_module
    from tests.scenes.mail import mail_with_attachments
    register_domain(world.org_a)
    many = ", ".join(f"u{n}@example.com" for n in range(3000))
    mails = [
        (SAMPLES / "malformed.eml").read_bytes(),
        (SAMPLES / "not_a_header.eml").read_bytes(),
        b"Subject: nobody sent this\r\n\r\nno From header\r\n",
        plain_mail(message_id="many@k", headers=(f"To: {many}",)),
        mail_with_attachments([("logs.zip", "application/zip", b"PK\x03\x04" + b"\0" * 40)],
                              message_id="zip@k"),
        plain_mail(message_id="boom@k", subject="explodes"),
        plain_mail(message_id="fine@k", subject="after the bad ones"),
    ]
    for raw in mails:
        desk.append(raw)
    real_open = receive_module.open_incident

    def exploding(row, mail, organization, now):
        if mail.subject == "explodes":
            raise RuntimeError("a bug met by one mail")
        return real_open(row, mail, organization, now)

    monkeypatch.setattr(receive_module, "open_incident", exploding)
    result = poller.run(app.config, once=True, clock=lambda: NOW)
    assert result.processed == len(mails) and desk.uids() == []
    rows = db.session.scalars(select(MailMessage).where(MailMessage.direction == "in")
                              .order_by(MailMessage.uid)).all()
    outcome = [(row.status, row.reason.split(" (")[0]) for row in rows]
    assert outcome == [
        ("incident", ""), ("incident", ""), ("refused", "no sender address"),
        ("refused", "3001 recipients"), ("incident", ""),
        ("refused", "processing failed: RuntimeError"), ("incident", "")]
    assert "Archives are not accepted" in rows[4].attachments[0]["quarantine"]
    assert rows[5].raw == mails[5]  # kept for the desk
