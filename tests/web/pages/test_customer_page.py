"""The customer's incident page (/my/incidents/<id>): what it shows, what stays hidden, and
what the customer can add: information, files and the online sign-off of a work report."""

import html
import io
import re

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app.extensions import db
from app.models import CustodyEntry, Dispatch, Evidence, IncidentEvent
from app.testkit.helpers import csrf_token
from tests.scenes.claims import claim_files  # noqa: F401  (fixture)
from tests.scenes.customer_page import (
    APPROVED,
    COST_LINE,
    INSURER_QUESTION,
    INTERNAL_NOTE,
    RECEIPT,
    claimed_and_approved,
    visited,
)
from tests.scenes.evidence import JPEG, MZ_AS_JPG, PNG, held_incident, stored_files

pytestmark = pytest.mark.usefixtures("claim_files")
OUR_PAGES = {"Sec-Fetch-Site": "same-origin"}
WORK_REPORT = "感染端末をネットワークから隔離し、ログを保全した。"


def page(incident_id, lang="en"):
    return f"/my/incidents/{incident_id}?lang={lang}"


def scene(app, world, build=claimed_and_approved):
    with app.app_context():
        incident_id, dispatch_id = build(world)
        db.session.remove()
    return incident_id, dispatch_id


def rows(app):
    """What a refused action must leave as it was: events, evidence, custody, sign-offs."""
    with app.app_context():
        result = (db.session.scalar(select(func.count(IncidentEvent.id))),
                  db.session.scalar(select(func.count(Evidence.id))),
                  db.session.scalar(select(func.count(CustodyEntry.id))),
                  tuple(db.session.execute(select(
                      Dispatch.id, Dispatch.customer_signoff_at, Dispatch.customer_signoff_comment,
                      Dispatch.version).order_by(Dispatch.id)).all()))
        db.session.remove()
    return result


def flashes(response):
    return [(kind, html.unescape(text)) for kind, text in
            re.findall(r'<p class="flash (\w+)" role="status">([^<]*)</p>', response.text)]


def main(response):
    """The page's own content (the header's language links name the path)."""
    return re.search(r"<main>.*</main>", response.text, re.S).group(0)


@pytest.fixture
def login(login):
    """The suite's login, then English for the session (pages, redirects and flashes)."""
    def in_english(email):
        client = login(email)
        client.get("/lang/en")
        return client
    return in_english


# ---------------------------------------------------------------- the page


def test_the_customer_reads_its_incident_in_plain_words(app, login, world):
    incident_id, _ = scene(app, world)
    client = login(world.emails["customer"])
    response = client.get(page(incident_id), headers=OUR_PAGES)
    assert response.status_code == 200
    text = response.text
    assert "The insurer approved the claim; the payment follows." in text
    assert "We received your report." in text  # (the factory's intake is at the real now)
    # The customer's timeline: sentences with Japan times (T0 is 10:00 JST).
    for when, sentence in (("2026-11-25 10:00", "The desk asked for a technician to come"),
                           ("2026-11-25 10:02", "A technician was assigned"),
                           ("2026-11-25 10:05", "The technician is on the way."),
                           ("2026-11-25 10:50", "The technician arrived."),
                           ("2026-11-25 13:00", "The technician finished the on-site work"),
                           ("2026-11-25 17:00", "The insurance claim was submitted"),
                           ("2026-11-25 20:00", "The insurer approved the claim.")):
        assert re.search(rf"<time>{when} JST</time> {re.escape(sentence)}", text), sentence
    assert WORK_REPORT in text
    # 30,000 yen + 10 % tax claimed, 20,000 approved: the rest is the customer's.
    assert re.search(r'class="num total">¥33,000<', text)
    assert re.search(rf'class="num covered">¥{APPROVED:,}<', text)
    assert re.search(r'class="num own-share"><strong>¥13,000<', text)
    assert "Approved by the insurer" in text


