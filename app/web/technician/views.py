"""The technician's phone pages (/tech/...) and the SMS one-tap link page (/a/<token>).

Logged-in pages act as the user; the link page needs no login: its signed,
single-use token is the credential, and it can only accept or decline. The rest
of the visit (depart, arrive, complete) needs the login, because the link is
spent once it has been used.
"""

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app import access
from app.access import get_dispatch_for
from app.auth import permission_required
from app.errors import AppError, Conflict, InvalidInput
from app.extensions import db
from app.models import Dispatch, Incident, UsedLink
from app.services.actors import ActingTechnician
from app.services.dispatch.links import LinkInvalid, read_offer_token
from app.services.dispatch.visits import OfferClosed, fire
from app.web.formutil import flash_form_errors
from app.web.technician import bp
from app.web.technician.forms import LinkAcceptForm, LinkDeclineForm, StepForm
from workflows import DISPATCH
from workflows.dispatch import FINAL_STATES, HOLDING_STATES, LIVE_STATES

RECENT_LIMIT = 10
DONE = {
    "accept": _l("You have accepted: the incident is yours. Press “Leaving now” when you set "
                 "off."),
    "decline": _l("You have declined the offer."),
    "depart": _l("Departure recorded: the customer is told you are on the way."),
    "arrive": _l("Arrival recorded: the customer is told you are there."),
    "complete": _l("The visit is complete. Thank you."),
}


def _triggers(dispatch):
    """The buttons of a dispatch: what the technician's role may fire from its state."""
    return DISPATCH.allowed_triggers(dispatch.state, "technician")


def _taken_by_other(dispatch):
    holder = dispatch.incident.assigned_technician_id
    return holder is not None and holder != dispatch.technician_id


def _my_dispatches(states, limit=None):
    stmt = (select(Dispatch).where(Dispatch.technician_id == current_user.technician_id,
                                   Dispatch.state.in_(states))
            .options(joinedload(Dispatch.incident).joinedload(Incident.organization))
            .order_by(Dispatch.id.desc()).limit(limit))
    return db.session.scalars(stmt).all()


def _shows_incident(dispatch):
    """Whose incident it is (reference, organization, summary) shows only while the offer or
    visit is live: a declined, expired or withdrawn offer gives no access to the incident."""
    return dispatch.state in LIVE_STATES


def _render(template, **context):
    return render_template(template, form=StepForm(formdata=None), triggers=_triggers,
                           taken_by_other=_taken_by_other, shows_incident=_shows_incident,
                           **context)


@bp.get("/tech/")
@permission_required("technician.pages")
def home():
    """My open offers, the visit I hold, and my recent dispatches."""
    return _render("technician/home.html", offers=_my_dispatches(("offered",)),
                   visits=_my_dispatches(HOLDING_STATES),
                   recent=_my_dispatches(FINAL_STATES, RECENT_LIMIT))


@bp.get("/tech/dispatches/<int:dispatch_id>")
@permission_required("technician.pages")
def dispatch(dispatch_id):
    """One offer or visit of mine (anyone else's is a 404)."""
    return _render("technician/dispatch.html", d=get_dispatch_for(current_user, dispatch_id))


def _closed_message(dispatch_id, exc):
    """Why an offer or step is closed, in the technician's words."""
    dispatch = db.session.get(Dispatch, dispatch_id)
    if exc.details.get("reason") == "taken" or _taken_by_other(dispatch):
        return _("Already taken by another technician: this incident is no longer open to "
                 "you.")
    return _("This is no longer possible: the offer or visit has changed. The page shows "
             "where it stands now.")


@bp.post("/tech/dispatches/<int:dispatch_id>/<trigger>")
@permission_required("technician.pages")
def step(dispatch_id, trigger):
    """Press a button: accept, decline, depart, arrive or complete."""
    if trigger not in DONE:
        abort(404)
    form = StepForm()
    if not form.validate():
        flash_form_errors(form)
        return redirect(url_for("technician.dispatch", dispatch_id=dispatch_id))
    try:
        fire(dispatch_id, trigger, current_user, via="page",
             params={name: form[name].data or "" for name in DISPATCH.params_of(trigger)})
    except OfferClosed as exc:
        db.session.rollback()
        flash(_closed_message(dispatch_id, exc), "error")
    except (Conflict, InvalidInput) as exc:  # another's dispatch stays a 404 (handler)
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash(str(DONE[trigger]), "success")
    return redirect(url_for("technician.dispatch", dispatch_id=dispatch_id))


