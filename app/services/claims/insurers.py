"""Insurers, their portal users and the policies they underwrite (admin only).

Every function checks its whole input before writing, then commits once: a refused input
changes nothing.
"""

import re
import secrets
from datetime import date
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import access
from app.errors import Conflict, InvalidInput, NotFound
from app.extensions import db
from app.models import MAX_INTEGER, Claim, InsurancePolicy, Insurer, Organization, User
from app.services import admin_log
from app.services.claims.coverage import get_policy
from app.services.directory import users

CODE = re.compile(r"^[A-Z][A-Z0-9-]{1,31}$")
LOCAL_HOSTS = ("127.0.0.1", "localhost")  # plain http only for a receiver on this machine
MAX_URL = 254
INSURER_FIELDS = ("code", "name", "notice_email", "webhook_url")
POLICY_FIELDS = ("number", "insurer_id", "organization_id", "starts_on", "ends_on",
                 "per_incident_limit", "annual_aggregate", "deductible")


def _refuse(field, message):
    return InvalidInput(message, {"field": field})


def new_secret():
    """A fresh webhook signing key (the provider needs it in clear to compute the HMAC)."""
    return secrets.token_urlsafe(32)


# ---------------------------------------------------------------- field rules


def clean_code(value):
    """An insurer code in upper case: a letter, then 1 to 31 letters, digits or -."""
    code = value.strip().upper() if isinstance(value, str) else ""
    if not CODE.match(code):
        raise _refuse("code", "The code is 2 to 32 letters, digits or -, starting with a "
                              "letter.")
    return code


def clean_name(value, field="name", max_length=200):
    """Text of 1 to `max_length` characters, trimmed."""
    name = value.strip() if isinstance(value, str) else ""
    if not name or len(name) > max_length:
        raise _refuse(field, f"The {field} needs 1 to {max_length} characters.")
    return name


def clean_email(value, field="email", required=True):
    """A normalized e-mail address; '' allowed when not required."""
    text = value.strip() if isinstance(value, str) else None
    if text is None or (not text and required) or len(text) > 254:
        raise _refuse(field, "Give a valid e-mail address.")
    if not text:
        return ""
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise _refuse(field, "Give a valid e-mail address.") from exc


def clean_webhook_url(value):
    """'' (no webhooks), an https URL, or http to 127.0.0.1/localhost (tests, a local relay)."""
    url = value.strip() if isinstance(value, str) else None
    if url is None or len(url) > MAX_URL or any(c.isspace() for c in url):
        raise _refuse("webhook_url", f"The webhook URL is at most {MAX_URL} characters, "
                                     "without spaces.")
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError as exc:
        raise _refuse("webhook_url", "The webhook URL is not a valid URL.") from exc
    if parts.scheme == "https" and host:
        return url
    if parts.scheme == "http" and host in LOCAL_HOSTS:
        return url
    raise _refuse("webhook_url", "The webhook URL must start with https:// "
                                 "(http:// only for 127.0.0.1 or localhost).")


def _yen(field, value):
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INTEGER:
        raise _refuse(field, f"{field} is whole yen from 0 to {MAX_INTEGER}.")
    return value


def _date(field, value):
    if not isinstance(value, date):
        raise _refuse(field, f"{field} is a date.")
    return value


# ---------------------------------------------------------------- insurers


def list_insurers(actor):
    """Every insurer by code (admin)."""
    access.require(actor, "insurers.manage")
    return db.session.scalars(select(Insurer).order_by(Insurer.code)).all()


def get_insurer(actor, insurer_id):
    """One insurer for the admin, else NotFound."""
    access.require(actor, "insurers.manage")
    insurer = db.session.get(Insurer, insurer_id)
    if insurer is None:
        raise NotFound("Insurer not found.")
    return insurer


def _clean_insurer(fields):
    rules = {"code": clean_code, "name": clean_name,
             "notice_email": lambda v: clean_email(v, "notice_email", required=False),
             "webhook_url": clean_webhook_url}
    unknown = set(fields) - set(rules)
    if unknown:
        raise _refuse(sorted(unknown)[0], "Unknown field.")
    return {name: rules[name](value) for name, value in fields.items()}


def _check_code_free(code, insurer_id=None):
    taken = db.session.scalar(select(Insurer.id).where(Insurer.code == code))
    if taken is not None and taken != insurer_id:
        raise Conflict("An insurer with that code exists.", {"field": "code"})


def _commit(message, field, log):
    """Log the change and commit; a unique index that a parallel request won is a
    conflict, not a 500."""
    try:
        log()
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise Conflict(message, {"field": field}) from exc


def create_insurer(actor, fields):
    """Add an insurer with a fresh webhook secret: returns (insurer, secret to show once)."""
    access.require(actor, "insurers.manage")
    fields = {"notice_email": "", "webhook_url": "", **fields}
    if "code" not in fields or "name" not in fields:
        raise _refuse("code" if "code" not in fields else "name", "Code and name are needed.")
    values = _clean_insurer(fields)
    _check_code_free(values["code"])
    secret = new_secret()
    insurer = Insurer(**values, webhook_secret=secret)
    db.session.add(insurer)
    _commit("An insurer with that code exists.", "code",
            lambda: admin_log.record(actor, "insurer", "created", insurer))
    return insurer, secret


