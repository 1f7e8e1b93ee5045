"""The SME's report form, the login, and the language switch."""

import re
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user

from app import access
from app.auth import authenticate, end_session, start_session
from app.domain.labels import CATEGORY_LABELS
from app.errors import InvalidInput
from app.extensions import limit_setting, limiter
from app.services.directory.organizations import organization_by_code_or_phone
from app.services.incidents.intake import IntakeRequest, report_incident
from app.services.incidents.links import followed_references
from app.services.incidents.queries import list_incidents
from app.web.i18n import LANG_COOKIE
from app.web.public import bp
from app.web.public.forms import LoginForm, ReportForm

SUMMARY_LENGTH = 80
# Where each role starts, after login and at "/": its own work. A customer's incidents are
# listed on the report page (with the form to report another).
START_PAGES = {"technician": "technician.home", "insurer": "insurer.home",
               "customer": "public.report", "dispatcher": "dispatch.board",
               "desk": "desk.incidents", "admin": "desk.incidents"}


def start_page(user):
    """The start page of the user's role; the report form for anyone else."""
    role = getattr(user, "role", None) if user.is_authenticated else None
    return url_for(START_PAGES.get(role, "public.report"))


@bp.get("/")
def home():
    """Each role goes to its start page; anyone not logged in to the report form."""
    return redirect(start_page(current_user))


def _summary(form):
    first_line = form.description.data.strip().splitlines()[0] if form.description.data.strip() \
        else ""
    return f"{CATEGORY_LABELS[form.category.data]}: {first_line}"[:SUMMARY_LENGTH]


def _reporting_organization(form):
    """A logged-in customer reports for their own organization; others identify it."""
    if access.acts_for_own_organization_only(current_user):
        return access.own_organization_id(current_user)  # None: it may report for none
    organization = organization_by_code_or_phone(form.customer.data)
    if organization is None:
        form.customer.errors.append(_(
            "We could not find your contract. Check the number, or call the desk."))
        return None
    return organization.id


@bp.route("/report", methods=["GET", "POST"])
@limiter.limit(limit_setting("RATELIMIT_REPORT_PER_IP"), methods=["POST"])
def report():
    """The web intake form; a logged-in customer also sees their incidents' status."""
    form = ReportForm()
    if form.validate_on_submit():
        org_id = _reporting_organization(form)
        if org_id is not None:
            actor = current_user if current_user.is_authenticated else None
            try:
                incident = report_incident(IntakeRequest(
                    organization_id=org_id, channel="web", category=form.category.data,
                    severity="high" if form.business_stopped.data else "medium",
                    summary=_summary(form), description=form.description.data,
                    reporter_name=form.reporter_name.data,
                    reporter_phone=form.reporter_phone.data,
                    reporter_email=form.reporter_email.data or "",
                ), actor=actor, actor_label="web form")
            except InvalidInput as exc:
                form.customer.errors.append(exc.message)
            else:
                return render_template("public/reported.html", incident=incident)
    my_incidents = _my_incidents()
    return render_template(
        "public/report.html", form=form, my_incidents=my_incidents,
        followed=followed_references([i.id for i in my_incidents], current_user),
        for_own_organization=access.acts_for_own_organization_only(current_user)), \
        400 if form.errors else 200


def _my_incidents():
    if access.acts_for_own_organization_only(current_user):
        return list_incidents(current_user, {}, limit=20).items
    return []


def _account_and_client():
    """The e-mail a login attempt names and the client's IP: refusals count per pair, so a
    stranger guessing at an account slows only themself, never the account's owner."""
    email = request.form.get("email", "").strip().lower()
    return f"account:{email}|ip:{get_remote_address()}"


def _login_refused(response):
    return response.status_code == 401


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(limit_setting("RATELIMIT_LOGIN_PER_IP"), methods=["POST"])
@limiter.limit(limit_setting("RATELIMIT_LOGIN_PER_ACCOUNT"), methods=["POST"],
               key_func=_account_and_client, deduct_when=_login_refused)
def login():
    """Log in with e-mail and password (attempts are rate limited: docs/security.md)."""
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            start_session(user)
            return redirect(_after_login(user))
        flash(_("The e-mail or password is wrong."), "error")
        return render_template("public/login.html", form=form), 401
    return render_template("public/login.html", form=form)


def _after_login(user):
    """A safe `next` (a path on this site) wins; else the role's start page."""
    return local_path(request.args.get("next", "")) or start_page(user)


@bp.post("/logout")
def logout():
    """Log out, ending every session of the user (a POST with a CSRF token, so no link can
    log someone out)."""
    end_session()
    return redirect(url_for("public.login"))


@bp.get("/lang/<code>")
def set_language(code):
    """Remember the chosen language in a cookie and go back."""
    response = redirect(_back())
    if code in ("ja", "en"):
        # Read by the server only: HttpOnly; over HTTPS only where the session cookie is.
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax",
                            httponly=True,
                            secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


def _back():
    return local_path(request.args.get("next", "")) or "/"


def local_path(target):
    """`target` if it is a path on this site, else "": an open redirect would let a link
    send people elsewhere. Browsers drop tabs and newlines and read a backslash as a
    slash, so those are refused before the check, not after."""
    if not target or re.search(r"[\x00-\x20\\]", target):
        return ""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return ""
    return target
