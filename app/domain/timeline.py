"""Timeline events as sentences people read, in the language in force (lazy labels).

One table, SENTENCES, words every event: its key is the event's kind and its subject (the
transition's trigger, the data's "action", or what SUBJECTS says for a kind), and the
wording's %(placeholders)s are filled from VALUES (technician names, amounts in yen, times
in Japan time, labels instead of codes). A kind or subject not in the table still reads as
a sentence (its kind's general wording, else GENERIC), never as a code.

Adding a kind (or an action of one) is one entry in SENTENCES, e.g.
    ("note", "correction"): _l("Corrected an earlier entry"),
and, when its wording needs a value not in VALUES yet, one entry there. Free text of a
transition's parameters is listed, with its label, by DETAILS.

Pure: names only the database knows (technicians by id, coverage heads by code) come from a
`names` object with technician(id) and head(code) (app/services/incidents/timeline_text.py).
"""

from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import lazy_gettext as _l

from app.domain.labels import (
    CATEGORY_LABELS,
    CHANNEL_LABELS,
    SEVERITY_LABELS,
    SOURCE_LABELS,
    STATE_LABELS,
    TRIGGER_LABELS,
)
from app.domain.timeutil import to_jst, to_utc_naive
from app.domain.triage import ITEM_LABELS

SHARED_WITH_INSURER = "shared_with_insurer"  # a note's data flag: the insurer may read it

