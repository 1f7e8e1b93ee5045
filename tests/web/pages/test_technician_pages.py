"""The technician's phone pages (/tech/...) and the SMS one-tap link page (/a/<token>)."""

import json
import re

import pytest
from itsdangerous.encoding import base64_decode, base64_encode
from itsdangerous.timed import TimestampSigner
from sqlalchemy import select

from app.extensions import db
from app.models import Dispatch, Organization, Technician, UsedLink, User
from app.services.dispatch.links import read_offer_token
from app.services.dispatch.visits import accept, cancel_dispatch, reoffer
from app.testkit.helpers import csrf_token
from app.web.technician import views
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

OFFER_LINK_MAX_AGE = 3600


def offered(app, world, **fields):
    """(incident id, dispatch id) of an incident offered to world.technician."""
    incident_id = requested_incident(app, world, **fields)
    return incident_id, dispatches_of(app, incident_id)[0][0]


def as_user(app, world, role, service, *args, **kwargs):
    """Call a dispatch service as the world's user of `role` (outside any request)."""
    with app.app_context():
        result = service(*args[:1], db.session.get(User, world.users[role]), *args[1:],
                         **kwargs)
        result_id = result.id if result is not None else None
        db.session.remove()
    return result_id


def buttons(page, dispatch_id):
    """The triggers offered as buttons on a dispatch's card."""
    card = re.search(rf'<article class="card tech-card" data-dispatch="{dispatch_id}".*?'
                     r"</article>", page.text, re.S).group(0)
    return re.findall(r'data-trigger="(\w+)"', card)


def press(client, dispatch_id, trigger, lang="en", **fields):
    token = csrf_token(client, "/tech/")
    return client.post(f"/tech/dispatches/{dispatch_id}/{trigger}?lang={lang}",
                       data={"csrf_token": token, **fields})


def dispatch_row(app, dispatch_id):
    with app.app_context():
        d = db.session.get(Dispatch, dispatch_id)
        values = {"state": d.state, "work_report": d.work_report, "signoff": d.signoff_name,
                  "times": (d.responded_at, d.departed_at, d.arrived_at, d.completed_at),
                  "decline_reason": d.decline_reason}
        db.session.remove()
    return values


# ---------------------------------------------------------------- the logged-in pages


@pytest.mark.parametrize("role", ["dispatcher", "admin", "desk", "customer", "insurer"])
def test_my_dispatches_is_for_technicians_only(client, world, login, role):
    login(world.emails[role])
    assert client.get("/tech/").status_code == 403


def test_my_dispatches_needs_a_login(client):
    assert client.get("/tech/").headers["Location"].startswith("/login")


def test_an_open_offer_has_accept_and_decline_buttons_and_the_incident_summary(
        app, client, world, login):
    _, dispatch_id = offered(app, world, summary="経理PCが暗号化された", severity="critical")
    login(world.emails["technician"])
    page = client.get("/tech/?lang=en")
    assert page.status_code == 200
    assert buttons(page, dispatch_id) == ["accept", "decline"]
    assert "経理PCが暗号化された" in page.text and "甲商事" in page.text
    assert "東京都" in page.text and "Critical" in page.text
    assert '<meta name="viewport"' in page.text  # a phone page


def test_the_whole_visit_through_the_pages(app, client, world, login):
    incident_id, dispatch_id = offered(app, world, reporter_phone="+819012340000")
    login(world.emails["technician"])
    response = press(client, dispatch_id, "accept")
    assert response.headers["Location"] == f"/tech/dispatches/{dispatch_id}"
    page = client.get(response.headers["Location"])
    assert "the incident is yours" in page.text
    assert buttons(page, dispatch_id) == ["depart"]
    assert "+819012340000" in page.text  # the customer's number, once the visit is theirs
    assert incident_state(app, incident_id) == "technician_assigned"

    press(client, dispatch_id, "depart")
    assert buttons(client.get("/tech/"), dispatch_id) == ["arrive"]
    press(client, dispatch_id, "arrive")
    assert incident_state(app, incident_id) == "on_site"
    assert buttons(client.get("/tech/"), dispatch_id) == ["complete"]

    press(client, dispatch_id, "complete", work_report="隔離とログ保全を実施。",
          signoff_name="山田 太郎")
    stored = dispatch_row(app, dispatch_id)
    assert (stored["state"], stored["work_report"], stored["signoff"]) == (
        "completed", "隔離とログ保全を実施。", "山田 太郎")
    assert all(stored["times"])
    assert incident_state(app, incident_id) == "onsite_completed"
    home = client.get("/tech/?lang=en")
    assert "No visit in progress." in home.text and f'data-dispatch="{dispatch_id}"' in home.text
    assert [a for a, _, _ in dispatch_actions(app, incident_id)][-4:] == [
        "assign_technician", "depart", "arrive", "complete_onsite"]


