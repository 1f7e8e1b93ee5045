"""Incidents and organizations as API JSON."""

from app.timeutil import isoformat_utc
from workflows import INCIDENT


def incident_summary(incident):
    """The fields of an incident shown in lists."""
    return {
        "id": incident.id, "reference": incident.reference,
        "organization_id": incident.organization_id,
        "organization_name": incident.organization.name,
        "channel": incident.channel, "category": incident.category,
        "severity": incident.severity, "summary": incident.summary, "state": incident.state,
        "version": incident.version,
        "discovered_at": isoformat_utc(incident.discovered_at),
        "created_at": isoformat_utc(incident.created_at),
        "updated_at": isoformat_utc(incident.updated_at),
    }


def timeline_event(event):
    """One timeline entry."""
    return {
        "seq": event.seq, "kind": event.kind, "occurred_at": isoformat_utc(event.occurred_at),
        "actor": event.actor_label, "trigger": event.trigger, "from_state": event.from_state,
        "to_state": event.to_state, "note": event.note, "data": event.data,
    }


def incident_detail(incident, user):
    """Everything about an incident, with what `user` may do next."""
    return incident_summary(incident) | {
        "description": incident.description,
        "reporter": {"name": incident.reporter_name, "phone": incident.reporter_phone,
                     "email": incident.reporter_email},
        "occurred_at": isoformat_utc(incident.occurred_at),
        "discovery_source": incident.discovery_source,
        "assigned_technician_id": incident.assigned_technician_id,
        "allowed_triggers": INCIDENT.allowed_triggers(incident.state, user.role),
        "timeline": [timeline_event(e) for e in incident.events],
    }


def organization(org):
    """An organization as listed to API callers."""
    return {"id": org.id, "code": org.code, "name": org.name, "prefecture": org.prefecture,
            "industry": org.industry, "employees": org.employees}