def test_internal_notes_costs_and_the_insurers_messages_stay_hidden(app, login, world):
    incident_id, _ = scene(app, world)
    client = login(world.emails["customer"])
    for lang in ("en", "ja"):
        text = client.get(page(incident_id, lang), headers=OUR_PAGES).text
        for hidden in (INTERNAL_NOTE, COST_LINE, RECEIPT, "領収書", INSURER_QUESTION,
                       world.emails["desk"], world.emails["insurer"]):
            assert hidden not in text, hidden
    # ... which the desk does see (so the test would notice them).
    desk = login(world.emails["desk"])
    staff_text = desk.get(f"/desk/incidents/{incident_id}", headers=OUR_PAGES).text
    assert INTERNAL_NOTE in staff_text and COST_LINE in staff_text
    assert INSURER_QUESTION in staff_text


def test_the_state_and_sentences_are_japanese_by_default(app, login, world):
    incident_id, _ = scene(app, world)
    client = login(world.emails["customer"])
    client.get("/lang/ja")
    text = client.get(f"/my/incidents/{incident_id}", headers=OUR_PAGES).text
    assert "保険会社が保険金請求を承認しました" in text
    assert "技術者が到着しました。" in text


def test_the_list_links_each_incident_to_its_page(app, login, world):
    incident_id, _ = scene(app, world, visited)
    client = login(world.emails["customer"])
    assert f'href="/my/incidents/{incident_id}"' in client.get("/report").text


def test_another_organizations_incident_is_the_same_404_as_a_missing_one(app, login, world):
    incident_id, _ = scene(app, world, visited)
    client = login(world.emails["other_customer"])
    theirs = client.get(page(incident_id), headers=OUR_PAGES)
    missing = client.get(page(999_999), headers=OUR_PAGES)
    assert theirs.status_code == missing.status_code == 404
    assert main(theirs) == main(missing)
    assert WORK_REPORT not in theirs.text


def test_staff_and_other_roles_use_their_own_pages(app, login, world):
    incident_id, _ = scene(app, world, visited)
    for role in ("desk", "technician", "insurer"):
        client = login(world.emails[role])
        assert client.get(page(incident_id), headers=OUR_PAGES).status_code == 403
        client.post("/logout", data={"csrf_token": csrf_token(client, "/report")})


# ---------------------------------------------------------------- adding information


def note_url(incident_id):
    return f"/my/incidents/{incident_id}/notes"


def test_information_added_by_the_customer_reaches_the_desk(app, login, world):
    incident_id, _ = scene(app, world, visited)
    client = login(world.emails["customer"])
    token = csrf_token(client, page(incident_id))
    response = client.post(note_url(incident_id), data={
        "note": "昨夜からNASにもアクセスできません。", "csrf_token": token},
        follow_redirects=True)
    assert response.status_code == 200
    assert ("success", "Your information was sent to the desk.") in flashes(response) or \
        any(kind == "success" for kind, _ in flashes(response))
    assert "昨夜からNASにもアクセスできません。" in response.text
    assert "added information for the desk." in client.get(page(incident_id)).text
    with app.app_context():
        event = db.session.scalars(select(IncidentEvent).order_by(
            IncidentEvent.id.desc())).first()
        assert (event.kind, event.note) == ("customer_note", "昨夜からNASにもアクセスできません。")
        db.session.remove()
    desk = login(world.emails["desk"])
    staff_text = desk.get(f"/desk/incidents/{incident_id}?lang=en", headers=OUR_PAGES).text
    assert "The customer added information for the desk" in staff_text
    assert "昨夜からNASにもアクセスできません。" in staff_text


@pytest.mark.parametrize("note", ["", "   ", "x" * 5001])
def test_an_empty_or_too_long_note_is_refused_and_changes_nothing(app, login, world, note):
    incident_id, _ = scene(app, world, visited)
    client = login(world.emails["customer"])
    before = rows(app)
    response = client.post(note_url(incident_id), data={
        "note": note, "csrf_token": csrf_token(client, page(incident_id))},
        follow_redirects=True)
    assert response.status_code == 200
    assert [kind for kind, _ in flashes(response)] == ["error"]
    assert rows(app) == before


