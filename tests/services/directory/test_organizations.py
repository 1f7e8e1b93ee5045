"""Organizations and their caller-ID phones: who may change them, what makes them valid,
and that a refused input changes nothing."""

import pytest
from sqlalchemy import select

from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.extensions import db
from app.models import Organization, OrganizationPhone, User
from app.services.directory import organizations as service
from app.services.directory.organizations import (
    CodeTaken,
    PhoneTaken,
    organization_by_code_or_phone,
    organization_by_phone,
)

FIELDS = {"code": "tky-0002", "name": "株式会社東京精機", "address": "東京都港区芝公園1-1",
          "prefecture": 13, "industry": "製造業", "employees": 30}


def user(world, role):
    return db.session.get(User, world.users[role])


def everything():
    """Every organization and phone row as plain values (to prove a refusal wrote nothing)."""
    organizations = db.session.execute(select(
        Organization.id, Organization.code, Organization.name, Organization.address,
        Organization.prefecture, Organization.industry, Organization.employees)
        .order_by(Organization.id)).all()
    phones = db.session.execute(select(
        OrganizationPhone.id, OrganizationPhone.organization_id, OrganizationPhone.number,
        OrganizationPhone.label).order_by(OrganizationPhone.id)).all()
    return organizations, phones


@pytest.fixture
def admin(ctx, world):
    return user(world, "admin")


def test_an_admin_creates_an_organization_whose_phones_name_it_on_a_call(admin):
    created = service.create_organization(admin, FIELDS, [
        {"number": "03-5555-0101", "label": " 代表 "}, {"number": "+81 90 5555 0102"}])
    assert (created.code, created.name, created.prefecture, created.employees) == \
        ("TKY-0002", "株式会社東京精機", 13, 30)
    assert [(p.number, p.label) for p in service.phones_of(created)] == \
        [("+81355550101", "代表"), ("+819055550102", "")]
    assert organization_by_phone("0355550101").id == created.id
    assert organization_by_code_or_phone("tky-0002").id == created.id


def test_only_code_name_and_prefecture_are_required(admin):
    created = service.create_organization(admin, {"code": "A1", "name": "乙", "prefecture": 47})
    assert (created.address, created.industry, created.employees, created.phones) == \
        ("", "", 0, [])


@pytest.mark.parametrize("changes,phones,error,field", [
    ({"code": str.upper}, [], CodeTaken, "code"),  # the world's org A's code
    ({"code": str.lower}, [], CodeTaken, "code"),  # codes are kept in upper case
    ({"code": "TKY 0002"}, [], InvalidInput, "code"),
    ({"code": "東京"}, [], InvalidInput, "code"),
    ({"code": "X" * 33}, [], InvalidInput, "code"),
    ({"code": ""}, [], InvalidInput, "code"),
    ({"name": "   "}, [], InvalidInput, "name"),
    ({"name": "x" * 201}, [], InvalidInput, "name"),
    ({"prefecture": 0}, [], InvalidInput, "prefecture"),
    ({"prefecture": 48}, [], InvalidInput, "prefecture"),
    ({"prefecture": "13"}, [], InvalidInput, "prefecture"),
    ({"prefecture": True}, [], InvalidInput, "prefecture"),
    ({"employees": -1}, [], InvalidInput, "employees"),
    ({"employees": 2**31}, [], InvalidInput, "employees"),
    ({"address": "x" * 301}, [], InvalidInput, "address"),
    ({"industry": None}, [], InvalidInput, "industry"),
    ({"colour": "red"}, [], InvalidInput, "colour"),
    ({}, [{"number": "+81312345678"}], PhoneTaken, "phone"),  # org A's number
    ({}, [{"number": "03-1234-5678"}], PhoneTaken, "phone"),  # the same, as dialled
    ({}, [{"number": "not a phone"}], InvalidInput, "phone"),
    ({}, [{"number": "12345"}], InvalidInput, "phone"),
    ({}, [{"number": "03-5555-0101"}, {"number": "+81355550101"}], InvalidInput, "phone"),
    ({}, [{"number": "03-5555-0101", "label": "x" * 51}], InvalidInput, "label"),
    ({}, [{"number": "03-5555-0101", "extension": "1"}], InvalidInput, "phones"),
])
def test_bad_input_is_refused_naming_the_field_and_writes_nothing(admin, world, changes,
                                                                  phones, error, field):
    if callable(changes.get("code")):
        changes = {"code": changes["code"](db.session.get(Organization, world.org_a).code)}
    before = everything()
    with pytest.raises(error) as refused:
        service.create_organization(admin, {**FIELDS, **changes}, phones)
    assert refused.value.details["field"] == field
    assert everything() == before