# ---------------------------------------------------------------- the SMS one-tap link


class LinkRefused(Exception):
    """The link cannot be used: a reason code for the page, and its HTTP status."""

    def __init__(self, reason, status, dispatch=None):
        super().__init__(reason)
        self.reason, self.status, self.dispatch = reason, status, dispatch


def _link_target(token):
    """The offer a link may answer and the link's nonce; LinkRefused when it may not."""
    try:
        dispatch_id, technician_id, nonce = read_offer_token(token)
    except LinkInvalid as exc:
        reason = exc.details.get("reason", "bad_signature")
        raise LinkRefused(reason, 410 if reason == "expired" else 403) from exc
    dispatch = db.session.get(Dispatch, dispatch_id)
    if dispatch is None or dispatch.technician_id != technician_id:
        raise LinkRefused("bad_signature", 403)
    if access.is_another_technician(current_user, technician_id):
        raise LinkRefused("other_technician", 403)
    if db.session.get(UsedLink, nonce) is not None:
        raise LinkRefused("link_used", 409, dispatch)
    if dispatch.state != "offered":
        raise LinkRefused("taken" if _taken_by_other(dispatch) else "closed", 409, dispatch)
    return dispatch, nonce


def _refusal_from(exc, dispatch_id):
    """A service's refusal of a link answer as the link page's reason (after rollback)."""
    dispatch = db.session.get(Dispatch, dispatch_id)
    reason = exc.details.get("reason")
    if reason != "link_used":
        reason = "taken" if reason == "taken" or _taken_by_other(dispatch) else "closed"
    return LinkRefused(reason, exc.status if exc.status in (403, 404) else 409, dispatch)


def _refused(refused):
    return render_template("technician/link_refused.html", refused=refused), refused.status


def _acting(dispatch):
    return ActingTechnician(dispatch.technician_id,
                            email=f"{dispatch.technician.name} (SMS link)")


def _link_page(dispatch, token, decline_form=None, status=200):
    return render_template("technician/link.html", d=dispatch, token=token,
                           accept_form=LinkAcceptForm(formdata=None),
                           decline_form=decline_form or LinkDeclineForm(formdata=None)), status


@bp.get("/a/<token>")
def link(token):
    """The page the offer SMS opens: the incident, and accept / decline."""
    try:
        dispatch, _nonce = _link_target(token)
    except LinkRefused as refused:
        return _refused(refused)
    return _link_page(dispatch, token)


def _answer_by_link(token, trigger, form=None):
    """Check the link, then let the service record the answer (and spend the link)."""
    try:
        dispatch, nonce = _link_target(token)
    except LinkRefused as refused:
        return _refused(refused)
    if form is not None and not form.validate():
        return _link_page(dispatch, token, decline_form=form, status=422)
    dispatch_id, actor = dispatch.id, _acting(dispatch)
    params = {name: form[name].data for name in DISPATCH.params_of(trigger)} if form else {}
    try:
        fire(dispatch_id, trigger, actor, params=params, via="SMS link", link_nonce=nonce)
    except AppError as exc:
        db.session.rollback()
        return _refused(_refusal_from(exc, dispatch_id))
    return render_template("technician/link_done.html", d=db.session.get(Dispatch, dispatch_id))


@bp.post("/a/<token>/accept")
def link_accept(token):
    """Accept through the link (a CSRF-protected form; the token is in its action)."""
    return _answer_by_link(token, "accept")


@bp.post("/a/<token>/decline")
def link_decline(token):
    """Decline through the link, with the reason."""
    return _answer_by_link(token, "decline", LinkDeclineForm())
