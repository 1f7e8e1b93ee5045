"""Evidence service: uploads checked by content and streamed, tenancy, custody."""

import hashlib
import io
import tracemalloc
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from app.errors import AppError, ConcurrentUpdate, Forbidden, InvalidInput, NotFound
from app.extensions import db
from app.models import CustodyEntry, Dispatch, Evidence, IncidentEvent, User
from app.services.claims import evidence as service
from app.testkit import factories
from tests.scenes.evidence import (  # noqa: F401  (evidence_dir is a fixture)
    ELF_AS_JPG,
    HEIC,
    JPEG,
    MZ_AS_JPG,
    PDF,
    PNG,
    SCRIPT,
    SJIS_CSV,
    UNKNOWN,
    UTF8_LOG,
    ZIP,
    evidence_counts,
    evidence_dir,
    held_incident,
    stored_files,
    stream,
)

NOW = datetime(2024, 6, 1, 3, 0)
pytestmark = pytest.mark.usefixtures("evidence_dir")


@pytest.fixture
def case(app, world):
    """An on-site incident of org A held by the world's technician; ids."""
    return held_incident(app, world)


def user(world, role):
    return db.session.get(User, world.users[role])


def upload(world, case, data=JPEG, *, role="desk", name="receipt.jpg", kind="receipt", **kw):
    return service.store_upload(case["incident"], user(world, role), stream(data), name, kind,
                                kw.pop("description", "Taxi to the customer"), now=NOW, **kw)


def test_a_photo_is_stored_under_a_generated_name_with_its_hash_size_and_custody(
        app, ctx, world, case):
    evidence = upload(world, case, remote_addr="192.0.2.7")
    path = service.evidence_path(evidence)
    assert path.read_bytes() == JPEG
    assert evidence.stored_name.startswith("2024/06/") and evidence.stored_name.endswith(".jpg")
    assert "receipt" not in evidence.stored_name
    assert (evidence.sha256, evidence.size) == (hashlib.sha256(JPEG).hexdigest(), len(JPEG))
    assert (evidence.content_type, evidence.original_name) == ("image/jpeg", "receipt.jpg")
    [entry] = evidence.custody
    assert (entry.action, entry.remote_addr, entry.actor_label) == (
        "upload", "192.0.2.7", world.emails["desk"])
    event = db.session.scalars(select(IncidentEvent).order_by(IncidentEvent.seq.desc())).first()
    assert (event.kind, event.data["sha256"]) == ("evidence", evidence.sha256)


@pytest.mark.parametrize(("data", "content_type"), [
    (JPEG, "image/jpeg"), (PNG, "image/png"), (HEIC, "image/heic"), (PDF, "application/pdf"),
    (UTF8_LOG, "text/plain; charset=utf-8"), (SJIS_CSV, "text/plain; charset=shift_jis"),
])
def test_the_type_is_read_from_the_content_not_the_name(app, ctx, world, case, data,
                                                        content_type):
    evidence = upload(world, case, data, name="whatever.bin")
    assert evidence.content_type == content_type


@pytest.mark.parametrize(("data", "name", "status", "reason"), [
    (MZ_AS_JPG, "receipt.jpg", 415, "executable"),
    (ELF_AS_JPG, "photo.jpg", 415, "executable"),
    (SCRIPT, "log.txt", 415, "executable"),
    (ZIP, "logs.zip", 415, "archive"),
    (UNKNOWN, "data.pdf", 415, "unknown_type"),
    (b"", "empty.jpg", 422, "empty"),
    (JPEG, "../../etc/passwd.jpg", 422, "bad_name"),
    (JPEG, "..\\..\\windows\\win.ini", 422, "bad_name"),
    (JPEG, "..", 422, "bad_name"),
    (JPEG, "bad\x00name.jpg", 422, "bad_name"),
    (JPEG, "．．／．．／etc／passwd.jpg", 422, "bad_name"),  # full-width: "../" in NFKC
    (JPEG, "..＼win.ini", 422, "bad_name"),
    (JPEG, "．．", 422, "bad_name"),
    (JPEG, "invoice\u202egpj.exe", 422, "bad_name"),  # shown as "invoiceexe.jpg"
    (JPEG, "\u2067photo.jpg", 422, "bad_name"),
])
def test_a_refused_file_leaves_nothing_on_disk_or_in_the_database(app, world, case, data, name,
                                                                   status, reason):
    before = evidence_counts(app)
    with app.app_context(), pytest.raises(AppError) as refused:
        upload(world, case, data, name=name)
    assert (refused.value.status, refused.value.details["reason"]) == (status, reason)
    assert evidence_counts(app) == before
    assert stored_files(app) == []


