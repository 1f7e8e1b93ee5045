"""The desk's phone number: a call from a registered number becomes an incident waiting to
be completed by the desk; voicemail, kept for the desk to assign when no organization
registered the caller's number; the recent calls the 電話受付 page lists."""

from dataclasses import asdict, dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from app import access
from app.domain.phones import normalize_phone
from app.domain.timeutil import to_jst, utcnow
from app.errors import Conflict, InvalidInput, NotFound
from app.extensions import db
from app.models import Incident, IncidentEvent, User, Voicemail
from app.services.actors import label_for
from app.services.directory.organizations import (
    known_organization,
    organization_by_phone,
    register_caller_number,
)
from app.services.incidents.audit import append_event
from app.services.incidents.intake import IntakeRequest, report_incident
from app.services.transaction import commit_or_conflict, retry_on_conflict
from notifications.outbox import enqueue, render_message

PHONE_LINE = "phone line"  # the actor label of what the phone line records
DESK_LOCALE = "ja"  # the desk's notes and e-mails, and what callers hear
# What Twilio puts in From for a withheld number: ANONYMOUS, RESTRICTED, UNAVAILABLE, BLOCKED
# spelt on a keypad ("anonymous" and the like normalise to "").
WITHHELD = {"", "+266696687", "+7378742833", "+86282452253", "+2562533"}
RECENT_HOURS, RECENT_LIMIT = 24, 20  # what 電話受付 lists


# ---------------------------------------------------------------- the desk number


@dataclass
class Recording:
    """A voicemail left at the desk number, as Twilio reports it."""

    sid: str
    url: str
    duration: int
    caller: str = ""


def caller_id(raw):
    """The caller's number in E.164, or "" when it is withheld."""
    number = normalize_phone(raw)
    return "" if number in WITHHELD else number


def report_call(caller, now=None):
    """A call from a registered number becomes an incident in `received`, marked as waiting
    for the desk to complete its facts (category `other` until then); else None."""
    organization = organization_by_phone(caller) if caller else None
    if organization is None:
        return None
    return report_incident(_call_request(organization, caller), actor=None,
                           actor_label=PHONE_LINE, now=now)


def _call_request(organization, caller):
    """The placeholder facts of a call (the desk completes them): who called, and from where."""
    summary = render_message("phone_intake", "summary", DESK_LOCALE, {"caller": caller})[1]
    return IntakeRequest(
        organization_id=organization.id, channel="phone", category="other", severity="medium",
        summary=summary, reporter_phone=caller, discovery_source="user", caller_id=caller,
        needs_completion=True)


def _check_recording(recording):
    if not recording.sid or not recording.url.startswith("https://"):
        raise InvalidInput("A recording needs its RecordingSid and an https RecordingUrl.",
                           {"field": "RecordingUrl"})


def add_recording(incident_id, recording, now=None):
    """Put a voicemail's link on the incident's timeline; None when there is no incident."""
    _check_recording(recording)
    return retry_on_conflict(lambda: _add_recording(incident_id, recording, now or utcnow()))


def _add_recording(incident_id, recording, now):
    incident = db.session.get(Incident, incident_id)
    if incident is None:
        return None
    note = render_message("recording", "note", DESK_LOCALE, asdict(recording))[1]
    event = append_event(incident, kind="note", actor=None, actor_label=PHONE_LINE, now=now,
                         note=note, data={"recording_sid": recording.sid,
                                          "recording_url": recording.url,
                                          "duration_seconds": recording.duration})
    commit_or_conflict(incident)
    return event


def notify_desk_of_voicemail(recording, now=None):
    """A message from an unregistered number: e-mail it to every active desk operator.

    There is no organization to file an incident under, but the caller may be a
    customer in trouble calling from another phone: someone must call back.
    Returns how many operators were told.
    """
    _check_recording(recording)
    now = now or utcnow()
    _keep_voicemail(recording, now)
    desk = db.session.scalars(select(User).where(User.role == "desk", User.active)).all()
    context = asdict(recording) | {"time": to_jst(now).strftime("%Y-%m-%d %H:%M")}
    for person in desk:
        enqueue("email", person.email, "voicemail", context, locale=DESK_LOCALE,
                dedupe_key=f"voicemail:{recording.sid}:{person.id}", now=now)
    if not desk:
        current_app.logger.warning("Voicemail %s from %s: no active desk operator to tell",
                                   recording.sid, recording.caller)
    db.session.commit()
    return len(desk)


