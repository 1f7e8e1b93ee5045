"""Customer organizations and their phone numbers (admins write; desk, dispatchers read).

A registered phone number names its organization when it calls the desk (caller-ID,
app/domain/phones.py), so a number belongs to one organization only. Codes are customer numbers
read out on the phone and typed into the report form, which look them up in upper case:
they are stored so. Every function checks its whole input before writing, then commits
once: a refused input changes nothing.
"""

import re

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from app import access
from app.domain.labels import PREFECTURES
from app.domain.phones import clean_phone, normalize_phone
from app.errors import Conflict, InvalidInput, NotFound
from app.extensions import db
from app.models import MAX_INTEGER, Organization, OrganizationPhone, User
from app.services import admin_log
from app.services.paging import bounded_page

FIELDS = ("code", "name", "address", "prefecture", "industry", "employees")
REQUIRED = ("code", "name", "prefecture")
DEFAULTS = {"address": "", "industry": "", "employees": 0}
CODE = re.compile(r"[A-Z0-9_-]{1,32}")
MAX_LABEL = 50
MAX_SEARCH = 100
PAGE_SIZE = 50


class CodeTaken(Conflict):
    """Another organization has that code."""

    code = "code_taken"


class PhoneTaken(Conflict):
    """The phone number is registered already (caller-ID must name one organization)."""

    code = "phone_taken"


def _invalid(field, reason, message, **details):
    return InvalidInput(message, {"field": field, "reason": reason, **details})


# ---------------------------------------------------------------- field rules


def clean_code(value):
    """A code of 1 to 32 letters, digits, - or _, in upper case."""
    code = value.strip().upper() if isinstance(value, str) else ""
    if not CODE.fullmatch(code):
        raise _invalid("code", "invalid_code",
                       "The code is 1 to 32 letters, digits, - or _ (kept in upper case).")
    return code


def _text(field, max_length, required=False):
    def clean(value):
        text = value.strip() if isinstance(value, str) else None
        if text is None or len(text) > max_length or (required and not text):
            least = 1 if required else 0
            raise _invalid(field, "required" if text == "" else "invalid_text",
                           f"The {field} is text of {least} to {max_length} characters.")
        return text
    return clean


def _whole_number(field, low, high, message):
    def clean(value):
        if type(value) is not int or not low <= value <= high:  # True is not a number here
            raise _invalid(field, f"invalid_{field}", message)
        return value
    return clean


CLEANERS = {
    "code": clean_code,
    "name": _text("name", 200, required=True),
    "address": _text("address", 300),
    "prefecture": _whole_number("prefecture", 1, len(PREFECTURES), "The prefecture is a JIS "
                                "code from 1 (Hokkaido) to 47 (Okinawa)."),
    "industry": _text("industry", 100),
    "employees": _whole_number("employees", 0, MAX_INTEGER, "The number of employees is a "
                               "whole number, 0 or more."),
}


def clean_fields(fields):
    """The given organization fields checked and normalised; InvalidInput names a bad one."""
    unknown = set(fields) - set(CLEANERS)
    if unknown:
        raise _invalid(sorted(unknown)[0], "unknown_field", "Unknown organization field.")
    return {name: CLEANERS[name](value) for name, value in fields.items()}


def clean_phone_entry(entry, index=None):
    """{"number": E.164, "label": text} from {"number": as typed, "label": optional}."""
    where = {} if index is None else {"index": index}
    if not isinstance(entry, dict) or set(entry) - {"number", "label"}:
        raise _invalid("phones", "invalid_phone", "A phone is {\"number\", \"label\"}.", **where)
    try:
        number = clean_phone(entry.get("number"))
    except InvalidInput as exc:
        raise _invalid("phone", "invalid_phone", exc.message, **where) from exc
    label = entry.get("label", "")
    label = label.strip() if isinstance(label, str) else None
    if label is None or len(label) > MAX_LABEL:
        raise _invalid("label", "invalid_label",
                       f"A phone's label is text of at most {MAX_LABEL} characters.", **where)
    return {"number": number, "label": label}


def clean_phones(phones):
    """A list of phone entries, each number once."""
    if not isinstance(phones, list | tuple):
        raise _invalid("phones", "invalid_phone", "The phones are a list.")
    entries = [clean_phone_entry(entry, index) for index, entry in enumerate(phones)]
    numbers = [entry["number"] for entry in entries]
    for index, number in enumerate(numbers):
        if number in numbers[:index]:
            raise _invalid("phone", "duplicate_phone", f"{number} is given twice.",
                           index=index, number=number)
    return entries