def test_a_file_over_the_limit_is_refused_and_its_partial_copy_deleted(app, world, case,
                                                                       monkeypatch):
    monkeypatch.setitem(app.config, "EVIDENCE_MAX_BYTES", 300 * 1024)
    before = evidence_counts(app)
    with app.app_context(), pytest.raises(service.EvidenceTooLarge):
        upload(world, case, JPEG + b"\x00" * 300 * 1024)
    assert evidence_counts(app) == before
    assert stored_files(app) == []
    with app.app_context():  # exactly the limit is fine
        upload(world, case, JPEG + b"\x00" * (300 * 1024 - len(JPEG)))


@pytest.mark.parametrize("name", ["領収書①.jpg", "ｶﾒﾗ写真.jpg", "見積(株).jpg"])
def test_japanese_names_are_kept_as_given(app, ctx, world, case, name):
    """The compatibility form is only read for the checks: ①, half-width kana and the
    like are kept exactly."""
    evidence = upload(world, case, name=name)
    assert evidence.original_name == name


def test_a_lost_race_at_commit_deletes_the_stored_file(app, world, case, monkeypatch):
    def clash(incident):
        db.session.rollback()
        raise ConcurrentUpdate(incident.reference)
    monkeypatch.setattr(service, "commit_or_conflict", clash)
    with app.app_context(), pytest.raises(ConcurrentUpdate):
        upload(world, case)
    assert stored_files(app) == []


@pytest.mark.parametrize("field", ["kind", "description"])
def test_bad_fields_are_refused_before_anything_is_read(app, world, case, field):
    data = stream(JPEG)
    with app.app_context(), pytest.raises(AppError) as refused:
        service.store_upload(case["incident"], user(world, "desk"), data, "a.jpg",
                             "selfie" if field == "kind" else "receipt",
                             "x" * 501 if field == "description" else "", now=NOW)
    assert refused.value.details["field"] == field
    assert data.tell() == 0


@pytest.mark.parametrize(("role", "error"), [
    ("other_technician", NotFound), ("insurer", Forbidden), ("other_insurer", Forbidden),
    ("other_customer", NotFound),
])
def test_only_staff_the_holding_technician_and_the_customer_may_upload(app, world, case, role,
                                                                       error):
    before = evidence_counts(app)
    with app.app_context(), pytest.raises(error):
        upload(world, case, role=role, kind="photo")
    assert evidence_counts(app) == before
    assert stored_files(app) == []


def test_a_customer_sends_photos_logs_and_others_but_no_receipts(app, world, case):
    with app.app_context():
        evidence = upload(world, case, role="customer", kind="photo", name="screen.jpg")
        assert (evidence.kind, evidence.uploaded_by_id) == ("photo", world.users["customer"])
        db.session.remove()
    before = evidence_counts(app)
    for kind in ("receipt", "work_report"):
        with app.app_context(), pytest.raises(InvalidInput) as refused:
            upload(world, case, role="customer", kind=kind)
        assert refused.value.details == {"field": "kind"}
    assert evidence_counts(app) == before
    assert len(stored_files(app)) == 1