@pytest.mark.parametrize("fields", [
    {}, {"work_report": "作業しました"}, {"signoff_name": "山田"},
    {"work_report": "   ", "signoff_name": "山田"},
])
def test_completing_needs_the_work_report_and_the_sign_off(app, client, world, login, fields):
    _, dispatch_id = offered(app, world)
    login(world.emails["technician"])
    for trigger in ("accept", "depart", "arrive"):
        press(client, dispatch_id, trigger)
    before = snapshot(app)
    press(client, dispatch_id, "complete", **fields)
    assert snapshot(app) == before
    page = client.get(f"/tech/dispatches/{dispatch_id}")
    assert 'class="flash error"' in page.text and buttons(page, dispatch_id) == ["complete"]


def test_declining_needs_a_reason_and_then_asks_the_next_candidate(app, client, world, login):
    incident_id, dispatch_id = offered(app, world)
    login(world.emails["technician"])
    before = snapshot(app)
    press(client, dispatch_id, "decline", reason=" ")
    assert snapshot(app) == before
    press(client, dispatch_id, "decline", reason="別件で移動中")
    assert dispatch_row(app, dispatch_id)["decline_reason"] == "別件で移動中"
    assert [(t, s) for _, t, s in dispatches_of(app, incident_id)] == [
        (world.technician, "declined"), (world.other_technician, "offered")]


def test_steps_out_of_order_are_refused_and_change_nothing(app, client, world, login):
    _, dispatch_id = offered(app, world)
    login(world.emails["technician"])
    before = snapshot(app)
    press(client, dispatch_id, "arrive")
    press(client, dispatch_id, "complete", work_report="x", signoff_name="y")
    assert snapshot(app) == before
    assert "no longer possible" in client.get("/tech/").text


def test_a_button_that_is_not_the_technicians_is_not_found(app, client, world, login):
    _, dispatch_id = offered(app, world)
    login(world.emails["technician"])
    before = snapshot(app)
    for trigger in ("cancel", "expire", "launch"):
        assert press(client, dispatch_id, trigger).status_code == 404
    assert snapshot(app) == before


def test_another_technicians_dispatch_is_not_found(app, client, world, login):
    _, dispatch_id = offered(app, world, summary="他人宛の件")
    login(world.emails["other_technician"])
    assert client.get(f"/tech/dispatches/{dispatch_id}").status_code == 404
    assert "他人宛の件" not in client.get("/tech/").text
    before = snapshot(app)
    for trigger in ("accept", "decline", "depart"):
        assert press(client, dispatch_id, trigger, reason="x").status_code == 404
    assert snapshot(app) == before


def test_an_offer_taken_by_another_technician_says_so(app, client, world, login):
    incident_id, dispatch_id = offered(app, world)
    other = as_user(app, world, "dispatcher", reoffer, incident_id)
    as_user(app, world, "other_technician", accept, other)
    login(world.emails["technician"])
    before = snapshot(app)
    press(client, dispatch_id, "accept")
    assert snapshot(app) == before
    page = client.get(f"/tech/dispatches/{dispatch_id}?lang=en")
    assert "Already taken by another technician" in page.text
    assert buttons(page, dispatch_id) == []
    assert "Already taken by another technician." in client.get("/tech/?lang=en").text


def test_script_in_a_summary_is_escaped_on_the_technician_pages(app, client, world, login):
    _, dispatch_id = offered(app, world, summary=XSS)
    login(world.emails["technician"])
    for path in ("/tech/", f"/tech/dispatches/{dispatch_id}"):
        page = client.get(path)
        assert ESCAPED in page.text and XSS not in page.text


# ---------------------------------------------------------------- the SMS one-tap link


def link_form_token(page):
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)


def opened_link(app, client, world, **fields):
    """An offer to world.technician opened from its SMS: (incident, dispatch, token, csrf)."""
    incident_id, dispatch_id = offered(app, world, **fields)
    token = offer_token(app, dispatch_id)
    return incident_id, dispatch_id, token, link_form_token(client.get(f"/a/{token}"))


