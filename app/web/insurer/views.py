"""Routes of the insurer blueprint: notices, claims of its policies, packets, decisions."""

from flask import flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import access
from app.domain.labels import STATE_LABELS
from app.errors import AppError
from app.services.claims import claims, coverage
from app.services.claims.notices import notices_for
from app.services.claims.packets import SigningKeyError, packet_path, signing_public_key
from app.web.formutil import flash_form_errors
from app.web.insurer import bp
from app.web.insurer.forms import ClaimActionForm, VerifyForm


@bp.get("/")
def home():
    """Claims of the insurer's policies and the notices it received, newest first."""
    state = request.args.get("state") or None
    return render_template("insurer/home.html", claims=claims.list_claims(current_user, state),
                           notices=notices_for(current_user), state=state,
                           signing_key=_signing_key())


def _signing_key():
    """(public key, fingerprint) that packets are signed with, or None when misconfigured."""
    try:
        return signing_public_key()
    except SigningKeyError:
        return None  # the operator's error: the portal still lists claims and notices


@bp.get("/policies/<int:policy_id>")
def policy(policy_id):
    """One of the insurer's policies: period, limits, deductible and the terms per head."""
    return render_template("insurer/policy.html",
                           policy=coverage.policy_terms(current_user, policy_id))


@bp.get("/claims/<int:claim_id>")
def claim(claim_id):
    """One claim: the computation, packet versions, and the decisions possible now."""
    return _claim_page(access.get_claim_for(current_user, claim_id))


def _claim_page(item, results=None):
    """The claim page, with the decisions possible now (also under a check's result)."""
    actions = claims.actions_now(item)
    return render_template(
        "insurer/claim.html", claim=item, actions=actions,
        action_fields={action: claims.action_params(action) for action in actions},
        form=ClaimActionForm(formdata=None), verify_form=VerifyForm(formdata=None),
        results=results, heads=_head_names(item),
        events=access.events_seen_by(current_user, item.incident))


@bp.get("/claims/<int:claim_id>/packets/<int:version>")
def packet(claim_id, version):
    """Download one packet version (the ZIP as it was submitted)."""
    item = access.get_claim_for(current_user, claim_id)
    found = claims.get_packet(item, version)
    return send_file(packet_path(found), mimetype="application/zip", as_attachment=True,
                     download_name=f"{item.incident.reference}-claim-v{version}.zip",
                     max_age=0)


@bp.post("/claims/<int:claim_id>/packets/<int:version>/verify")
def verify(claim_id, version):
    """Check a packet version in the portal; each problem names its file."""
    item = access.get_claim_for(current_user, claim_id)
    form = VerifyForm()
    if not form.validate():
        flash_form_errors(form)
        return redirect(url_for("insurer.claim", claim_id=claim_id))
    found, problems = claims.verify(item, version)
    if problems:
        flash(_("Packet version %(version)s failed the check.", version=found.version),
              "error")
    else:
        flash(_("Packet version %(version)s is intact and signed.", version=found.version),
              "success")
    return _claim_page(item, results={"version": found.version, "problems": problems})


def _head_names(item):
    return {c.head.code: c.head for c in item.policy.coverages}


@bp.post("/claims/<int:claim_id>/actions")
def act(claim_id):
    """Acknowledge, request information, approve, deny or record payment."""
    form = ClaimActionForm()
    if not form.validate():
        flash_form_errors(form)
        return redirect(url_for("insurer.claim", claim_id=claim_id))
    fields = {name: form[name].data for name in claims.action_params(form.action.data)}
    try:
        item = claims.insurer_action(claim_id, current_user, form.action.data, **fields)
    except AppError as exc:
        if exc.status == 404:
            raise
        flash(exc.message, "error")
    else:
        flash(_("The claim is now: %(state)s", state=STATE_LABELS[item.incident.state]),
              "success")
    return redirect(url_for("insurer.claim", claim_id=claim_id))