def test_the_technician_may_upload_to_their_own_dispatch_only(app, world, case):
    with app.app_context():
        evidence = upload(world, case, role="technician", dispatch_id=case["dispatch"])
        assert evidence.dispatch_id == case["dispatch"]
        other = factories.make_incident(db.session.get(factories.Organization, world.org_a),
                                        state="on_site", technician=db.session.get(
                                            factories.Technician, world.other_technician))
        theirs = db.session.scalars(select(Dispatch).where(
            Dispatch.incident_id == other.id)).one().id
        with pytest.raises(NotFound):
            upload(world, case, role="technician", dispatch_id=theirs)
        with pytest.raises(NotFound):
            upload(world, {"incident": other.id}, role="technician")


def test_a_technician_whose_offer_was_declined_may_not_upload(app, world, case):
    with app.app_context():
        db.session.get(Dispatch, case["dispatch"]).state = "declined"
        db.session.commit()
        with pytest.raises((Forbidden, NotFound)):  # their declined offer shows them nothing
            upload(world, case, role="technician")


def test_opening_records_custody_with_the_address_and_returns_the_file(app, ctx, world, case):
    evidence_id = upload(world, case).id
    for role, action in (("insurer", "view"), ("technician", "download"), ("customer", "view")):
        evidence, handle = service.open_evidence(evidence_id, user(world, role), action,
                                                 remote_addr="198.51.100.1")
        with handle:
            assert handle.read() == JPEG
    entries = db.session.scalars(select(CustodyEntry).order_by(CustodyEntry.id)).all()
    assert [(e.action, e.actor_label) for e in entries] == [
        ("upload", world.emails["desk"]), ("view", world.emails["insurer"]),
        ("download", world.emails["technician"]), ("view", world.emails["customer"])]
    assert {e.remote_addr for e in entries[1:]} == {"198.51.100.1"}


@pytest.mark.parametrize("role", ["other_insurer", "other_technician", "other_customer"])
def test_another_tenants_evidence_is_not_found_and_no_custody_is_written(app, world, case,
                                                                        role):
    with app.app_context():
        evidence_id = upload(world, case).id
    before = evidence_counts(app)
    with app.app_context(), pytest.raises(NotFound) as refused:
        service.open_evidence(evidence_id, user(world, role))
    assert refused.value.message == "Evidence not found."
    assert evidence_counts(app) == before


def test_record_custody_adds_an_entry_for_the_callers_commit(app, ctx, world, case):
    evidence = upload(world, case)
    service.record_custody(evidence, "packed", "claim packet v1", "INC packet 1")
    db.session.commit()
    assert [e.action for e in db.session.get(Evidence, evidence.id).custody] == [
        "upload", "packed"]


class EndlessPdf(io.RawIOBase):
    """`size` bytes of a PDF made up on the fly: nothing held but the current chunk."""

    def __init__(self, size):
        self.left, self.first = size, True

    def readable(self):
        return True

    def read(self, n=-1):
        n = self.left if n < 0 else min(n, self.left)
        self.left -= n
        data = (b"%PDF-1.7\n" + b"0" * (n - 9)) if self.first and n >= 9 else b"0" * n
        self.first = False
        return data


def _peak_while_storing(world, case, size):
    tracemalloc.start()
    try:
        service.store_upload(case["incident"], user(world, "desk"), EndlessPdf(size),
                             "big.pdf", "other", "", now=NOW)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_file_size(app, ctx, world, case, monkeypatch):
    monkeypatch.setitem(app.config, "EVIDENCE_MAX_BYTES", 64 * 1024 * 1024)
    small = _peak_while_storing(world, case, 2 * 1024 * 1024)
    large = _peak_while_storing(world, case, 40 * 1024 * 1024)
    assert large < small + 512 * 1024, (small, large)
    sizes = sorted(p.stat().st_size for p in stored_files(app))
    assert sizes == [2 * 1024 * 1024, 40 * 1024 * 1024]
    assert all(Path(p).suffix == ".pdf" for p in stored_files(app))
