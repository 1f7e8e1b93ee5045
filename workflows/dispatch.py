"""One technician offer and visit (DESIGN.md §3) as data: states, triggers, guards, roles.

An offer goes to one technician; it is accepted, declined or expires. An accepted
offer becomes the visit: en route, on site, completed. A dispatcher may withdraw
an offer, or a visit before the technician sets off (the incident then goes back to
dispatch_requested); once on the way, the visit is completed or the incident cancelled.

`effects` names what else a trigger changes, in order (app/services/wiring.py binds each
name to its handler); `incident_trigger` is what the incident does when its holding
dispatch moves, fired by the application so that the two never disagree.
"""

STATES = ["offered", "accepted", "declined", "expired", "en_route", "on_site", "completed",
          "cancelled"]
INITIAL_STATE = "offered"
OPEN_STATES = ("offered",)
HOLDING_STATES = ("accepted", "en_route", "on_site")  # the technician holds the incident
FINAL_STATES = ("declined", "expired", "completed", "cancelled")
# Groups of states that rules elsewhere read (named once, here).
VISIT_STATES = (*HOLDING_STATES, "completed")  # a visit of the technician's, done or not
LIVE_STATES = (*OPEN_STATES, *VISIT_STATES)  # the technician may see the incident
ASKED_STATES = ("offered", "declined", "expired")  # asked during this request: not again

TECH = ("technician", "dispatcher")

TRANSITIONS = [
    {"trigger": "accept", "source": "offered", "dest": "accepted", "roles": TECH,
     "incident_trigger": "assign_technician", "effects": ["record_answer", "take_incident"]},
    {"trigger": "decline", "source": "offered", "dest": "declined", "roles": TECH,
     "conditions": ["reason_given"], "params": ["reason"],
     "effects": ["record_answer", "record_decline", "offer_next_candidate"]},
    {"trigger": "expire", "source": "offered", "dest": "expired", "roles": (),
     "effects": ["record_answer", "stop_offer_timers"]},
    {"trigger": "depart", "source": "accepted", "dest": "en_route", "roles": TECH,
     "incident_trigger": "depart",
     "effects": ["stamp_departure", "move_incident", "tell_customer_en_route"]},
    {"trigger": "arrive", "source": "en_route", "dest": "on_site", "roles": TECH,
     "incident_trigger": "arrive",
     "effects": ["stamp_arrival", "move_incident", "tell_customer_arrived"]},
    {"trigger": "complete", "source": "on_site", "dest": "completed", "roles": TECH,
     "conditions": ["work_report_given", "signoff_given"],
     "params": ["work_report", "signoff_name"], "incident_trigger": "complete_onsite",
     "effects": ["stamp_completion", "record_work_report", "move_incident"]},
    {"trigger": "cancel", "source": ["offered", "accepted"],
     "dest": "cancelled", "roles": ("dispatcher",), "conditions": ["reason_given"],
     "params": ["reason"], "effects": ["record_withdrawal", "stop_offer_timers",
                                       "release_or_note_withdrawal"]},
]

TRIGGERS = list(dict.fromkeys(t["trigger"] for t in TRANSITIONS))
