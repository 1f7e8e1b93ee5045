"""People who log in: one way to create a login, with one set of rules, whoever creates it
(`flask user create` for the first administrator and customers' logins, the admin pages
and the API for an insurer's portal users)."""

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app import access
from app.errors import Conflict, InvalidInput, NotFound
from app.extensions import db
from app.models import User
from app.models.people import ROLES
from app.services import admin_log
from app.services.directory import tokens

MIN_PASSWORD, MAX_PASSWORD = 10, 200
MAX_NAME = 100
# Whom a login of each role acts for (the pages and scopes read it); other roles act for
# no one.
AFFILIATION = {"customer": "organization", "insurer": "insurer", "technician": "technician"}
AFFILIATION_ROLE = {name: role for role, name in AFFILIATION.items()}


def _refuse(field, message):
    return InvalidInput(message, {"field": field})


def clean_email(value, field="email"):
    """An e-mail address as logins are kept: checked, normalized, in lower case."""
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > 254:
        raise _refuse(field, "Give a valid e-mail address.")
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise _refuse(field, "Give a valid e-mail address.") from exc


def check_password(password):
    """The one password rule: MIN_PASSWORD to MAX_PASSWORD characters."""
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise _refuse("password", f"The password needs {MIN_PASSWORD} to {MAX_PASSWORD} "
                                  "characters.")
    return password


def _check_affiliation(role, affiliations):
    """A customer's login needs its organization, an insurer's its insurer, a technician's
    the technician it acts for; any other login names none."""
    needed = AFFILIATION.get(role)
    for name, value in affiliations.items():
        if name == needed and value is None:
            raise InvalidInput(f"A {role}'s login needs its {name}.",
                               {"field": name, "reason": "required"})
        if name != needed and value is not None:
            raise InvalidInput(f"Only a {AFFILIATION_ROLE[name]}'s login names a {name}.",
                               {"field": name, "reason": "not_allowed"})


def create_user(actor, *, email, name, role, password, organization=None, insurer=None,
                technician=None):
    """A login of `role` for the organization, insurer or technician it acts for; the
    password is kept hashed. One commit; nothing is written for a refused input."""
    access.require(actor, "users.create")
    email = clean_email(email)
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > MAX_NAME:
        raise _refuse("name", f"The name needs 1 to {MAX_NAME} characters.")
    if role not in ROLES:
        raise _refuse("role", f"The role is one of: {', '.join(ROLES)}.")
    _check_affiliation(role, {"organization": organization, "insurer": insurer,
                              "technician": technician})
    check_password(password)
    if db.session.scalar(select(User.id).where(func.lower(User.email) == email)):
        raise Conflict("A user with that e-mail exists.", {"field": "email"})
    user = User(email=email, name=name, role=role, organization=organization,
                insurer=insurer, technician=technician)
    user.set_password(password)
    db.session.add(user)
    try:
        admin_log.record(actor, "user", "created", user)
        db.session.commit()
    except IntegrityError as exc:  # a parallel request took the address first
        db.session.rollback()
        raise Conflict("A user with that e-mail exists.", {"field": "email"}) from exc
    return user


def end_sessions(user):
    """End every session of `user` (logout ends them all, not only this browser's)."""
    user.end_sessions()
    db.session.commit()


def find_user(actor, email, action="users.deactivate"):
    """The user with `email`, or 404."""
    access.require(actor, action)
    user = db.session.scalars(select(User).where(
        func.lower(User.email) == (email or "").strip().lower())).first()
    if user is None:
        raise NotFound(f"No user has the e-mail {email}.")
    return user


def list_users(actor):
    """Every login, by e-mail (the admin's users page)."""
    access.require(actor, "users.deactivate")
    return db.session.scalars(select(User).order_by(User.email)).all()


def deactivate_user(actor, user_id):
    """The user can no longer log in: their sessions end and their API tokens are revoked,
    in one commit. Deactivating oneself is refused (the last admin would lock everyone out)."""
    access.require(actor, "users.deactivate")
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("The user is unknown.")
    if getattr(actor, "id", None) == user.id:
        raise Conflict("You cannot deactivate your own login.", {"field": "user"})
    before = admin_log.snapshot(user)
    user.active = False
    user.end_sessions()
    tokens.revoke_all_of(user)
    admin_log.record(actor, "user", "updated", user, before)
    db.session.commit()
    return user


def set_password(actor, user_id, password):
    """Give the user a new password (the one password rule); every session of the old one
    ends. One commit; nothing changes for a refused password."""
    access.require(actor, "users.create")
    check_password(password)
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("The user is unknown.")
    before = admin_log.snapshot(user)
    user.set_password(password)  # moves the session epoch on (app/models/people.py)
    admin_log.record(actor, "user", "updated", user, before,
                     after=admin_log.snapshot(user, password="changed"))
    db.session.commit()
    return user
