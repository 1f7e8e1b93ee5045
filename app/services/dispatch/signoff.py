"""The customer confirms a visit's work report online: who, when and an optional comment,
once, and only after the technician wrote the report. The confirmation is kept on the
dispatch and written to the incident's timeline, where the desk sees it.

The technician's own "sign-off (name)" taken on site when completing the visit stays as it
is (visits.record_work_report); this is the customer's second, online confirmation.
"""

from app import access
from app.domain.customer_timeline import CUSTOMER_SIGNOFF
from app.domain.timeutil import utcnow
from app.errors import Conflict, InvalidInput
from app.services.actors import label_for
from app.services.incidents.audit import append_event
from app.services.transaction import commit_or_conflict

COMMENT_MAX = 1000


class NoWorkReport(Conflict):
    code = "no_work_report"


class AlreadySignedOff(Conflict):
    code = "already_signed_off"


def _comment(text):
    comment = (text or "").strip()
    if len(comment) > COMMENT_MAX:
        raise InvalidInput(f"A comment has at most {COMMENT_MAX} characters.",
                           {"field": "comment"})
    return comment


def sign_off(dispatch_id, actor, comment="", *, now=None):
    """Record the customer's sign-off of the visit's work report; the dispatch is returned.

    Another organization's visit is the same 404 as a missing one; before the report
    exists, or a second time, a 409 that changes nothing."""
    now = now or utcnow()
    access.require(actor, "visits.sign_off")
    comment = _comment(comment)
    dispatch = access.get_dispatch_visible_to(actor, dispatch_id)
    if dispatch.state != "completed" or not dispatch.work_report.strip():
        raise NoWorkReport("The technician has not written the work report yet.",
                           {"state": dispatch.state})
    if dispatch.customer_signoff_at is not None:
        raise AlreadySignedOff("The work report was already signed off.",
                               {"signed_off_at": dispatch.customer_signoff_at.isoformat()})
    label = label_for(actor, "")
    dispatch.customer_signoff_at, dispatch.customer_signoff_by_id = now, actor.id
    dispatch.customer_signoff_label, dispatch.customer_signoff_comment = label[:254], comment
    incident = dispatch.incident
    append_event(incident, kind=CUSTOMER_SIGNOFF, actor=actor, actor_label=label, now=now,
                 data={"dispatch_id": dispatch.id, "comment": comment})
    commit_or_conflict(incident)
    return dispatch
