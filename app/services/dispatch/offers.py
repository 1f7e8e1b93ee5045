"""Offers and their escalation: choosing technicians, offering, timers, paging dispatchers.

An incident in `dispatch_requested` has offers (Dispatch rows in `offered`), each with
escalation timers (EscalationStep rows, fired by the worker through
timers.py). Answering offers and the visit are in visits.py.
These functions work inside the caller's transaction; they never commit.
"""

from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select, update

from app.domain.labels import prefecture_name
from app.extensions import db
from app.models import Dispatch, EscalationStep, OnCallShift, Technician
from app.services.actors import label_for
from app.services.dispatch.links import offer_link
from app.services.incidents.audit import append_event
from app.services.incidents.contact import note_not_texted
from app.services.incidents.sla import contract_active_at
from notifications.outbox import enqueue, enqueue_sms, page_role
from workflows.dispatch import ASKED_STATES, HOLDING_STATES, OPEN_STATES

# ---------------------------------------------------------------- choosing technicians


def _held_visits():
    """(technician_id, held): how many visits each technician holds now."""
    return (select(Dispatch.technician_id, func.count(Dispatch.id).label("held"))
            .where(Dispatch.state.in_(HOLDING_STATES)).group_by(Dispatch.technician_id))


def load_by_technician():
    return dict(db.session.execute(_held_visits()).all())


def candidates(incident, now):
    """Technicians to offer the incident to, best first.

    On call now, serving the incident's prefecture, with the category as a skill,
    least loaded first; technicians already asked during this request are left out.
    """
    need = (incident.id, incident.organization.prefecture, incident.category)
    return candidates_by_incident([need], now)[incident.id]


def candidates_by_incident(needs, now):
    """{incident id: its candidates, best first} for many (incident id, prefecture,
    category) at once (the board's page) in two statements whatever their number: the
    on-call technicians with their load, and who was already asked for which incident.
    The rules are those of `candidates`."""
    if not needs:
        return {}
    # Each technician's areas and skills read once, not once per incident of the page.
    on_duty = [(t, held, set(t.prefectures or []), set(t.skills or []))
               for t, held in _on_call_with_load(now)]
    asked = _asked_by_incident([incident_id for incident_id, _, _ in needs])
    return {incident_id: _ranked(prefecture, category, on_duty, asked.get(incident_id, set()))
            for incident_id, prefecture, category in needs}


def _on_call_with_load(now):
    """[(technician, visits held)] of the active technicians on call at `now`, by id."""
    on_call = select(OnCallShift.technician_id).where(
        OnCallShift.starts_at <= now, OnCallShift.ends_at > now)
    load = _held_visits().subquery()
    return db.session.execute(
        select(Technician, func.coalesce(load.c.held, 0))
        .outerjoin(load, load.c.technician_id == Technician.id)
        .where(Technician.active, Technician.id.in_(on_call)).order_by(Technician.id)).all()


def _asked_by_incident(incident_ids):
    """{incident id: ids of technicians holding it or asked during the request}."""
    rows = db.session.execute(select(Dispatch.incident_id, Dispatch.technician_id).where(
        Dispatch.incident_id.in_(incident_ids),
        Dispatch.state.in_(ASKED_STATES + HOLDING_STATES)))
    asked = {}
    for incident_id, technician_id in rows:
        asked.setdefault(incident_id, set()).add(technician_id)
    return asked


def _ranked(prefecture, category, on_duty, asked):
    """The fitting technicians of `on_duty` (technician, held, prefectures, skills) not yet
    asked, least loaded first, then by id."""
    fitting = [(held, t.id, t) for t, held, prefectures, skills in on_duty
               if prefecture in prefectures and category in skills and t.id not in asked]
    return [t for _, _, t in sorted(fitting, key=lambda f: f[:2])]


# ---------------------------------------------------------------- offers and escalation


def _policy(incident, now):
    """The escalation policy of the contract active now (the one SLA clocks follow: on-site
    first, then the latest start), else the configured default."""
    contract = contract_active_at(incident.organization_id, now)
    if contract is not None and contract.escalation_policy:
        return contract.escalation_policy
    return current_app.config["ESCALATION_POLICY"]


def timeline(incident, action, now, actor=None, actor_label=None, note="", **data):
    append_event(incident, kind="dispatch", actor=actor,
                 actor_label=actor_label or label_for(actor, "system"), now=now, note=note,
                 data={"action": action, **data})


def offer(incident, technician, *, actor_label, now, first_of_request=False, actor=None):
    """Offer the incident to one technician and start the escalation policy's timers."""
    dispatch = Dispatch(incident=incident, technician=technician, state="offered",
                        offered_at=now, offered_by=actor_label)
    db.session.add(dispatch)
    db.session.flush()
    for step, (minutes, action) in enumerate(_policy(incident, now), start=1):
        if action == "page_dispatcher" and not first_of_request:
            continue  # the dispatcher is paged once per request, counted from its start
        if minutes == 0 and action in ("sms", "voice"):
            contact(dispatch, action, step, now)
            dispatch.escalation_step = step
            continue
        db.session.add(EscalationStep(dispatch=dispatch, step=step, action=action,
                                      due_at=now + timedelta(minutes=minutes)))
    timeline(incident, "offered", now, actor=actor, actor_label=actor_label,
              dispatch_id=dispatch.id, technician_id=technician.id, technician=technician.name)
    return dispatch


