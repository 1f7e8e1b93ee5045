"""The incident lifecycle (DESIGN.md §3) as data: states, triggers, guards, roles.

State and trigger names are part of the public API; keep them as written.
`roles` says who may fire a trigger (admin too); a trigger with no roles is fired only
by the application: the technician's part of the lifecycle follows their dispatch
(workflows/dispatch.py), so that the incident and its visit can never disagree.
`params` names what a trigger needs from the caller, checked by the guards.
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

DESK = ("desk", "dispatcher")
INSURER = ("insurer",)
SYSTEM_ONLY = ()

TRANSITIONS = [
    {"trigger": "start_triage", "source": "received", "dest": "triaging", "roles": DESK},
    {"trigger": "resolve_remotely", "source": "triaging", "dest": "resolved_remotely",
     "roles": DESK},
    {"trigger": "request_dispatch", "source": "triaging", "dest": "dispatch_requested",
     "roles": DESK, "conditions": ["contract_covers_onsite"]},
    {"trigger": "assign_technician", "source": "dispatch_requested",
     "dest": "technician_assigned", "roles": SYSTEM_ONLY,
     "conditions": ["technician_available"], "params": ["technician_id"]},
    {"trigger": "release_technician", "source": "technician_assigned",
     "dest": "dispatch_requested", "roles": SYSTEM_ONLY, "conditions": ["reason_given"],
     "params": ["reason"]},
    {"trigger": "depart", "source": "technician_assigned", "dest": "en_route",
     "roles": SYSTEM_ONLY},
    {"trigger": "arrive", "source": "en_route", "dest": "on_site", "roles": SYSTEM_ONLY,
     "conditions": ["technician_assigned"]},
    {"trigger": "complete_onsite", "source": "on_site", "dest": "onsite_completed",
     "roles": SYSTEM_ONLY, "conditions": ["work_report_given"], "params": ["work_report"]},
    {"trigger": "prepare_claim", "source": ["resolved_remotely", "onsite_completed"],
     "dest": "claim_preparing", "roles": DESK, "conditions": ["policy_covers_incident"]},
    {"trigger": "submit_claim", "source": ["claim_preparing", "claim_info_requested"],
     "dest": "claim_submitted", "roles": DESK, "conditions": ["claim_complete"]},
    {"trigger": "request_info", "source": "claim_submitted", "dest": "claim_info_requested",
     "roles": INSURER, "conditions": ["message_given"], "params": ["message"]},
    {"trigger": "approve_claim", "source": "claim_submitted", "dest": "claim_approved",
     "roles": INSURER, "conditions": ["amount_given"], "params": ["amount"]},
    {"trigger": "deny_claim", "source": "claim_submitted", "dest": "claim_denied",
     "roles": INSURER, "conditions": ["reason_given"], "params": ["reason"]},
    {"trigger": "record_payment", "source": "claim_approved", "dest": "claim_paid",
     "roles": INSURER, "conditions": ["amount_given", "paid_on_given"],
     "params": ["amount", "paid_on"]},
    {"trigger": "close", "source": ["resolved_remotely", "onsite_completed", "claim_paid",
                                    "claim_denied"],
     "dest": "closed", "roles": DESK, "conditions": ["no_open_claim"]},
    {"trigger": "cancel", "source": ["received", "triaging", "dispatch_requested",
                                     "technician_assigned"],
     "dest": "cancelled", "roles": DESK, "conditions": ["reason_given"], "params": ["reason"]},
]

TRIGGERS = list(dict.fromkeys(t["trigger"] for t in TRANSITIONS))
