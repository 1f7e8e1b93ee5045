"""The dispatcher's board, the dev phone and the desk's dispatch section."""

import re
from datetime import datetime

import pytest
from sqlalchemy import select

from app.domain.timeutil import utcnow
from app.extensions import db
from app.models import (
    Dispatch,
    Incident,
    IncidentEvent,
    Notification,
    Organization,
    Technician,
    User,
)
from app.services.dispatch.offers import candidates
from app.services.dispatch.visits import accept, advance
from app.services.incidents.audit import append_event
from app.testkit import factories
from app.testkit.helpers import csrf_token
from app.web.dispatch import views
from app.web.dispatch.views import BOARD_CANDIDATES
from tests.scenes.dispatch import (
    ESCAPED,
    XSS,
    dispatch_actions,
    dispatches_of,
    incident_state,
    offer_token,
    requested_incident,
    snapshot,
)


def board_row(page, reference):
    """The HTML of one incident's card on the board."""
    match = re.search(rf'<article class="card board-row" data-reference="{reference}".*?'
                      r"</article>", page.text, re.S)
    assert match, f"{reference} is not on the board"
    return match.group(0)


def reference_of(app, incident_id):
    with app.app_context():
        reference = db.session.get(Incident, incident_id).reference
        db.session.remove()
    return reference


def accept_as_technician(app, dispatch_id, user_id):
    with app.app_context():
        accept(dispatch_id, db.session.get(User, user_id))
        db.session.remove()


@pytest.mark.parametrize("role,status", [
    ("dispatcher", 200), ("admin", 200), ("desk", 403), ("technician", 403),
    ("customer", 403), ("insurer", 403),
])
def test_the_board_is_for_dispatchers_and_admins(client, world, login, role, status):
    login(world.emails[role])
    assert client.get("/dispatch/").status_code == status


def test_the_board_needs_a_login(client, world):
    assert client.get("/dispatch/").headers["Location"].startswith("/login")


def test_the_board_lists_incidents_needing_or_holding_a_technician_oldest_request_first(
        app, client, world, login):
    first = requested_incident(app, world, summary="先に頼んだ件", severity="high",
                               category="ransomware")
    second = requested_incident(app, world, summary="後から頼んだ件")
    with app.app_context():
        org = db.session.get(Organization, world.org_a)
        factories.make_incident(org, state="triaging", summary="トリアージ中の件")
        factories.make_incident(org, state="closed", summary="終わった件")
        db.session.remove()
    login(world.emails["dispatcher"])
    page = client.get("/dispatch/?lang=en")
    assert "先に頼んだ件" in page.text and "後から頼んだ件" in page.text
    assert "トリアージ中の件" not in page.text and "終わった件" not in page.text
    assert page.text.index("先に頼んだ件") < page.text.index("後から頼んだ件")
    row = board_row(page, reference_of(app, first))
    assert "甲商事 (東京都)" in row
    assert "Ransomware" in row and "High" in row
    assert re.search(r"Dispatch requested \d{4}-\d\d-\d\d \d\d:\d\d JST, waiting 0 min", row)
    (dispatch_id, _, _), = dispatches_of(app, first)
    assert f'data-dispatch="{dispatch_id}" data-dispatch-state="offered"' in row
    with app.app_context():
        name = db.session.get(Technician, world.technician).name
        db.session.remove()
    assert name in row and "escalation step 1" in row
    assert "Next step: Voice call" in row  # the call at +3 minutes
    assert second != first


def test_the_board_updates_itself_by_script_or_reloads_without_unless_asked_not_to(
        client, world, login):
    login(world.emails["dispatcher"])
    page = client.get("/dispatch/").text
    assert '<noscript><meta http-equiv="refresh" content="15"></noscript>' in page
    assert '<div id="board-cards" data-live-list data-live-seconds="15">' in page
    assert re.findall(r"<script[^>]*>", page) == [  # one external script, no inline code
        '<script src="/static/live.js" defer data-pop-url="/desk/live/calls" '
        'data-pop-seconds="5">']
    still = client.get("/dispatch/?refresh=off").text
    assert "http-equiv" not in still and "data-live-list" not in still