# ---------------------------------------------------------------- uniqueness


def _check_code_free(code, organization_id=None):
    taken = db.session.scalar(select(Organization.id).where(Organization.code == code))
    if taken is not None and taken != organization_id:
        raise CodeTaken(f"An organization with the code {code} exists.", {"field": "code"})


def _check_phones_free(numbers, organization_id=None):
    """Refuse numbers registered to another organization (or to this one, when adding)."""
    if not numbers:
        return
    stmt = select(OrganizationPhone.number, Organization.code).join(Organization).where(
        OrganizationPhone.number.in_(numbers))
    if organization_id is not None:
        stmt = stmt.where(OrganizationPhone.organization_id != organization_id)
    clash = db.session.execute(stmt.order_by(OrganizationPhone.number)).first()
    if clash is not None:
        raise PhoneTaken(f"The phone number {clash.number} is registered to the organization "
                         f"{clash.code}.", {"field": "phone", "number": clash.number,
                                            "organization_code": clash.code})


def _commit(check, log):
    """Log the change and commit; when a parallel request took the code or a number
    first, say which."""
    try:
        log()
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        check()
        raise Conflict("The organization was changed at the same time; try again.") from exc


# ---------------------------------------------------------------- reading


def _organization(organization_id):
    organization = db.session.get(Organization, organization_id) \
        if isinstance(organization_id, int) else None
    if organization is None:
        raise NotFound("Organization not found.")
    return organization


def known_organization(organization_id):
    """The organization a form or request names by id, for filing something under it; any
    other value (none, not a number, no such row) is a 422 `unknown_organization`."""
    organization = db.session.get(Organization, organization_id) \
        if isinstance(organization_id, int) else None
    if organization is None:
        raise InvalidInput("The organization is unknown.",
                           {"field": "organization_id", "reason": "unknown_organization"})
    return organization


def get_organization(actor, organization_id):
    """One organization, for the desk, dispatchers and admins."""
    access.require(actor, "organizations.read")
    return _organization(organization_id)


def _like(text):
    """A LIKE pattern matching `text` anywhere, its own % and _ taken literally."""
    return "%" + re.sub(r"([\\%_])", r"\\\1", text) + "%"


def matching(text):
    """The condition: the organization's code or name contains `text`, in any case."""
    pattern = _like(text)
    return or_(Organization.code.ilike(pattern, escape="\\"),
               Organization.name.ilike(pattern, escape="\\"))


def search_text(text, field="q"):
    """`text` stripped, or InvalidInput when it is longer than a search may be."""
    text = (text or "").strip()
    if len(text) > MAX_SEARCH:
        raise _invalid(field, "invalid_text", f"Search with at most {MAX_SEARCH} characters.")
    return text


def search_organizations(actor, text="", page=1, per_page=PAGE_SIZE):
    """Organizations whose code or name contains `text`, by code, a page at a time
    (Flask-SQLAlchemy's Pagination: items, pages, has_next, ...)."""
    access.require(actor, "organizations.read")
    text = search_text(text)
    stmt = select(Organization).order_by(Organization.code)
    if text:
        stmt = stmt.where(matching(text))
    return db.paginate(stmt, page=bounded_page(page), per_page=per_page, error_out=False)


def list_users(actor, organization_id):
    """The organization's logins (its customers), by e-mail (admin)."""
    access.require(actor, "organizations.users")
    organization = _organization(organization_id)
    return db.session.scalars(select(User).where(User.organization_id == organization.id)
                              .order_by(User.email)).all()


def phones_of(organization):
    """The organization's phone numbers in the order they were added."""
    return sorted(organization.phones, key=lambda phone: phone.id)


# ---------------------------------------------------------------- writing


def create_organization(actor, fields, phones=()):
    """Add an organization (code, name and prefecture are required) with its phones."""
    access.require(actor, "organizations.manage")
    missing = [name for name in REQUIRED if name not in fields]
    if missing:
        raise _invalid(missing[0], "required", f"'{missing[0]}' is required.")
    values = DEFAULTS | clean_fields(fields)
    entries = clean_phones(phones)

    def check():
        _check_code_free(values["code"])
        _check_phones_free([entry["number"] for entry in entries])

    check()
    organization = Organization(**values, phones=[OrganizationPhone(**e) for e in entries])
    db.session.add(organization)
    _commit(check, lambda: admin_log.record(actor, "organization", "created", organization,
                                            after=_snapshot(organization)))
    return organization


