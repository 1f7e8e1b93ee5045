"""Evidence over the API: multipart upload, list, metadata with custody, download."""

import hashlib
import io

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app.extensions import db
from app.models import Dispatch
from tests.scenes.evidence import (  # noqa: F401  (evidence_dir is a fixture)
    JPEG,
    MZ_AS_JPG,
    PDF,
    evidence_counts,
    evidence_dir,
    held_incident,
    stored_files,
)

pytestmark = pytest.mark.usefixtures("evidence_dir")


@pytest.fixture
def incident_id(app, world):
    """An on-site incident of org A held by the world's technician."""
    return held_incident(app, world)["incident"]


def post_file(client, world, incident_id, data=JPEG, name="receipt.jpg", role="desk", **fields):
    """Encoded here in memory: the test client would spool a large body to an unclosed file."""
    boundary, body = encode_multipart(
        {"file": FileStorage(io.BytesIO(data), name), "kind": "receipt", **fields})
    return client.post(f"/api/v1/incidents/{incident_id}/evidence", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}",
                       headers={"Authorization": f"Bearer {world.tokens[role]}"})


def test_an_upload_answers_201_with_the_hash_and_the_upload_in_the_custody_chain(
        client, world, incident_id):
    response = post_file(client, world, incident_id, description="タクシー代")
    assert response.status_code == 201, response.json
    body = response.json
    assert (body["sha256"], body["size"], body["content_type"], body["name"]) == (
        hashlib.sha256(JPEG).hexdigest(), len(JPEG), "image/jpeg", "receipt.jpg")
    assert body["description"] == "タクシー代"
    assert [c["action"] for c in body["custody"]] == ["upload"]
    assert body["custody"][0]["actor"] == world.emails["desk"]


def test_the_technician_uploads_to_their_dispatch(app, client, world, incident_id):
    with app.app_context():
        dispatch_id = db.session.scalars(select(Dispatch.id)).one()
    response = post_file(client, world, incident_id, PDF, "report.pdf", role="technician",
                         kind="work_report", dispatch_id=str(dispatch_id))
    assert response.status_code == 201, response.json
    assert (response.json["dispatch_id"], response.json["kind"]) == (dispatch_id, "work_report")


def test_list_metadata_and_download_record_custody(client, api, world, incident_id):
    evidence_id = post_file(client, world, incident_id).json["id"]
    listed = api("insurer").get(f"/api/v1/incidents/{incident_id}/evidence")
    assert [e["id"] for e in listed.json["items"]] == [evidence_id]
    download = api("insurer").get(listed.json["items"][0]["download_url"])
    assert download.status_code == 200
    assert download.data == JPEG
    assert download.mimetype == "image/jpeg"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-SHA256"] == hashlib.sha256(JPEG).hexdigest()
    download.close()
    detail = api("desk").get(f"/api/v1/evidence/{evidence_id}").json
    assert [(c["action"], c["actor"]) for c in detail["custody"]] == [
        ("upload", world.emails["desk"]), ("download", world.emails["insurer"])]
    assert detail["custody"][1]["remote_addr"] == "127.0.0.1"


@pytest.mark.parametrize(("data", "name", "fields", "status", "code"), [
    (MZ_AS_JPG, "receipt.jpg", {}, 415, "unsupported_media_type"),
    (b"\x7fELF\x02\x01", "photo.jpg", {}, 415, "unsupported_media_type"),
    (b"", "empty.jpg", {}, 422, "validation_error"),
    (JPEG, "../../../etc/cron.d/x.jpg", {}, 422, "validation_error"),
    (JPEG, "receipt.jpg", {"kind": "selfie"}, 422, "validation_error"),
    (JPEG, "receipt.jpg", {"owner": "me"}, 422, "validation_error"),
    (JPEG, "receipt.jpg", {"description": "x" * 501}, 422, "validation_error"),
    (JPEG, "receipt.jpg", {"dispatch_id": "999"}, 404, "not_found"),
])
def test_a_refused_upload_stores_nothing(app, client, world, incident_id, data, name, fields,
                                         status, code):
    before = evidence_counts(app)
    response = post_file(client, world, incident_id, data, name, **fields)
    assert response.status_code == status, response.json
    assert response.json["error"]["code"] == code
    assert evidence_counts(app) == before
    assert stored_files(app) == []