def test_a_phone_of_another_organization_is_named_in_the_refusal(admin, world):
    with pytest.raises(PhoneTaken) as refused:
        service.create_organization(admin, FIELDS, [{"number": "03-1234-5678"}])
    org_a = db.session.get(Organization, world.org_a)
    assert refused.value.status == 409 and refused.value.code == "phone_taken"
    assert refused.value.details == {"field": "phone", "number": "+81312345678",
                                     "organization_code": org_a.code}


@pytest.mark.parametrize("missing", ["code", "name", "prefecture"])
def test_a_missing_required_field_is_refused(admin, missing):
    before = everything()
    fields = {k: v for k, v in FIELDS.items() if k != missing}
    with pytest.raises(InvalidInput) as refused:
        service.create_organization(admin, fields)
    assert refused.value.details == {"field": missing, "reason": "required"}
    assert everything() == before


@pytest.mark.parametrize("role", ["desk", "dispatcher", "customer", "technician", "insurer"])
def test_only_an_admin_changes_organizations(ctx, world, role):
    actor = user(world, role)
    before = everything()
    phone_id = db.session.scalar(select(OrganizationPhone.id).where(
        OrganizationPhone.organization_id == world.org_a))
    attempts = [
        lambda: service.create_organization(actor, FIELDS),
        lambda: service.update_organization(world.org_a, actor, {"name": "乗っ取り"}),
        lambda: service.add_phone(world.org_a, actor, "03-5555-0101"),
        lambda: service.remove_phone(world.org_a, phone_id, actor),
        lambda: service.list_users(actor, world.org_a),
    ]
    for attempt in attempts:
        with pytest.raises(Forbidden):
            attempt()
    assert everything() == before


@pytest.mark.parametrize("role", ["desk", "dispatcher", "admin"])
def test_the_staff_read_organizations(ctx, world, role):
    actor = user(world, role)
    assert service.get_organization(actor, world.org_a).id == world.org_a
    assert world.org_a in [o.id for o in service.search_organizations(actor).items]


@pytest.mark.parametrize("role", ["customer", "technician", "insurer"])
def test_tenants_do_not_read_through_the_service(ctx, world, role):
    with pytest.raises(Forbidden):
        service.get_organization(user(world, role), world.org_a)
    with pytest.raises(Forbidden):
        service.search_organizations(user(world, role))


def test_an_unknown_organization_is_not_found(admin):
    for attempt in (lambda: service.get_organization(admin, 999_999),
                    lambda: service.update_organization(999_999, admin, {"name": "x"}),
                    lambda: service.add_phone(999_999, admin, "03-5555-0101")):
        with pytest.raises(NotFound):
            attempt()


def test_update_changes_only_the_fields_given(admin, world):
    before = db.session.get(Organization, world.org_a)
    code, name = before.code, before.name
    service.update_organization(world.org_a, admin, {"address": "大阪市北区1-1",
                                                     "prefecture": 27})
    db.session.expire_all()
    after = db.session.get(Organization, world.org_a)
    assert (after.code, after.name, after.address, after.prefecture) == \
        (code, name, "大阪市北区1-1", 27)
    assert [p.number for p in after.phones] == ["+81312345678"]


def test_the_code_may_change_but_not_to_one_taken(admin, world):
    taken = db.session.get(Organization, world.org_b).code
    before = everything()
    with pytest.raises(CodeTaken):
        service.update_organization(world.org_a, admin, {"code": taken.lower(), "name": "x"})
    assert everything() == before
    service.update_organization(world.org_a, admin, {"code": "kou-1"})
    assert db.session.get(Organization, world.org_a).code == "KOU-1"


def test_phones_given_to_update_become_the_whole_list(admin):
    created = service.create_organization(admin, FIELDS, [
        {"number": "03-5555-0101", "label": "代表"}, {"number": "03-5555-0102"}])
    kept = service.phones_of(created)[0].id
    service.update_organization(created.id, admin, {}, phones=[
        {"number": "+81355550101", "label": "本社"}, {"number": "090-5555-0103"}])
    db.session.expire_all()
    phones = service.phones_of(db.session.get(Organization, created.id))
    assert [(p.number, p.label) for p in phones] == \
        [("+81355550101", "本社"), ("+819055550103", "")]
    assert phones[0].id == kept
    assert organization_by_phone("03-5555-0102") is None


