"""The one table that binds the workflows' names to code (cosmicpython's handler table).

workflows/ names the facts each guard reads and the side effects of each trigger; here
every name is bound to the function of its bounded context that provides or carries it
out, and the worker is given its periodic tasks. create_app installs these tables on the
app (the only place that imports every context), so the contexts never import each
other's handlers. tests/services/incidents/test_wiring.py walks the workflow data and
fails for a name bound to nothing, or a binding no workflow names.
"""

from app.services.bindings import Bindings
from app.services.claims import claims, notices
from app.services.directory import contracts
from app.services.dispatch import offers, timers, visits
from app.services.incidents import sla

FACTS = {
    "onsite_contract_active": contracts.onsite_contract_active,
    "technician_active": visits.technician_active,
    "assigned_technician_id": lambda incident, params, now: incident.assigned_technician_id,
    "covering_policy_id": claims.covering_policy_id,
    "claim_readiness": claims.claim_readiness,
    "has_claim": claims.has_claim,
}

INCIDENT_EFFECTS = {
    "hold_for_technician": visits.hold_for_technician,
    "release_from_technician": visits.release_from_technician,
    "send_early_notice": notices.send_early_notice,
    "offer_to_best_candidate": offers.offer_first_candidate,
    "withdraw_dispatches": offers.withdraw_dispatches,
    "open_claim": claims.open_claim,
    "submit_claim": claims.submit_claim,
    "ask_desk_for_information": claims.ask_desk_for_information,
    "approve_claim": claims.approve_claim,
    "deny_claim": claims.deny_claim,
    "record_payment": claims.record_payment,
}

DISPATCH_EFFECTS = {
    name: getattr(visits, name) for name in (
        "record_answer", "take_incident", "record_decline", "offer_next_candidate",
        "stop_offer_timers", "stamp_departure", "stamp_arrival", "stamp_completion",
        "record_work_report", "move_incident", "tell_customer_en_route",
        "tell_customer_arrived", "record_withdrawal", "release_or_note_withdrawal")
}

BINDINGS = Bindings(facts=FACTS, incident_effects=INCIDENT_EFFECTS,
                    dispatch_effects=DISPATCH_EFFECTS)


def page_sla(clock, stop):
    """The worker's task: page the dispatchers about SLA clocks near or in breach."""
    return sla.page_due(clock())


# What the worker runs on every pass before sending messages, in order.
WORKER_TASKS = (timers.fire_due_timers, page_sla)
# What the worker does with a message it gives up on.
ON_MESSAGE_FAILED = offers.page_about_failed_message
