"""Evidence files: streamed uploads checked by content, tenancy-checked access, custody.

Files live under EVIDENCE_DIR/<yyyy>/<mm>/<random hex><ext>, outside the web root. The
client's file name is only a display label: it never becomes part of a path. The type is
read from the content (see app/domain/filetypes.py); ZIP archives are refused, so a
log must be uploaded as text (an archive could hide anything from the insurer's reader).
"""

import hashlib
import io
import os
import unicodedata
import uuid
from pathlib import Path

from flask import current_app

from app import access
from app.domain.filetypes import TypeSniffer
from app.domain.timeutil import utcnow
from app.errors import AppError, InvalidInput, NotFound
from app.extensions import db
from app.files import keep_only_if_committed
from app.models import CustodyEntry, Dispatch, Evidence
from app.services.actors import label_for
from app.services.incidents.audit import append_event
from app.services.transaction import commit_or_conflict

CHUNK = 64 * 1024
KINDS = ("receipt", "photo", "log", "work_report", "other")
CUSTOMER_KINDS = ("photo", "log", "other")  # receipts and work reports are the provider's
ACCESS_ACTIONS = ("view", "download")
NAME_MAX = 255
DESCRIPTION_MAX = 500


class EvidenceTooLarge(AppError):
    status, code = 413, "payload_too_large"


def evidence_path(evidence):
    """Where an evidence file is stored (for readers such as the packet builder)."""
    return Path(current_app.config["EVIDENCE_DIR"]) / evidence.stored_name


def record_custody(evidence, action, actor_label, detail="", *, actor_id=None, remote_addr="",
                   now=None):
    """Add a custody entry to the session; the caller commits with its own change."""
    entry = CustodyEntry(evidence=evidence, action=action, actor_id=actor_id,
                         actor_label=actor_label[:254], remote_addr=(remote_addr or "")[:64],
                         detail=(detail or "")[:500], at=now or utcnow())
    db.session.add(entry)
    return entry


# Characters that reorder text on screen (an "exe.jpg" shown as "gpj.exe"): refused.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                          "\u2066\u2067\u2068\u2069")


def display_name(filename):
    """The client's file name as a label; a name that tries to be a path is refused.

    The checks read the name's compatibility form (NFKC) too: full-width "．．／" is
    "../" there, and so it becomes in the ASCII fallback of Content-Disposition.
    """
    name = unicodedata.normalize("NFC", (filename or "").strip())
    compatible = unicodedata.normalize("NFKC", name)
    if any(sep in form for form in (name, compatible) for sep in ("/", "\\")) \
            or compatible.strip() in (".", ".."):
        raise InvalidInput("The file name must not contain a path.",
                           {"field": "file", "reason": "bad_name"})
    if any(unicodedata.category(ch) == "Cc" for ch in compatible):
        raise InvalidInput("The file name contains control characters.",
                           {"field": "file", "reason": "bad_name"})
    if any(ch in BIDI_CONTROLS for ch in name):
        raise InvalidInput("The file name contains characters that reverse its text.",
                           {"field": "file", "reason": "bad_name"})
    return name[:NAME_MAX] or "file"


def _check_fields(kind, description):
    if kind not in KINDS:
        raise InvalidInput(f"The kind must be one of: {', '.join(KINDS)}.", {"field": "kind"})
    description = (description or "").strip()
    if len(description) > DESCRIPTION_MAX:
        raise InvalidInput(f"A description has at most {DESCRIPTION_MAX} characters.",
                           {"field": "description"})
    return description


def _check_uploader(incident_id, actor, dispatch_id, kind):
    """The incident and dispatch the actor may add evidence to, else 403/404."""
    access.require(actor, "evidence.upload")
    if access.acts_for_own_organization_only(actor) and kind not in CUSTOMER_KINDS:
        raise InvalidInput(f"A customer's file is one of: {', '.join(CUSTOMER_KINDS)}.",
                           {"field": "kind"})
    incident = access.get_incident_for(actor, incident_id)
    dispatch = db.session.get(Dispatch, dispatch_id) if dispatch_id is not None else None
    if dispatch_id is not None and (dispatch is None or dispatch.incident_id != incident.id):
        raise NotFound("Dispatch not found.")
    access.require_evidence_upload(actor, incident, dispatch)


