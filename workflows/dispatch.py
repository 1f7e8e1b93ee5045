"""One technician offer and visit (DESIGN.md §3) as data: states, triggers, guards, roles.

An offer goes to one technician; it is accepted, declined or expires. An accepted
offer becomes the visit: en route, on site, completed. A dispatcher may withdraw
an offer, or a visit before the technician sets off (the incident then goes back to
dispatch_requested); once on the way, the visit is completed or the incident cancelled.
"""

STATES = ["offered", "accepted", "declined", "expired", "en_route", "on_site", "completed",
          "cancelled"]
INITIAL_STATE = "offered"
OPEN_STATES = ("offered",)
HOLDING_STATES = ("accepted", "en_route", "on_site")  # the technician holds the incident
FINAL_STATES = ("declined", "expired", "completed", "cancelled")

TECH = ("technician", "dispatcher")

TRANSITIONS = [
    {"trigger": "accept", "source": "offered", "dest": "accepted", "roles": TECH},
    {"trigger": "decline", "source": "offered", "dest": "declined", "roles": TECH,
     "conditions": ["reason_given"], "params": ["reason"]},
    {"trigger": "expire", "source": "offered", "dest": "expired", "roles": ()},
    {"trigger": "depart", "source": "accepted", "dest": "en_route", "roles": TECH},
    {"trigger": "arrive", "source": "en_route", "dest": "on_site", "roles": TECH},
    {"trigger": "complete", "source": "on_site", "dest": "completed", "roles": TECH,
     "conditions": ["work_report_given", "signoff_given"],
     "params": ["work_report", "signoff_name"]},
    {"trigger": "cancel", "source": ["offered", "accepted"],
     "dest": "cancelled", "roles": ("dispatcher",), "conditions": ["reason_given"],
     "params": ["reason"]},
]

TRIGGERS = list(dict.fromkeys(t["trigger"] for t in TRANSITIONS))

# What the incident does when its holding dispatch moves (fired by the application).
INCIDENT_TRIGGER = {"accept": "assign_technician", "depart": "depart", "arrive": "arrive",
                    "complete": "complete_onsite"}
