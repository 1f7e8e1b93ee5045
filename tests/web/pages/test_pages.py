"""People's pages: the SME's report form, login, the desk console and phone intake."""

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Incident, Organization, Technician
from app.testkit import factories
from app.testkit.helpers import csrf_token, row_counts

XSS = "<script>window.__xss=1</script>"


def org_code(app, world, key="org_a"):
    with app.app_context():
        return db.session.get(Organization, getattr(world, key)).code


def report_form(token, **changes):
    return {"csrf_token": token, "customer": "", "reporter_name": "田中 一郎",
            "reporter_phone": "090-1111-2222", "reporter_email": "", "category": "ransomware",
            "description": "ファイルが開けません。\n画面に英語のメッセージ。"} | changes


def incident_in(app, world, state="received", **fields):
    with app.app_context():
        org = db.session.get(Organization, world.org_a)
        tech = db.session.get(Technician, world.technician) if state in (
            "technician_assigned", "en_route", "on_site") else None
        return factories.make_incident(org, state=state, technician=tech, **fields).id


def test_the_report_form_is_japanese_by_default(client):
    page = client.get("/report")
    assert page.status_code == 200
    assert '<html lang="ja">' in page.text


def test_an_sme_reports_with_its_customer_number_and_gets_a_reference(app, client, world):
    token = csrf_token(client, "/report")
    page = client.post("/report", data=report_form(token, customer=org_code(app, world).lower(),
                                                   business_stopped="y"))
    assert page.status_code == 200
    reference = re.search(r'id="reference">(INC-\d{4}-\d{6})<', page.text).group(1)
    with app.app_context():
        incident = db.session.scalars(select(Incident).filter_by(reference=reference)).one()
        assert (incident.organization_id, incident.channel, incident.severity) == (
            world.org_a, "web", "high")
        assert incident.summary.endswith("ファイルが開けません。")
        assert incident.events[0].actor_label == "web form"


def test_an_sme_can_be_found_by_its_registered_phone_number(app, client, world):
    token = csrf_token(client, "/report")
    page = client.post("/report", data=report_form(token, customer="03-1234-5678"))
    assert 'id="reference"' in page.text


@pytest.mark.parametrize("changes", [
    {"customer": "NOPE-0000"}, {"customer": ""}, {"reporter_name": ""}, {"category": "virus"},
    {"description": ""}, {"reporter_email": "not-mail"},
])
def test_a_bad_report_is_refused_with_the_form_and_writes_nothing(app, client, world, changes):
    token = csrf_token(client, "/report")
    before = row_counts(app)
    page = client.post("/report", data=report_form(token, customer=org_code(app, world))
                       | changes)
    assert page.status_code == 400
    assert 'class="error"' in page.text
    assert row_counts(app) == before


def test_a_form_post_without_csrf_token_is_refused(app, client, world):
    before = row_counts(app)
    data = report_form("", customer=org_code(app, world))
    del data["csrf_token"]
    assert client.post("/report", data=data).status_code == 400
    assert row_counts(app) == before


def test_a_logged_in_customer_sees_only_its_own_incidents(app, client, world, login):
    mine = incident_in(app, world, summary="うちの件")
    with app.app_context():
        factories.make_incident(db.session.get(Organization, world.org_b), summary="よその件")
    login(world.emails["customer"])
    page = client.get("/report")
    assert "うちの件" in page.text and "よその件" not in page.text
    assert 'name="customer"' not in page.text
    token = csrf_token(client, "/report")
    client.post("/report", data=report_form(token))
    with app.app_context():
        newest = db.session.scalars(select(Incident).order_by(Incident.id.desc())).first()
        assert newest.id != mine and newest.organization_id == world.org_a
        assert newest.events[0].actor_label == world.emails["customer"]