def test_a_note_on_another_organizations_incident_is_a_404(app, login, world):
    incident_id, _ = scene(app, world, visited)
    client = login(world.emails["other_customer"])
    before = rows(app)
    token = csrf_token(client, "/report")
    theirs = client.post(note_url(incident_id), data={"note": "x", "csrf_token": token})
    missing = client.post(note_url(999_999), data={"note": "x", "csrf_token": token})
    assert theirs.status_code == missing.status_code == 404
    assert rows(app) == before


# ---------------------------------------------------------------- files


def upload_url(incident_id):
    return f"/my/incidents/{incident_id}/evidence"


def post_file(client, url, token, data=PNG, name="screen.png", kind="photo"):
    values = {"file": FileStorage(io.BytesIO(data), name), "kind": kind,
              "description": "画面の写真", "csrf_token": token}
    boundary, body = encode_multipart(values)
    return client.post(url, data=body, follow_redirects=True,
                       content_type=f"multipart/form-data; boundary={boundary}")


def test_the_customer_sends_a_file_with_its_hash_and_custody(app, login, world):
    import hashlib

    incident_id, _ = scene(app, world, visited)
    client = login(world.emails["customer"])
    page_text = client.get(page(incident_id)).text
    assert 'name="kind"' in page_text and 'value="receipt"' not in page_text
    response = post_file(client, upload_url(incident_id), csrf_token(client, page(incident_id)))
    assert response.status_code == 200
    digest = hashlib.sha256(PNG).hexdigest()
    assert digest in response.text and "screen.png" in response.text
    assert "sent a file." in response.text
    with app.app_context():
        evidence = db.session.scalars(select(Evidence)).one()
        assert (evidence.sha256, evidence.kind, evidence.uploaded_by_label) == (
            digest, "photo", world.emails["customer"])
        assert [c.action for c in evidence.custody] == ["upload"]
        db.session.remove()
    assert len(stored_files(app)) == 1


@pytest.mark.parametrize("data, name, kind, words", [
    (MZ_AS_JPG, "invoice.jpg", "photo", "not accepted"),
    (PNG, "screen.png", "receipt", "A customer's file is one of"),
    (b"", "empty.png", "photo", "The file is empty."),
])
def test_a_refused_file_changes_nothing_and_says_why(app, login, world, data, name, kind,
                                                      words):
    incident_id, _ = scene(app, world, visited)
    client = login(world.emails["customer"])
    before = rows(app)
    response = post_file(client, upload_url(incident_id), csrf_token(client, page(incident_id)),
                         data=data, name=name, kind=kind)
    assert response.status_code == 200
    (flash,) = flashes(response)
    assert flash[0] == "error" and words in flash[1], flash
    assert rows(app) == before
    assert stored_files(app) == []


def test_a_file_over_the_limit_changes_nothing_and_says_why(app, login, world, monkeypatch):
    incident_id, _ = scene(app, world, visited)
    monkeypatch.setitem(app.config, "EVIDENCE_MAX_BYTES", 100)
    client = login(world.emails["customer"])
    before = rows(app)
    response = post_file(client, upload_url(incident_id), csrf_token(client, page(incident_id)),
                         data=JPEG + b"\x00" * 200, name="big.jpg")
    (flash,) = flashes(response)
    assert flash[0] == "error" and "at most 100 bytes" in flash[1]
    assert rows(app) == before
    assert stored_files(app) == []


def test_a_file_for_another_organizations_incident_is_a_404(app, login, world):
    incident_id, _ = scene(app, world, visited)
    client = login(world.emails["other_customer"])
    before = rows(app)
    token = csrf_token(client, "/report")
    theirs = post_file(client, upload_url(incident_id), token)
    missing = post_file(client, upload_url(999_999), token)
    assert theirs.status_code == missing.status_code == 404
    assert rows(app) == before and stored_files(app) == []


# ---------------------------------------------------------------- the sign-off


def sign_off_url(dispatch_id):
    return f"/my/dispatches/{dispatch_id}/sign-off"


