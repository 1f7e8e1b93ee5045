"""Evidence endpoints: upload (multipart), list, metadata with custody, download.

The upload is the API's one body that is not JSON: the blueprint's before_request lets
this endpoint through with its own size limit (EVIDENCE_MAX_BYTES + 1 MiB for the form's
other parts) instead of the global 1 MiB. Werkzeug spools the file part to a temporary
file, and the service copies it on in chunks: a large upload is never whole in memory.
"""

from typing import Literal

from flask import g, request, send_file
from flask_openapi3 import FileStorage, Tag
from pydantic import BaseModel, ConfigDict, Field
from werkzeug.datastructures import FileStorage as UploadedFile

from app import access
from app.api import bp
from app.api.schemas import MAX_INTEGER, IncidentPath
from app.domain.timeutil import isoformat_utc
from app.errors import InvalidInput
from app.services.claims import evidence as service

TAG = Tag(name="evidence", description="Evidence files (receipts, photos, logs, work "
                                       "reports) and their chain of custody")
UPLOAD_ENDPOINT = "api.upload_evidence"  # named in app/api/__init__.py's body check


class EvidenceUpload(BaseModel):
    """multipart/form-data: the file and what it is."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)
    file: FileStorage
    kind: Literal[service.KINDS]
    description: str = Field("", max_length=service.DESCRIPTION_MAX)
    dispatch_id: int | None = Field(None, ge=1, le=MAX_INTEGER)


class EvidencePath(BaseModel):
    evidence_id: int = Field(ge=1, le=MAX_INTEGER)


class CustodyOut(BaseModel):
    action: str
    actor: str
    at: str
    remote_addr: str
    detail: str


class EvidenceOut(BaseModel):
    id: int
    incident_id: int
    dispatch_id: int | None
    kind: str
    name: str = Field(description="The uploader's file name: a label only, never a path")
    content_type: str = Field(description="Detected from the content, not from the name")
    size: int
    sha256: str
    description: str
    uploaded_by: str
    uploaded_at: str
    download_url: str


class EvidenceDetail(EvidenceOut):
    custody: list[CustodyOut]


class EvidenceList(BaseModel):
    items: list[EvidenceOut]


def _evidence_out(evidence):
    return {
        "id": evidence.id, "incident_id": evidence.incident_id,
        "dispatch_id": evidence.dispatch_id, "kind": evidence.kind,
        "name": evidence.original_name, "content_type": evidence.content_type,
        "size": evidence.size, "sha256": evidence.sha256, "description": evidence.description,
        "uploaded_by": evidence.uploaded_by_label,
        "uploaded_at": isoformat_utc(evidence.uploaded_at),
        "download_url": f"{bp.url_prefix}/evidence/{evidence.id}/content",
    }


def _detail_out(evidence):
    return {**_evidence_out(evidence), "custody": [
        {"action": c.action, "actor": c.actor_label, "at": isoformat_utc(c.at),
         "remote_addr": c.remote_addr, "detail": c.detail} for c in evidence.custody]}


@bp.post("/incidents/<int:incident_id>/evidence", tags=[TAG], responses={201: EvidenceDetail})
def upload_evidence(path: IncidentPath, form: EvidenceUpload):
    """Upload a file as multipart/form-data; its type is checked by content, 413 over the limit."""
    if not isinstance(form.file, UploadedFile) or not form.file.filename:  # e.g. a text field
        raise InvalidInput("Choose a file to upload.", {"field": "file"})
    evidence = service.store_upload(
        path.incident_id, g.api_user, form.file.stream, form.file.filename, form.kind,
        form.description, dispatch_id=form.dispatch_id, remote_addr=request.remote_addr or "")
    return _detail_out(evidence), 201


@bp.get("/incidents/<int:incident_id>/evidence", tags=[TAG], responses={200: EvidenceList})
def list_incident_evidence(path: IncidentPath):
    """The incident's evidence files, oldest first (metadata only)."""
    return {"items": [_evidence_out(e) for e in
                      service.list_evidence(path.incident_id, g.api_user)]}


@bp.get("/evidence/<int:evidence_id>", tags=[TAG], responses={200: EvidenceDetail})
def get_evidence(path: EvidencePath):
    """One evidence file's metadata with its chain of custody."""
    return _detail_out(access.get_evidence_for(g.api_user, path.evidence_id))


@bp.get("/evidence/<int:evidence_id>/content", tags=[TAG],
        responses={200: {"content": {"application/octet-stream": {
            "schema": {"type": "string", "format": "binary"}}}}})
def download_evidence(path: EvidencePath):
    """The file itself, as an attachment; the download is recorded in the custody chain."""
    evidence, handle = service.open_evidence(path.evidence_id, g.api_user, "download",
                                             remote_addr=request.remote_addr or "")
    response = send_file(handle, mimetype=evidence.content_type, as_attachment=True,
                         download_name=evidence.original_name, max_age=0)
    response.content_type = evidence.content_type  # as stored: werkzeug adds a 2nd charset
    response.headers["X-Content-SHA256"] = evidence.sha256
    response.content_length = evidence.size
    return response
