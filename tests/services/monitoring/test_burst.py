"""A burst: 10,000 alerts, exactly 100 of them distinct, from concurrent senders.

Eight senders (threads, each with its own app context and session) send 100 batches of 100
records, shuffled so every batch mixes new alerts and repeats and the same alert arrives from
several senders at once. Org A's contract opens incidents for critical and medium alerts only,
so exactly the 50 distinct critical and medium alerts get an incident. PostgreSQL serializes
the senders with the organization row lock, SQLite with BEGIN IMMEDIATE (app/__init__.py).
"""

import json
import random
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from sqlalchemy import func, select

from app.extensions import db
from app.models import Alert, Contract, Incident, IncidentEvent, Notification, Organization
from app.services.monitoring import ingest as service

NOW = datetime(2026, 11, 25, 3, 0)
SEVERITIES = ("critical", "high", "medium", "low")
POLICY = ["critical", "medium"]
DISTINCT, REPEATS, BATCH, SENDERS = 100, 100, 100, 8


def alert(number):
    """The distinct alert `number`; severities take turns, so 25 of each."""
    return {"source": "edr", "sensor": "edr-burst", "severity": SEVERITIES[number % 4],
            "rule_id": f"BURST-{number}", "rule_name": f"Burst rule {number}",
            "hosts": [f"pc-{number:03d}"], "occurred_at": "2026-11-25T02:59:00Z"}


def batches():
    """10,000 records, each distinct alert 100 times, shuffled into batches of 100."""
    records = [alert(n) for n in range(DISTINCT) for _ in range(REPEATS)]
    random.Random(5).shuffle(records)
    return [json.dumps(records[i:i + BATCH]).encode() for i in range(0, len(records), BATCH)]


def org_a_key(app, world):
    """An ingest key of org A, whose contract opens incidents for critical and medium."""
    with app.app_context():
        db.session.scalars(select(Contract).where(
            Contract.organization_id == world.org_a)).one().alert_incident_severities = POLICY
        db.session.commit()
        key = service.create_ingest_key(db.session.get(Organization, world.org_a))
        db.session.remove()
    return key


def send_all(app, key, bodies):
    """Send the bodies from SENDERS threads; each batch's (records, incidents created)."""
    def send(numbered):
        number, body = numbered
        with app.app_context():
            now = NOW + timedelta(milliseconds=number)  # senders' clocks, all in the window
            result = service.ingest(key, "application/json", body, now=now).as_json()
            db.session.remove()
        return len(result["alerts"]), result["incidents_created"]

    with ThreadPoolExecutor(max_workers=SENDERS) as pool:
        return list(pool.map(send, enumerate(bodies)))


def test_a_burst_of_10000_alerts_ends_as_100_alerts_and_the_policys_incidents(
        app, world, monkeypatch):
    monkeypatch.setitem(app.config, "ALERT_INCIDENTS_PER_HOUR", 1000)  # not a storm here
    key = org_a_key(app, world)
    answers = send_all(app, key, batches())
    assert sum(records for records, _ in answers) == DISTINCT * REPEATS
    with app.app_context():
        alerts = db.session.scalars(select(Alert)).all()
        incidents = db.session.scalars(select(Incident)).all()
        intake_events = db.session.scalar(select(func.count(IncidentEvent.id)))
        pages = db.session.scalar(select(func.count(Notification.id)).where(
            Notification.template == "desk_alert"))
        db.session.remove()
    assert len(alerts) == DISTINCT and sum(a.count for a in alerts) == DISTINCT * REPEATS
    assert {a.count for a in alerts} == {REPEATS}
    assert sorted(a.rule_id for a in alerts) == sorted(f"BURST-{n}" for n in range(DISTINCT))
    with_incident = [a for a in alerts if a.incident_id is not None]
    assert sorted(a.severity for a in with_incident) == ["critical"] * 25 + ["medium"] * 25
    assert len(incidents) == 50 and sum(created for _, created in answers) == 50
    assert {a.incident_id for a in with_incident} == {i.id for i in incidents}
    assert intake_events == 50 and pages == 50  # one desk user, by e-mail: one page each
