"""SLA clocks on the desk list, the dispatcher's board and the incident page; the desk's
personal-data leak forms.

Clocks are placed relative to the current time (services take `now=`), so what a page
shows does not depend on the day the test runs. Texts are checked in English (the
Japanese of new strings arrives with the translations); states by their classes.
"""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.domain.timeutil import to_jst, utcnow
from app.extensions import db
from app.models import Incident, SlaClock, User
from app.services.incidents.intake import IntakeRequest, report_incident
from app.services.incidents.leaks import mark_leak
from app.services.incidents.lifecycle import fire_trigger
from app.testkit.helpers import csrf_token

MIN = timedelta(minutes=1)


def reported(app, world, ago, org="org_a", then=()):
    """An incident reported `ago` before now, then the triggers `then` (by the dispatcher)."""
    with app.app_context():
        at = utcnow() - ago
        incident = report_incident(IntakeRequest(
            organization_id=getattr(world, org), channel="phone", category="data_leak",
            severity="high", summary=f"件名{ago}", discovered_at=at), actor_label="test", now=at)
        dispatcher = db.session.get(User, world.users["dispatcher"])
        for n, trigger in enumerate(then, start=1):
            fire_trigger(incident.id, trigger, dispatcher, now=at + n * MIN)
        ident, reference = incident.id, incident.reference
        db.session.remove()
    return ident, reference


def row(page, reference):
    """The desk list's row of one incident."""
    match = re.search(rf'<tr data-reference="{reference}">.*?</tr>', page.text, re.S)
    assert match, f"{reference} is not listed"
    return match.group(0)


def clock_state(app, incident_id):
    with app.app_context():
        incident = db.session.get(Incident, incident_id)
        state = (incident.version, incident.personal_data_leak, incident.leak_malicious,
                 incident.leak_preliminary_reported_at,
                 sorted((c.name, c.outcome, c.due_at) for c in incident.sla_clocks))
        db.session.remove()
    return state


def due_of(app, incident_id, name):
    with app.app_context():
        due = db.session.scalar(select(SlaClock.due_at).where(
            SlaClock.incident_id == incident_id, SlaClock.name == name))
        db.session.remove()
    return due


# ---------------------------------------------------------------- desk list

def test_the_desk_list_shows_each_running_clock_with_its_status_in_words(
        app, client, world, login):
    late_id, late = reported(app, world, 47 * MIN)
    near_id, near = reported(app, world, 26 * MIN)
    _, fine = reported(app, world, 2 * MIN)
    _, done = reported(app, world, 5 * MIN, then=["start_triage"])
    login(world.emails["desk"])
    page = client.get("/desk/?lang=en")
    late_row, near_row = row(page, late), row(page, near)
    assert 'data-sla="breached"' in late_row and "Breached" in late_row
    assert 'class="sla sla-breached"' in late_row and "17 min overdue" in late_row
    assert to_jst(due_of(app, late_id, "first_response")).strftime("%Y-%m-%d %H:%M JST") \
        in late_row
    assert 'data-sla="near"' in near_row and "Near breach" in near_row
    assert re.search(r"[34] min left", near_row)
    assert 'data-sla="ok"' in row(page, fine)
    assert "data-sla" not in row(page, done)  # its only clock is stopped


def test_the_desk_list_filters_by_sla(app, client, world, login):
    _, late = reported(app, world, 40 * MIN)
    _, near = reported(app, world, 25 * MIN)
    _, fine = reported(app, world, 1 * MIN)
    login(world.emails["desk"])
    breached = client.get("/desk/?sla=breached").text
    assert late in breached and near not in breached and fine not in breached
    near_page = client.get("/desk/?sla=near").text
    assert near in near_page and late not in near_page and fine not in near_page
    assert '<option value="near" selected>' in near_page
    refused = client.get("/desk/?sla=soon", follow_redirects=True)
    assert refused.status_code == 200 and 'class="flash error"' in refused.text


# ---------------------------------------------------------------- the board

