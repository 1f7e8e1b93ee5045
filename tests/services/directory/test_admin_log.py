"""The administrative change log: every kind of change writes one row with who, before and
after, in the change's own commit; a refused change writes none; secrets are never written."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from app.errors import Forbidden, InvalidInput
from app.extensions import db
from app.models import AdminChange, ApiToken, IngestKey
from app.services import admin_log
from app.services.actors import CommandLineOperator
from app.services.claims import coverage, insurers
from app.services.directory import contracts, organizations, tokens, users
from app.services.dispatch import technicians
from app.services.monitoring import ingest
from app.testkit import factories

NOW = datetime(2090, 4, 1, 9, 0, tzinfo=UTC)
POLICY = {"number": "CY-2026-0001", "starts_on": date(2026, 4, 1), "ends_on": date(2027, 3, 31),
          "per_incident_limit": 1_000_000, "annual_aggregate": 3_000_000, "deductible": 50_000}
TECHNICIAN = {"name": "佐藤 健", "phone": "090-1234-5678", "prefectures": [13],
              "skills": ["malware"]}


@pytest.fixture
def admin(ctx):
    user = factories.make_user("admin")
    db.session.commit()
    return user


def changes():
    return db.session.scalars(select(AdminChange).order_by(AdminChange.id)).all()


def only_change(kind, action, entity_id, actor):
    """The one change row there is, checked for kind, action, entity and actor."""
    [change] = changes()
    assert (change.kind, change.action, change.entity_id) == (kind, action, entity_id)
    assert (change.actor_id, change.actor_label) == (actor.id, actor.email)
    return change


def test_an_organization_created_then_updated_records_fields_and_phones(admin):
    org = organizations.create_organization(admin, {"code": "tky-1", "name": "東京精機",
                                                    "prefecture": 13},
                                            [{"number": "03-1234-5678", "label": "代表"}])
    created = only_change("organization", "created", org.id, admin)
    assert created.before is None
    assert created.after["name"] == "東京精機"
    assert created.after["phones"] == [{"number": "+81312345678", "label": "代表"}]
    db.session.query(AdminChange).delete()
    organizations.update_organization(org.id, admin, {"name": "東京精機株式会社"}, phones=[])
    updated = only_change("organization", "updated", org.id, admin)
    assert (updated.before["name"], updated.after["name"]) == ("東京精機", "東京精機株式会社")
    assert (len(updated.before["phones"]), updated.after["phones"]) == (1, [])


def test_a_phone_added_and_removed_is_recorded(admin):
    org = factories.make_organization(contract=False, policy=False)
    db.session.commit()
    phone = organizations.add_phone(org.id, admin, "03-9999-0000", "夜間")
    assert only_change("organization_phone", "created", phone.id, admin).after["label"] == "夜間"
    db.session.query(AdminChange).delete()
    phone_id = phone.id
    organizations.remove_phone(org.id, phone_id, admin)
    removed = only_change("organization_phone", "deleted", phone_id, admin)
    assert (removed.before["number"], removed.after) == ("+81399990000", None)


def test_a_contract_created_and_updated_is_recorded(admin):
    org = factories.make_organization(contract=False, policy=False)
    db.session.commit()
    contract = contracts.create_contract(admin, org.id, {"plan": "network", "monthly_fee": 10_000,
                                                         "starts_on": date(2026, 4, 1)})
    assert only_change("contract", "created", contract.id, admin).after["monthly_fee"] == 10_000
    db.session.query(AdminChange).delete()
    contracts.update_contract(admin, contract.id, {"monthly_fee": 9_000})
    change = only_change("contract", "updated", contract.id, admin)
    assert (change.before["monthly_fee"], change.after["monthly_fee"]) == (10_000, 9_000)
    assert change.after["starts_on"] == "2026-04-01"


def test_an_insurer_is_recorded_without_its_webhook_secret(admin):
    insurer, secret = insurers.create_insurer(admin, {"code": "ABC", "name": "A損保"})
    created = only_change("insurer", "created", insurer.id, admin)
    insurers.update_insurer(insurer.id, admin, {"name": "B損保"})
    insurers.rotate_secret(insurer.id, admin)
    rows = changes()
    assert [(c.action, c.before and c.before["name"]) for c in rows] == [
        ("created", None), ("updated", "A損保"), ("updated", "B損保")]
    assert rows[2].after["webhook_secret"] == "rotated"
    for change in rows:
        assert secret not in str(change.before) + str(change.after)
    assert "webhook_secret" not in created.after


def test_a_policy_and_its_terms_are_recorded(admin):
    org = factories.make_organization(policy=False)
    insurer = factories.make_insurer()
    factories.coverage_heads()
    db.session.commit()
    policy = insurers.create_policy(admin, {**POLICY, "insurer_id": insurer.id,
                                            "organization_id": org.id})
    only_change("policy", "created", policy.id, admin)
    db.session.query(AdminChange).delete()
    insurers.update_policy(policy.id, admin, {"deductible": 10_000})
    assert only_change("policy", "updated", policy.id, admin).after["deductible"] == 10_000
    db.session.query(AdminChange).delete()
    code = sorted(factories.coverage_heads())[0]
    coverage.set_terms(policy.id, admin, per_incident_limit=2_000_000, annual_aggregate=3_000_000,
                       deductible=0, heads={code: (80, 500_000)})
    terms = only_change("policy", "updated", policy.id, admin)
    assert terms.before["per_incident_limit"] == 1_000_000
    assert list(terms.after["terms"].values()) == [[80, 500_000]]


def test_a_coverage_head_added_is_recorded(admin):
    head = coverage.create_head(admin, "forensics", "フォレンジック", "Forensics")
    assert only_change("coverage_head", "created", head.id, admin).after["code"] == "forensics"


def test_a_login_created_and_deactivated_is_recorded_without_its_password_hash(admin):
    user = users.create_user(admin, email="desk2@example.jp", name="受付", role="desk",
                             password="correct horse battery")
    created = only_change("user", "created", user.id, admin)
    assert created.after["email"] == "desk2@example.jp"
    assert "password_hash" not in created.after
    db.session.query(AdminChange).delete()
    users.deactivate_user(admin, user.id)
    change = only_change("user", "updated", user.id, admin)
    assert (change.before["active"], change.after["active"]) == (True, False)
    assert "password_hash" not in change.before


def test_a_new_password_is_recorded_as_changed_never_its_hash(admin):
    user = factories.make_user("desk")
    db.session.commit()
    old_hash = user.password_hash
    users.set_password(admin, user.id, "another correct horse")
    change = only_change("user", "updated", user.id, admin)
    assert change.after["password"] == "changed"
    assert old_hash not in str(change.before) and user.password_hash not in str(change.after)


def test_an_api_token_revoked_by_an_admin_is_recorded_without_its_hash(admin):
    owner = factories.make_user("desk")
    db.session.commit()
    factories.create_token(owner)
    token = db.session.scalars(select(ApiToken)).one()
    tokens.revoke_token(admin, token)
    change = only_change("api_token", "updated", token.id, admin)
    assert change.before["revoked_at"] is None and change.after["revoked_at"]
    assert "token_hash" not in change.after
    tokens.revoke_token(admin, token)  # already revoked: nothing changes, nothing recorded
    assert len(changes()) == 1


def test_a_technician_and_a_shift_are_recorded(admin):
    technician = technicians.create_technician(admin, TECHNICIAN)
    only_change("technician", "created", technician.id, admin)
    db.session.query(AdminChange).delete()
    technicians.update_technician(technician.id, admin, {"active": False})
    change = only_change("technician", "updated", technician.id, admin)
    assert (change.before["active"], change.after["active"]) == (True, False)
    db.session.query(AdminChange).delete()
    shift = technicians.add_shift(technician.id, admin, datetime(2090, 4, 1, 9, tzinfo=UTC),
                                  datetime(2090, 4, 1, 18, tzinfo=UTC),
                                  now=NOW.replace(tzinfo=None))
    assert only_change("shift", "created", shift.id, admin).after["starts_at"] == \
        "2090-04-01T09:00:00"
    db.session.query(AdminChange).delete()
    shift_id = shift.id
    technicians.delete_shift(shift_id, admin)
    assert only_change("shift", "deleted", shift_id, admin).before["ends_at"] == \
        "2090-04-01T18:00:00"


def test_an_ingest_key_created_and_revoked_is_recorded_without_its_hash(admin):
    org = factories.make_organization(contract=False, policy=False)
    db.session.commit()
    plain = ingest.create_ingest_key(org, now=NOW, actor=admin)
    key = db.session.scalars(select(IngestKey)).one()
    created = only_change("ingest_key", "created", key.id, admin)
    assert created.at == NOW.replace(tzinfo=None)
    assert "key_hash" not in created.after and plain not in str(created.after)
    db.session.query(AdminChange).delete()
    ingest.revoke_one_ingest_key(key, now=NOW, actor=admin)
    revoked = only_change("ingest_key", "updated", key.id, admin)
    assert (revoked.before["revoked_at"], revoked.after["revoked_at"]) == (
        None, "2090-04-01T09:00:00")


def test_the_command_line_is_named_as_the_actor(ctx):
    org = factories.make_organization(contract=False, policy=False)
    db.session.commit()
    ingest.create_ingest_key(org, actor=CommandLineOperator())
    [change] = changes()
    assert (change.actor_id, change.actor_label) == (None, "command line")


def test_a_refused_change_writes_no_change_row(admin):
    desk = factories.make_user("desk")
    db.session.commit()
    with pytest.raises(Forbidden):
        organizations.create_organization(desk, {"code": "x", "name": "x", "prefecture": 13})
    with pytest.raises(InvalidInput):
        technicians.create_technician(admin, {**TECHNICIAN, "phone": "not a phone"})
    with pytest.raises(InvalidInput):
        users.create_user(admin, email="a@example.jp", name="a", role="desk", password="short")
    insurer, _ = insurers.create_insurer(admin, {"code": "ABC", "name": "A"})
    db.session.query(AdminChange).delete()
    db.session.commit()
    with pytest.raises(InvalidInput):
        insurers.update_insurer(insurer.id, admin, {"webhook_url": "ftp://nope"})
    db.session.rollback()
    assert db.session.scalar(select(func.count(AdminChange.id))) == 0


def test_the_list_is_newest_first_by_kind_a_page_at_a_time_for_admins_only(admin):
    for number in range(3):
        technicians.create_technician(admin, {**TECHNICIAN, "name": f"技術者{number}"})
    insurers.create_insurer(admin, {"code": "ABC", "name": "A"})
    first = admin_log.change_page(admin, kind="technician", limit=2)
    assert [c.after["name"] for c in first.items] == ["技術者2", "技術者1"]
    second = admin_log.change_page(admin, kind="technician", cursor=first.next_cursor, limit=2)
    assert ([c.after["name"] for c in second.items], second.next_cursor) == (["技術者0"], None)
    assert [c.kind for c in admin_log.change_page(admin).items][0] == "insurer"
    with pytest.raises(InvalidInput):
        admin_log.change_page(admin, kind="password")
    with pytest.raises(Forbidden):
        admin_log.change_page(factories.make_user("dispatcher"))