def test_update_with_a_taken_phone_changes_nothing_at_all(admin, world):
    created = service.create_organization(admin, FIELDS, [{"number": "03-5555-0101"}])
    before = everything()
    with pytest.raises(PhoneTaken):
        service.update_organization(created.id, admin, {"name": "改名"}, phones=[
            {"number": "03-5555-0101"}, {"number": "03-1234-5678"}])
    assert everything() == before


def test_phones_are_added_and_removed_one_at_a_time(admin, world):
    phone = service.add_phone(world.org_a, admin, "(03) 5555-0101", "情報システム担当")
    assert (phone.number, phone.label) == ("+81355550101", "情報システム担当")
    assert organization_by_phone("+81355550101").id == world.org_a
    assert service.remove_phone(world.org_a, phone.id, admin) == "+81355550101"
    assert organization_by_phone("+81355550101") is None


@pytest.mark.parametrize("number,error", [
    ("03-1234-5678", PhoneTaken),  # org A's own number again
    ("+81 3 1234 5678", PhoneTaken),
    ("call me", InvalidInput),
    ("", InvalidInput),
])
def test_adding_a_bad_or_registered_phone_is_refused(admin, world, number, error):
    before = everything()
    with pytest.raises(error):
        service.add_phone(world.org_b, admin, number)
    with pytest.raises(error):
        service.add_phone(world.org_a, admin, number)
    assert everything() == before


def test_a_phone_of_another_organization_cannot_be_removed_through_this_one(admin, world):
    phone_of_a = db.session.scalar(select(OrganizationPhone.id).where(
        OrganizationPhone.organization_id == world.org_a))
    before = everything()
    for phone_id in (phone_of_a, 999_999):
        with pytest.raises(NotFound):
            service.remove_phone(world.org_b, phone_id, admin)
    assert everything() == before


def test_a_parallel_request_that_took_the_number_first_is_a_clear_conflict(
        admin, world, monkeypatch):
    """The check before writing passed (the other request had not committed yet): the
    unique index refuses the row, and the answer still says which number clashed."""
    real_check = service._check_phones_free
    calls = []

    def check_too_early(numbers, organization_id=None):
        calls.append(numbers)
        if len(calls) > 1:  # after the rollback the number is there to be found
            real_check(numbers, organization_id)

    monkeypatch.setattr(service, "_check_phones_free", check_too_early)
    before = everything()
    with pytest.raises(PhoneTaken) as refused:
        service.create_organization(admin, FIELDS, [{"number": "03-1234-5678"}])
    assert refused.value.details["number"] == "+81312345678" and len(calls) == 2
    assert everything() == before


def test_a_clash_the_checks_cannot_name_is_still_a_conflict(admin, monkeypatch):
    monkeypatch.setattr(service, "_check_code_free", lambda code, organization_id=None: None)
    service.create_organization(admin, FIELDS)
    before = everything()
    with pytest.raises(Conflict) as refused:
        service.create_organization(admin, {**FIELDS, "name": "二重登録"})
    assert refused.value.status == 409
    assert everything() == before


def test_search_matches_code_or_name_and_pages(admin, world):
    for n in range(3):
        service.create_organization(admin, {**FIELDS, "code": f"SRCH-{n}",
                                            "name": f"検索{n}_100%商事"})
    assert [o.code for o in service.search_organizations(admin, "srch").items] == \
        ["SRCH-0", "SRCH-1", "SRCH-2"]
    assert [o.code for o in service.search_organizations(admin, "検索1").items] == ["SRCH-1"]
    assert [o.code for o in service.search_organizations(admin, "0%").items] == \
        ["SRCH-0", "SRCH-1", "SRCH-2"]
    assert service.search_organizations(admin, "1_0").items == []  # _ is no wildcard
    assert service.search_organizations(admin, "%").total == 3  # % is no wildcard either
    second = service.search_organizations(admin, "SRCH", page=2, per_page=2)
    assert ([o.code for o in second.items], second.pages, second.has_next) == \
        (["SRCH-2"], 2, False)
    assert service.search_organizations(admin, "", page=99).items == []
    assert service.search_organizations(admin, "").total == 5  # with the world's two


def test_a_search_too_long_is_refused(admin):
    with pytest.raises(InvalidInput) as refused:
        service.search_organizations(admin, "x" * 101)
    assert refused.value.details["field"] == "q"


def test_the_users_of_an_organization_are_its_logins(admin, world):
    assert [u.id for u in service.list_users(admin, world.org_a)] == \
        [world.users["customer"]]
