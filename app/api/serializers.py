"""Incidents and organizations as API JSON."""

from app.access import acts_for_own_organization_only, events_seen_by
from app.api.mail_serializers import incident_messages
from app.domain.timeutil import isoformat_utc, utcnow
from app.services.directory.organizations import phones_of
from app.services.incidents.customer_view import customer_entries
from app.services.incidents.links import links_of
from app.services.incidents.sla import worst_status
from app.services.incidents.timeline_text import DatabaseNames, describe
from workflows import INCIDENT


def sla_clock(clock, now):
    """One SLA clock, its status as of `now`."""
    return {
        "name": clock.name, "calendar": clock.calendar, "target_minutes": clock.target_minutes,
        "started_at": isoformat_utc(clock.started_at), "due_at": isoformat_utc(clock.due_at),
        "warn_at": isoformat_utc(clock.warn_at), "stopped_at": isoformat_utc(clock.stopped_at),
        "status": clock.status(now),
    }


def incident_summary(incident, clocks=None, now=None):
    """The fields of an incident shown in lists; `clocks` loaded for a whole page at once
    (app/services/sla.clocks_by_incident), else the incident's own."""
    clocks = incident.sla_clocks if clocks is None else clocks
    now = now or utcnow()
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
        "sla": [sla_clock(c, now) for c in clocks], "sla_status": worst_status(clocks, now),
    }


def timeline_event(event, names=None):
    """One timeline entry, with its sentence in the request's language (?lang=, else
    Japanese)."""
    return {
        "seq": event.seq, "kind": event.kind, "occurred_at": isoformat_utc(event.occurred_at),
        "actor": event.actor_label, "trigger": event.trigger, "from_state": event.from_state,
        "to_state": event.to_state, "note": event.note, "data": event.data,
        "text": describe(event, names).text,
    }


def customer_timeline_event(entry):
    """One entry of the timeline a customer may read (customer_view): no desk notes, no
    parameters of a transition (reasons, the insurer's messages, amounts)."""
    return {
        "seq": entry.seq, "kind": entry.kind, "occurred_at": isoformat_utc(entry.at),
        "actor": entry.who, "trigger": entry.trigger, "from_state": None, "to_state": None,
        "note": entry.text, "data": {},
    }


def timeline(incident, user):
    """The incident's timeline as `user` may read it: a customer only its allow-list."""
    if acts_for_own_organization_only(user):
        return [customer_timeline_event(e) for e in customer_entries(incident)]
    names = DatabaseNames()  # the technicians and heads named, read once for the timeline
    return [timeline_event(e, names) for e in events_seen_by(user, incident)]


def personal_data_leak(incident):
    """The leak mark and its recorded reports, or None when the incident is not marked."""
    if not incident.personal_data_leak:
        return None
    return {"malicious": incident.leak_malicious,
            "preliminary_reported_at": isoformat_utc(incident.leak_preliminary_reported_at),
            "final_reported_at": isoformat_utc(incident.leak_final_reported_at)}


def incident_detail(incident, user, now=None):
    """Everything about an incident, with what `user` may do next."""
    return incident_summary(incident, now=now) | {
        "description": incident.description,
        "reporter": {"name": incident.reporter_name, "phone": incident.reporter_phone,
                     "email": incident.reporter_email},
        "occurred_at": isoformat_utc(incident.occurred_at),
        "discovery_source": incident.discovery_source,
        "assigned_technician_id": incident.assigned_technician_id,
        "allowed_triggers": INCIDENT.allowed_triggers(incident.state, user.role),
        "personal_data_leak": personal_data_leak(incident),
        "needs_completion": incident.needs_completion,
        "links": links_of(incident, user),
        "timeline": timeline(incident, user),
        "messages": incident_messages(incident, user),
    }


def organization(org):
    """An organization as listed to API callers."""
    return {"id": org.id, "code": org.code, "name": org.name, "address": org.address,
            "prefecture": org.prefecture, "industry": org.industry, "employees": org.employees}


def organization_detail(org):
    """An organization alone: also its caller-ID phone numbers, in the order added."""
    return organization(org) | {
        "phones": [{"id": p.id, "number": p.number, "label": p.label} for p in phones_of(org)],
        "created_at": isoformat_utc(org.created_at),
    }
