"""Desk console: upload evidence to an incident, open a file (custody recorded).

An upload form may be up to EVIDENCE_MAX_BYTES, far over the global 1 MiB body limit. The
CSRF check of Flask-WTF runs before any view and reads the form, which would refuse such a
body with 413; so the upload views are exempt from it, raise the limit for their own
request, and then check the CSRF token themselves (read_upload), before the file is used.
"""

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError, validate_csrf
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms.validators import ValidationError

from app import access
from app.errors import AppError, InvalidInput
from app.extensions import csrf
from app.services.claims import evidence as service
from app.web.desk import bp

FORM_OVERHEAD = 1024 * 1024  # the form's other fields and the multipart framing
INLINE_TYPES = ("image/jpeg", "image/png", "application/pdf")


@bp.app_context_processor
def _evidence_context():
    """What the evidence partials need: the kinds of evidence."""
    return {"evidence_kinds": service.KINDS}


def read_upload():
    """The uploaded file and fields of this request, after the size and CSRF checks."""
    request.max_content_length = current_app.config["EVIDENCE_MAX_BYTES"] + FORM_OVERHEAD
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError as exc:
        raise CSRFError(exc.args[0]) from None
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidInput(_("Choose a file to upload."), {"field": "file"})
    return upload, request.form.get("kind", ""), request.form.get("description", "")


def store_from_form(incident_id, dispatch_id=None):
    """Upload this request's file as the current user; flash the outcome."""
    try:
        upload, kind, description = read_upload()
        evidence = service.store_upload(incident_id, current_user, upload.stream,
                                        upload.filename, kind, description,
                                        dispatch_id=dispatch_id,
                                        remote_addr=request.remote_addr or "")
    except RequestEntityTooLarge:
        flash(_("The file is too large: at most %(mb)s MB.",
                mb=current_app.config["EVIDENCE_MAX_BYTES"] // (1024 * 1024)), "error")
    except AppError as exc:
        flash(_(exc.message), "error")  # the service speaks English; the catalog knows it
    else:
        flash(_("Evidence stored: %(name)s (SHA-256 %(sha)s…)", name=evidence.original_name,
                sha=evidence.sha256[:12]), "success")


@bp.post("/incidents/<int:incident_id>/evidence")
@csrf.exempt
def upload_evidence(incident_id):
    """Upload a file (receipt, photo, log, work report) to the incident."""
    store_from_form(incident_id)
    return redirect(url_for("desk.incident", incident_id=incident_id) + "#evidence")


@bp.get("/evidence/<int:evidence_id>")
def evidence_file(evidence_id):
    """Show (photos, PDF) or download an evidence file; the access joins its custody chain.

    Only a request from our own pages (or typed in by the user) opens the file at once. A
    link or an <img> on another site gets a page that asks first, so that no other site
    can make a signed-in user appear in the custody chain.
    """
    download = bool(request.args.get("download"))
    if not _from_our_pages():
        evidence = access.get_evidence_for(current_user, evidence_id)
        return render_template("desk/evidence_open.html", evidence=evidence,
                               download=download, form=FlaskForm())
    return _send(evidence_id, download)


@bp.post("/evidence/<int:evidence_id>")
def open_evidence_file(evidence_id):
    """The same as above, asked for with the page's form (CSRF-checked)."""
    return _send(evidence_id, bool(request.form.get("download")))


def _send(evidence_id, download):
    action = "download" if download else "view"
    evidence, handle = service.open_evidence(evidence_id, current_user, action,
                                             remote_addr=request.remote_addr or "")
    inline = action == "view" and evidence.content_type in INLINE_TYPES
    response = send_file(handle, mimetype=evidence.content_type, as_attachment=not inline,
                         download_name=evidence.original_name, max_age=0)
    response.content_type = evidence.content_type  # as stored: werkzeug adds a 2nd charset
    return response


def _from_our_pages():
    """True for a request a browser says came from this site or from the user themselves
    (Sec-Fetch-Site), or, from a browser that does not say, with a Referer of this site."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site in ("same-origin", "none")
    referrer = urlsplit(request.referrer or "")
    return (referrer.scheme, referrer.netloc) == (request.scheme, request.host)
