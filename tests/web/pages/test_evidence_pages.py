"""Evidence on the desk's incident page and the technician's visit page."""

import hashlib
import io
import re

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app.extensions import db
from app.models import CustodyEntry, Evidence
from app.testkit.helpers import csrf_token
from tests.scenes.evidence import (  # noqa: F401  (evidence_dir is a fixture)
    JPEG,
    MZ_AS_JPG,
    evidence_counts,
    evidence_dir,
    held_incident,
    stored_files,
)

pytestmark = pytest.mark.usefixtures("evidence_dir")
XSS = "<img src=x onerror=alert(1)>.jpg"
OUR_PAGES = {"Sec-Fetch-Site": "same-origin"}  # what a browser sends from our own pages


@pytest.fixture
def case(app, world):
    """An on-site incident of org A held by the world's technician: ids."""
    return held_incident(app, world)


def page(case, who="desk"):
    if who == "technician":
        return f"/tech/dispatches/{case['dispatch']}"
    return f"/desk/incidents/{case['incident']}?lang=en"


def post_file(client, url, token, data=JPEG, name="receipt.jpg", **fields):
    """A multipart form post, encoded in memory (the test client would spool big ones)."""
    values = {"file": FileStorage(io.BytesIO(data), name), "kind": "receipt",
              "csrf_token": token, **fields}
    boundary, body = encode_multipart({k: v for k, v in values.items() if v is not None})
    return client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}",
                       follow_redirects=True)


def desk_upload_url(case):
    return f"/desk/incidents/{case['incident']}/evidence"


def test_the_desk_uploads_a_receipt_and_sees_its_hash_and_custody(app, login, world, case):
    client = login(world.emails["desk"])
    token = csrf_token(client, page(case))
    text = client.get(page(case)).text
    assert 'accept="image/*,application/pdf,text/plain"' in text
    assert 'capture="environment"' in text
    response = post_file(client, desk_upload_url(case), token, description="タクシー代")
    assert response.status_code == 200
    assert hashlib.sha256(JPEG).hexdigest() in response.text
    assert "タクシー代" in response.text
    assert len(stored_files(app)) == 1


def test_opening_a_file_from_the_page_is_recorded_in_its_custody(app, login, world, case):
    client = login(world.emails["desk"])
    post_file(client, desk_upload_url(case), csrf_token(client, page(case)))
    shown = client.get("/desk/evidence/1", headers=OUR_PAGES)
    assert (shown.status_code, shown.data, shown.mimetype) == (200, JPEG, "image/jpeg")
    assert "attachment" not in shown.headers.get("Content-Disposition", "")
    shown.close()
    saved = client.get("/desk/evidence/1?download=1", headers=OUR_PAGES)
    assert saved.headers["Content-Disposition"].startswith("attachment")
    saved.close()
    with app.app_context():
        actions = db.session.scalars(select(CustodyEntry.action).order_by(CustodyEntry.id)).all()
    assert actions == ["upload", "view", "download"]
    assert "Downloaded" in client.get(page(case)).text


@pytest.mark.parametrize(("data", "name", "message"), [
    (MZ_AS_JPG, "receipt.jpg", "Programs and scripts are not accepted"),
    (b"", "empty.jpg", "The file is empty."),
    (JPEG, "../../etc/passwd", "The file name must not contain a path."),
])
def test_a_refused_file_is_explained_and_nothing_is_stored(app, login, world, case, data, name,
                                                           message):
    client = login(world.emails["desk"])
    client.get("/lang/en")  # the refusal is shown in the page's language
    token = csrf_token(client, page(case))
    before = evidence_counts(app)
    response = post_file(client, desk_upload_url(case), token, data, name)
    assert message in response.text
    assert evidence_counts(app) == before
    assert stored_files(app) == []


@pytest.mark.parametrize("extra", [1, 2 * 1024 * 1024])
def test_an_oversized_file_is_explained_and_nothing_is_stored(app, login, world, case,
                                                              monkeypatch, extra):
    monkeypatch.setitem(app.config, "EVIDENCE_MAX_BYTES", 200 * 1024)
    client = login(world.emails["desk"])
    token = csrf_token(client, page(case))
    before = evidence_counts(app)
    response = post_file(client, desk_upload_url(case), token, JPEG + b"\0" * (200 * 1024 + extra))
    assert response.status_code == 200
    assert any(words in response.text for words in ("too large", "at most", "大きすぎます"))
    assert evidence_counts(app) == before
    assert stored_files(app) == []