def _stream_to_disk(stream, max_bytes, now):
    """Copy `stream` to a new file in chunks, hashing and sniffing; returns its facts.

    The partial file is deleted on any refusal, so nothing of a refused upload stays.
    """
    folder = Path(current_app.config["EVIDENCE_DIR"]) / f"{now:%Y}" / f"{now:%m}"
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f"{uuid.uuid4().hex}.part"
    digest, sniffer, size = hashlib.sha256(), TypeSniffer(), 0
    try:
        with open(partial, "xb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise EvidenceTooLarge(f"A file may have at most {max_bytes} bytes.",
                                           {"field": "file", "max_bytes": max_bytes})
                digest.update(chunk)
                sniffer.feed(chunk)
                out.write(chunk)
        if size == 0:
            raise InvalidInput("The file is empty.", {"field": "file", "reason": "empty"})
        content_type, extension = sniffer.result()
        final = folder / f"{partial.stem}{extension}"
        os.replace(partial, final)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    stored_name = final.relative_to(current_app.config["EVIDENCE_DIR"]).as_posix()
    return stored_name, size, digest.hexdigest(), content_type


def store_upload(incident_id, actor, stream, filename, kind, description, dispatch_id=None, *,
                 remote_addr="", now=None):
    """Store an uploaded evidence file for an incident: checked, hashed, recorded, custody."""
    now = now or utcnow()
    name, description = display_name(filename), _check_fields(kind, description)
    _check_uploader(incident_id, actor, dispatch_id, kind)
    db.session.rollback()  # why: never hold a transaction (SQLite: the write lock) while streaming
    stored_name, size, sha256, content_type = _stream_to_disk(
        stream, current_app.config["EVIDENCE_MAX_BYTES"], now)
    try:
        _check_uploader(incident_id, actor, dispatch_id, kind)  # again: streaming takes time
        incident = access.get_incident_for(actor, incident_id)
        label = label_for(actor, "")
        evidence = Evidence(
            incident_id=incident.id, dispatch_id=dispatch_id, kind=kind, original_name=name,
            stored_name=stored_name, content_type=content_type, size=size, sha256=sha256,
            description=description, uploaded_by_id=actor.id, uploaded_by_label=label,
            uploaded_at=now)
        db.session.add(evidence)
        record_custody(evidence, "upload", label, f"sha256 {sha256}", actor_id=actor.id,
                       remote_addr=remote_addr, now=now)
        append_event(incident, kind="evidence", actor=actor, actor_label=label, now=now,
                     note=name, data={"action": "upload", "kind": kind, "sha256": sha256,
                                      "size": size})
        commit_or_conflict(incident)
    except BaseException:
        db.session.rollback()
        (Path(current_app.config["EVIDENCE_DIR"]) / stored_name).unlink(missing_ok=True)
        raise
    return evidence


def list_evidence(incident_id, actor):
    """The evidence of an incident the actor may see, oldest first."""
    return list(access.get_incident_files_for(actor, incident_id).evidence)


def open_evidence(evidence_id, actor, action="download", *, remote_addr="", now=None):
    """Open an evidence file for reading, recording who did it: (evidence, binary file)."""
    if action not in ACCESS_ACTIONS:
        raise InvalidInput(f"The action must be one of: {', '.join(ACCESS_ACTIONS)}.",
                           {"field": "action"})
    evidence = access.get_evidence_for(actor, evidence_id)
    try:
        handle = open(evidence_path(evidence), "rb")
    except FileNotFoundError:
        current_app.logger.error("Evidence %s: file %s is missing", evidence.id,
                                 evidence.stored_name)
        raise NotFound("The evidence file is missing; the administrator has been told.") \
            from None
    try:
        record_custody(evidence, action, label_for(actor, ""), actor_id=actor.id,
                       remote_addr=remote_addr, now=now)
        db.session.commit()
    except BaseException:
        handle.close()
        raise
    return evidence, handle


def store_received(incident, data, filename, *, label, description="", now=None):
    """Keep a file that arrived with a mail as evidence of `incident`: the same checks as an
    upload (name, size, type from the content), SHA-256 and custody; no commit.

    A file breaking a rule raises the upload's error (the caller keeps the file in
    quarantine with that reason); the stored file goes if the transaction does not commit.
    """
    now = now or utcnow()
    name = display_name(filename)
    stored_name, size, sha256, content_type = _stream_to_disk(
        io.BytesIO(data), current_app.config["EVIDENCE_MAX_BYTES"], now)
    keep_only_if_committed(Path(current_app.config["EVIDENCE_DIR"]) / stored_name)
    kind = "photo" if content_type.startswith("image/") else "other"
    evidence = Evidence(
        incident_id=incident.id, kind=kind, original_name=name, stored_name=stored_name,
        content_type=content_type, size=size, sha256=sha256,
        description=(description or "")[:DESCRIPTION_MAX], uploaded_by_label=label[:254],
        uploaded_at=now)
    db.session.add(evidence)
    record_custody(evidence, "upload", label, f"sha256 {sha256}", now=now)
    append_event(incident, kind="evidence", actor=None, actor_label=label[:254], now=now,
                 note=name, data={"action": "upload", "kind": kind, "sha256": sha256,
                                  "size": size, "channel": "email"})
    return evidence
