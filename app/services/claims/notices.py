"""Telling the insurer (early notice, claim events) and the desk, through the outbox.

Each notice is an InsurerNotice row (the insurer's portal), an e-mail to the insurer's
notice address, and a signed webhook where the insurer integrates by system; all are
written in the caller's transaction, so they exist exactly when the change does.
"""

import json

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import select

from app import access
from app.domain.timeline import tells_the_story, when
from app.domain.timeutil import isoformat_utc
from app.extensions import db
from app.models import InsurerNotice, User
from app.services.claims.coverage import covering_policy
from app.services.incidents.timeline_text import DatabaseNames, describe
from notifications.outbox import enqueue
from notifications.providers.webhook import sign

WEBHOOK_RECIPIENT_MAX = 254  # Notification.recipient's length


def incident_facts(incident, policy):
    """What an insurer is told about an incident: policy, insured, category, discovery."""
    org = incident.organization
    return {
        "incident": {"id": incident.id, "reference": incident.reference,
                     "category": incident.category, "severity": incident.severity,
                     "summary": incident.summary, "state": incident.state,
                     "occurred_at": isoformat_utc(incident.occurred_at),
                     "discovered_at": isoformat_utc(incident.discovered_at),
                     "discovery_source": incident.discovery_source},
        "policy": {"id": policy.id, "number": policy.number},
        "insured": {"id": org.id, "code": org.code, "name": org.name,
                    "prefecture": org.prefecture},
    }


def actions_so_far(incident):
    """The story of the response so far, oldest first, for the notice: how the incident came
    in, its steps, the triage checklist's ticks and the notes shared with the insurer
    (app/domain/timeline.py tells_the_story); each with its sentence in Japanese."""
    names = DatabaseNames()  # the technicians named, read once for the story
    with force_locale("ja"):
        return [_action(e, names) for e in incident.events if tells_the_story(e)]


def _action(event, names):
    """One step of the story as notice data (the e-mail tells it in its own language)."""
    data = event.data or {}
    return {"at": isoformat_utc(event.occurred_at), "kind": event.kind,
            "trigger": event.trigger, "from_state": event.from_state,
            "to_state": event.to_state, "action": data.get("action"), "data": data,
            "note": event.note or "", "text": describe(event, names).text}


def early_notice(incident, now):
    """事故報告 to the covering policy's insurer when an on-site dispatch is accepted (once)."""
    policy = covering_policy(incident)
    if policy is None:
        return None
    technician = incident.assigned_technician
    payload = {**incident_facts(incident, policy), "actions": actions_so_far(incident),
               "technician": {"name": technician.name, "company": technician.company}
               if technician else None}
    return notify_insurer(incident, policy, "early_notice", payload, now)


def send_early_notice(step):
    """assign_technician's side effect: the early notice, in the accept's commit."""
    early_notice(step.incident, step.now)


def notify_insurer(incident, policy, kind, payload, now, *, email=True):
    """Record the notice for the portal, e-mail it and post the webhook; None if sent before."""
    insurer = policy.insurer
    exists = db.session.scalar(select(InsurerNotice.id).where(
        InsurerNotice.incident_id == incident.id, InsurerNotice.kind == kind,
        InsurerNotice.insurer_id == insurer.id))
    if exists is not None:
        return None
    notice = InsurerNotice(insurer_id=insurer.id, incident_id=incident.id, kind=kind,
                           payload=payload, created_at=now)
    db.session.add(notice)
    dedupe = f"insurer:{insurer.id}:{incident.id}:{kind}"
    if email and insurer.notice_email:
        enqueue("email", insurer.notice_email, f"insurer_{kind.split(':')[0]}",
                _email_context(incident, payload), incident=incident,
                dedupe_key=f"{dedupe}:email", now=now)
    post_webhook(insurer, kind.split(":")[0], payload, incident, dedupe, now)
    return notice


def _email_context(incident, payload):
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return {**payload, "reference": incident.reference,
            "discovered_jst": when(incident.discovered_at),
            "url": f"{base}/insurer/"}


def webhook_body(event_id, event, payload, now):
    """The exact JSON bytes (as text) that are signed and posted."""
    return json.dumps({"id": event_id, "event": event, "created_at": isoformat_utc(now),
                       "data": payload}, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":"))


def post_webhook(insurer, event, payload, incident, dedupe, now):
    """A signed webhook row in the outbox when the insurer has a webhook URL (and secret)."""
    url = insurer.webhook_url
    if not url or not insurer.webhook_secret or len(url) > WEBHOOK_RECIPIENT_MAX:
        return None  # a longer URL does not fit the outbox row; the admin page says so
    body = webhook_body(f"{dedupe}:webhook", event, payload, now)
    message = enqueue("webhook", url, "insurer_event", {"body": body, "event": event},
                      incident=incident, dedupe_key=f"{dedupe}:webhook", now=now)
    if not message.context.get("signature"):
        message.context = {**message.context, "signature": sign(insurer.webhook_secret,
                                                                message.body)}
    return message


def tell_desk(incident, template, context, now, dedupe):
    """E-mail every active desk user about the incident (e.g. the insurer asks for more)."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    context = {**context, "reference": incident.reference,
               "organization": incident.organization.name,
               "url": f"{base}/desk/incidents/{incident.id}"}
    desk = db.session.scalars(select(User).where(User.role == "desk", User.active)
                              .order_by(User.id)).all()
    for person in desk:
        enqueue("email", person.email, template, context, incident=incident,
                dedupe_key=f"{dedupe}:{person.id}", now=now)


def notices_for(user, limit=100):
    """The notices an insurer received (every insurer's for an admin), newest first."""
    stmt = select(InsurerNotice).order_by(InsurerNotice.id.desc()).limit(limit)
    return db.session.scalars(access.scope_notices(stmt, user)).all()
