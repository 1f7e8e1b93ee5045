"""What a customer may read of its incident: the one allow-list of timeline events, the
sentence for each, and the state in plain words (ja/en through the catalog).

Anything not named here stays hidden from the customer: the desk's notes, triage ticks,
cost lines, the dispatch's offers and timers, the insurer's questions and reasons. A new
event kind is hidden until it is added here on purpose.
"""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

CUSTOMER_NOTE = "customer_note"  # information the customer added for the desk
CUSTOMER_SIGNOFF = "customer_signoff"  # the customer confirmed a work report online
EVIDENCE = "evidence"  # a file; shown only when a customer sent it (staff's are receipts)

# Transitions the customer is told of, by trigger: the sentence only, never the event's
# note or parameters (a cancel's or a denial's reason, the insurer's message, amounts).
TRANSITION_SENTENCES = {
    "start_triage": _l("The desk started looking into your report."),
    "resolve_remotely": _l("The desk resolved the incident remotely."),
    "request_dispatch": _l("The desk asked for a technician to come to you."),
    "assign_technician": _l("A technician was assigned to your incident."),
    "depart": _l("The technician is on the way."),
    "arrive": _l("The technician arrived."),
    "complete_onsite": _l("The technician finished the on-site work and wrote the work "
                          "report."),
    "prepare_claim": _l("The desk started preparing the insurance claim."),
    "submit_claim": _l("The insurance claim was submitted to the insurer."),
    "approve_claim": _l("The insurer approved the claim."),
    "deny_claim": _l("The insurer did not approve the claim."),
    "record_payment": _l("The insurer paid the claim."),
    "close": _l("The incident was closed."),
    "cancel": _l("The incident was cancelled."),
}

# Transitions deliberately not told: the insurer's question goes to the desk, and a
# technician released is the dispatcher's business until another one is on the way.
HIDDEN_TRIGGERS = ("release_technician", "request_info")

# Other kinds the customer reads; %(who)s is the customer login that did it.
KIND_SENTENCES = {
    "intake": _l("We received your report."),
    CUSTOMER_NOTE: _l("%(who)s added information for the desk."),
    CUSTOMER_SIGNOFF: _l("%(who)s confirmed the technician's work report online."),
    EVIDENCE: _l("%(who)s sent a file."),
}
AUTHORED_BY_CUSTOMER = (CUSTOMER_NOTE, CUSTOMER_SIGNOFF, EVIDENCE)

# The incident's state in plain words for the customer. The insurer asking the desk for
# information reads as the claim being with the insurer: its questions are not shown.
STATE_SENTENCES = {
    "received": _l("We have received your report. The desk will call you back."),
    "triaging": _l("The desk is looking into the incident with you."),
    "resolved_remotely": _l("The desk resolved the incident remotely."),
    "dispatch_requested": _l("We are arranging a technician to come to you."),
    "technician_assigned": _l("A technician has been assigned and will set off soon."),
    "en_route": _l("The technician is on the way."),
    "on_site": _l("The technician is working on site."),
    "onsite_completed": _l("The on-site work is finished. Please check the work report."),
    "claim_preparing": _l("The desk is preparing the insurance claim."),
    "claim_submitted": _l("The insurance claim is with the insurer."),
    "claim_info_requested": _l("The insurance claim is with the insurer."),
    "claim_approved": _l("The insurer approved the claim; the payment follows."),
    "claim_denied": _l("The insurer did not approve the claim."),
    "claim_paid": _l("The insurer paid the claim."),
    "closed": _l("The incident is closed."),
    "cancelled": _l("The incident was cancelled."),
}


@dataclass(frozen=True)
class EventFacts:
    """What the allow-list reads of a timeline event."""

    kind: str
    trigger: str | None
    by_customer: bool  # the actor is a customer login of the incident's organization


def customer_sees(event):
    """True when the customer may read this event (the allow-list above)."""
    if event.kind == "transition":
        return event.trigger in TRANSITION_SENTENCES
    if event.kind in AUTHORED_BY_CUSTOMER:
        return event.by_customer
    return event.kind in KIND_SENTENCES


def sentence_for(event, who=""):
    """The customer's sentence for an event it may read (see customer_sees)."""
    if event.kind == "transition":
        return str(TRANSITION_SENTENCES[event.trigger])
    return str(KIND_SENTENCES[event.kind]) % {"who": who}


def state_sentence(state):
    """The state in plain words for the customer."""
    return str(STATE_SENTENCES.get(state, state))
