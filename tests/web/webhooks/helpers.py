"""Signing requests like Twilio, reading TwiML, and proving that nothing changed."""

import xml.etree.ElementTree as ET

from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from app.domain.timeutil import utcnow
from app.extensions import db
from app.models import (
    Dispatch,
    EscalationStep,
    Incident,
    IncidentEvent,
    Notification,
    WebhookReceipt,
)
from app.services.dispatch.timers import run_escalation_step

TOKEN = "test-twilio-auth-token"
TWILIO_NUMBER = "+815012340000"
COUNTED = (Incident, IncidentEvent, Dispatch, Notification, EscalationStep, WebhookReceipt)


def sign(app, path, data, token=TOKEN):
    """X-Twilio-Signature as Twilio computes it, over the public URL it calls."""
    return RequestValidator(token).compute_signature(app.config["PUBLIC_BASE_URL"] + path,
                                                     data)


def snapshot(app):
    """Row counts and every state a webhook could change, to prove that nothing did."""
    with app.app_context():
        counts = {model.__name__: db.session.scalar(select(func.count()).select_from(model))
                  for model in COUNTED}
        dispatches = db.session.execute(select(Dispatch.id, Dispatch.state)).all()
        incidents = db.session.execute(select(Incident.id, Incident.state,
                                              Incident.version)).all()
        messages = db.session.execute(select(Notification.id, Notification.status,
                                             Notification.last_error)).all()
        steps = db.session.execute(select(EscalationStep.id, EscalationStep.status,
                                          EscalationStep.due_at)).all()
        db.session.remove()
    return counts, sorted(dispatches), sorted(incidents), sorted(messages), sorted(steps)


def twiml(response):
    """The TwiML document of a response, parsed."""
    assert response.status_code == 200, response.text
    assert response.mimetype == "text/xml"
    return ET.fromstring(response.data)


def spoken(document):
    """Everything the call says, in order."""
    return " ".join(say.text for say in document.iter("Say"))


def call_params(to, **extra):
    """What Twilio posts about an outbound call we placed."""
    return {"CallSid": "CA" + "1" * 32, "AccountSid": "AC" + "0" * 32, "From": TWILIO_NUMBER,
            "To": to, "CallStatus": "in-progress", "Direction": "outbound-api"} | extra


def offer_messages(app, dispatch_id, channel):
    """The outbox rows offering this dispatch over `channel`, oldest first."""
    with app.app_context():
        rows = db.session.scalars(select(Notification).filter_by(
            dispatch_id=dispatch_id, channel=channel, template="offer")
            .order_by(Notification.id)).all()
        db.session.expunge_all()
        return rows


def mark_sent(app, dispatch_id, channel, sid):
    """Play the worker: the offer over `channel` was handed to Twilio, which named it `sid`."""
    with app.app_context():
        if channel == "voice":
            step = db.session.scalars(select(EscalationStep).filter_by(
                dispatch_id=dispatch_id, action="voice")).one()
            run_escalation_step(step, utcnow())
            db.session.flush()
        message = db.session.scalars(select(Notification).filter_by(
            dispatch_id=dispatch_id, channel=channel, template="offer")
            .order_by(Notification.id.desc())).first()
        message.status, message.provider, message.provider_id = "sent", "twilio", sid
        db.session.commit()
        db.session.remove()


def steps_of(app, dispatch_id):
    """{action: (status, due_at)} of a dispatch's escalation timers."""
    with app.app_context():
        rows = db.session.execute(select(EscalationStep.action, EscalationStep.status,
                                         EscalationStep.due_at)
                                  .filter_by(dispatch_id=dispatch_id)).all()
        db.session.remove()
    return {action: (status, due_at) for action, status, due_at in rows}


def refused_unchanged(app, send, status=403):
    """Call `send()`; its response must be `status` and the database unchanged."""
    before = snapshot(app)
    response = send()
    assert response.status_code == status, response.text
    assert snapshot(app) == before
    return response