def options_of(html):
    """The technician ids a <select> offers, in order."""
    return [int(v) for v in re.findall(r'<option value="(\d+)"', html)]


def test_a_board_row_offers_the_best_candidates_and_links_to_every_technician(
        app, client, world, login):
    incident_id = requested_incident(app, world)
    with app.app_context():
        for _ in range(BOARD_CANDIDATES + 2):  # more candidates than a row offers
            factories.make_technician(on_call=(datetime(2020, 1, 1), datetime(2099, 12, 31)))
        ranked = [t.id for t in candidates(db.session.get(Incident, incident_id), utcnow())]
        db.session.remove()
    login(world.emails["dispatcher"])
    row = board_row(client.get("/dispatch/?lang=en"), reference_of(app, incident_id))
    form = re.search(r'<form[^>]*class="override-form".*?</form>', row, re.S).group(0)
    assert len(ranked) == BOARD_CANDIDATES + 3  # the offered technician is not one of them
    assert world.technician not in ranked
    assert options_of(form) == ranked[:BOARD_CANDIDATES]
    assert f'href="/dispatch/incidents/{incident_id}/override"' in row
    assert "Choose any active technician" in row


def test_a_row_without_candidates_says_so_and_links_to_every_technician(
        app, client, world, login):
    incident_id = requested_incident(app, world)  # offered to the first technician
    with app.app_context():  # and the other one on call has declined it already
        db.session.add(Dispatch(incident_id=incident_id, technician_id=world.other_technician,
                                state="declined"))
        db.session.commit()
        db.session.remove()
    login(world.emails["dispatcher"])
    row = board_row(client.get("/dispatch/?lang=en"), reference_of(app, incident_id))
    assert "override-form" not in row and "No fitting technician is on call." in row
    assert f'href="/dispatch/incidents/{incident_id}/override"' in row
    assert "reoffer-form" in row


def test_the_override_page_lists_candidates_first_then_every_other_active_technician(
        app, client, world, login):
    incident_id = requested_incident(app, world)
    with app.app_context():
        off_duty = factories.make_technician(prefectures=[27]).id
        inactive = factories.make_technician(active=False).id
        db.session.remove()
    login(world.emails["dispatcher"])
    page = client.get(f"/dispatch/incidents/{incident_id}/override?lang=en")
    assert page.status_code == 200 and reference_of(app, incident_id) in page.text
    candidates_html, others_html = page.text.split("Other active technicians")
    # The offered technician is no longer a candidate; the other one on call is.
    assert options_of(candidates_html) == [world.other_technician]
    assert set(options_of(others_html)) == {world.technician, off_duty}
    assert inactive not in options_of(page.text)
    assert f'action="/dispatch/incidents/{incident_id}/override"' in page.text
    token = csrf_token(client, f"/dispatch/incidents/{incident_id}/override")
    client.post(f"/dispatch/incidents/{incident_id}/override",
                data={"csrf_token": token, "technician_id": off_duty})
    assert dispatches_of(app, incident_id)[-1][1:] == (off_duty, "offered")


def test_the_override_page_is_only_for_an_incident_waiting_for_a_technician(
        app, client, world, login):
    with app.app_context():
        org = db.session.get(Organization, world.org_a)
        triaging = factories.make_incident(org, state="triaging").id
        db.session.remove()
    login(world.emails["dispatcher"])
    before = snapshot(app)
    answer = client.get(f"/dispatch/incidents/{triaging}/override?lang=en")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/dispatch/")
    assert "The incident is not waiting for a technician." in client.get("/dispatch/").text
    assert client.get("/dispatch/incidents/9999/override").status_code == 404
    assert snapshot(app) == before
    login(world.emails["desk"])
    assert client.get(f"/dispatch/incidents/{triaging}/override").status_code == 403


