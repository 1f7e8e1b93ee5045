"""The desk's mail pages: the unmatched list and its decisions, the conversation partial."""

from datetime import datetime

from sqlalchemy import select

from app.extensions import db
from app.models import Incident, MailMessage
from app.services.mail.receive import receive
from app.testkit.helpers import csrf_token
from tests.scenes.mail import plain_mail, register_domain

NOW = datetime(2026, 11, 25, 1, 0)
OUR_PAGES = {"Sec-Fetch-Site": "same-origin"}
HOSTILE = '<script>window.__x=1</script>'


def _receive(app, raw):
    with app.app_context():
        row = receive(raw, now=NOW)
        ids = row.id, row.incident_id
        db.session.remove()
    return ids


def test_the_unmatched_list_shows_the_mail_escaped_and_a_bad_decision_changes_nothing(
        app, world, login):
    mail_id, _ = _receive(app, plain_mail(sender="x@unknown.example", subject=HOSTILE,
                                          text=HOSTILE))
    client = login(world.emails["desk"])
    page = client.get("/desk/mail")
    assert page.status_code == 200
    assert HOSTILE not in page.text and "&lt;script&gt;window.__x=1&lt;/script&gt;" in page.text
    token = csrf_token(client, "/desk/mail")
    response = client.post(f"/desk/mail/{mail_id}/discard", headers=OUR_PAGES,
                           data={"csrf_token": token, "reason": ""})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(MailMessage, mail_id).status == "unmatched"
    response = client.post(f"/desk/mail/{mail_id}/assign", headers=OUR_PAGES, data={
        "csrf_token": token, "organization_id": world.org_a, "register_as": "address"})
    assert response.status_code == 302 and "/desk/incidents/" in response.location
    with app.app_context():
        incident = db.session.scalars(select(Incident)).one()
        assert incident.organization_id == world.org_a


def test_the_incident_page_shows_the_conversation_and_the_reply_form(app, world, login):
    with app.app_context():
        register_domain(world.org_a)
    _mail, incident_id = _receive(app, plain_mail())
    client = login(world.emails["desk"])
    page = client.get(f"/desk/incidents/{incident_id}")
    assert 'id="conversation"' in page.text and "画面に警告が出ました。" in page.text
    assert 'class="reply-form"' in page.text
    token = csrf_token(client, f"/desk/incidents/{incident_id}")
    response = client.post(f"/desk/incidents/{incident_id}/messages", headers=OUR_PAGES,
                           data={"csrf_token": token, "text": "お電話します。"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalars(select(MailMessage.kind).where(
            MailMessage.direction == "out").order_by(MailMessage.id)).all() == ["ack", "reply"]


def test_the_admin_registers_and_removes_an_organizations_mail_domain(app, world, login):
    from app.models import OrganizationDomain
    client = login(world.emails["admin"])
    path = f"/admin/organizations/{world.org_a}/mail-domains"
    assert client.get(path).status_code == 200
    token = csrf_token(client, path)
    refused = client.post(path, headers=OUR_PAGES, data={"csrf_token": token,
                                                         "domain": "no domain"})
    assert refused.status_code == 422
    with app.app_context():
        assert db.session.scalars(select(OrganizationDomain)).all() == []
    added = client.post(path, headers=OUR_PAGES, data={"csrf_token": token,
                                                       "domain": "Kou.Example.JP"})
    assert added.status_code == 302
    page = client.get(path)
    assert "kou.example.jp" in page.text
    with app.app_context():
        domain_id = db.session.scalars(select(OrganizationDomain.id)).one()
    client.post(f"/admin/mail-domains/{domain_id}/remove", headers=OUR_PAGES,
                data={"csrf_token": token})
    with app.app_context():
        assert db.session.scalars(select(OrganizationDomain)).all() == []


def test_the_desk_may_not_manage_mail_domains(world, login):
    client = login(world.emails["desk"])
    assert client.get(f"/admin/organizations/{world.org_a}/mail-domains").status_code == 403
