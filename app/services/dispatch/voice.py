"""An offer by voice call: the technician hears it and answers with a key (1 accepts, 2
declines); Twilio's webhooks (app/webhooks/views.py) call here."""

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from app.domain.phones import normalize_phone
from app.extensions import db
from app.models import Dispatch
from app.services.actors import ActingTechnician
from app.services.dispatch.visits import OfferClosed, fire
from workflows.dispatch import HOLDING_STATES

DECLINE_REASON = "declined by phone"
# What each key answers: the outcome said back, the trigger fired and its parameters.
KEYS = {"1": ("accepted", "accept", {}), "2": ("declined", "decline", {"reason": DECLINE_REASON})}


def find_offer(dispatch_id):
    """The dispatch a call is about, or None."""
    return db.session.get(Dispatch, dispatch_id)


def offer_state(dispatch, called_number):
    """'open', or why the call cannot answer: wrong_phone, yours, declined, taken, closed.

    Only the technician the offer went to may hear or answer it: the number the
    call was placed to must be theirs.
    """
    if dispatch is None:
        return "closed"
    if normalize_phone(called_number) != normalize_phone(dispatch.technician.phone):
        return "wrong_phone"
    if dispatch.state in HOLDING_STATES:
        return "yours"
    if dispatch.state == "declined":
        return "declined"
    holder = dispatch.incident.assigned_technician_id
    if holder is not None and holder != dispatch.technician_id:
        return "taken"
    return "open" if dispatch.state == "offered" else "closed"


def answer_offer(dispatch_id, called_number, digits, now=None):
    """A keypress: 1 accepts, 2 declines. Returns (outcome, dispatch) for the confirmation.

    Outcomes: accepted, declined, retry (another key), or the offer_state refusal.
    """
    dispatch = find_offer(dispatch_id)
    state = offer_state(dispatch, called_number)
    if state != "open":
        return state, dispatch
    if digits not in KEYS:
        return "retry", dispatch
    outcome, trigger, params = KEYS[digits]
    actor = ActingTechnician(technician_id=dispatch.technician_id,
                             email=f"{dispatch.technician.name} (voice)")
    try:
        return outcome, fire(dispatch_id, trigger, actor, params=params, now=now, via="voice")
    # Someone else got in first; a stale row can also surface from an autoflush mid-service.
    except (OfferClosed, StaleDataError, IntegrityError):
        db.session.rollback()
        dispatch = find_offer(dispatch_id)
        state = offer_state(dispatch, called_number)
        return ("retry" if state == "open" else state), dispatch