def offer_to_best_candidate(incident, *, actor_label, now, first_of_request=False):
    """Offer to the best candidate; with none left, page the dispatcher at once."""
    best = candidates(incident, now)
    if not best:
        page_dispatchers(incident, "no_candidate", now)
        return None
    return offer(incident, best[0], actor_label=actor_label, now=now,
                 first_of_request=first_of_request)


def offer_context(dispatch):
    incident = dispatch.incident
    org = incident.organization
    return {
        "reference": incident.reference, "organization": org.name, "address": org.address,
        "prefecture": prefecture_name(org.prefecture), "summary": incident.summary,
        "category": incident.category, "severity": incident.severity,
        "technician": dispatch.technician.name, "dispatch_id": dispatch.id,
    }


def contact(dispatch, channel, step, now):
    """Send the offer by SMS (with the one-tap link) or by a voice call; a technician whose
    phone takes no SMS (a landline) is called instead, and the timeline says so."""
    technician = dispatch.technician
    context = offer_context(dispatch)
    if channel == "sms":
        skipped = enqueue_sms(technician.phone, "offer", context | {"link": offer_link(dispatch)},
                              locale=technician.locale, whose="technician", instead="voice",
                              dedupe_key=f"offer:{dispatch.id}:{step}:sms",
                              incident=dispatch.incident, dispatch=dispatch, now=now)
        if skipped is None:
            return
        note_not_texted(dispatch.incident, [skipped], now)
    context["twiml_path"] = f"/webhooks/twilio/voice/offer/{dispatch.id}"
    enqueue("voice", technician.phone, "offer", context, locale=technician.locale,
            dedupe_key=f"offer:{dispatch.id}:{step}:voice", incident=dispatch.incident,
            dispatch=dispatch, now=now)


def page_dispatchers(incident, reason, now, dedupe=None, details=None):
    """Page every active dispatcher (SMS where they have a phone, and e-mail).

    `details` (e.g. which message failed and why) goes onto the timeline event.
    """
    context = {"reference": incident.reference, "organization": incident.organization.name,
               "summary": incident.summary, "reason": reason,
               "url": current_app.config["PUBLIC_BASE_URL"].rstrip("/")
               + f"/desk/incidents/{incident.id}"}
    key = dedupe or f"{incident.id}:{reason}:{incident.event_count}"
    not_texted = []
    dispatchers = page_role("dispatcher", "dispatcher_page", context, incident=incident,
                            key=f"page:{key}", now=now, not_texted=not_texted)
    note_not_texted(incident, not_texted, now)
    timeline(incident, "dispatcher_paged", now, reason=reason,
              dispatchers=[p.email for p in dispatchers], **(details or {}))


def cancel_timers(dispatches, keep_page=False):
    ids = [d.id for d in dispatches]
    if not ids:
        return
    stmt = update(EscalationStep).where(EscalationStep.dispatch_id.in_(ids),
                                        EscalationStep.status == "pending")
    if keep_page:
        stmt = stmt.where(EscalationStep.action != "page_dispatcher")
    db.session.execute(stmt.values(status="cancelled"), execution_options={
        "synchronize_session": False})


# ---------------------------------------------------------------- side effects and hooks


def offer_first_candidate(step):
    """request_dispatch: the best candidate is offered the incident and the escalation
    policy's timers start (the dispatchers are paged at once when nobody fits)."""
    offer_to_best_candidate(step.incident, actor_label=label_for(step.actor, "system"),
                            now=step.now, first_of_request=True)


def withdraw_dispatches(step):
    """cancel: the incident's open offers and visit are closed and every timer stops."""
    for dispatch in step.incident.dispatches:
        if dispatch.state in (*OPEN_STATES, *HOLDING_STATES):
            dispatch.state, dispatch.cancel_reason = "cancelled", step.params["reason"]
    cancel_timers(step.incident.dispatches)


def page_about_failed_message(message, now):
    """The worker gave up on a message: the dispatchers are paged about its incident (a
    failed page to them is only logged: paging again would fail alike)."""
    if message.template == "dispatcher_page":
        current_app.logger.error("dispatcher page #%s failed: %s", message.id,
                                 message.last_error)
    elif message.incident is not None:
        page_dispatchers(message.incident, "notification_failed", now,
                         dedupe=f"failed:{message.id}",
                         details={"notification_id": message.id, "channel": message.channel,
                                  "recipient": message.recipient, "error": message.last_error})
