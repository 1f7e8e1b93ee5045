"""Routes of the webhooks blueprint: Twilio voice calls, status and recording callbacks.

Each view is wrapped by `twilio_webhook` (signature, then replay check), reads a
few form fields, calls one service and answers TwiML or 204.
"""

from urllib.parse import urlencode

from flask import current_app, request
from twilio.twiml.voice_response import VoiceResponse

from app.services.dispatch import delivery, voice
from app.services.dispatch.offers import offer_context
from app.services.incidents import calls as desk_calls
from app.services.incidents import phone_line as calls
from app.services.incidents.contact import spoken_message
from app.webhooks import bp
from app.webhooks.security import public_url, twilio_webhook
from app.webhooks.twiml import say, say_text, speak_and_hang_up, twiml

DESK = calls.DESK_LOCALE
DIAL_TIMEOUT_SECONDS = 20  # rings at the desk before the caller may leave a message
RECORD_MAX_SECONDS = 180
GATHER_ATTEMPTS = 3  # how often a wrong key gets the offer read again
# What to tell the technician after a keypress, by outcome (templates offer_<name>.voice.txt).
CONFIRMATIONS = {"accepted": "offer_accepted", "declined": "offer_declined",
                 "yours": "offer_yours", "taken": "offer_taken", "closed": "offer_closed",
                 "wrong_phone": "offer_wrong_phone"}


def _no_content():
    return "", 204


def _field(name):
    return request.form.get(name, "").strip()


# ---------------------------------------------------------------- an offer by voice call


def _gather_offer(dispatch, attempt=1, prefix=None):
    """Read the offer and wait for one key; each retry posts to its own URL (no replay)."""
    locale = dispatch.technician.locale
    path = f"/webhooks/twilio/voice/offer/{dispatch.id}/answer"
    if attempt > 1:
        path += "?" + urlencode({"attempt": attempt})
    response = VoiceResponse()
    gather = response.gather(num_digits=1, action=public_url(path), method="POST", timeout=10)
    if prefix:
        say(gather, prefix, locale)
    say(gather, "offer", locale, **offer_context(dispatch))
    say(response, "offer_no_input", locale)
    response.hangup()
    return response


def _confirmation(outcome, dispatch):
    """Say what was recorded (or why nothing was) and hang up."""
    if dispatch is None or outcome == "wrong_phone":  # not the technician: tell nothing
        return speak_and_hang_up(CONFIRMATIONS[outcome], DESK)
    return speak_and_hang_up(CONFIRMATIONS[outcome], dispatch.technician.locale,
                             **offer_context(dispatch))


@bp.post("/twilio/voice/offer/<int:dispatch_id>")
@twilio_webhook
def voice_offer(dispatch_id):
    """The call to the technician connected: read the offer, gather 1 or 2."""
    dispatch = voice.find_offer(dispatch_id)
    state = voice.offer_state(dispatch, _field("To"))
    if state != "open":
        return twiml(_confirmation(state, dispatch))
    return twiml(_gather_offer(dispatch))


@bp.post("/twilio/voice/offer/<int:dispatch_id>/answer")
@twilio_webhook
def voice_offer_answer(dispatch_id):
    """The technician pressed a key: record the answer and confirm it by voice."""
    outcome, dispatch = voice.answer_offer(dispatch_id, _field("To"), _field("Digits"))
    if outcome == "retry":
        attempt = request.args.get("attempt", 1, type=int) + 1
        if attempt > GATHER_ATTEMPTS:  # the timers go on: the next step will ask again
            return twiml(speak_and_hang_up("offer_no_input", dispatch.technician.locale))
        return twiml(_gather_offer(dispatch, attempt, prefix="offer_retry"))
    return twiml(_confirmation(outcome, dispatch))


# ---------------------------------------------------------------- a message read out


@bp.post("/twilio/voice/message/<int:notification_id>")
@twilio_webhook
def voice_message(notification_id):
    """A call placed instead of an SMS (the number is a landline): read the message twice."""
    found = spoken_message(notification_id, _field("To"))
    response = VoiceResponse()
    if found is not None:
        text, locale = found
        for _ in range(2):
            say_text(response, text, locale)
    response.hangup()
    return twiml(response)


# ---------------------------------------------------------------- delivery status


@bp.post("/twilio/status/sms")
@twilio_webhook
def sms_status():
    """An SMS's delivery status (queued, sent, delivered, undelivered, failed)."""
    delivery.record_status("sms", _field("MessageSid"), _field("MessageStatus"),
                           _field("ErrorCode"))
    return _no_content()