def test_the_customer_signs_the_work_report_off_once(app, login, world):
    incident_id, dispatch_id = scene(app, world, visited)
    client = login(world.emails["customer"])
    text = client.get(page(incident_id)).text
    assert "I confirm this work report" in text
    token = csrf_token(client, page(incident_id))
    response = client.post(sign_off_url(dispatch_id), data={
        "comment": "説明を受け、内容を確認しました。", "csrf_token": token}, follow_redirects=True)
    assert [kind for kind, _ in flashes(response)] == ["success"]
    assert "You confirmed this work report online" in response.text
    assert "I confirm this work report" not in response.text
    assert "confirmed the technician's work report online." in html.unescape(response.text)
    with app.app_context():
        dispatch = db.session.get(Dispatch, dispatch_id)
        assert dispatch.customer_signoff_at is not None
        assert dispatch.customer_signoff_label == world.emails["customer"]
        assert dispatch.customer_signoff_comment == "説明を受け、内容を確認しました。"
        event = db.session.scalars(select(IncidentEvent).order_by(
            IncidentEvent.id.desc())).first()
        assert (event.kind, event.data["dispatch_id"]) == ("customer_signoff", dispatch_id)
        db.session.remove()
    # Once: a second sign-off is refused and changes nothing.
    before = rows(app)
    again = client.post(sign_off_url(dispatch_id), data={"comment": "", "csrf_token": token},
                        follow_redirects=True)
    assert flashes(again) == [("error", "The work report was already signed off.")]
    assert rows(app) == before
    # The desk sees it on the visit and the timeline.
    desk = login(world.emails["desk"])
    staff_text = desk.get(f"/desk/incidents/{incident_id}?lang=en", headers=OUR_PAGES).text
    assert "Signed off online by the customer" in staff_text
    assert "The customer signed off the work report online" in staff_text


def test_no_sign_off_before_the_work_report_exists(app, login, world):
    case = held_incident(app, world)  # on site: no report yet
    client = login(world.emails["customer"])
    assert "I confirm this work report" not in client.get(page(case["incident"])).text
    before = rows(app)
    response = client.post(sign_off_url(case["dispatch"]), data={
        "csrf_token": csrf_token(client, page(case["incident"]))}, follow_redirects=True)
    assert flashes(response) == [
        ("error", "The technician has not written the work report yet.")]
    assert rows(app) == before


def test_a_too_long_comment_is_refused(app, login, world):
    incident_id, dispatch_id = scene(app, world, visited)
    client = login(world.emails["customer"])
    before = rows(app)
    response = client.post(sign_off_url(dispatch_id), data={
        "comment": "x" * 1001, "csrf_token": csrf_token(client, page(incident_id))},
        follow_redirects=True)
    assert [kind for kind, _ in flashes(response)] == ["error"]
    assert rows(app) == before


def test_another_organizations_visit_is_the_same_404_as_a_missing_one(app, login, world):
    _, dispatch_id = scene(app, world, visited)
    client = login(world.emails["other_customer"])
    before = rows(app)
    token = csrf_token(client, "/report")
    theirs = client.post(sign_off_url(dispatch_id), data={"csrf_token": token})
    missing = client.post(sign_off_url(999_999), data={"csrf_token": token})
    assert theirs.status_code == missing.status_code == 404
    assert main(theirs) == main(missing)
    assert rows(app) == before


def test_hostile_text_in_a_note_is_refused_before_anything_is_written(app, login, world):
    incident_id, dispatch_id = scene(app, world, visited)
    client = login(world.emails["customer"])
    token = csrf_token(client, page(incident_id))
    before = rows(app)
    for url, field in ((note_url(incident_id), "note"), (sign_off_url(dispatch_id), "comment")):
        response = client.post(url, data={field: "情報\x00", "csrf_token": token})
        assert response.status_code == 400, url
    assert rows(app) == before


def test_a_refused_file_is_explained_in_japanese_by_default(app, login, world):
    incident_id, _ = scene(app, world, visited)
    client = login(world.emails["customer"])
    client.get("/lang/ja")
    before = rows(app)
    response = post_file(client, upload_url(incident_id), csrf_token(client, page(incident_id)),
                         data=MZ_AS_JPG, name="invoice.jpg")
    assert flashes(response) == [
        ("error", "プログラムやスクリプトは証拠として受け付けられません。")]
    assert rows(app) == before