def test_the_board_pages_through_the_longest_waiting_first(app, client, world, login,
                                                          monkeypatch):
    monkeypatch.setattr(views, "BOARD_PAGE", 2)
    references = [reference_of(app, requested_incident(app, world, summary=f"依頼{n}"))
                  for n in range(3)]
    login(world.emails["dispatcher"])
    first = client.get("/dispatch/?lang=en").text
    assert [r for r in references if f'data-reference="{r}"' in first] == references[:2]
    assert 'class="page-next" href="/dispatch/?page=2"' in first and "page-prev" not in first
    second = client.get("/dispatch/?page=2&lang=en&refresh=off").text
    assert [r for r in references if f'data-reference="{r}"' in second] == references[2:]
    assert 'class="page-prev" href="/dispatch/?refresh=off"' in second
    assert "page-next" not in second and "Page 2" in second
    beyond = client.get("/dispatch/?page=7&lang=en").text
    assert "board-row" not in beyond and "No more incidents on this page." in beyond


@pytest.mark.parametrize("page", ["0", "-1", "x", "1.5", ""])
def test_a_page_number_that_is_not_one_or_more_is_refused(client, world, login, page):
    login(world.emails["dispatcher"])
    answer = client.get(f"/dispatch/?page={page}&lang=en")
    assert answer.status_code == 302 and answer.headers["Location"] == "/dispatch/"
    assert "The page number is not valid." in client.get("/dispatch/?lang=en").text


def test_override_offers_the_incident_to_the_chosen_technician(app, client, world, login):
    incident_id = requested_incident(app, world)
    login(world.emails["dispatcher"])
    token = csrf_token(client, "/dispatch/")
    response = client.post(f"/dispatch/incidents/{incident_id}/override?lang=en", data={
        "csrf_token": token, "technician_id": world.other_technician,
        "reason": "近くにいるため"})
    assert response.status_code == 302
    (first, _, first_state), (second, technician, second_state) = dispatches_of(app, incident_id)
    assert (first_state, technician, second_state) == (
        "cancelled", world.other_technician, "offered")
    assert offer_token(app, second)  # the new offer's SMS is queued
    assert dispatch_actions(app, incident_id)[-1] == ("offered", world.emails["dispatcher"], "")
    with app.app_context():
        notes = db.session.scalars(select(IncidentEvent.note).where(
            IncidentEvent.kind == "note")).all()
        db.session.remove()
    assert notes == ["近くにいるため"]
    assert "the chosen technician" in client.get("/dispatch/?lang=en").text
    assert first != second


@pytest.mark.parametrize("technician", ["unknown", "inactive"])
def test_override_to_an_unknown_or_inactive_technician_is_refused(
        app, client, world, login, technician):
    incident_id = requested_incident(app, world)
    with app.app_context():
        technician_id = factories.make_technician(active=False).id if technician == \
            "inactive" else 9999
        db.session.remove()
    login(world.emails["dispatcher"])
    token = csrf_token(client, "/dispatch/")
    before = snapshot(app)
    client.post(f"/dispatch/incidents/{incident_id}/override",
                data={"csrf_token": token, "technician_id": technician_id})
    assert snapshot(app) == before
    assert "unknown or inactive" in client.get("/dispatch/").text


def test_override_once_a_technician_holds_the_incident_is_refused(app, client, world, login):
    incident_id = requested_incident(app, world)
    accept_as_technician(app, dispatches_of(app, incident_id)[0][0], world.users["technician"])
    login(world.emails["dispatcher"])
    page = client.get("/dispatch/")
    row = board_row(page, reference_of(app, incident_id))
    assert "override-form" not in row and "reoffer-form" not in row
    token = csrf_token(client, "/dispatch/")
    before = snapshot(app)
    client.post(f"/dispatch/incidents/{incident_id}/override",
                data={"csrf_token": token, "technician_id": world.other_technician})
    client.post(f"/dispatch/incidents/{incident_id}/reoffer?lang=en", data={"csrf_token": token})
    assert snapshot(app) == before
    page = client.get("/dispatch/")
    assert "Release the assigned technician first." in page.text
    assert "A technician holds the incident." in page.text