SENTENCES = {
    ("intake", None): _l("Reported by %(channel)s (%(category)s, severity %(severity)s)"),
    # ---------------------------------------------------------------- the incident's steps
    ("transition", None): _l("%(step)s (%(from_state)s → %(to_state)s)"),
    ("transition", "start_triage"): _l("Started remote triage"),
    ("transition", "resolve_remotely"): _l("Resolved the incident remotely"),
    ("transition", "request_dispatch"): _l("Requested an on-site dispatch"),
    ("transition", "assign_technician"): _l("Technician %(technician)s accepted the dispatch"),
    ("transition", "release_technician"): _l("Released the assigned technician"),
    ("transition", "depart"): _l("The technician set off"),
    ("transition", "arrive"): _l("The technician arrived on site"),
    ("transition", "complete_onsite"): _l("The on-site work was completed"),
    ("transition", "prepare_claim"): _l("Started preparing the insurance claim"),
    ("transition", "submit_claim"): _l("Submitted the claim to the insurer"),
    ("transition", "request_info"): _l("The insurer asked for more information"),
    ("transition", "approve_claim"): _l("The insurer approved %(amount)s"),
    ("transition", "deny_claim"): _l("The insurer denied the claim"),
    ("transition", "record_payment"): _l("The insurer paid %(amount)s on %(paid_on)s"),
    ("transition", "close"): _l("Closed the incident"),
    ("transition", "cancel"): _l("Cancelled the incident"),
    # ---------------------------------------------------------------- triage and notes
    ("triage_check", "checked"): _l("Checked: %(item)s"),
    ("triage_check", "unchecked"): _l("Unchecked: %(item)s"),
    ("note", None): _l("Note"),
    ("note", "shared"): _l("Note (shared with the insurer)"),
    ("note", "voicemail"): _l("Voicemail left on the desk's line"),
    # ---------------------------------------------------------------- dispatch
    ("dispatch", None): _l("A dispatch step was recorded"),
    ("dispatch", "offered"): _l("Offered the visit to technician %(technician)s"),
    ("dispatch", "declined"): _l("Technician %(technician)s declined the visit"),
    ("dispatch", "expired"): _l("Technician %(technician)s did not answer in time"),
    ("dispatch", "sms_sent"): _l("Sent the offer to %(technician)s again by SMS"),
    ("dispatch", "voice_sent"): _l("Called %(technician)s about the offer"),
    ("dispatch", "offer_cancelled"): _l("Withdrew the offer to technician %(technician)s"),
    ("dispatch", "dispatcher_paged"): _l("Paged the dispatchers: %(page_reason)s"),
    ("dispatch", "not_reached"): _l(
        "Could not reach technician %(technician)s by %(medium)s (%(delivery)s)"),
    # ---------------------------------------------------------------- money and files
    ("cost", None): _l("Cost line %(cost)s was updated"),
    ("cost", "added"): _l("Added %(head)s (line %(cost)s, %(amount)s excl. tax)"),
    ("cost", "changed"): _l("Changed %(head)s (line %(cost)s, %(amount)s excl. tax)"),
    ("cost", "approved"): _l("Approved %(head)s (line %(cost)s, %(amount)s excl. tax)"),
    ("cost", "rejected"): _l("Rejected %(head)s (line %(cost)s, %(amount)s excl. tax)"),
    ("cost", "evidence_linked"): _l("Linked evidence %(evidence)s to cost line %(cost)s"),
    ("evidence", None): _l("Evidence was recorded"),
    ("evidence", "upload"): _l("Uploaded evidence: %(evidence_kind)s"),
    ("claim", None): _l("The claim was updated"),
    ("claim", "acknowledged"): _l("The insurer acknowledged receipt of the claim"),
    # ---------------------------------------------------------------- personal-data leak
    ("leak", None): _l("The personal-data leak record was updated"),
    ("leak", "marked"): _l("Marked as a personal-data leak (%(malice)s)"),
    ("leak", "malicious_changed"): _l("Changed the personal-data leak to: %(malice)s"),
    ("leak", "unmarked"): _l("Took back the personal-data leak mark"),
    ("leak", "preliminary_reported"): _l(
        "Recorded the preliminary report to the commission, made %(reported_at)s"),
    ("leak", "final_reported"): _l(
        "Recorded the final report to the commission, made %(reported_at)s"),
    # ---------------------------------------------------------------- corrections and links
    ("corrected", None): _l("Corrected the incident's facts"),
    ("corrected", "completed"): _l("Completed the record of the call"),
    ("linked", None): _l("Linked to %(reference)s"),
    ("linked", "duplicate_of"): _l("Marked as a duplicate of %(reference)s"),
    ("linked", "duplicated_by"): _l("%(reference)s was merged into this incident as a duplicate"),
    ("linked", "related"): _l("Linked as related to %(reference)s"),
    # ---------------------------------------------------------------- e-mail (subject: the note)
    ("mail", None): _l("E-mail"),
    ("mail", "in"): _l("E-mail received from %(mail_from)s"),
    ("mail", "out"): _l("E-mail sent to %(mail_to)s"),
    # ---------------------------------------------------------------- the customer
    ("customer_note", None): _l("The customer added information for the desk"),
    ("customer_signoff", None): _l("The customer signed off the work report online"),
    # ---------------------------------------------------------------- monitoring
    ("alert_burst", None): _l(
        "Alert burst: %(joined)s more alerts of %(rule_name)s (%(alerts)s in all)"),
    # ---------------------------------------------------------------- texts not sent
    ("dispatch", "sms_not_sent_landline"): _l(
        "No SMS to %(whose)s: %(phone)s is a landline, which cannot receive SMS. %(instead)s"),
    ("dispatch", "sms_not_sent_ip"): _l(
        "No SMS to %(whose)s: %(phone)s is an IP phone (050), which cannot receive SMS. "
        "%(instead)s"),
    ("dispatch", "sms_not_sent_free_dial"): _l(
        "No SMS to %(whose)s: %(phone)s is a free-dial number, which cannot receive SMS. "
        "%(instead)s"),
    ("dispatch", "sms_not_sent_unknown"): _l(
        "No SMS to %(whose)s: %(phone)s is not a mobile number. %(instead)s"),
}
GENERIC = _l("An entry was recorded")

