"""The severity policy per contract: the contract active on now's Japan date decides which new
alerts open an incident; without one (or with null) ALERT_INCIDENT_SEVERITIES does."""

import json
from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Alert, Contract, Incident, Notification, Organization
from app.services.monitoring import ingest as service
from app.testkit import factories

NOW = datetime(2026, 11, 25, 3, 0)  # 12:00 JST
SEVERITIES = ("critical", "high", "medium", "low")


def batch():
    """One alert of each severity, each its own rule."""
    return json.dumps([{"source": "edr", "sensor": "edr-0042", "severity": severity,
                        "rule_id": f"R-{severity}", "rule_name": f"Rule {severity}",
                        "hosts": ["pc-01"], "occurred_at": "2026-11-25T02:59:00Z"}
                       for severity in SEVERITIES]).encode()


def with_incidents(key, now=NOW):
    """Send one alert of each severity; the severities whose alert has an incident."""
    result = service.ingest(key, "application/json", batch(), now=now).as_json()
    return tuple(severity for severity, alert in zip(SEVERITIES, result["alerts"], strict=True)
                 if alert["incident_id"])


def contract(organization_id, starts_on=date(2020, 1, 1), ends_on=None, severities=None):
    row = Contract(organization_id=organization_id, plan="network", monthly_fee=1,
                   starts_on=starts_on, ends_on=ends_on, alert_incident_severities=severities)
    db.session.add(row)
    db.session.commit()
    return row


@pytest.fixture
def world(ctx):
    """The test world (org A has an open-ended contract with the default policy)."""
    return factories.make_world()


@pytest.fixture
def key_a(world):
    return service.create_ingest_key(db.session.get(Organization, world["org_a"]))


@pytest.fixture
def key_b(world):
    """Org B has no contract."""
    return service.create_ingest_key(db.session.get(Organization, world["org_b"]))


def test_a_contract_with_the_default_policy_opens_critical_and_high(key_a):
    assert with_incidents(key_a) == ("critical", "high")


def test_an_organization_without_a_contract_follows_the_configuration(key_b, app, monkeypatch):
    monkeypatch.setitem(app.config, "ALERT_INCIDENT_SEVERITIES", ("critical", "low"))
    assert with_incidents(key_b) == ("critical", "low")


def test_the_contracts_list_decides_instead_of_the_configuration(world, key_a):
    db.session.get(Contract, world["org_a"]).alert_incident_severities = ["medium", "low"]
    db.session.commit()
    assert with_incidents(key_a) == ("medium", "low")


def test_an_empty_list_keeps_every_alert_for_the_reports_and_opens_nothing(world, key_a):
    db.session.get(Contract, world["org_a"]).alert_incident_severities = []
    db.session.commit()
    assert with_incidents(key_a) == ()
    assert db.session.scalar(select(func.count(Alert.id))) == 4
    assert db.session.scalar(select(func.count(Incident.id))) == 0
    assert db.session.scalar(select(func.count(Notification.id))) == 0


def test_the_latest_started_active_contract_wins(world, key_a):
    contract(world["org_a"], starts_on=date(2026, 4, 1), severities=["low"])
    contract(world["org_a"], starts_on=date(2025, 4, 1), severities=["medium"])
    assert with_incidents(key_a) == ("low",)


def test_a_contract_is_active_from_its_start_in_japan_time(key_b, world):
    # 2026-11-30 15:30 UTC is already 2026-12-01 00:30 in Japan (and past the dedup window).
    contract(world["org_b"], starts_on=date(2026, 12, 1), severities=["low"])
    assert with_incidents(key_b, datetime(2026, 11, 30, 13, 0)) == ("critical", "high")
    assert with_incidents(key_b, datetime(2026, 11, 30, 15, 30)) == ("low",)


def test_an_ended_contract_no_longer_decides(key_b, world):
    contract(world["org_b"], starts_on=date(2025, 4, 1), ends_on=date(2026, 3, 31),
             severities=[])
    assert with_incidents(key_b) == ("critical", "high")


def test_repeats_never_open_an_incident_even_when_the_policy_widens(world, key_a):
    with_incidents(key_a)
    db.session.get(Contract, world["org_a"]).alert_incident_severities = list(SEVERITIES)
    db.session.commit()
    result = service.ingest(key_a, "application/json", batch(), now=NOW).as_json()
    assert result["incidents_created"] == 0
    assert [bool(a["incident_id"]) for a in result["alerts"]] == [True, True, False, False]
    assert db.session.scalar(select(func.count(Incident.id))) == 2