def test_board_posts_without_a_csrf_token_are_refused(app, client, world, login):
    incident_id = requested_incident(app, world)
    dispatch_id = dispatches_of(app, incident_id)[0][0]
    login(world.emails["dispatcher"])
    before = snapshot(app)
    assert client.post(f"/dispatch/incidents/{incident_id}/override",
                       data={"technician_id": world.other_technician}).status_code == 400
    assert client.post(f"/dispatch/incidents/{incident_id}/reoffer").status_code == 400
    assert client.post(f"/dispatch/dispatches/{dispatch_id}/cancel",
                       data={"reason": "x"}).status_code == 400
    assert snapshot(app) == before


def test_board_posts_by_other_roles_are_refused(app, client, world, login):
    incident_id = requested_incident(app, world)
    login(world.emails["desk"])
    token = csrf_token(client, "/desk/")
    before = snapshot(app)
    assert client.post(f"/dispatch/incidents/{incident_id}/reoffer",
                       data={"csrf_token": token}).status_code == 403
    assert snapshot(app) == before


def test_reoffer_offers_to_the_next_candidate_now(app, client, world, login):
    incident_id = requested_incident(app, world)
    login(world.emails["dispatcher"])
    token = csrf_token(client, "/dispatch/")
    client.post(f"/dispatch/incidents/{incident_id}/reoffer?lang=en", data={"csrf_token": token})
    assert [(t, s) for _, t, s in dispatches_of(app, incident_id)] == [
        (world.technician, "offered"), (world.other_technician, "offered")]
    assert "the next candidate" in client.get("/dispatch/?lang=en").text


def test_reoffer_with_nobody_left_says_so_and_pages_the_dispatchers(app, client, world, login):
    incident_id = requested_incident(app, world)
    login(world.emails["dispatcher"])
    token = csrf_token(client, "/dispatch/")
    client.post(f"/dispatch/incidents/{incident_id}/reoffer?lang=en", data={"csrf_token": token})
    before = dispatches_of(app, incident_id)
    client.post(f"/dispatch/incidents/{incident_id}/reoffer?lang=en", data={"csrf_token": token})
    assert dispatches_of(app, incident_id) == before  # no offer made
    assert "No further technician is on call" in client.get("/dispatch/").text
    assert dispatch_actions(app, incident_id)[-1][0] == "dispatcher_paged"


def test_withdrawing_an_offer_needs_a_reason_and_then_cancels_it(app, client, world, login):
    incident_id = requested_incident(app, world)
    dispatch_id = dispatches_of(app, incident_id)[0][0]
    login(world.emails["dispatcher"])
    token = csrf_token(client, "/dispatch/")
    before = snapshot(app)
    client.post(f"/dispatch/dispatches/{dispatch_id}/cancel?lang=en",
                data={"csrf_token": token, "reason": ""})
    assert snapshot(app) == before
    assert "Reason: This field is required." in client.get("/dispatch/").text
    client.post(f"/dispatch/dispatches/{dispatch_id}/cancel",
                data={"csrf_token": token, "reason": "顧客と連絡がつかない"})
    assert dispatches_of(app, incident_id) == [(dispatch_id, world.technician, "cancelled")]
    assert dispatch_actions(app, incident_id)[-1] == (
        "offer_cancelled", world.emails["dispatcher"], "顧客と連絡がつかない")
    row = board_row(client.get("/dispatch/?lang=en"), reference_of(app, incident_id))
    assert "No offer is open" in row


