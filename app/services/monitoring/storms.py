"""Incidents from new alerts, with storms kept to what a desk can act on.

- A burst: a new alert of a rule family (source and rule id) whose incident was opened or
  joined by another alert within ALERT_BURST_WINDOW_MINUTES joins that incident instead of
  opening its own. The incident's timeline lists the sources and the count; the desk was
  paged once, by the first alert.
- A cap: at most ALERT_INCIDENTS_PER_HOUR new monitoring incidents per organization in the
  last hour. Beyond it the alerts are stored without an incident and the desk gets one storm
  notice per organization and clock hour.

No commit here: everything goes with the ingest batch.
"""

from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from app.domain.timeutil import to_jst
from app.extensions import db
from app.models import Alert, Incident, Organization
from app.services.incidents.audit import append_event
from app.services.incidents.contact import note_not_texted
from app.services.incidents.intake import IntakeRequest, report_incident
from notifications.outbox import page_role
from workflows.incident import FINAL_STATES

BURST_SOURCES_LISTED = 50  # of a burst's sources on its timeline event


def open_incidents(organization_id, alerts, now):
    """Give each of the new alerts (already selected by the policy, flushed) its incident:
    a family's recent one, else a new one while the hourly cap allows; how many were
    opened."""
    families, joined, held = {}, {}, []
    budget = _setting("ALERT_INCIDENTS_PER_HOUR") - _opened_last_hour(organization_id, now)
    opened = 0
    for alert in alerts:
        family = (alert.source, alert.rule_id)
        if family not in families:
            families[family] = _family_incident(organization_id, family, now)
        incident = families[family]
        if incident is not None:
            alert.incident_id = incident.id
            joined.setdefault(incident.id, (incident, []))[1].append(alert)
        elif budget <= 0:
            held.append(alert)
        else:
            families[family] = _open(alert, now)
            budget, opened = budget - 1, opened + 1
    for incident, members in joined.values():
        _record_burst(incident, members, now)
    if held:
        _storm_notice(organization_id, held, now)
    return opened


def _setting(name):
    return int(current_app.config[name])


def _opened_last_hour(organization_id, now):
    """Monitoring incidents the organization's alerts opened within the last hour."""
    return db.session.scalar(select(func.count(func.distinct(Alert.incident_id))).where(
        Alert.organization_id == organization_id, Alert.incident_id.is_not(None),
        Alert.first_seen_at > now - timedelta(hours=1)))


def _family_incident(organization_id, family, now):
    """The open incident of the family's latest alert within the burst window, or None: an
    incident the desk has closed or cancelled takes no more alerts (a new burst is news)."""
    since = now - timedelta(minutes=_setting("ALERT_BURST_WINDOW_MINUTES"))
    source, rule_id = family
    incident_id = db.session.scalar(select(Alert.incident_id).where(
        Alert.organization_id == organization_id, Alert.source == source,
        Alert.rule_id == rule_id, Alert.incident_id.is_not(None),
        Alert.first_seen_at >= since).order_by(Alert.first_seen_at.desc(), Alert.id.desc())
        .limit(1))
    incident = None if incident_id is None else db.session.get(Incident, incident_id)
    return None if incident is None or incident.state in FINAL_STATES else incident


def _open(alert, now):
    """A new incident for the alert, and a page to the desk."""
    incident = report_incident(_intake_for(alert), actor=None, actor_label="monitoring",
                               now=now, commit=False)
    alert.incident_id = incident.id
    page_desk(incident, alert, now)
    return incident


def _record_burst(incident, members, now):
    """One timeline event on the burst's incident: this batch's alerts that joined it, their
    sources, and how many alerts the incident now has."""
    sources = sorted({source for alert in members for source in _sources(alert)})
    total = db.session.scalar(select(func.count(Alert.id)).where(
        Alert.incident_id == incident.id))
    first = members[0]
    append_event(incident, kind="alert_burst", actor=None, actor_label="monitoring", now=now,
                 data={"source": first.source, "rule_id": first.rule_id,
                       "rule_name": first.rule_name[:200], "joined": len(members),
                       "alerts": total, "sources": sources[:BURST_SOURCES_LISTED],
                       "more_sources": max(0, len(sources) - BURST_SOURCES_LISTED)})


def _sources(alert):
    """Where an alert came from, for a burst's list: its addresses, else its hosts."""
    return list(alert.addresses or []) or list(alert.hosts or [])


def _storm_notice(organization_id, held, now):
    """One notice per organization and clock hour that alerts were held without incidents."""
    organization = db.session.get(Organization, organization_id)
    context = {"organization": organization.name, "held": len(held),
               "cap": _setting("ALERT_INCIDENTS_PER_HOUR"),
               "url": current_app.config["PUBLIC_BASE_URL"].rstrip("/")
               + f"/desk/alerts?organization_id={organization_id}"}
    hour = to_jst(now).strftime("%Y%m%d%H")
    page_role("desk", "alert_storm", context, incident=None,
              key=f"alert_storm:{organization_id}:{hour}", now=now)


def _host(alert):
    """The host an alert is about, for summaries (an address when no host is named)."""
    return next(iter(alert.hosts or alert.addresses or []), "")


def _intake_for(alert):
    """The intake request a monitoring alert becomes."""
    host = _host(alert)
    summary = f"{alert.rule_name} ({host})" if host else alert.rule_name
    return IntakeRequest(
        organization_id=alert.organization_id, channel="monitoring", category="suspicious_traffic",
        severity=alert.severity, summary=summary[:200], discovery_source="alert",
        occurred_at=alert.occurred_at, discovered_at=alert.first_seen_at)


def page_desk(incident, alert, now):
    """Page every active desk user at once (SMS where they have a phone, and e-mail)."""
    context = {"reference": incident.reference, "organization": incident.organization.name,
               "severity": alert.severity, "rule_name": alert.rule_name, "host": _host(alert),
               "sensor": alert.sensor, "url": current_app.config["PUBLIC_BASE_URL"].rstrip("/")
               + f"/desk/incidents/{incident.id}"}
    not_texted = []
    page_role("desk", "desk_alert", context, incident=incident, key=f"desk_alert:{alert.id}",
              now=now, not_texted=not_texted)
    note_not_texted(incident, not_texted, now)