# ---------------------------------------------------------------- correcting its details


def details(app, incident_id):
    with app.app_context():
        from app.models import Incident
        incident = db.session.get(Incident, incident_id)
        result = (incident.version, incident.description, incident.reporter_name,
                  incident.reporter_phone, incident.reporter_email, incident.category)
        db.session.remove()
    return result


def details_form(client, incident_id, **values):
    token = csrf_token(client, page(incident_id))
    text = client.get(page(incident_id)).text
    version = re.search(r'id="version" name="version" type="hidden" value="(\d+)"', text)
    return {"csrf_token": token, "version": version.group(1), **values}


def test_the_customer_corrects_its_description_and_contact_and_the_desk_sees_before_and_after(
        app, login, world):
    incident_id, _ = scene(app, world, visited)
    client = login(world.emails["customer"])
    before = details(app, incident_id)
    data = details_form(client, incident_id, description="NASも暗号化されていました。",
                        reporter_name="佐藤 花子", reporter_phone="090-1111-2222",
                        reporter_email="sato@example.jp")
    response = client.post(f"/my/incidents/{incident_id}/details", data=data,
                           follow_redirects=True)
    assert ("success", "Your details were corrected.") in flashes(response)
    after = details(app, incident_id)
    assert after[0] == before[0] + 1
    assert after[1:5] == ("NASも暗号化されていました。", "佐藤 花子", "+819011112222",
                          "sato@example.jp")
    assert after[5] == before[5]  # the category is the desk's to correct
    with app.app_context():
        event = db.session.scalars(select(IncidentEvent).order_by(
            IncidentEvent.id.desc())).first()
        assert event.kind == "corrected"
        assert event.data["changes"]["description"]["after"] == "NASも暗号化されていました。"
        db.session.remove()


@pytest.mark.parametrize("change", [
    {"reporter_phone": "not a phone"}, {"reporter_email": "a@b@c"}, {"version": "1"},
])
def test_a_bad_or_stale_correction_changes_nothing_and_says_why(app, login, world, change):
    incident_id, _ = scene(app, world, visited)
    client = login(world.emails["customer"])
    before, counted = details(app, incident_id), rows(app)
    data = details_form(client, incident_id, description="別の説明")
    if change.get("version") == "1":
        change = {"version": str(int(data["version"]) - 1)}
    response = client.post(f"/my/incidents/{incident_id}/details", data={**data, **change},
                           follow_redirects=True)
    assert any(kind == "error" for kind, _ in flashes(response)), flashes(response)
    assert details(app, incident_id) == before and rows(app) == counted


def test_another_organizations_incident_cannot_be_corrected(app, login, world):
    incident_id, _ = scene(app, world, visited)
    before = details(app, incident_id)
    client = login(world.emails["other_customer"])
    token = csrf_token(client, "/report")
    response = client.post(f"/my/incidents/{incident_id}/details", data={
        "csrf_token": token, "version": before[0], "description": "x"})
    assert response.status_code == 404
    assert details(app, incident_id) == before


def test_a_duplicate_s_page_names_the_reference_to_follow(app, login, world):
    from app.models import Incident, Organization, User
    from app.services.incidents.links import link_incidents
    from app.testkit import factories
    with app.app_context():
        org = db.session.get(Organization, world.org_a)
        original = factories.make_incident(org, summary="最初の受付")
        duplicate = factories.make_incident(org, summary="重複した受付")
        db.session.commit()
        link_incidents(duplicate.id, original.id, "duplicate_of",
                       actor=db.session.get(User, world.users["desk"]))
        duplicate_id, original_id = duplicate.id, original.id
        reference = db.session.get(Incident, original_id).reference
        db.session.remove()
    client = login(world.emails["customer"])
    text = main(client.get(page(duplicate_id)))
    assert f"Merged into {reference}: please use that reference" in text
    assert "Merged into" not in main(client.get(page(original_id)))