def test_withdrawing_an_assignment_puts_the_incident_back_to_dispatch_requested(
        app, client, world, login):
    incident_id = requested_incident(app, world)
    dispatch_id = dispatches_of(app, incident_id)[0][0]
    accept_as_technician(app, dispatch_id, world.users["technician"])
    login(world.emails["dispatcher"])
    row = board_row(client.get("/dispatch/?lang=en"), reference_of(app, incident_id))
    assert "Withdraw assignment" in row
    token = csrf_token(client, "/dispatch/")
    client.post(f"/dispatch/dispatches/{dispatch_id}/cancel",
                data={"csrf_token": token, "reason": "別の技術者に交代"})
    assert incident_state(app, incident_id) == "dispatch_requested"
    assert dispatches_of(app, incident_id)[0][2] == "cancelled"


def test_a_technician_on_the_way_has_no_withdraw_button_and_a_post_is_refused(
        app, client, world, login):
    with app.app_context():
        org = db.session.get(Organization, world.org_a)
        tech = db.session.get(Technician, world.technician)
        incident = factories.make_incident(org, state="en_route", technician=tech)
        reference, incident_id = incident.reference, incident.id
        db.session.remove()
    dispatch_id = dispatches_of(app, incident_id)[0][0]
    login(world.emails["dispatcher"])
    row = board_row(client.get("/dispatch/"), reference)
    assert "cancel-form" not in row
    token = csrf_token(client, "/dispatch/")
    before = snapshot(app)
    client.post(f"/dispatch/dispatches/{dispatch_id}/cancel",
                data={"csrf_token": token, "reason": "x"})
    assert snapshot(app) == before
    assert "not possible while the dispatch is en_route" in client.get("/dispatch/").text


def test_script_in_a_summary_is_escaped_on_the_board(app, client, world, login):
    requested_incident(app, world, summary=XSS)
    login(world.emails["dispatcher"])
    page = client.get("/dispatch/")
    assert ESCAPED in page.text and XSS not in page.text


# ---------------------------------------------------------------- the desk's dispatch section


def test_the_incident_page_shows_each_dispatch_with_its_steps_and_messages(
        app, client, world, login):
    incident_id = requested_incident(app, world, summary=XSS, reporter_phone="+819012340000")
    dispatch_id = dispatches_of(app, incident_id)[0][0]
    accept_as_technician(app, dispatch_id, world.users["technician"])
    login(world.emails["dispatcher"])
    page = client.get(f"/desk/incidents/{incident_id}?lang=en")
    section = re.search(r'<section class="dispatches">.*?</section>', page.text, re.S).group(0)
    assert f'data-dispatch="{dispatch_id}" data-dispatch-state="accepted"' in section
    assert "Offered" in section and "Accepted" in section and "JST" in section
    assert section.count("<tr class=\"step-cancelled\">") == 3  # voice, next, page
    assert "Voice call" in section and "Page the dispatchers" in section
    with app.app_context():
        tech = db.session.get(Technician, world.technician)
        phone, name = tech.phone, tech.name
        db.session.remove()
    assert phone in section and "Queued" in section and name in section
    timeline = page.text[page.text.index('<section class="timeline">'):]
    assert f"Offered the visit to technician {name}" in timeline
    assert ESCAPED in page.text and XSS not in page.text


def test_the_timeline_names_a_technician_not_reached(app, client, world, login):
    incident_id = requested_incident(app, world)
    with app.app_context():
        incident = db.session.get(Incident, incident_id)
        append_event(incident, kind="dispatch", actor=None, actor_label="Twilio",
                     now=incident.created_at, data={
                         "action": "not_reached", "technician": "技術者X", "channel": "voice",
                         "status": "no-answer"})
        db.session.commit()
        db.session.remove()
    login(world.emails["dispatcher"])
    timeline = client.get(f"/desk/incidents/{incident_id}?lang=en").text.split(
        '<section class="timeline">')[1]
    assert "Could not reach technician 技術者X by Voice call (no answer)" in timeline


@pytest.mark.parametrize("role", ["technician", "insurer"])
def test_technicians_and_insurers_do_not_see_the_dispatch_section(app, client, world, login,
                                                                   role):
    incident_id = requested_incident(app, world)
    login(world.emails[role])
    page = client.get(f"/desk/incidents/{incident_id}")
    if role == "insurer":  # not told about this incident yet: it does not exist for them
        assert page.status_code == 404
        return
    assert page.status_code == 200 and '<section class="dispatches">' not in page.text


