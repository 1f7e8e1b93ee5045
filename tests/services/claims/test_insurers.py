"""Insurer services: insurers and their webhook secret, portal users, creating/editing policies."""

from datetime import date

import pytest
from sqlalchemy import func, select

from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.extensions import db
from app.models import Claim, InsurancePolicy, Insurer, User
from app.services.claims import insurers
from app.testkit import factories

POLICY = {"number": "CY-2026-0001", "starts_on": date(2026, 4, 1), "ends_on": date(2027, 3, 31),
          "per_incident_limit": 1_000_000, "annual_aggregate": 3_000_000, "deductible": 50_000}


@pytest.fixture
def admin(ctx):
    return factories.make_user("admin")


def counts():
    """Rows of every table these services write (to prove a refusal wrote nothing)."""
    return tuple(db.session.scalar(select(func.count()).select_from(m))
                 for m in (Insurer, User, InsurancePolicy))


def policy_fields(**changes):
    org = factories.make_organization(policy=False)
    insurer = factories.make_insurer()
    db.session.commit()
    return {**POLICY, "insurer_id": insurer.id, "organization_id": org.id, **changes}


def test_an_insurer_is_created_with_an_upper_case_code_and_a_fresh_secret(admin):
    insurer, secret = insurers.create_insurer(admin, {
        "code": " tokio-1 ", "name": "東京損保", "notice_email": "Notice@Insurer.Example",
        "webhook_url": "https://insurer.example/hooks"})
    assert insurer.code == "TOKIO-1"
    assert insurer.notice_email == "Notice@insurer.example"
    assert len(secret) >= 43 and insurer.webhook_secret == secret


def test_rotating_the_secret_replaces_it_and_keeps_the_rest(admin):
    insurer, first = insurers.create_insurer(admin, {"code": "ABC", "name": "A"})
    _, second = insurers.rotate_secret(insurer.id, admin)
    assert second != first
    assert db.session.get(Insurer, insurer.id).webhook_secret == second


@pytest.mark.parametrize("fields", [
    {"code": "a", "name": "A"},
    {"code": "1ABC", "name": "A"},
    {"code": "AB C", "name": "A"},
    {"code": "ABC", "name": ""},
    {"code": "ABC", "name": "A", "notice_email": "not-an-address"},
    {"code": "ABC", "name": "A", "webhook_url": "http://insurer.example/hook"},
    {"code": "ABC", "name": "A", "webhook_url": "ftp://insurer.example/hook"},
    {"code": "ABC", "name": "A", "webhook_url": "https://"},
    {"code": "ABC", "name": "A", "webhook_url": "https://insurer.example/" + "x" * 240},
    {"code": "ABC", "name": "A", "webhook_secret": "mine"},
    {"code": "ABC"},
])
def test_a_bad_insurer_is_refused_and_nothing_is_written(admin, fields):
    before = counts()
    with pytest.raises(InvalidInput):
        insurers.create_insurer(admin, fields)
    assert counts() == before


@pytest.mark.parametrize("url", ["http://127.0.0.1:8025/hook", "http://localhost/hook",
                                 "https://insurer.example/hook", ""])
def test_webhook_urls_are_https_or_local_http(admin, url):
    insurer, _ = insurers.create_insurer(admin, {"code": "ABC", "name": "A", "webhook_url": url})
    assert insurer.webhook_url == url


def test_a_taken_code_is_a_conflict_on_create_and_on_edit(admin):
    insurers.create_insurer(admin, {"code": "ABC", "name": "A"})
    other, _ = insurers.create_insurer(admin, {"code": "XYZ", "name": "X"})
    before = counts()
    with pytest.raises(Conflict):
        insurers.create_insurer(admin, {"code": "abc", "name": "B"})
    with pytest.raises(Conflict):
        insurers.update_insurer(other.id, admin, {"code": "ABC", "name": "renamed"})
    db.session.rollback()
    assert counts() == before
    assert db.session.get(Insurer, other.id).name == "X"


def test_editing_an_insurer_changes_only_the_fields_given(admin):
    insurer, secret = insurers.create_insurer(admin, {"code": "ABC", "name": "A"})
    insurers.update_insurer(insurer.id, admin, {"name": "B", "webhook_url": "https://b.example"})
    row = db.session.get(Insurer, insurer.id)
    assert (row.code, row.name, row.webhook_url, row.webhook_secret) == \
        ("ABC", "B", "https://b.example", secret)