def _snapshot(organization):
    """The organization's fields and its numbers with their labels, for the change log."""
    return admin_log.snapshot(organization, phones=[
        {"number": phone.number, "label": phone.label} for phone in organization.phones])


def _replace_phones(organization, entries):
    """Keep the numbers still listed (with their new label), drop the rest, add the new."""
    wanted = {entry["number"]: entry["label"] for entry in entries}
    for phone in phones_of(organization):
        if phone.number in wanted:
            phone.label = wanted.pop(phone.number)
        else:
            organization.phones.remove(phone)  # delete-orphan deletes the row
    organization.phones.extend(OrganizationPhone(number=number, label=label)
                               for number, label in wanted.items())


def update_organization(organization_id, actor, changes, phones=None):
    """Change the fields given; `phones`, when given, becomes the whole list of numbers."""
    access.require(actor, "organizations.manage")
    organization = _organization(organization_id)
    values = clean_fields(changes)
    entries = None if phones is None else clean_phones(phones)

    def check():
        if "code" in values:
            _check_code_free(values["code"], organization_id)
        if entries is not None:
            _check_phones_free([entry["number"] for entry in entries], organization_id)

    check()
    before = _snapshot(organization)
    for name, value in values.items():
        setattr(organization, name, value)
    if entries is not None:
        _replace_phones(organization, entries)
    _commit(check, lambda: admin_log.record(actor, "organization", "updated", organization,
                                            before, after=_snapshot(organization)))
    return organization


def add_phone(organization_id, actor, number, label=""):
    """Register one more phone number for the organization."""
    access.require(actor, "organizations.manage")
    organization = _organization(organization_id)
    entry = clean_phone_entry({"number": number, "label": label})

    def check():
        _check_phones_free([entry["number"]])

    check()
    phone = OrganizationPhone(organization_id=organization.id, **entry)
    db.session.add(phone)
    _commit(check, lambda: admin_log.record(actor, "organization_phone", "created", phone))
    return phone


def register_caller_number(organization, number, actor, label="", now=None):
    """The desk registers the number a caller rang from (assigning a voicemail), in the
    caller's transaction: the next call from it names the organization. 409 when the
    number is another organization's; nothing to do when it is this one's already."""
    access.require(actor, "organizations.register_callers")
    entry = clean_phone_entry({"number": number, "label": label})
    if any(phone.number == entry["number"] for phone in organization.phones):
        return None
    _check_phones_free([entry["number"]])
    phone = OrganizationPhone(organization_id=organization.id, **entry)
    db.session.add(phone)
    admin_log.record(actor, "organization_phone", "created", phone, now=now)
    return phone


def remove_phone(organization_id, phone_id, actor):
    """Unregister one of the organization's phone numbers; returns the number."""
    access.require(actor, "organizations.manage")
    organization = _organization(organization_id)
    phone = db.session.get(OrganizationPhone, phone_id) if isinstance(phone_id, int) else None
    if phone is None or phone.organization_id != organization.id:
        raise NotFound("Phone number not found.", {"field": "phone_id"})
    number = phone.number
    admin_log.record(actor, "organization_phone", "deleted", phone, admin_log.snapshot(phone))
    db.session.delete(phone)
    db.session.commit()
    return number


# ---------------------------------------------------------------- finding and choosing


def organization_by_phone(raw):
    """The organization that registered this phone number, or None."""
    number = normalize_phone(raw)
    if not number:
        return None
    return db.session.scalars(
        select(Organization).join(OrganizationPhone)
        .where(OrganizationPhone.number == number)).first()


def organization_by_code_or_phone(value):
    """Find an organization by its customer number (code) or a registered phone number."""
    value = (value or "").strip()
    if not value:
        return None
    by_code = db.session.scalars(
        select(Organization).where(Organization.code == value.upper())).first()
    return by_code or organization_by_phone(value)


def visible_organizations(user):
    """Organizations `user` may see, by name."""
    return db.session.scalars(access.scope_organizations(
        select(Organization).order_by(Organization.name), user)).all()


def organization_choices(user):
    """(id, code, name) rows of the organizations `user` may see, by name: what a picker
    shows, without loading whole organizations (a provider serves thousands)."""
    return db.session.execute(access.scope_organizations(
        select(Organization.id, Organization.code, Organization.name)
        .order_by(Organization.name), user)).all()