# ---------------------------------------------------------------- the dev phone


def test_the_dev_phone_lists_every_queued_message_with_its_accept_link(
        app, client, world, login):
    incident_id = requested_incident(app, world, summary=XSS)
    dispatch_id = dispatches_of(app, incident_id)[0][0]
    token = offer_token(app, dispatch_id)
    login(world.emails["dispatcher"])  # staff only: it shows every tenant's messages
    page = client.get("/dev/phone?lang=en")
    assert page.status_code == 200
    assert '<section class="phone-group" data-audience="technicians">' in page.text
    assert 'data-template="offer" data-status="pending"' in page.text
    assert f'<a href="/a/{token}" class="message-link">http://kaketsuke.test/a/{token}</a>' \
        in page.text
    assert ESCAPED in page.text and XSS not in page.text
    assert client.get(f"/a/{token}").status_code == 200  # the link opens here


def test_the_dev_phone_groups_by_recipient_newest_first(app, client, world, login):
    incident_id = requested_incident(app, world, reporter_phone="+819012340000")
    dispatch_id = dispatches_of(app, incident_id)[0][0]
    accept_as_technician(app, dispatch_id, world.users["technician"])
    with app.app_context():
        advance(dispatch_id, db.session.get(User, world.users["technician"]), "depart")
        phones = [db.session.get(Technician, t).phone
                  for t in (world.technician, world.other_technician)]
        db.session.remove()
    requested_incident(app, world)  # the first technician is busy: offered to the other
    login(world.emails["dispatcher"])
    page = client.get("/dev/phone?lang=en").text
    assert re.findall(r'data-audience="(\w+)"', page) == ["technicians", "customers"]
    recipients = re.findall(r'data-recipient="([^"]+)"', page)
    assert recipients == [phones[1], phones[0], "+819012340000"]
    assert 'data-template="customer_en_route"' in page


def test_links_to_other_sites_in_a_message_are_not_made_clickable(app, client, world, login):
    incident_id = requested_incident(app, world,
                                     summary="see http://evil.example/x and "
                                             "http://kaketsuke.test//evil.example/y")
    assert incident_id
    login(world.emails["dispatcher"])
    page = client.get("/dev/phone").text
    assert 'href="http://evil.example' not in page and 'href="//evil.example' not in page
    assert "http://evil.example/x" in page


def test_the_dev_phone_needs_a_login_and_the_console_provider(app, client, world, login,
                                                               monkeypatch):
    assert client.get("/dev/phone").headers["Location"].startswith("/login")
    login(world.emails["desk"])
    assert "/dev/phone" in client.get("/desk/").text  # the header links to it
    monkeypatch.setitem(app.config, "NOTIFY_PROVIDER", "twilio")
    assert client.get("/dev/phone").status_code == 404
    assert "/dev/phone" not in client.get("/desk/").text


def test_the_header_links_to_the_board_and_to_my_dispatches_by_role(client, world, login):
    login(world.emails["dispatcher"])
    assert 'href="/dispatch/"' in client.get("/desk/").text
    login(world.emails["technician"])
    page = client.get("/desk/").text
    assert 'href="/tech/"' in page and 'href="/dispatch/"' not in page


def test_a_dispatch_without_messages_has_no_message_table(app, client, world, login):
    with app.app_context():
        org = db.session.get(Organization, world.org_a)
        tech = db.session.get(Technician, world.technician)
        incident_id = factories.make_incident(org, state="technician_assigned",
                                              technician=tech).id
        assert db.session.scalars(select(Notification)).first() is None
        assert db.session.scalars(select(Dispatch)).one().state == "accepted"
        db.session.remove()
    login(world.emails["admin"])
    page = client.get(f"/desk/incidents/{incident_id}")
    assert '<section class="dispatches">' in page.text and 'class="messages"' not in page.text