# What a kind's subject is when it is not the data's "action".
SUBJECTS = {
    "transition": lambda e: e.trigger,
    "triage_check": lambda e: "checked" if e.data.get("checked") else "unchecked",
    "note": lambda e: ("voicemail" if "recording_url" in e.data
                       else "shared" if e.data.get(SHARED_WITH_INSURER) else None),
    "corrected": lambda e: "completed" if e.data.get("completed") else None,
    "linked": lambda e: e.data.get("link"),
    "mail": lambda e: e.data.get("direction"),
}

# A transition's free-text parameters, shown under its sentence with these labels.
DETAILS = {
    "reason": _l("Reason"),
    "message": _l("Information requested"),
    "work_report": _l("Work report"),
    "signoff_name": _l("Signed off by"),
    "via": _l("Answered"),
}
# Reasons the application itself writes (a duplicate's cancel), in words.
REASON_LABELS = {"duplicate": _l("a duplicate of another incident")}
# Who a text was meant for (notifications.outbox.NotTexted.whose).
WHOSE_LABELS = {"reporter": _l("the reporter"), "technician": _l("the technician"),
                "dispatcher": _l("a dispatcher"), "desk": _l("a desk operator"),
                "admin": _l("an administrator")}
INSTEAD_LABELS = {"voice": _l("The message was read out on a call instead."),
                  "email": _l("An e-mail was sent instead.")}
# The facts a `corrected` event names (app/services/incidents/corrections.py).
FIELD_LABELS = {
    "category": _l("Category"), "severity": _l("Severity"), "summary": _l("Summary"),
    "description": _l("What happened"), "reporter_name": _l("Reporter's name"),
    "reporter_phone": _l("Call-back number"), "reporter_email": _l("E-mail"),
    "occurred_at": _l("Occurred at"), "discovered_at": _l("Discovered at"),
    "discovery_source": _l("Discovered through"), "organization_id": _l("Organization"),
}
FIELD_VALUE_LABELS = {"category": CATEGORY_LABELS, "severity": SEVERITY_LABELS,
                      "discovery_source": SOURCE_LABELS}
VIA_LABELS = {"page": _l("on the technician's page"), "api": _l("through the API"),
              "SMS link": _l("via the SMS link"), "voice": _l("by a voice call")}
# Why a message did not reach its recipient (the provider's delivery status).
DELIVERY_LABELS = {"no-answer": _l("no answer"), "busy": _l("the line was busy"),
                   "failed": _l("sending failed"), "undelivered": _l("not delivered")}
MEDIUM_LABELS = {"sms": _l("SMS"), "voice": _l("Voice call"), "email": _l("E-mail")}
PAGE_REASONS = {"no_candidate": _l("no fitting technician is on call"),
                "no_acceptance": _l("no technician has accepted yet"),
                "notification_failed": _l("a message could not be sent")}
EVIDENCE_KINDS = {"receipt": _l("Receipt"), "photo": _l("Photo"), "log": _l("Log"),
                  "work_report": _l("Work report"), "other": _l("Other")}
# The fixed labels the application writes as an event's actor when no person acted.
ACTORS = {"system": _l("System"), "phone line": _l("Phone line"), "web form": _l("Web form"),
          "command line": _l("Command line"), "Twilio": _l("Message service (Twilio)")}
ACTOR_SUFFIXES = {" (SMS link)": _l("via the SMS link"), " (voice)": _l("by a voice call")}
SOMEONE = _l("a technician")
UNKNOWN = _l("(not recorded)")


def when(value):
    """A time as people read it, in Japan time: 2026-12-06 13:40 JST. Takes a stored naive
    UTC datetime, an aware one, or ISO 8601 text (as JSON documents keep it)."""
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    return to_jst(to_utc_naive(value)).strftime("%Y-%m-%d %H:%M JST")


def actor(label):
    """Who did it, as written on the timeline: a person's login, or a fixed label in words;
    a technician answering without a login is written "<name> (SMS link)" or "(voice)"."""
    if label in ACTORS:
        return str(ACTORS[label])
    for suffix, how in ACTOR_SUFFIXES.items():
        if (label or "").endswith(suffix):
            return f"{label[:-len(suffix)]} ({how})"
    return label or ""