def update_insurer(insurer_id, actor, fields):
    """Change the fields given (code, name, notice_email, webhook_url); the secret stays."""
    insurer = get_insurer(actor, insurer_id)
    values = _clean_insurer(fields)
    if "code" in values:
        _check_code_free(values["code"], insurer.id)
    before = admin_log.snapshot(insurer)
    for name, value in values.items():
        setattr(insurer, name, value)
    _commit("An insurer with that code exists.", "code",
            lambda: admin_log.record(actor, "insurer", "updated", insurer, before))
    return insurer


def rotate_secret(insurer_id, actor):
    """Replace the webhook secret; returns (insurer, the new secret to show once)."""
    insurer = get_insurer(actor, insurer_id)
    before = admin_log.snapshot(insurer)
    insurer.webhook_secret = new_secret()
    admin_log.record(actor, "insurer", "updated", insurer, before,
                     after=admin_log.snapshot(insurer, webhook_secret="rotated"))
    db.session.commit()
    return insurer, insurer.webhook_secret


# ---------------------------------------------------------------- insurer users


def list_users(actor, insurer_id):
    """The insurer's portal users by e-mail."""
    insurer = get_insurer(actor, insurer_id)
    return db.session.scalars(select(User).where(User.insurer_id == insurer.id)
                              .order_by(User.email)).all()


def create_user(insurer_id, actor, *, email, name, password):
    """A portal user (role insurer) of the insurer; the admin sets the initial password."""
    insurer = get_insurer(actor, insurer_id)
    return users.create_user(actor, email=email, name=name, role="insurer",
                             password=password, insurer=insurer)


# ---------------------------------------------------------------- policies


def _clean_policy(fields):
    rules = {"number": lambda v: clean_name(v, "number", 64),
             "insurer_id": lambda v: _existing(Insurer, "insurer_id", v),
             "organization_id": lambda v: _existing(Organization, "organization_id", v),
             "starts_on": lambda v: _date("starts_on", v),
             "ends_on": lambda v: _date("ends_on", v),
             "per_incident_limit": lambda v: _yen("per_incident_limit", v),
             "annual_aggregate": lambda v: _yen("annual_aggregate", v),
             "deductible": lambda v: _yen("deductible", v)}
    unknown = set(fields) - set(rules)
    if unknown:
        raise _refuse(sorted(unknown)[0], "Unknown field.")
    return {name: rules[name](value) for name, value in fields.items()}


def _existing(model, field, value):
    if isinstance(value, bool) or not isinstance(value, int) or \
            db.session.get(model, value) is None:
        raise _refuse(field, f"No such {field.removesuffix('_id')}.")
    return value


def _check_policy(values, policy_id=None):
    """Rules across fields, on the merged result of an edit."""
    if values["ends_on"] <= values["starts_on"]:
        raise _refuse("ends_on", "The period must end after it starts.")
    if values["per_incident_limit"] > values["annual_aggregate"]:
        raise _refuse("per_incident_limit",
                      "The per-incident limit cannot exceed the annual aggregate.")
    taken = db.session.scalar(select(InsurancePolicy.id).where(
        InsurancePolicy.number == values["number"]))
    if taken is not None and taken != policy_id:
        raise Conflict("A policy with that number exists.", {"field": "number"})


def create_policy(actor, fields):
    """Add a policy; its per-head terms are set afterwards (coverage.set_terms)."""
    access.require(actor, "policies.manage")
    missing = [f for f in POLICY_FIELDS if f not in fields and f != "deductible"]
    if missing:
        raise _refuse(missing[0], f"{missing[0]} is needed.")
    values = _clean_policy({"deductible": 0, **fields})
    _check_policy(values)
    policy = InsurancePolicy(**values)
    db.session.add(policy)
    _commit("A policy with that number exists.", "number",
            lambda: admin_log.record(actor, "policy", "created", policy))
    return policy


def update_policy(policy_id, actor, fields):
    """Change the fields given; a policy with claims keeps its insurer and insured."""
    policy = get_policy(actor, policy_id)
    values = _clean_policy(fields)
    merged = {f: values.get(f, getattr(policy, f)) for f in POLICY_FIELDS}
    _check_policy(merged, policy.id)
    moved = [f for f in ("insurer_id", "organization_id") if merged[f] != getattr(policy, f)]
    if moved and db.session.scalar(select(Claim.id).where(Claim.policy_id == policy.id)
                                   .limit(1)):
        raise Conflict("The policy has claims: its insurer and insured cannot change.",
                       {"field": moved[0]})
    before = admin_log.snapshot(policy)
    for name, value in values.items():
        setattr(policy, name, value)
    _commit("A policy with that number exists.", "number",
            lambda: admin_log.record(actor, "policy", "updated", policy, before))
    return policy