def test_a_wrong_password_is_refused(client, world):
    token = csrf_token(client, "/login")
    page = client.post("/login", data={"email": world.emails["desk"], "password": "guess",
                                       "csrf_token": token})
    assert page.status_code == 401
    assert client.get("/desk/").status_code == 302


def test_login_never_redirects_off_site(client, world):
    token = csrf_token(client, "/login")
    page = client.post("/login?next=//evil.example/x", data={
        "email": world.emails["desk"], "password": factories.PASSWORD, "csrf_token": token})
    assert page.headers["Location"] == "/desk/"


def test_the_console_needs_a_login_and_a_staff_role(client, world, login):
    assert client.get("/desk/").headers["Location"].startswith("/login")
    login(world.emails["customer"])
    assert client.get("/desk/").status_code == 403


def test_the_desk_list_filters(app, client, world, login):
    incident_in(app, world, category="dos", summary="DoSの件")
    incident_in(app, world, category="malware", summary="マルウェアの件")
    login(world.emails["desk"])
    page = client.get("/desk/?category=dos")
    assert "DoSの件" in page.text and "マルウェアの件" not in page.text
    assert "マルウェアの件" in client.get("/desk/").text
    assert client.get("/desk/?cursor=***", follow_redirects=True).status_code == 200


def test_the_desk_list_finds_an_organizations_incidents_by_code_or_name(
        app, client, world, login):
    with app.app_context():
        tanaka = factories.make_organization(name="株式会社たなか精機")
        percent = factories.make_organization(name="100%商事")
        other = factories.make_organization(name="山田運輸")
        for org, summary in ((tanaka, "たなかの件"), (percent, "百パーの件"),
                             (other, "山田の件")):
            factories.make_incident(org, summary=summary)
        tanaka_code = tanaka.code
        db.session.remove()
    login(world.emails["desk"])

    def shown(query):
        page = client.get("/desk/", query_string={"organization": query, "lang": "en"})
        assert page.status_code == 200
        return {s for s in ("たなかの件", "百パーの件", "山田の件") if s in page.text}

    assert shown("たなか") == {"たなかの件"}
    assert shown(f"  {tanaka_code.lower()} ") == {"たなかの件"}  # code, any case, trimmed
    assert shown("%") == {"百パーの件"}  # a literal %, not a wildcard
    assert shown("") == {"たなかの件", "百パーの件", "山田の件"}
    assert shown("どこにもない") == set()
    # The search stays in the form.
    assert 'name="organization" value="たなか"' in client.get(
        "/desk/?organization=たなか").text


def test_an_overlong_organization_search_is_refused_with_a_message(client, world, login):
    login(world.emails["desk"])
    page = client.get("/desk/", query_string={"organization": "x" * 101, "lang": "en"},
                      follow_redirects=True)
    assert page.status_code == 200
    assert "at most 100 characters" in page.text


def test_the_incident_page_shows_exactly_the_allowed_trigger_buttons(app, client, world, login):
    incident = incident_in(app, world, "triaging")
    login(world.emails["desk"])
    page = client.get(f"/desk/incidents/{incident}").text
    assert re.findall(r'data-trigger="(\w+)"', page) == ["resolve_remotely", "request_dispatch",
                                                         "cancel"]


def test_a_technician_sees_their_incident_without_incident_buttons(app, client, world, login):
    incident = incident_in(app, world, "technician_assigned")
    login(world.emails["technician"])
    page = client.get(f"/desk/incidents/{incident}").text
    assert re.findall(r'data-trigger="(\w+)"', page) == []  # their steps follow the dispatch
    other = incident_in(app, world, "received")
    assert client.get(f"/desk/incidents/{other}").status_code == 404


def _press(client, incident, trigger, version, **fields):
    token = csrf_token(client, f"/desk/incidents/{incident}")
    return client.post(f"/desk/incidents/{incident}/transition", data={
        "csrf_token": token, "trigger": trigger, "version": version, **fields},
        follow_redirects=True)


