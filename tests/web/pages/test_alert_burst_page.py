"""A burst's incident page lists the burst on its timeline: how many more alerts, their
sources, and the total (in both languages); the alert list says when an alert happened and
which field of the record said so."""

import json
from datetime import datetime

from sqlalchemy import select

from app.extensions import db
from app.models import Alert, Organization
from app.services.monitoring import ingest as service

NOW = datetime(2026, 12, 6, 1, 0)


def burst(app, organization_id, sources):
    """One high alert of one rule from each source address, in one batch; its incident id."""
    alerts = [{"source": "edr", "sensor": "edr-1", "severity": "high", "rule_id": "SCAN-1",
               "rule_name": "Port scan", "addresses": [f"198.51.100.{n}"],
               "occurred_at": "2026-12-06T01:00:00Z"} for n in range(1, sources + 1)]
    with app.app_context():
        key = service.create_ingest_key(db.session.get(Organization, organization_id))
        service.ingest(key, "application/json", json.dumps(alerts).encode(), now=NOW)
        [incident_id] = set(db.session.scalars(select(Alert.incident_id)))
        db.session.remove()
    return incident_id


def test_the_timeline_lists_the_bursts_sources_and_count(app, login, world):
    incident_id = burst(app, world.org_a, 4)
    desk = login(world.emails["desk"])
    english = desk.get(f"/desk/incidents/{incident_id}?lang=en").text
    assert "Alert burst: 3 more alerts of Port scan (4 in all)" in english
    assert "198.51.100.2, 198.51.100.3, 198.51.100.4" in english
    japanese = desk.get(f"/desk/incidents/{incident_id}?lang=ja").text
    assert "アラートの集中: Port scan のアラートがさらに 3 件（計 4 件）" in japanese


def test_the_alert_list_shows_when_it_happened_and_which_field_said_so(app, login, world):
    with app.app_context():
        key = service.create_ingest_key(db.session.get(Organization, world.org_a))
        service.ingest(key, "text/plain",
                       b"<134>Dec  6 10:00:00 fw01 CEF:0|Fortinet|Fortigate|7|1|ips|3|"
                       b"src=192.0.2.4",
                       now=NOW)
        db.session.remove()
    page = login(world.emails["desk"]).get("/desk/alerts?lang=en").text
    assert "Occurred 2026-12-06 10:00 JST (time from the syslog header)" in page