def test_the_link_page_shows_the_incident_without_a_login(app, client, world):
    _, dispatch_id = offered(app, world, summary="サーバが止まった", severity="high")
    with app.app_context():
        db.session.get(Organization, world.org_a).address = "東京都千代田区丸の内1-1"
        db.session.commit()
        db.session.remove()
    token = offer_token(app, dispatch_id)
    page = client.get(f"/a/{token}?lang=en")
    assert page.status_code == 200
    for text in ("甲商事", "東京都", "東京都千代田区丸の内1-1", "Malware infection", "High",
                 "サーバが止まった"):
        assert text in page.text
    assert f'action="/a/{token}/accept"' in page.text
    assert f'action="/a/{token}/decline"' in page.text
    assert page.text.count('name="csrf_token"') == 2
    assert '<html lang="ja">' in client.get(f"/a/{token}").text  # Japanese by default


def test_accepting_through_the_link_assigns_the_technician_and_spends_the_link(
        app, client, world):
    incident_id, dispatch_id = offered(app, world)
    token = offer_token(app, dispatch_id)
    page = client.post(f"/a/{token}/accept?lang=en",
                       data={"csrf_token": link_form_token(client.get(f"/a/{token}"))})
    assert page.status_code == 200
    assert "log in and continue in My dispatches" in page.text
    assert f'href="/tech/dispatches/{dispatch_id}"' in page.text
    assert incident_state(app, incident_id) == "technician_assigned"
    with app.app_context():
        name = db.session.get(Technician, world.technician).name
        assert db.session.scalars(select(UsedLink)).one()
        db.session.remove()
    assert dispatch_actions(app, incident_id)[-1] == (
        "assign_technician", f"{name} (SMS link)", "")
    # The rest of the visit needs the login: the page sends an anonymous phone to it.
    assert client.get(f"/tech/dispatches/{dispatch_id}").headers["Location"].startswith(
        "/login")


def test_a_used_link_is_refused_with_409_and_changes_nothing(app, client, world):
    _, _, token, csrf = opened_link(app, client, world)
    client.post(f"/a/{token}/accept", data={"csrf_token": csrf})
    before = snapshot(app)
    page = client.get(f"/a/{token}?lang=en")
    assert page.status_code == 409 and "already been used" in page.text
    for answer in ("accept", "decline"):
        page = client.post(f"/a/{token}/{answer}?lang=en",
                           data={"csrf_token": csrf, "reason": "x"})
        assert page.status_code == 409 and "already been used" in page.text
    assert snapshot(app) == before


def test_a_link_used_to_decline_cannot_accept_later(app, client, world):
    incident_id, _, token, csrf = opened_link(app, client, world)
    page = client.post(f"/a/{token}/decline?lang=en",
                       data={"csrf_token": csrf, "reason": "遠方のため"})
    assert page.status_code == 200 and "The next technician will be asked" in page.text
    assert [s for _, _, s in dispatches_of(app, incident_id)] == ["declined", "offered"]
    before = snapshot(app)
    assert client.post(f"/a/{token}/accept", data={"csrf_token": csrf}).status_code == 409
    assert snapshot(app) == before


def test_declining_through_the_link_needs_a_reason(app, client, world):
    _, _, token, csrf = opened_link(app, client, world)
    before = snapshot(app)
    page = client.post(f"/a/{token}/decline?lang=en", data={"csrf_token": csrf, "reason": ""})
    assert page.status_code == 422 and 'class="error"' in page.text
    assert snapshot(app) == before


def test_an_expired_link_is_gone_and_changes_nothing(app, client, world, monkeypatch):
    _, _, token, csrf = opened_link(app, client, world)
    real = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp",
                        lambda self: real(self) + OFFER_LINK_MAX_AGE + 1)
    before = snapshot(app)
    page = client.get(f"/a/{token}?lang=en")
    assert page.status_code == 410 and "This link has expired" in page.text
    assert '<html lang="ja">' in client.get(f"/a/{token}").text  # Japanese unless chosen
    assert client.post(f"/a/{token}/accept", data={"csrf_token": csrf}).status_code == 410
    assert snapshot(app) == before


def altered_token(token, change, world):
    """The token with a changed signature, a forged payload (another technician), or junk."""
    payload, timestamp, signature = token.split(".")
    if change == "signature":
        middle = len(signature) // 2
        swapped = "A" if signature[middle] != "A" else "B"
        return f"{payload}.{timestamp}.{signature[:middle]}{swapped}{signature[middle + 1:]}"
    if change == "payload":
        data = json.loads(base64_decode(payload))
        forged = base64_encode(json.dumps({**data, "t": world.other_technician}).encode())
        return f"{forged.decode()}.{timestamp}.{signature}"
    return "not-a-token"


