"""The desk's phone number: a call from a registered number becomes an incident; voicemail."""

from dataclasses import asdict, dataclass

from flask import current_app
from sqlalchemy import select

from app.domain.phones import normalize_phone
from app.domain.timeutil import to_jst, utcnow
from app.errors import InvalidInput
from app.extensions import db
from app.models import Incident, User
from app.services.directory.organizations import organization_by_phone
from app.services.incidents.audit import append_event
from app.services.incidents.intake import IntakeRequest, report_incident
from app.services.transaction import commit_or_conflict, retry_on_conflict
from notifications.outbox import enqueue, render_message

PHONE_LINE = "phone line"  # the actor label of what the phone line records
DESK_LOCALE = "ja"  # the desk's notes and e-mails, and what callers hear
# What Twilio puts in From for a withheld number: ANONYMOUS, RESTRICTED, UNAVAILABLE, BLOCKED
# spelt on a keypad ("anonymous" and the like normalise to "").
WITHHELD = {"", "+266696687", "+7378742833", "+86282452253", "+2562533"}


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
    """A call from a registered number becomes an incident in `received`; else None."""
    organization = organization_by_phone(caller) if caller else None
    if organization is None:
        return None
    summary = render_message("phone_intake", "summary", DESK_LOCALE, {"caller": caller})[1]
    return report_incident(IntakeRequest(
        organization_id=organization.id, channel="phone", category="other", severity="medium",
        summary=summary, reporter_phone=caller, discovery_source="user"),
        actor=None, actor_label=PHONE_LINE, now=now)


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
