"""Shared by the evidence tests: sample files by type, a stored-files listing, row counts."""

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import CustodyEntry, Evidence, Incident, IncidentEvent

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 200
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 200
PDF = b"%PDF-1.7\n" + b"1 0 obj\n<<>>\nendobj\n" * 10
UTF8_LOG = "2024-06-01 10:00:00 不審な通信を検知\n".encode() * 20
SJIS_CSV = "日時,内容\n2024-06-01,駆付け費用\n".encode("cp932") * 20
MZ_AS_JPG = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200
ELF_AS_JPG = b"\x7fELF\x02\x01\x01" + b"\x00" * 200
SCRIPT = b"#!/bin/sh\nrm -rf /\n"
ZIP = b"PK\x03\x04\x14\x00\x00\x00" + b"\x00" * 200
UNKNOWN = bytes(range(256)) * 4


def stream(data):
    """A file-like object over `data`."""
    return io.BytesIO(data)


def stored_files(app):
    """Every file under EVIDENCE_DIR (partial files included)."""
    root = Path(app.config["EVIDENCE_DIR"])
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def evidence_counts(app):
    """(incidents, events, evidence, custody entries): a refusal must change none of them."""
    with app.app_context():
        counts = tuple(db.session.scalar(select(func.count(model.id))) for model in
                       (Incident, IncidentEvent, Evidence, CustodyEntry))
        db.session.remove()
    return counts


@pytest.fixture
def evidence_dir(app, tmp_path, monkeypatch):
    """EVIDENCE_DIR in the test's own temporary folder."""
    folder = tmp_path / "evidence"
    monkeypatch.setitem(app.config, "EVIDENCE_DIR", str(folder))
    return folder


def held_incident(app, world):
    """An on-site incident of org A held by the world's technician: its and its dispatch's id."""
    from app.models import Dispatch, Organization, Technician
    from app.testkit import factories

    with app.app_context():
        incident = factories.make_incident(db.session.get(Organization, world.org_a),
                                           state="on_site",
                                           technician=db.session.get(Technician, world.technician))
        ids = {"incident": incident.id,
               "dispatch": db.session.scalars(select(Dispatch.id).where(
                   Dispatch.incident_id == incident.id)).one()}
        db.session.remove()
    return ids