@pytest.mark.parametrize("change", ["signature", "payload", "garbage"])
def test_an_altered_link_is_refused_and_changes_nothing(app, client, world, change):
    _, _, token, csrf = opened_link(app, client, world)
    altered = altered_token(token, change, world)
    before = snapshot(app)
    page = client.get(f"/a/{altered}?lang=en")
    assert page.status_code == 403 and "This link is not valid" in page.text
    assert client.post(f"/a/{altered}/accept", data={"csrf_token": csrf}).status_code == 403
    assert snapshot(app) == before


def test_a_link_opened_by_another_logged_in_technician_is_refused(app, client, world, login):
    _, dispatch_id = offered(app, world)
    token = offer_token(app, dispatch_id)
    login(world.emails["other_technician"])
    before = snapshot(app)
    page = client.get(f"/a/{token}?lang=en")
    assert page.status_code == 403 and "for another technician" in page.text
    csrf = csrf_token(client, "/tech/")
    assert client.post(f"/a/{token}/accept", data={"csrf_token": csrf}).status_code == 403
    assert snapshot(app) == before


def test_the_right_technician_logged_in_may_use_their_link(app, client, world, login):
    incident_id, dispatch_id = offered(app, world)
    token = offer_token(app, dispatch_id)
    login(world.emails["technician"])
    csrf = link_form_token(client.get(f"/a/{token}"))
    page = client.post(f"/a/{token}/accept?lang=en", data={"csrf_token": csrf})
    assert page.status_code == 200 and "Continue in My dispatches" in page.text
    assert incident_state(app, incident_id) == "technician_assigned"


def test_a_withdrawn_offer_is_closed(app, client, world):
    _, dispatch_id, token, csrf = opened_link(app, client, world)
    as_user(app, world, "dispatcher", cancel_dispatch, dispatch_id, "手配やり直し")
    before = snapshot(app)
    page = client.get(f"/a/{token}?lang=en")
    assert page.status_code == 409 and "no longer open" in page.text
    assert client.post(f"/a/{token}/accept", data={"csrf_token": csrf}).status_code == 409
    assert snapshot(app) == before


def test_a_link_to_an_offer_taken_by_another_technician_says_so(app, client, world):
    incident_id, _, token, csrf = opened_link(app, client, world)
    other = as_user(app, world, "dispatcher", reoffer, incident_id)
    as_user(app, world, "other_technician", accept, other)
    before = snapshot(app)
    page = client.get(f"/a/{token}?lang=en")
    assert page.status_code == 409 and "Already taken by another technician" in page.text
    assert client.post(f"/a/{token}/accept?lang=en",
                       data={"csrf_token": csrf}).status_code == 409
    assert snapshot(app) == before


def test_a_link_answer_racing_another_technician_is_told_it_is_taken(app, client, world,
                                                                       monkeypatch):
    """The page's own check passed, then someone else accepted before the service ran."""
    incident_id, _, token, csrf = opened_link(app, client, world)
    other = as_user(app, world, "dispatcher", reoffer, incident_id)
    as_user(app, world, "other_technician", accept, other)

    def checked_before_the_other_accept(link_token):
        found_id, _technician_id, nonce = read_offer_token(link_token)
        return db.session.get(Dispatch, found_id), nonce

    monkeypatch.setattr(views, "_link_target", checked_before_the_other_accept)
    before = snapshot(app)
    page = client.post(f"/a/{token}/accept?lang=en", data={"csrf_token": csrf})
    assert page.status_code == 409 and "Already taken by another technician" in page.text
    assert snapshot(app) == before  # the link was not spent either


def test_a_link_post_without_a_csrf_token_is_refused(app, client, world):
    _, dispatch_id = offered(app, world)
    token = offer_token(app, dispatch_id)
    before = snapshot(app)
    assert client.post(f"/a/{token}/accept").status_code == 400
    assert snapshot(app) == before


def test_script_in_a_summary_is_escaped_on_the_link_pages(app, client, world):
    _, dispatch_id = offered(app, world, summary=XSS)
    token = offer_token(app, dispatch_id)
    page = client.get(f"/a/{token}")
    assert ESCAPED in page.text and XSS not in page.text
    done = client.post(f"/a/{token}/accept", data={"csrf_token": link_form_token(page)})
    assert ESCAPED in done.text and XSS not in done.text