def test_an_upload_without_the_csrf_token_is_refused(app, login, world, case):
    client = login(world.emails["desk"])
    before = evidence_counts(app)
    response = post_file(client, desk_upload_url(case), None)
    assert response.status_code == 400
    assert evidence_counts(app) == before
    assert stored_files(app) == []


def test_the_technician_uploads_a_photo_from_the_visit_page(app, login, world, case):
    client = login(world.emails["technician"])
    text = client.get(page(case, "technician")).text
    assert 'capture="environment"' in text
    token = csrf_token(client, page(case, "technician"))
    response = post_file(client, f"/tech/dispatches/{case['dispatch']}/evidence", token,
                         kind="photo", name=XSS)
    assert response.status_code == 200
    assert XSS not in response.text and "&lt;img src=x" in response.text
    with app.app_context():
        evidence = db.session.scalars(select(Evidence)).one()
        assert (evidence.dispatch_id, evidence.kind) == (case["dispatch"], "photo")
    assert len(stored_files(app)) == 1


def test_another_technicians_visit_page_upload_is_404(app, login, world, case):
    client = login(world.emails["other_technician"])
    token = csrf_token(client, "/tech/")
    before = evidence_counts(app)
    response = post_file(client, f"/tech/dispatches/{case['dispatch']}/evidence", token)
    assert response.status_code == 404
    assert evidence_counts(app) == before
    assert stored_files(app) == []


def test_the_insurer_sees_the_list_but_no_upload_form(app, client, login, world, case):
    desk = login(world.emails["desk"])
    post_file(desk, desk_upload_url(case), csrf_token(desk, page(case)))
    client.get("/logout")
    insurer = login(world.emails["insurer"])
    text = insurer.get(page(case)).text
    assert hashlib.sha256(JPEG).hexdigest() in text
    assert 'enctype="multipart/form-data"' not in text
    shown = insurer.get("/desk/evidence/1", headers=OUR_PAGES)
    assert (shown.status_code, shown.data) == (200, JPEG)
    shown.close()


def custody_actions(app):
    with app.app_context():
        return db.session.scalars(select(CustodyEntry.action).order_by(CustodyEntry.id)).all()


@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
    {"Referer": "https://evil.example/page"}, {}])
def test_a_link_from_another_site_asks_first_and_records_nothing(app, login, world, case,
                                                                  headers):
    """An <img> or link elsewhere cannot put a signed-in user in the custody chain."""
    client = login(world.emails["desk"])
    post_file(client, desk_upload_url(case), csrf_token(client, page(case)))
    asked = client.get("/desk/evidence/1?download=1", headers=headers)
    assert asked.status_code == 200 and asked.mimetype == "text/html"
    assert asked.data != JPEG and 'name="download"' in asked.text
    assert custody_actions(app) == ["upload"]
    forged = client.post("/desk/evidence/1", data={"download": "1"})  # no CSRF token
    assert forged.status_code == 400 and custody_actions(app) == ["upload"]
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', asked.text).group(1)
    opened = client.post("/desk/evidence/1", data={"download": "1", "csrf_token": token})
    assert opened.data == JPEG and opened.headers["Content-Disposition"].startswith("attachment")
    opened.close()
    assert custody_actions(app) == ["upload", "download"]


@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "same-origin"}, {"Sec-Fetch-Site": "none"},
    {"Referer": "http://localhost/desk/incidents/1"}])
def test_our_own_pages_and_a_typed_address_open_the_file_at_once(app, login, world, case,
                                                                  headers):
    client = login(world.emails["desk"])
    post_file(client, desk_upload_url(case), csrf_token(client, page(case)))
    shown = client.get("/desk/evidence/1", headers=headers)
    assert shown.data == JPEG
    shown.close()
    assert custody_actions(app) == ["upload", "view"]


def test_another_insurers_user_gets_404_for_the_file(app, client, login, world, case):
    desk = login(world.emails["desk"])
    post_file(desk, desk_upload_url(case), csrf_token(desk, page(case)))
    client.get("/logout")
    other = login(world.emails["other_insurer"])
    before = evidence_counts(app)
    assert other.get("/desk/evidence/1").status_code == 404
    assert evidence_counts(app) == before


@pytest.mark.parametrize("who", ["desk", "technician"])
def test_the_upload_form_offers_every_kind(app, login, world, case, who):
    """The kind list is filled (the macro needs the page's context to see the kinds)."""
    client = login(world.emails[who])
    html = client.get(page(case, who)).text
    form = re.search(r'<form[^>]*class="evidence-upload".*?</form>', html, re.S).group(0)
    assert re.findall(r'<option value="(\w+)"', form) == [
        "receipt", "photo", "log", "work_report", "other"]