def test_the_board_shows_the_running_clocks_of_each_request(app, client, world, login):
    _, reference = reported(app, world, 45 * MIN, then=["start_triage", "request_dispatch"])
    login(world.emails["dispatcher"])
    page = client.get("/dispatch/?lang=en&refresh=off")
    card = re.search(rf'<article class="card board-row" data-reference="{reference}".*?'
                     r"</article>", page.text, re.S).group(0)
    clocks = dict(re.findall(r'data-clock="(\w+)" data-sla="(\w+)"', card))
    assert clocks == {"acknowledgement": "breached", "arrival": "ok"}  # 30 min / 24 h
    assert "Technician acceptance" in card and "overdue" in card
    assert "first_response" not in clocks  # met when triage started


# ---------------------------------------------------------------- incident page

def test_the_incident_page_shows_every_clock_with_its_outcome(app, client, world, login):
    incident_id, _ = reported(app, world, 45 * MIN, then=["start_triage", "request_dispatch"])
    login(world.emails["desk"])
    page = client.get(f"/desk/incidents/{incident_id}?lang=en").text
    section = re.search(r'<section class="sla".*?</section>', page, re.S).group(0)
    assert dict(re.findall(r'data-clock="(\w+)" data-sla="(\w+)"', section)) == {
        "first_response": "met", "acknowledgement": "breached", "arrival": "ok"}
    assert "Met" in section and "30 min" in section and "1 d 0 h" in section


def test_a_technician_sees_the_clocks_but_no_leak_forms(app, client, world, login):
    incident_id, _ = reported(app, world, 45 * MIN, then=["start_triage", "request_dispatch"])
    login(world.emails["technician"])
    page = client.get(f"/desk/incidents/{incident_id}")
    if page.status_code == 404:  # the offer went to the other technician
        client.post("/logout", data={"csrf_token": csrf_token(client, "/desk/")})
        login(world.emails["other_technician"])
        page = client.get(f"/desk/incidents/{incident_id}")
    assert 'class="sla"' in page.text
    assert "leak-mark-form" not in page.text and "/leak" not in page.text


# ---------------------------------------------------------------- leak forms

def post_form(client, incident_id, path, **data):
    token = csrf_token(client, f"/desk/incidents/{incident_id}")
    response = client.post(f"/desk/incidents/{incident_id}/{path}?lang=en",
                           data={"csrf_token": token, **data})
    if response.status_code not in (302, 303):
        return response
    location = response.headers["Location"]  # the page after it, in English too
    return client.get(location + ("&" if "?" in location else "?") + "lang=en")


def version_of(app, incident_id):
    return clock_state(app, incident_id)[0]


def test_the_desk_marks_a_leak_and_sees_the_deadlines_in_japan_time(app, client, world, login):
    incident_id, _ = reported(app, world, timedelta(days=1))
    login(world.emails["desk"])
    page = client.get(f"/desk/incidents/{incident_id}").text
    assert 'id="leak-mark-form"' in page and "leak-report-form" not in page
    page = post_form(client, incident_id, "leak", version=version_of(app, incident_id),
                     malicious="y")
    assert 'class="flash success"' in page.text
    state = clock_state(app, incident_id)
    assert (state[1], state[2]) == (True, True)
    final_due = due_of(app, incident_id, "leak_final")
    page = client.get(f"/desk/incidents/{incident_id}?lang=en").text
    section = re.search(r'<section class="leak".*?</section>', page, re.S).group(0)
    assert to_jst(final_due).strftime("%Y-%m-%d %H:%M JST") in section
    assert "60 days" in section and 'id="leak-report-form"' in section
    assert "Marked as a personal-data leak (caused with malice)" in page  # on the timeline


def test_recording_a_report_in_japan_time_stops_its_clock(app, client, world, login):
    incident_id, _ = reported(app, world, timedelta(days=2))
    with app.app_context():
        mark_leak(db.session.get(User, world.users["desk"]), incident_id, False)
        db.session.remove()
    login(world.emails["desk"])
    made = (utcnow() - timedelta(hours=3)).replace(second=0, microsecond=0)
    page = post_form(client, incident_id, "leak/reports", version=version_of(app, incident_id),
                     kind="preliminary", reported_at=to_jst(made).strftime("%Y-%m-%dT%H:%M"))
    assert 'class="flash success"' in page.text
    with app.app_context():
        incident = db.session.get(Incident, incident_id)
        assert incident.leak_preliminary_reported_at == made
        preliminary = next(c for c in incident.sla_clocks if c.name == "leak_preliminary")
        assert (preliminary.outcome, preliminary.stopped_at) == ("met", made)
        db.session.remove()
    assert "leak-unmark-form" not in page.text  # reported: the mark stays