@pytest.mark.parametrize("role", ["dispatcher", "desk", "insurer", "customer"])
def test_only_an_admin_manages_insurers_and_policies(ctx, role):
    user = factories.make_user(role)
    with pytest.raises(Forbidden):
        insurers.create_insurer(user, {"code": "ABC", "name": "A"})
    with pytest.raises(Forbidden):
        insurers.list_insurers(user)
    with pytest.raises(Forbidden):
        insurers.create_policy(user, {})


def test_an_insurer_user_is_created_with_role_insurer_and_a_hashed_password(admin):
    insurer, _ = insurers.create_insurer(admin, {"code": "ABC", "name": "A"})
    user = insurers.create_user(insurer.id, admin, email="Kato@Insurer.Example", name="加藤",
                                password="correct-horse")
    assert (user.role, user.insurer_id, user.email) == ("insurer", insurer.id,
                                                        "kato@insurer.example")
    assert user.check_password("correct-horse") and "correct-horse" not in user.password_hash
    assert [u.id for u in insurers.list_users(admin, insurer.id)] == [user.id]


@pytest.mark.parametrize("email,name,password,error", [
    ("kato@insurer.example", "加藤", "short", InvalidInput),
    ("not-an-address", "加藤", "long-enough-1", InvalidInput),
    ("kato@insurer.example", "", "long-enough-1", InvalidInput),
    ("TAKEN@test.example", "加藤", "long-enough-1", Conflict),
])
def test_a_bad_insurer_user_is_refused_and_nothing_is_written(admin, email, name, password,
                                                              error):
    factories.make_user("desk", email="taken@test.example")
    insurer, _ = insurers.create_insurer(admin, {"code": "ABC", "name": "A"})
    before = counts()
    with pytest.raises(error):
        insurers.create_user(insurer.id, admin, email=email, name=name, password=password)
    assert counts() == before


def test_a_user_for_an_unknown_insurer_is_not_found(admin):
    with pytest.raises(NotFound):
        insurers.create_user(999_999, admin, email="a@b.example", name="A",
                             password="long-enough-1")


def test_a_policy_is_created_and_edited(admin):
    policy = insurers.create_policy(admin, policy_fields())
    assert (policy.number, policy.deductible) == ("CY-2026-0001", 50_000)
    insurers.update_policy(policy.id, admin, {"ends_on": date(2028, 3, 31), "deductible": 0})
    row = db.session.get(InsurancePolicy, policy.id)
    assert (row.ends_on, row.deductible, row.per_incident_limit) == \
        (date(2028, 3, 31), 0, 1_000_000)


@pytest.mark.parametrize("changes", [
    {"ends_on": date(2026, 4, 1)},
    {"ends_on": date(2026, 3, 1)},
    {"per_incident_limit": -1},
    {"deductible": 1.5},
    {"annual_aggregate": True},
    {"per_incident_limit": 5_000_000},
    {"insurer_id": 999_999},
    {"organization_id": 999_999},
    {"number": ""},
    {"starts_on": "2026-04-01"},
])
def test_a_bad_policy_is_refused_and_nothing_is_written(admin, changes):
    fields = policy_fields(**changes)
    before = counts()
    with pytest.raises(InvalidInput):
        insurers.create_policy(admin, fields)
    assert counts() == before


def test_a_policy_number_is_unique_on_create_and_on_edit(admin):
    first = insurers.create_policy(admin, policy_fields())
    second = insurers.create_policy(admin, policy_fields(number="CY-2026-0002"))
    duplicate = policy_fields(number="CY-2026-0001")
    before = counts()
    with pytest.raises(Conflict):
        insurers.create_policy(admin, duplicate)
    with pytest.raises(Conflict):
        insurers.update_policy(second.id, admin, {"number": first.number})
    db.session.rollback()
    assert counts() == before
    assert db.session.get(InsurancePolicy, second.id).number == "CY-2026-0002"


def test_an_edit_is_checked_against_the_stored_fields(admin):
    policy = insurers.create_policy(admin, policy_fields())
    with pytest.raises(InvalidInput):
        insurers.update_policy(policy.id, admin, {"starts_on": date(2027, 4, 1)})
    db.session.rollback()
    assert db.session.get(InsurancePolicy, policy.id).starts_on == date(2026, 4, 1)


def test_a_policy_with_claims_keeps_its_insured(admin):
    org = factories.make_organization()
    policy = org.policies[0]
    incident = factories.make_incident(org)
    db.session.add(Claim(incident_id=incident.id, policy_id=policy.id))
    db.session.commit()
    other = factories.make_organization(policy=False)
    with pytest.raises(Conflict):
        insurers.update_policy(policy.id, admin, {"organization_id": other.id})
    db.session.rollback()
    assert db.session.get(InsurancePolicy, policy.id).organization_id == org.id
