"""The screen pop's fragment (/desk/live/calls): staff only, the caller's organization,
contract and open incidents or 「不明な番号」, and a 304 while nothing changes."""

from datetime import timedelta

import pytest

from app.domain.timeutil import utcnow
from app.extensions import db
from app.models import Organization
from app.services.incidents import calls
from app.services.incidents.audit import append_event
from app.testkit import factories

LIVE = "/desk/live/calls"


@pytest.fixture
def ringing(app, world):
    """Org A calls (with one open incident), and a stranger calls."""
    with app.app_context():
        org = db.session.get(Organization, world.org_a)
        incident = factories.make_incident(org, summary="全PCが暗号化された")
        now = utcnow()
        calls.call_started("CA" + "1" * 32, "+81312345678", now=now - timedelta(seconds=30))
        calls.call_started("CA" + "2" * 32, "+819011112222", now=now - timedelta(seconds=10))
        values = {"incident_id": incident.id, "reference": incident.reference}
        db.session.remove()
    return values


def test_staff_see_the_caller_the_contract_and_the_open_incidents(client, world, login,
                                                                  ringing):
    login(world.emails["desk"])
    page = client.get(LIVE)
    assert page.status_code == 200
    html = page.text
    assert 'data-calls="2"' in html
    known, unknown = html.split('data-known="no"')
    assert "甲商事" in known and "+81312345678" in known
    assert "契約" in known and "駆付けあり" in known
    assert f'<a href="/desk/incidents/{ringing["incident_id"]}">{ringing["reference"]}</a>' \
        in known
    assert "全PCが暗号化された" in known
    assert "+819011112222" in unknown and "不明な番号" in unknown


def test_in_english_the_unknown_caller_is_an_unknown_number(client, world, login, ringing):
    login(world.emails["dispatcher"])
    client.get("/lang/en")
    assert "Unknown number" in client.get(LIVE).text


def test_nothing_changed_is_a_304_with_no_body(client, world, login, ringing):
    login(world.emails["desk"])
    first = client.get(LIVE)
    etag = first.headers["ETag"]
    again = client.get(LIVE, headers={"If-None-Match": etag})
    assert (again.status_code, again.data) == (304, b"")
    assert first.headers["Cache-Control"] == "private, no-cache"


def test_an_ended_call_leaves_the_pop_and_changes_the_etag(app, client, world, login,
                                                           ringing):
    login(world.emails["desk"])
    etag = client.get(LIVE).headers["ETag"]
    with app.app_context():
        calls.call_status("CA" + "1" * 32, "completed")
        calls.call_status("CA" + "2" * 32, "no-answer")
        db.session.remove()
    page = client.get(LIVE, headers={"If-None-Match": etag})
    assert page.status_code == 200 and 'data-calls="0"' in page.text
    assert "data-call=" not in page.text


@pytest.mark.parametrize("role", ["customer", "technician", "insurer"])
def test_other_roles_are_refused(client, world, login, ringing, role):
    login(world.emails[role])
    assert client.get(LIVE).status_code == 403


def test_nobody_logged_in_is_sent_to_the_login(client, ringing):
    assert client.get(LIVE).headers["Location"].startswith("/login")


@pytest.mark.parametrize(("role", "pop"), [("desk", True), ("admin", True),
                                           ("technician", False), ("insurer", False)])
def test_console_pages_load_the_script_and_only_staff_get_the_pop(client, world, login,
                                                                   role, pop):
    login(world.emails[role])
    page = client.get("/desk/").text
    assert '<script src="/static/live.js" defer' in page
    assert ('data-pop-url="/desk/live/calls"' in page) is pop
    assert '<tbody id="incident-rows" data-live-list data-live-seconds="15">' in page


def test_the_customers_pages_load_no_script(client, world, login):
    login(world.emails["customer"])
    assert "<script" not in client.get("/report").text


def test_the_timeline_says_in_japanese_why_no_sms_went(app, client, world, login):
    with app.app_context():
        incident = factories.make_incident(db.session.get(Organization, world.org_a))
        append_event(incident, kind="dispatch", actor=None, actor_label="system", now=utcnow(),
                     data={"action": "sms_not_sent_landline", "recipient": "reporter",
                           "phone": "+81312345678", "channel": "email"})
        db.session.commit()
        incident_id = incident.id
        db.session.remove()
    login(world.emails["desk"])
    page = client.get(f"/desk/incidents/{incident_id}").text
    assert ("通報者への SMS は送信していません: +81312345678 は固定電話のため "
            "SMS を受信できません。代わりにメールを送信しました。") in page
