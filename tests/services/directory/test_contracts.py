"""Contracts against the standard: class-1 price caps at their exact boundaries, class-2 additions.

Decision: class 2 is not bound by the class-1 price caps (IPA: 2類 relaxes the price
requirement and publishes no cap); it must add one of the class-2 requirements instead. The
>= 50 endpoints requirement counts on a network or combined plan, as IPA's 2類 ① says.
"""

from datetime import date

import pytest
from sqlalchemy import func, select

from app.errors import Forbidden, InvalidInput, NotFound
from app.extensions import db
from app.models import Contract
from app.services.directory import contracts
from app.testkit import factories

START = date(2026, 4, 1)


@pytest.fixture
def admin(ctx):
    return factories.make_user("admin")


@pytest.fixture
def org(ctx):
    organization = factories.make_organization(contract=False, policy=False)
    db.session.commit()
    return organization.id


def count():
    return db.session.scalar(select(func.count(Contract.id)))


def create(admin, org, **fields):
    return contracts.create_contract(admin, org, {"starts_on": START, **fields})


def refused(admin, org, reason, **fields):
    """Assert the contract is refused for `reason` and nothing is written; the details."""
    before = count()
    with pytest.raises(InvalidInput) as info:
        create(admin, org, **fields)
    db.session.rollback()
    assert info.value.details["reason"] == reason
    assert count() == before
    return info.value.details


def test_a_class_1_network_contract_may_cost_exactly_10000_yen(admin, org):
    assert create(admin, org, plan="network", monthly_fee=10_000).monthly_fee == 10_000


def test_a_class_1_network_contract_at_10001_yen_is_refused_with_the_cap(admin, org):
    details = refused(admin, org, "over_price_cap", plan="network", monthly_fee=10_001,
                      devices=30)
    assert details == {"field": "monthly_fee", "reason": "over_price_cap", "cap": 10_000}


@pytest.mark.parametrize("devices", [1, 50])
def test_a_class_1_endpoint_contract_may_cost_2000_yen_a_device_and_not_one_yen_more(
        admin, org, devices):
    assert create(admin, org, plan="endpoint", devices=devices,
                  monthly_fee=2_000 * devices).devices == devices
    details = refused(admin, org, "over_price_cap", plan="endpoint", devices=devices,
                      monthly_fee=2_000 * devices + 1)
    assert details["cap"] == 2_000 * devices


@pytest.mark.parametrize("devices", [1, 50])
def test_a_class_1_combined_contract_may_cost_the_sum_and_not_one_yen_more(
        admin, org, devices):
    cap = 10_000 + 2_000 * devices
    assert create(admin, org, plan="combined", devices=devices, monthly_fee=cap).id
    assert refused(admin, org, "over_price_cap", plan="combined", devices=devices,
                   monthly_fee=cap + 1)["cap"] == cap


def test_a_contract_can_start_at_one_device_and_not_at_zero(admin, org):
    assert create(admin, org, plan="endpoint", devices=1, monthly_fee=0).devices == 1
    refused(admin, org, "invalid", plan="endpoint", devices=0, monthly_fee=0)


def test_a_class_2_contract_adding_nothing_is_refused_whatever_its_price(admin, org):
    details = refused(admin, org, "class_2_requirement_missing", plan="combined",
                      service_class=2, devices=49, monthly_fee=1_000)
    assert details["field"] == "service_class"


@pytest.mark.parametrize("plan", ["network", "combined"])
def test_a_class_2_contract_with_50_endpoints_is_accepted_above_the_class_1_cap(
        admin, org, plan):
    contract = create(admin, org, plan=plan, service_class=2, devices=50, monthly_fee=500_000)
    assert (contract.service_class, contract.monthly_fee) == (2, 500_000)


def test_a_class_2_contract_with_49_endpoints_and_nothing_else_is_refused(admin, org):
    refused(admin, org, "class_2_requirement_missing", plan="network", service_class=2,
            devices=49, monthly_fee=10_000)


def test_50_endpoints_on_an_endpoint_only_plan_do_not_make_class_2(admin, org):
    refused(admin, org, "class_2_requirement_missing", plan="endpoint", service_class=2,
            devices=50, monthly_fee=100_000)


@pytest.mark.parametrize("added", [{"added_monitoring": "CASB"}, {"added_monitoring": "SASE"},
                                   {"monthly_service": "毎月のセキュリティ相談"}])
def test_a_class_2_contract_with_added_monitoring_or_a_monthly_service_is_accepted(
        admin, org, added):
    contract = create(admin, org, plan="endpoint", service_class=2, devices=1,
                      monthly_fee=30_000, **added)
    assert contract.service_class == 2


def test_blank_additions_do_not_count_for_class_2(admin, org):
    refused(admin, org, "class_2_requirement_missing", plan="endpoint", service_class=2,
            monthly_fee=3_000, added_monitoring="   ", monthly_service="")


@pytest.mark.parametrize("fields", [
    {"plan": "network", "monthly_fee": -1},
    {"plan": "network", "monthly_fee": 1.5},
    {"plan": "network", "monthly_fee": True},
    {"plan": "network", "monthly_fee": "100"},
    {"plan": "cloud", "monthly_fee": 100},
    {"plan": "network", "monthly_fee": 100, "service_class": 3},
    {"plan": "network", "monthly_fee": 100, "desk_hours": "night"},
    {"plan": "network", "monthly_fee": 100, "colour": "blue"},
])
def test_bad_fields_are_refused_and_nothing_is_written(admin, org, fields):
    refused(admin, org, "unknown_field" if "colour" in fields else "invalid", **fields)