def yen(amount):
    """Whole yen: ¥12,345."""
    try:
        return f"¥{int(amount):,}"
    except (TypeError, ValueError):
        return str(UNKNOWN)


def _day(value):
    return value.isoformat() if isinstance(value, date) else str(value or UNKNOWN)


def _label(labels, code):
    return str(labels.get(code, UNKNOWN))


# Each placeholder a wording may use, computed only when the wording uses it.
VALUES = {
    "channel": lambda e, n: _label(CHANNEL_LABELS, e.data.get("channel")),
    "category": lambda e, n: _label(CATEGORY_LABELS, e.data.get("category")),
    "severity": lambda e, n: _label(SEVERITY_LABELS, e.data.get("severity")),
    "step": lambda e, n: str(TRIGGER_LABELS.get(e.trigger, GENERIC)),
    "from_state": lambda e, n: _label(STATE_LABELS, e.from_state),
    "to_state": lambda e, n: _label(STATE_LABELS, e.to_state),
    "technician": lambda e, n: (e.data.get("technician")
                                or n.technician(e.data.get("technician_id")) or str(SOMEONE)),
    "amount": lambda e, n: yen(e.data.get("amount")),
    "paid_on": lambda e, n: _day(e.data.get("paid_on")),
    "item": lambda e, n: _label(ITEM_LABELS, e.data.get("item")),
    "page_reason": lambda e, n: _label(PAGE_REASONS, e.data.get("reason")),
    "medium": lambda e, n: _label(MEDIUM_LABELS, e.data.get("channel")),
    "delivery": lambda e, n: str(DELIVERY_LABELS.get(e.data.get("status"),
                                                     DELIVERY_LABELS["undelivered"])),
    "cost": lambda e, n: f"#{e.data.get('cost_id')}",
    "head": lambda e, n: n.head(e.data.get("head")) or str(UNKNOWN),
    "evidence": lambda e, n: ", ".join(f"#{i}" for i in e.data.get("evidence_ids") or ()),
    "evidence_kind": lambda e, n: _label(EVIDENCE_KINDS, e.data.get("kind")),
    "malice": lambda e, n: str(_l("caused with malice") if e.data.get("malicious")
                               else _l("not caused with malice")),
    "reported_at": lambda e, n: when(e.data.get("reported_at")) or str(UNKNOWN),
    "reference": lambda e, n: e.data.get("reference") or str(UNKNOWN),
    "joined": lambda e, n: e.data.get("joined", 0),
    "alerts": lambda e, n: e.data.get("alerts", 0),
    "rule_name": lambda e, n: e.data.get("rule_name") or str(UNKNOWN),
    "mail_from": lambda e, n: e.data.get("from") or str(UNKNOWN),
    "mail_to": lambda e, n: ", ".join(e.data.get("to") or ()) if isinstance(
        e.data.get("to"), list) else (e.data.get("to") or str(UNKNOWN)),
    "whose": lambda e, n: _label(WHOSE_LABELS, e.data.get("recipient")),
    "phone": lambda e, n: e.data.get("phone") or str(UNKNOWN),
    "instead": lambda e, n: str(INSTEAD_LABELS.get(e.data.get("channel"),
                                                   _l("Nothing else was sent."))),
}


def _field_value(name, value):
    """A before or after value of a `corrected` event in words."""
    if value in (None, ""):
        return "—"
    if name in FIELD_VALUE_LABELS:
        return _label(FIELD_VALUE_LABELS[name], value)
    if name == "organization_id" and isinstance(value, dict):
        return str(value.get("name", value.get("id")))
    if name in ("occurred_at", "discovered_at"):
        return when(value)
    return str(value)


def _corrections(view):
    """Each corrected fact: its label, and its value before → after."""
    return [(str(FIELD_LABELS.get(name, _l("Other"))),
             f"{_field_value(name, change.get('before'))} → "
             f"{_field_value(name, change.get('after'))}")
            for name, change in (view.data.get("changes") or {}).items()]


