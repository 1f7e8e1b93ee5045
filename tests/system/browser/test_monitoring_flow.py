"""End to end in Chromium: a sensor posts a critical alert; the desk sees the monitoring
incident with its SLA clock running, and the provider dashboard counts it in its charts
with a link to it. Data is made inside short app contexts; only plain values leave them.
"""

from datetime import UTC, datetime

import pytest
from flask_babel import force_locale

from app.domain.labels import CATEGORY_LABELS
from app.extensions import db
from app.models import Incident
from app.services.monitoring.ingest import create_ingest_key
from app.testkit import factories
from tests.system.browser.helpers import expect, log_in

pytestmark = pytest.mark.browser

ORG_NAME = "監視テスト工業株式会社"


@pytest.fixture
def monitored(app):
    """An SME with a contract and an ingest key, and a desk operator."""
    with app.app_context():
        org = factories.make_organization(name=ORG_NAME)
        values = {"key": create_ingest_key(org), "desk_email": factories.make_user("desk").email}
        db.session.remove()
    with app.test_request_context(), force_locale("ja"):
        values["category_ja"] = str(CATEGORY_LABELS["suspicious_traffic"])
    return values


def critical_alert():
    """A generic-JSON EDR alert as a sensor sends it (docs/alerts.md), happening now."""
    return {"source": "edr", "sensor": "edr-cloud-tenant-0042", "severity": "critical",
            "rule_id": "EDR-RANSOM-001", "rule_name": "Ransomware behaviour: mass file encryption",
            "hosts": ["pc-soumu-01"], "addresses": ["192.168.10.61"],
            "occurred_at": datetime.now(UTC).isoformat(timespec="seconds")}


def test_a_critical_alert_reaches_the_desk_list_with_its_clock_and_the_dashboard(
        app, page, monitored):
    answer = page.request.post("/api/v1/alerts", data=critical_alert(), headers={
        "Authorization": f"Bearer {monitored['key']}"})
    assert answer.status == 202, answer.text()
    body = answer.json()
    assert body["incidents_created"] == 1
    with app.app_context():
        incident = db.session.get(Incident, body["alerts"][0]["incident_id"])
        reference, channel = incident.reference, incident.channel
        db.session.remove()
    assert channel == "monitoring"

    log_in(page, monitored["desk_email"])
    row = page.locator(f'tr[data-reference="{reference}"]')
    expect(row).to_contain_text(ORG_NAME)
    expect(row).to_contain_text("pc-soumu-01")  # the summary names the host
    clock = row.locator('li.sla-clock[data-clock="first_response"]')
    expect(clock).to_have_attribute("data-sla", "ok")  # running, well before its due time

    page.goto("/dashboard/")
    count = page.locator('table.by-category a.drill[data-key="suspicious_traffic"]')
    expect(count).to_have_text("1")
    chart = page.locator("section:has(table.by-category) figure svg")
    expect(chart).to_be_visible()
    expect(chart).to_contain_text(monitored["category_ja"])
    count.click()
    expect(page.locator(f'a:text-is("{reference}")')).to_be_visible()