def _state(app, incident):
    with app.app_context():
        return db.session.get(Incident, incident).state, db.session.get(
            Incident, incident).version


def test_pressing_a_trigger_moves_the_incident(app, client, world, login):
    incident = incident_in(app, world)
    login(world.emails["desk"])
    _, version = _state(app, incident)
    page = _press(client, incident, "start_triage", version, note="折り返し済み")
    assert page.status_code == 200
    assert 'class="state state-triaging"' in page.text
    assert _state(app, incident)[0] == "triaging"


def test_a_refused_trigger_is_shown_and_changes_nothing(app, client, world, login):
    incident = incident_in(app, world)
    login(world.emails["desk"])
    _, version = _state(app, incident)
    before = row_counts(app)
    page = _press(client, incident, "cancel", version, reason="")
    assert 'class="flash error"' in page.text
    page = _press(client, incident, "start_triage", version - 1)
    assert 'class="flash error"' in page.text
    assert row_counts(app) == before and _state(app, incident)[0] == "received"


def test_a_trigger_post_without_csrf_changes_nothing(app, client, world, login):
    incident = incident_in(app, world)
    login(world.emails["desk"])
    state, version = _state(app, incident)
    response = client.post(f"/desk/incidents/{incident}/transition",
                           data={"trigger": "start_triage", "version": version})
    assert response.status_code == 400
    assert _state(app, incident) == (state, version)


def test_checklist_ticks_and_notes_are_recorded(app, client, world, login):
    incident = incident_in(app, world, "triaging", category="ransomware")
    login(world.emails["desk"])
    token = csrf_token(client, f"/desk/incidents/{incident}")
    client.post(f"/desk/incidents/{incident}/checks",
                data={"csrf_token": token, "item": "no_power_off", "checked": "y"})
    client.post(f"/desk/incidents/{incident}/notes", data={"csrf_token": token,
                                                           "note": "LANケーブルを抜いてもらった"})
    page = client.get(f"/desk/incidents/{incident}").text
    assert re.search(r'data-item="no_power_off">.*?aria-pressed="true"', page, re.S)
    assert "LANケーブルを抜いてもらった" in page
    with app.app_context():
        kinds = [e.kind for e in db.session.get(Incident, incident).events]
    assert kinds == ["intake", "triage_check", "note"]


def test_the_note_forms_checkbox_shares_a_note_with_the_insurer(app, client, world, login):
    incident = incident_in(app, world, "triaging", category="ransomware")
    login(world.emails["desk"])
    token = csrf_token(client, f"/desk/incidents/{incident}")
    assert 'name="share_with_insurer"' in client.get(f"/desk/incidents/{incident}").text
    for note, share in (("共有するメモ", {"share_with_insurer": "y"}), ("社内のメモ", {})):
        client.post(f"/desk/incidents/{incident}/notes",
                    data={"csrf_token": token, "note": note, **share})
    with app.app_context():
        notes = [(e.note, e.data) for e in db.session.get(Incident, incident).events
                 if e.kind == "note"]
    assert notes == [("共有するメモ", {"shared_with_insurer": True}), ("社内のメモ", {})]
    page = client.get(f"/desk/incidents/{incident}").text
    assert "メモ（保険会社と共有）" in page and "社内のメモ" in page


def test_phone_intake_looks_up_the_caller_and_records_the_call(app, client, world, login):
    login(world.emails["desk"])
    page = client.get("/desk/phone-intake?caller=03-1234-5678")
    assert "甲商事" in page.text
    assert re.search(rf'<option selected value="{world.org_a}">', page.text)
    token = csrf_token(client, "/desk/phone-intake")
    page = client.post("/desk/phone-intake", data={
        "csrf_token": token, "caller_phone": "03-1234-5678", "reporter_name": "経理 花子",
        "organization_id": world.org_a, "category": "phishing_bec", "severity": "high",
        "summary": "偽の請求書メール", "description": ""}, follow_redirects=True)
    assert "偽の請求書メール" in page.text
    with app.app_context():
        incident = db.session.scalars(select(Incident)).one()
        assert (incident.channel, incident.reporter_phone, incident.organization_id) == (
            "phone", "+81312345678", world.org_a)