@pytest.mark.parametrize(("data", "why"), [
    ({"kind": "preliminary", "reported_at": "+1 day"}, "in the future"),
    ({"kind": "preliminary", "reported_at": "-5 days"}, "before discovery"),
    ({"kind": "final", "reported_at": "-1 hour"}, "final first"),
    ({"kind": "interim", "reported_at": "-1 hour"}, "unknown kind"),
    ({"kind": "preliminary", "reported_at": "昨日"}, "not a time"),
    ({"kind": "preliminary", "reported_at": "-1 hour", "version": 1}, "stale version"),
])
def test_a_refused_report_is_flashed_and_changes_nothing(app, client, world, login, data, why):
    incident_id, _ = reported(app, world, timedelta(days=2))
    with app.app_context():
        mark_leak(db.session.get(User, world.users["desk"]), incident_id, False)
        db.session.remove()
    login(world.emails["desk"])
    offsets = {"+1 day": timedelta(days=-1), "-5 days": timedelta(days=5),
               "-1 hour": timedelta(hours=1)}
    if data["reported_at"] in offsets:
        data = data | {"reported_at": to_jst(utcnow() - offsets[data["reported_at"]])
                       .strftime("%Y-%m-%dT%H:%M")}
    before = clock_state(app, incident_id)
    page = post_form(client, incident_id, "leak/reports",
                     **({"version": before[0]} | data))
    assert 'class="flash error"' in page.text, why
    assert clock_state(app, incident_id) == before


def test_a_mistaken_mark_is_taken_back(app, client, world, login):
    incident_id, _ = reported(app, world, timedelta(hours=2))
    login(world.emails["dispatcher"])
    post_form(client, incident_id, "leak", version=version_of(app, incident_id))
    page = post_form(client, incident_id, "leak/unmark", version=version_of(app, incident_id))
    assert 'class="flash success"' in page.text
    state = clock_state(app, incident_id)
    assert state[1] is False
    assert {name: outcome for name, outcome, _ in state[4] if name.startswith("leak")} == {
        "leak_preliminary": "withdrawn", "leak_final": "withdrawn"}
    assert "Took back the personal-data leak mark" in page.text


def test_leak_posts_without_csrf_or_by_other_roles_change_nothing(app, client, world, login):
    incident_id, _ = reported(app, world, timedelta(hours=2))
    before = clock_state(app, incident_id)
    login(world.emails["desk"])
    response = client.post(f"/desk/incidents/{incident_id}/leak",
                           data={"version": before[0], "malicious": "y"})
    assert response.status_code == 400
    client.post("/logout", data={"csrf_token": csrf_token(client, "/desk/")})
    login(world.emails["insurer"])
    assert client.get(f"/desk/incidents/{incident_id}").status_code == 404
    token = csrf_token(client, "/desk/")
    page = client.post(f"/desk/incidents/{incident_id}/leak", data={
        "csrf_token": token, "version": before[0]}, follow_redirects=True)
    assert page.status_code == 404
    assert clock_state(app, incident_id) == before


def test_marking_twice_with_the_same_malice_is_refused(app, client, world, login):
    incident_id, _ = reported(app, world, timedelta(hours=2))
    login(world.emails["desk"])
    post_form(client, incident_id, "leak", version=version_of(app, incident_id))
    before = clock_state(app, incident_id)
    page = post_form(client, incident_id, "leak", version=before[0])
    assert 'class="flash error"' in page.text and "already marked" in page.text
    assert clock_state(app, incident_id) == before
    page = client.get(f"/desk/incidents/{incident_id}?lang=en").text
    assert "Change to: caused with malice" in page  # the one change on offer
