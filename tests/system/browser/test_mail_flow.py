"""In Chromium: an unknown sender's mail is assigned to an organization on the desk, the
desk replies from the incident page, and the customer's answer threads back.

Real servers throughout: Dovecot holds the desk mailbox (mail placed with APPEND), the
outbox worker sends through the test SMTP server, the poller reads the answer.
"""

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Incident, OrganizationDomain
from app.services.mail import poller
from app.testkit import factories
from notifications.worker import run as run_worker
from tests.scenes.mail import plain_mail
from tests.scenes.mailbox import dovecot, mailbox  # noqa: F401  (fixtures)
from tests.system.browser.helpers import log_in

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips (or fails in CI) with the reason
    expect = None

pytestmark = pytest.mark.browser

SENDER = "soumu@hei-kogyo.example.jp"


def _poll(app):
    with app.app_context():
        poller.run(app.config, once=True)
        db.session.remove()


def test_unknown_sender_assigned_replied_to_and_answer_threads_back(
        app, page, mailbox, smtp, monkeypatch):  # noqa: F811  (the imported fixture)
    monkeypatch.setitem(app.config, "IMAP_URL", mailbox.url)
    with app.app_context():
        org = factories.make_organization(name="丙工業")
        org_id, org_name = org.id, org.name
        desk_email = factories.make_user("desk").email
        db.session.remove()
    mailbox.append(plain_mail(sender=f"総務 <{SENDER}>",  # a raw 8-bit name, as sent
                              subject="不審なメールを開いてしまいました",
                              text="添付ファイルを開いた後、PCの動作が遅いです。",
                              message_id="first@hei-kogyo.example.jp"))
    _poll(app)

    log_in(page, desk_email)
    page.goto("/desk/mail")
    mail = page.locator("article.mail.unmatched")
    expect(mail).to_contain_text("不審なメールを開いてしまいました")
    expect(mail.locator(".reason")).to_have_text("unknown sender")
    assign = mail.locator("form.assign")
    assign.locator("select[name=organization_id]").select_option(str(org_id))
    assign.locator("select[name=register_as]").select_option("domain")
    assign.locator("button[type=submit]").click()

    expect(page.locator("h1")).to_contain_text("INC-")
    reference = page.locator("h1").inner_text().split()[0]
    conversation = page.locator("#conversation")
    expect(conversation.locator("li.mail-in")).to_contain_text("添付ファイルを開いた後")
    conversation.locator("textarea[name=text]").fill("LANケーブルを抜き、電源は切らずにお待ちください。")
    conversation.locator("button[type=submit]").click()
    expect(conversation.locator("li.mail-out")).to_have_count(2)  # the ack and the reply

    with app.app_context():
        run_worker(once=True)
        incident = db.session.scalars(select(Incident)).one()
        assert (incident.organization_id, incident.channel) == (org_id, "email")
        assert db.session.scalars(select(OrganizationDomain.domain)).all() \
            == ["hei-kogyo.example.jp"]
        db.session.remove()
    (reply,) = [r.message for r in smtp.received
                if r.rcpt_tos == [SENDER] and "Auto-Submitted" not in r.message]
    assert reply["Subject"].startswith(f"[{reference}]")
    assert "LANケーブルを抜き" in reply.get_content()

    mailbox.append(plain_mail(sender=SENDER, subject=f"Re: {reply['Subject']}",
                              text="ケーブルを抜きました。次は何をすればよいですか。",
                              message_id="answer@hei-kogyo.example.jp",
                              headers=(f"In-Reply-To: {reply['Message-ID']}",)))
    _poll(app)
    page.reload()
    answers = page.locator("#conversation li.mail-in")
    expect(answers).to_have_count(2)
    expect(answers.nth(1)).to_contain_text("ケーブルを抜きました。")
    expect(page.locator("body")).to_contain_text(org_name)