@pytest.mark.parametrize("form", [{"kind": "receipt"}, {"kind": "receipt", "file": "JPEG"}])
def test_an_upload_without_a_file_is_refused(app, client, world, incident_id, form):
    before = evidence_counts(app)
    response = client.post(f"/api/v1/incidents/{incident_id}/evidence",
                           data=form, content_type="multipart/form-data",
                           headers={"Authorization": f"Bearer {world.tokens['desk']}"})
    assert response.status_code == 422
    assert response.json["error"]["code"] == "validation_error"
    assert evidence_counts(app) == before


@pytest.mark.parametrize("extra", [1, 2 * 1024 * 1024])
def test_an_oversized_upload_is_413_and_stores_nothing(app, client, world, incident_id,
                                                      monkeypatch, extra):
    """Just over the limit: the service stops streaming; far over: the request is refused."""
    monkeypatch.setitem(app.config, "EVIDENCE_MAX_BYTES", 200 * 1024)
    before = evidence_counts(app)
    response = post_file(client, world, incident_id, JPEG + b"\x00" * (200 * 1024 + extra))
    assert response.status_code == 413
    assert response.json["error"]["code"] == "payload_too_large"
    assert evidence_counts(app) == before
    assert stored_files(app) == []


def test_a_file_larger_than_the_global_body_limit_but_within_the_evidence_limit_is_taken(
        client, world, incident_id):
    response = post_file(client, world, incident_id, JPEG + b"\x00" * (3 * 1024 * 1024))
    assert response.status_code == 201, response.json
    assert response.json["size"] == len(JPEG) + 3 * 1024 * 1024


def test_other_json_posts_still_need_json(client, world, incident_id):
    response = client.post(f"/api/v1/incidents/{incident_id}/notes", data={"note": "x"},
                           headers={"Authorization": f"Bearer {world.tokens['desk']}"})
    assert response.status_code == 415


@pytest.mark.parametrize("role", ["other_insurer", "other_technician", "other_customer"])
def test_another_tenants_evidence_is_404_everywhere(app, client, api, world, incident_id,
                                                     role):
    evidence_id = post_file(client, world, incident_id).json["id"]
    before = evidence_counts(app)
    for path in (f"/api/v1/evidence/{evidence_id}", f"/api/v1/evidence/{evidence_id}/content",
                 f"/api/v1/incidents/{incident_id}/evidence"):
        response = api(role).get(path)
        assert response.status_code == 404, path
        assert response.json["error"]["code"] == "not_found"
    assert evidence_counts(app) == before


@pytest.mark.parametrize(("role", "kind", "status"), [
    ("insurer", "receipt", 403), ("other_technician", "receipt", 404),
    ("other_customer", "photo", 404), ("customer", "receipt", 422)])
def test_only_staff_the_holding_technician_and_the_customer_may_upload(
        app, client, world, incident_id, role, kind, status):
    before = evidence_counts(app)
    assert post_file(client, world, incident_id, role=role, kind=kind).status_code == status
    assert evidence_counts(app) == before
    assert stored_files(app) == []


def test_a_customer_uploads_a_photo_of_its_own_incident(app, client, world, incident_id):
    response = post_file(client, world, incident_id, role="customer", kind="photo",
                         name="screen.jpg")
    assert response.status_code == 201, response.json
    assert (response.json["kind"], response.json["uploaded_by"]) == (
        "photo", world.emails["customer"])
    assert [c["action"] for c in response.json["custody"]] == ["upload"]


def test_an_upload_without_a_token_is_401(client, incident_id):
    response = client.post(f"/api/v1/incidents/{incident_id}/evidence",
                           data={"file": (io.BytesIO(JPEG), "a.jpg"), "kind": "receipt"},
                           content_type="multipart/form-data")
    assert response.status_code == 401


def test_the_openapi_document_describes_the_multipart_upload(client):
    spec = client.get("/api/openapi.json").json
    upload = spec["paths"]["/api/v1/incidents/{incident_id}/evidence"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert "/api/v1/evidence/{evidence_id}/content" in spec["paths"]