def _keep_voicemail(recording, now):
    """Keep the message for the desk to assign (once: Twilio may call back twice)."""
    if db.session.scalar(select(Voicemail.id).where(Voicemail.sid == recording.sid)):
        return
    db.session.add(Voicemail(sid=recording.sid, caller=caller_id(recording.caller),
                             url=recording.url, duration=recording.duration, received_at=now))


# ---------------------------------------------------------------- the desk's side


def recent_calls(actor, now=None):
    """Incidents the phone line opened in the last RECENT_HOURS, newest first (at most
    RECENT_LIMIT), with their organizations: what the operator may be about to enter again."""
    access.require(actor, "incidents.record_calls")
    since = (now or utcnow()) - timedelta(hours=RECENT_HOURS)
    opened_by_line = select(IncidentEvent.incident_id).where(
        IncidentEvent.seq == 1, IncidentEvent.kind == "intake",
        IncidentEvent.actor_label == PHONE_LINE, IncidentEvent.occurred_at >= since)
    return db.session.scalars(access.scope_incidents(
        select(Incident).where(Incident.channel == "phone", Incident.created_at >= since,
                               Incident.id.in_(opened_by_line))
        .order_by(Incident.created_at.desc(), Incident.id.desc()).limit(RECENT_LIMIT),
        actor)).all()


def unassigned_voicemail(actor, limit=RECENT_LIMIT):
    """Messages from unregistered numbers no one has assigned yet, newest first."""
    access.require(actor, "incidents.assign_voicemail")
    return db.session.scalars(select(Voicemail).where(Voicemail.incident_id.is_(None))
                              .order_by(Voicemail.received_at.desc(), Voicemail.id.desc())
                              .limit(limit)).all()


def assign_voicemail(voicemail_id, organization_id, actor, *, register_number=False,
                     now=None):
    """File a voicemail under an organization: an incident waiting to be completed, with the
    recording on its timeline; `register_number` also registers the caller's number as the
    organization's (the next call from it is recognised). One commit; a refusal changes
    nothing: an unknown voicemail 404, one assigned already 409, an unknown organization
    422, registering a withheld number 422 or another organization's number 409."""
    access.require(actor, "incidents.assign_voicemail")
    now = now or utcnow()
    # Locked to the commit: of two operators assigning it at once, the second finds it
    # assigned (a 409), never a second incident.
    voicemail = db.session.get(Voicemail, voicemail_id, with_for_update=True) \
        if isinstance(voicemail_id, int) else None
    if voicemail is None:
        raise NotFound("Voicemail not found.")
    if voicemail.incident_id is not None:
        raise Conflict("This voicemail is assigned already.",
                       {"reason": "assigned", "incident_id": voicemail.incident_id})
    organization = known_organization(organization_id)
    if register_number:
        if not voicemail.caller:
            raise InvalidInput("The caller withheld the number: there is none to register.",
                               {"field": "register_number", "reason": "withheld"})
        register_caller_number(organization, voicemail.caller, actor, now=now)
    incident = report_incident(_call_request(organization, voicemail.caller), actor=actor,
                               actor_label=label_for(actor, ""), now=now, commit=False)
    note = render_message("recording", "note", DESK_LOCALE, {
        "sid": voicemail.sid, "url": voicemail.url, "duration": voicemail.duration,
        "caller": voicemail.caller})[1]
    append_event(incident, kind="note", actor=actor, actor_label=label_for(actor, ""), now=now,
                 note=note, data={"recording_sid": voicemail.sid,
                                  "recording_url": voicemail.url,
                                  "duration_seconds": voicemail.duration})
    voicemail.incident_id, voicemail.assigned_at = incident.id, now
    voicemail.assigned_by = actor.id
    commit_or_conflict(incident)
    return incident