@pytest.mark.parametrize("ends_on", [START, date(2026, 3, 31)])
def test_the_end_date_must_be_after_the_start_date(admin, org, ends_on):
    refused(admin, org, "ends_before_start", plan="network", monthly_fee=1, ends_on=ends_on)
    assert create(admin, org, plan="network", monthly_fee=1, ends_on=date(2026, 4, 2)).id


def test_a_policy_of_another_organization_cannot_be_linked(admin, org):
    other = factories.make_organization()
    db.session.commit()
    refused(admin, org, "policy_not_of_organization", plan="network", monthly_fee=1,
            policy_id=other.policies[0].id)


def test_an_update_is_checked_as_a_whole_and_a_refusal_changes_nothing(admin, org):
    contract = create(admin, org, plan="endpoint", devices=10, monthly_fee=20_000)
    with pytest.raises(InvalidInput) as info:
        contracts.update_contract(admin, contract.id, {"devices": 9})
    db.session.rollback()
    assert info.value.details == {"field": "monthly_fee", "reason": "over_price_cap",
                                  "cap": 18_000}
    assert db.session.get(Contract, contract.id).devices == 10
    updated = contracts.update_contract(admin, contract.id, {"devices": 9, "monthly_fee": 18_000})
    assert (updated.devices, updated.monthly_fee) == (9, 18_000)


def test_only_an_admin_writes_and_the_desk_and_dispatcher_read(admin, org):
    contract = create(admin, org, plan="network", monthly_fee=1)
    for role in ("desk", "dispatcher"):
        user = factories.make_user(role)
        assert contracts.list_contracts(user, org) == [contract]
        with pytest.raises(Forbidden):
            contracts.create_contract(user, org, {"plan": "network", "monthly_fee": 1,
                                                  "starts_on": START})
    with pytest.raises(Forbidden):
        contracts.list_contracts(factories.make_user("customer"), org)
    with pytest.raises(NotFound):
        contracts.get_contract(admin, contract.id + 1000)
    assert count() == 1


def test_a_new_contract_takes_the_default_sla_targets_and_alert_policy(admin, org):
    contract = create(admin, org, plan="network", monthly_fee=1)
    assert (contract.sla_acknowledge_minutes, contract.sla_claim_business_days,
            contract.alert_incident_severities) == (30, 10, None)


@pytest.mark.parametrize(("sent", "stored"), [
    (None, None), ([], []), (["critical"], ["critical"]),
    (["low", "critical", "low"], ["critical", "low"]),
    (("medium", "high"), ["high", "medium"]),
])
def test_the_alert_policy_is_stored_without_repeats_in_severity_order(admin, org, sent, stored):
    contract = create(admin, org, plan="network", monthly_fee=1, alert_incident_severities=sent)
    db.session.expire_all()
    assert db.session.get(Contract, contract.id).alert_incident_severities == stored


@pytest.mark.parametrize(("field", "value"), [
    ("sla_acknowledge_minutes", 1), ("sla_acknowledge_minutes", 1440),
    ("sla_claim_business_days", 1), ("sla_claim_business_days", 90),
])
def test_the_sla_targets_are_accepted_at_their_bounds(admin, org, field, value):
    assert getattr(create(admin, org, plan="network", monthly_fee=1, **{field: value}),
                   field) == value


@pytest.mark.parametrize(("field", "value"), [
    ("sla_acknowledge_minutes", 0), ("sla_acknowledge_minutes", 1441),
    ("sla_acknowledge_minutes", True), ("sla_acknowledge_minutes", "30"),
    ("sla_claim_business_days", 0), ("sla_claim_business_days", 91),
    ("sla_claim_business_days", 1.5), ("sla_claim_business_days", None),
    ("alert_incident_severities", "critical"), ("alert_incident_severities", ["urgent"]),
    ("alert_incident_severities", ["critical", 1]), ("alert_incident_severities", [["high"]]),
    ("alert_incident_severities", {"critical": True}),
])
def test_bad_sla_targets_and_alert_policies_are_refused_naming_the_field(
        admin, org, field, value):
    details = refused(admin, org, "invalid", plan="network", monthly_fee=1, **{field: value})
    assert details["field"] == field


def test_the_alert_policy_and_targets_change_alone_and_a_refusal_changes_nothing(admin, org):
    contract = create(admin, org, plan="network", monthly_fee=1,
                      alert_incident_severities=["critical"])
    for bad in ({"alert_incident_severities": ["severe"]}, {"sla_claim_business_days": 91},
                {"sla_acknowledge_minutes": 45, "sla_claim_business_days": 0}):
        with pytest.raises(InvalidInput):
            contracts.update_contract(admin, contract.id, bad)
        db.session.rollback()
        kept = db.session.get(Contract, contract.id)
        assert (kept.alert_incident_severities, kept.sla_acknowledge_minutes,
                kept.sla_claim_business_days) == (["critical"], 30, 10)
    updated = contracts.update_contract(admin, contract.id, {
        "alert_incident_severities": None, "sla_acknowledge_minutes": 45})
    assert (updated.alert_incident_severities, updated.sla_acknowledge_minutes,
            updated.sla_claim_business_days) == (None, 45, 10)