def test_phone_intake_without_an_organization_is_refused(app, client, world, login):
    login(world.emails["desk"])
    token = csrf_token(client, "/desk/phone-intake")
    before = row_counts(app)
    page = client.post("/desk/phone-intake", data={
        "csrf_token": token, "caller_phone": "050-0000-0000", "reporter_name": "不明",
        "organization_id": 0, "category": "other", "severity": "low", "summary": "不明な電話"})
    assert page.status_code == 400
    assert row_counts(app) == before


def test_script_in_text_is_escaped_on_every_page(app, client, world, login):
    incident = incident_in(app, world, summary=XSS, description=XSS, reporter_name=XSS)
    login(world.emails["desk"])
    token = csrf_token(client, f"/desk/incidents/{incident}")
    client.post(f"/desk/incidents/{incident}/notes", data={"csrf_token": token, "note": XSS})
    pages = [client.get("/desk/").text, client.get(f"/desk/incidents/{incident}").text]
    client.post("/logout", data={"csrf_token": token})
    login(world.emails["customer"])
    pages.append(client.get("/report").text)
    for page in pages:
        assert XSS not in page
        assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in page


def test_english_is_selectable(client):
    response = client.get("/lang/en?next=/report")
    assert response.headers["Location"] == "/report"
    assert '<html lang="en">' in client.get("/report").text
    assert '<html lang="ja">' in client.get("/report?lang=ja").text


def test_errors_are_pages_for_people(client):
    page = client.get("/no-such-page")
    assert page.status_code == 404
    assert page.content_type.startswith("text/html")


def test_pages_carry_security_headers(client):
    headers = client.get("/report").headers
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def test_the_session_cookie_is_http_only_and_same_site(client, world, login):
    login(world.emails["desk"])
    cookie = client.get_cookie("session")
    assert cookie.http_only and cookie.same_site == "Lax"


@pytest.mark.parametrize("target", ["//evil.example/x", "/\t/evil.example/x", "/\\evil.example",
                                    "https://evil.example/", "/\n/evil.example", "javascript:x"])
def test_no_redirect_leaves_the_site(client, world, target):
    assert client.get("/lang/ja", query_string={"next": target}).headers["Location"] == "/"
    token = csrf_token(client, "/login")
    page = client.post("/login", query_string={"next": target}, data={
        "email": world.emails["desk"], "password": factories.PASSWORD, "csrf_token": token})
    assert page.headers["Location"] == "/desk/"


def test_the_dev_phone_is_for_staff_only(client, world, login):
    for role in ("customer", "technician", "insurer"):
        login(world.emails[role])
        assert client.get("/dev/phone").status_code == 403
        client.post("/logout", data={"csrf_token": csrf_token(client, "/report")})
    login(world.emails["dispatcher"])
    assert client.get("/dev/phone").status_code == 200


@pytest.mark.parametrize(("role", "shown"), [
    ("desk", True), ("dispatcher", True), ("admin", True), ("customer", False),
    ("technician", False), ("insurer", False)])
def test_the_dev_phone_link_shows_only_to_those_who_may_open_it(app, world, role, shown,
                                                                 monkeypatch):
    """With the console provider, staff see the outbox page's link; any other role would
    only meet a 403 there, so it sees no link."""
    monkeypatch.setitem(app.config, "NOTIFY_PROVIDER", "console")
    client = app.test_client()
    client.post("/login", data={"email": world.emails[role], "password": factories.PASSWORD,
                                "csrf_token": csrf_token(client, "/login")})
    page = client.get("/report")
    assert ('href="/dev/phone"' in page.text) is shown
    assert (client.get("/dev/phone").status_code == 200) is shown