def _burst_sources(view):
    sources = ", ".join(view.data.get("sources") or ())
    more = view.data.get("more_sources")
    if more:
        sources += " " + str(_l("and %(n)s more", n=more))
    return [(str(_l("Sources")), sources)] if sources else []


def _comment(view):
    comment = view.data.get("comment")
    return [(str(_l("Comment")), comment)] if comment else []


# Labelled details of kinds other than transitions, shown under the sentence.
KIND_DETAILS = {"corrected": _corrections, "alert_burst": _burst_sources,
                "customer_signoff": _comment}


class _Values(dict):
    """The placeholders' values, each computed from the event when first asked for."""

    def __init__(self, event, names):
        super().__init__()
        self.event, self.names = event, names

    def __missing__(self, key):
        value = self[key] = VALUES[key](self.event, self.names)
        return value


@dataclass(frozen=True)
class EventView:
    """What wording an event reads: a timeline row, or an entry of a JSON document."""

    kind: str
    trigger: str | None = None
    from_state: str | None = None
    to_state: str | None = None
    note: str = ""
    data: dict = field(default_factory=dict)

    @classmethod
    def of(cls, event):
        """The view of an IncidentEvent or of a mapping with the same keys."""
        get = event.get if isinstance(event, dict) else lambda k: getattr(event, k, None)
        return cls(kind=get("kind") or "", trigger=get("trigger"),
                   from_state=get("from_state"), to_state=get("to_state"),
                   note=get("note") or "", data=dict(get("data") or {}))


@dataclass(frozen=True)
class Told:
    """An event as read: its sentence, labelled details (label, text) and its note."""

    text: str
    details: list
    note: str

    def __str__(self):
        return self.text


class NoNames:
    """Names for pure callers: none known (the wording says "a technician")."""

    def technician(self, technician_id):
        return None

    def head(self, code):
        return None


def subject_of(event):
    """What of its kind an event is: a trigger, an action, or what SUBJECTS says."""
    subject = SUBJECTS.get(event.kind)
    return subject(event) if subject else event.data.get("action")


def wording(event):
    """The lazy wording of an event: its own, else its kind's, else the generic one."""
    return (SENTENCES.get((event.kind, subject_of(event)))
            or SENTENCES.get((event.kind, None)) or GENERIC)


def tell(event, names=None):
    """An IncidentEvent (or its mapping) as a sentence in the language in force."""
    view = EventView.of(event)
    try:
        text = str(wording(view)) % _Values(view, names or NoNames())
    except (KeyError, TypeError, ValueError):  # a wording whose value is not in VALUES
        text = str(SENTENCES.get((view.kind, None)) or GENERIC)
    details = [(str(DETAILS[key]), _detail(key, view.data[key])) for key in DETAILS
               if view.kind == "transition" and view.data.get(key)]
    details += KIND_DETAILS[view.kind](view) if view.kind in KIND_DETAILS else []
    return Told(text=text, details=details, note=view.note)


def _detail(key, value):
    if key == "via":
        return _label(VIA_LABELS, value)
    if key == "reason" and value in REASON_LABELS:
        return str(REASON_LABELS[value])
    return str(value)


def shared_with_insurer(event):
    """Whether an insurer may read the event: every event but a note not shared with it."""
    view = event if isinstance(event, EventView) else EventView.of(event)
    return view.kind != "note" or bool(view.data.get(SHARED_WITH_INSURER))


# The steps an insurer's early notice tells: how the incident came in, each step of its
# lifecycle, what was checked in triage, the notes shared with the insurer, a leak's record.
STORY_KINDS = ("intake", "transition", "triage_check", "note", "leak")


def tells_the_story(event):
    """Whether the event belongs in the insurer's account of the response."""
    view = event if isinstance(event, EventView) else EventView.of(event)
    return view.kind in STORY_KINDS and shared_with_insurer(view)
