"""The incident lifecycle (DESIGN.md §3) as data: states, triggers, guards, roles.

State and trigger names are part of the public API; keep them as written.
`roles` says who may fire a trigger (admin too); a trigger with no roles is fired only
by the application: the technician's part of the lifecycle follows their dispatch
(workflows/dispatch.py), so that the incident and its visit can never disagree.
`params` names what a trigger needs from the caller, checked by the guards (the facts the
guards read are declared with them, workflows/guards.py). `effects` names what else the
trigger changes, in order; app/services/wiring.py binds each name to its handler. Every
transition also writes its timeline event and moves the SLA clocks (the lifecycle's own
steps, app/services/incidents/lifecycle.py).
"""

STATES = [
    "received",
    "triaging",
    "resolved_remotely",
    "dispatch_requested",
    "technician_assigned",
    "en_route",
    "on_site",
    "onsite_completed",
    "claim_preparing",
    "claim_submitted",
    "claim_info_requested",
    "claim_approved",
    "claim_denied",
    "claim_paid",
    "closed",
    "cancelled",
]

INITIAL_STATE = "received"
FINAL_STATES = ("closed", "cancelled")
# Groups of states that rules elsewhere read (named once, here).
SETTLED_STATES = ("claim_paid", "claim_denied")  # the claim was paid, or denied
ONSITE_STATES = ("dispatch_requested", "technician_assigned", "en_route", "on_site")  # the board
AWAITING_TECHNICIAN = ("dispatch_requested", "technician_assigned")  # the dispatcher may reassign
# The claim is with the insurer, who may acknowledge it.
CLAIM_OPEN_STATES = ("claim_submitted", "claim_info_requested", "claim_approved")
COSTS_FROZEN_STATES = ("claim_submitted", "claim_approved", "claim_paid", "claim_denied",
                       "closed", "cancelled")  # cost lines stay as claimed

DESK = ("desk", "dispatcher")
INSURER = ("insurer",)
SYSTEM_ONLY = ()

TRANSITIONS = [
    {"trigger": "start_triage", "source": "received", "dest": "triaging", "roles": DESK},
    {"trigger": "resolve_remotely", "source": "triaging", "dest": "resolved_remotely",
     "roles": DESK},
    {"trigger": "request_dispatch", "source": "triaging", "dest": "dispatch_requested",
     "roles": DESK, "conditions": ["contract_covers_onsite"],
     "effects": ["offer_to_best_candidate"]},
    {"trigger": "assign_technician", "source": "dispatch_requested",
     "dest": "technician_assigned", "roles": SYSTEM_ONLY,
     "conditions": ["technician_available"], "params": ["technician_id"],
     "effects": ["hold_for_technician", "send_early_notice"]},
    {"trigger": "release_technician", "source": "technician_assigned",
     "dest": "dispatch_requested", "roles": SYSTEM_ONLY, "conditions": ["reason_given"],
     "params": ["reason"], "effects": ["release_from_technician"]},
    {"trigger": "depart", "source": "technician_assigned", "dest": "en_route",
     "roles": SYSTEM_ONLY},
    {"trigger": "arrive", "source": "en_route", "dest": "on_site", "roles": SYSTEM_ONLY,
     "conditions": ["technician_assigned"]},
    {"trigger": "complete_onsite", "source": "on_site", "dest": "onsite_completed",
     "roles": SYSTEM_ONLY, "conditions": ["work_report_given"], "params": ["work_report"]},
    {"trigger": "prepare_claim", "source": ["resolved_remotely", "onsite_completed"],
     "dest": "claim_preparing", "roles": DESK, "conditions": ["policy_covers_incident"],
     "effects": ["open_claim"]},
    {"trigger": "submit_claim", "source": ["claim_preparing", "claim_info_requested"],
     "dest": "claim_submitted", "roles": DESK, "conditions": ["claim_complete"],
     "effects": ["submit_claim"]},
    {"trigger": "request_info", "source": "claim_submitted", "dest": "claim_info_requested",
     "roles": INSURER, "conditions": ["message_given"], "params": ["message"],
     "effects": ["ask_desk_for_information"]},
    {"trigger": "approve_claim", "source": "claim_submitted", "dest": "claim_approved",
     "roles": INSURER, "conditions": ["amount_given"], "params": ["amount"],
     "effects": ["approve_claim"]},
    {"trigger": "deny_claim", "source": "claim_submitted", "dest": "claim_denied",
     "roles": INSURER, "conditions": ["reason_given"], "params": ["reason"],
     "effects": ["deny_claim"]},
    {"trigger": "record_payment", "source": "claim_approved", "dest": "claim_paid",
     "roles": INSURER, "conditions": ["amount_given", "paid_on_given"],
     "params": ["amount", "paid_on"], "effects": ["record_payment"]},
    {"trigger": "close", "source": ["resolved_remotely", "onsite_completed", "claim_paid",
                                    "claim_denied"],
     "dest": "closed", "roles": DESK, "conditions": ["no_open_claim"]},
    {"trigger": "cancel", "source": ["received", "triaging", "dispatch_requested",
                                     "technician_assigned"],
     "dest": "cancelled", "roles": DESK, "conditions": ["reason_given"], "params": ["reason"],
     "effects": ["withdraw_dispatches"]},
]

TRIGGERS = list(dict.fromkeys(t["trigger"] for t in TRANSITIONS))