@bp.post("/twilio/status/voice")
@twilio_webhook
def voice_status():
    """A call's final status (completed, busy, no-answer, failed, canceled)."""
    delivery.record_status("voice", _field("CallSid"), _field("CallStatus"),
                           _field("ErrorCode"))
    return _no_content()


# ---------------------------------------------------------------- the desk number


def _message_target(incident, caller):
    """Query naming where a voicemail goes: the incident, or the unregistered caller."""
    return {"incident": incident.id} if incident is not None else {"caller": caller}


def _record_message(response, target):
    """Let the caller leave a message; Twilio posts the recording to our callback."""
    if "incident" in target:
        callback = f"/webhooks/twilio/recording/{target['incident']}"
    else:
        callback = "/webhooks/twilio/recording/unregistered?" + urlencode(target)
    response.record(max_length=RECORD_MAX_SECONDS, timeout=5, finish_on_key="#",
                    play_beep=True, action=public_url("/webhooks/twilio/voice/incoming/recorded"),
                    method="POST", recording_status_callback=public_url(callback),
                    recording_status_callback_method="POST")
    return response


def _connect_or_record(response, target):
    desk_phone = current_app.config.get("DESK_PHONE_NUMBER") or ""
    if not desk_phone:
        return _record_message(response, target)
    action = public_url("/webhooks/twilio/voice/incoming/dialled?" + urlencode(target))
    response.dial(desk_phone, timeout=DIAL_TIMEOUT_SECONDS, action=action, method="POST")
    return response


def _spoken_reference(reference):
    """'INC-2026-000123' as digits to read one by one: the caller must write them down."""
    _prefix, year, number = reference.split("-")
    return {"year_digits": list(year), "number_digits": list(number)}


@bp.post("/twilio/voice/incoming")
@twilio_webhook
def voice_incoming():
    """A call to the desk number: an incident for a registered caller, then the desk."""
    caller = calls.caller_id(_field("From"))
    incident = calls.report_call(caller)
    desk_calls.call_started(_field("CallSid"), caller, incident)  # the desk's screen pop
    desk = bool(current_app.config.get("DESK_PHONE_NUMBER"))
    response = VoiceResponse()
    if incident is None:
        say(response, "incoming_unregistered", DESK, caller=caller, desk=desk)
    else:
        say(response, "incoming_registered", DESK, organization=incident.organization.name,
            desk=desk, **_spoken_reference(incident.reference))
    return twiml(_connect_or_record(response, _message_target(incident, caller)))


@bp.post("/twilio/voice/incoming/status")
@twilio_webhook
def voice_incoming_status():
    """The desk number's status callback: a final status ends the call's screen pop."""
    if desk_calls.call_status(_field("CallSid"), _field("CallStatus")) is None:
        current_app.logger.info("Status of an unrecorded call %s", _field("CallSid"))
    return _no_content()


@bp.post("/twilio/voice/incoming/dialled")
@twilio_webhook
def voice_incoming_dialled():
    """The desk phone was rung: done if answered, else the caller may leave a message."""
    if _field("DialCallStatus") in ("completed", "answered"):
        response = VoiceResponse()
        response.hangup()
        return twiml(response)
    target = {key: request.args[key] for key in ("incident", "caller") if key in request.args}
    return twiml(_record_message(say(VoiceResponse(), "incoming_record", DESK), target))


@bp.post("/twilio/voice/incoming/recorded")
@twilio_webhook
def voice_incoming_recorded():
    """The caller finished the message: thank them and hang up."""
    return twiml(speak_and_hang_up("incoming_thanks", DESK))


def _recording():
    duration = _field("RecordingDuration")
    return calls.Recording(sid=_field("RecordingSid"), url=_field("RecordingUrl"),
                           duration=int(duration) if duration.isdigit() else 0,
                           caller=request.args.get("caller", ""))


def _recording_ready():
    return _field("RecordingStatus") in ("", "completed")  # absent / failed: nothing to hear


@bp.post("/twilio/recording/<int:incident_id>")
@twilio_webhook
def recording(incident_id):
    """A voicemail about an incident: its link goes on the timeline."""
    if _recording_ready() and calls.add_recording(incident_id, _recording()) is None:
        current_app.logger.warning("Recording for unknown incident %s", incident_id)
    return _no_content()


@bp.post("/twilio/recording/unregistered")
@twilio_webhook
def recording_unregistered():
    """A voicemail from a number no organization registered: the desk is e-mailed."""
    if _recording_ready():
        calls.notify_desk_of_voicemail(_recording())
    return _no_content()
