"""Who may do what: the permission table (role × action) and every tenant-scoping query.

Two questions, answered here only:
- May this role do this at all? `PERMISSIONS` maps each action to the roles that may, and
  services call `require(user, action)` (a 403 naming what was refused); pages ask `can`
  (templates through the `can(...)` helper, app/web/i18n.py).
- Which rows are this user's? The scopes below restrict every query of tenants' rows: a
  customer reaches its organization's, a technician what it was offered and its visits, an
  insurer what it was told of and claims under its policies; staff reach everything.
  Anything else is the same 404 as a missing row, never a hint that it exists.

tests/isolation checks the outcome route by route, independently of this module.
"""

from dataclasses import dataclass

from sqlalchemy import select

from app.domain.timeline import shared_with_insurer
from app.errors import Forbidden, NotFound
from app.extensions import db
from app.models import (
    Alert,
    Claim,
    CostItem,
    Dispatch,
    Evidence,
    Incident,
    InsurancePolicy,
    InsurerNotice,
    MonthlyReport,
    Organization,
)
from workflows import INCIDENT
from workflows.dispatch import LIVE_STATES, VISIT_STATES

STAFF = ("desk", "dispatcher", "admin")
DISPATCHERS = ("dispatcher", "admin")
ADMIN = ("admin",)
CUSTOMER_AND_STAFF = ("customer", *STAFF)
CONSOLE = (*STAFF, "technician", "insurer")  # the desk console's audience


@dataclass(frozen=True)
class Permission:
    """The roles that may take an action, and the action in words for a refusal."""

    roles: tuple
    doing: str  # "Your role may not <doing>."


PERMISSIONS = {
    # the console and the people's pages
    "console.use": Permission(CONSOLE, "use the desk console"),
    "admin.pages": Permission(DISPATCHERS, "use the administration pages"),
    "dashboard.read": Permission(STAFF, "see the provider dashboard"),
    "devtools.phone": Permission(STAFF, "see every message of the outbox"),
    "technician.pages": Permission(("technician",), "use the technician's pages"),
    "customer.pages": Permission(("customer",), "use the customer's incident pages"),
    # incidents
    "incidents.report": Permission(CUSTOMER_AND_STAFF, "report incidents"),
    "incidents.record_calls": Permission(STAFF, "record phone calls"),
    "calls.live": Permission(STAFF, "see the calls ringing at the desk"),
    "incidents.triage": Permission(STAFF, "record triage checks"),
    "incidents.leaks": Permission(STAFF, "record personal-data leaks"),
    "incidents.dispatches": Permission(STAFF, "see the dispatches of an incident"),
    "incidents.correct": Permission(STAFF, "correct incidents"),
    "incidents.correct_contact": Permission(CUSTOMER_AND_STAFF,
                                            "correct an incident's description or contact"),
    "incidents.link": Permission(STAFF, "link incidents"),
    "incidents.assign_voicemail": Permission(STAFF, "assign voicemail to organizations"),
    "notes.share": Permission((*STAFF, "technician"), "share notes with the insurer"),
    # the e-mail channel
    "mail.read": Permission(CUSTOMER_AND_STAFF, "read an incident's e-mail conversation"),
    "mail.triage": Permission(STAFF, "handle unmatched mail"),
    "mail.reply": Permission(STAFF, "write to customers by e-mail"),
    "org_domains.manage": Permission(ADMIN, "manage organizations' mail domains"),
    # monitoring
    "alerts.read": Permission(CUSTOMER_AND_STAFF, "see alerts"),
    "alerts.refused": Permission(STAFF, "see refused alert payloads"),
    "ingest_keys.manage": Permission(ADMIN, "manage ingest keys"),
    # dispatch
    "dispatch.board": Permission(DISPATCHERS, "use the dispatch board"),
    "dispatch.direct": Permission(DISPATCHERS, "direct dispatches"),
    "dispatches.list": Permission(("technician", "desk", *DISPATCHERS), "list dispatches"),
    "dispatches.act": Permission(("technician", *DISPATCHERS), "act on dispatches"),
    "visits.sign_off": Permission(("customer",), "sign off work reports"),
    "dispatches.attempts": Permission((*STAFF, "technician"),
                                      "see a dispatch's timers and messages"),
    "technicians.read": Permission(STAFF, "see technicians"),
    "technicians.manage": Permission(DISPATCHERS, "manage technicians"),
    "shifts.manage": Permission(DISPATCHERS, "manage shifts"),
    # claims
    "costs.enter": Permission(("technician", *STAFF), "enter costs"),
    "costs.decide": Permission(STAFF, "approve or reject costs"),
    "evidence.upload": Permission((*STAFF, "technician", "customer"), "upload evidence"),
    "evidence.upload_at_desk": Permission(STAFF, "upload evidence from the console"),
    "claims.manage": Permission(STAFF, "prepare and submit claims"),
    "claims.acknowledge": Permission(("insurer", "admin"), "acknowledge claims"),
    "insurer.portal": Permission(("insurer", "admin"), "use the insurer portal"),
    "insurers.manage": Permission(ADMIN, "manage insurers"),
    "policies.manage": Permission(ADMIN, "manage policies"),
    "policies.read_terms": Permission((*STAFF, "insurer"), "read policy terms"),
    "coverage_heads.add": Permission(ADMIN, "add coverage heads"),
    # directory
    "organizations.read": Permission(STAFF, "see organizations"),
    "organizations.manage": Permission(ADMIN, "manage organizations"),
    "organizations.register_callers": Permission(STAFF, "register a caller's number"),
    "organizations.users": Permission(ADMIN, "see an organization's users"),
    "contracts.read": Permission(STAFF, "see contracts"),
    "contracts.manage": Permission(ADMIN, "manage contracts"),
    "users.create": Permission(ADMIN, "create logins"),
    "users.deactivate": Permission(ADMIN, "deactivate logins"),
    "tokens.manage": Permission(ADMIN, "manage API tokens"),
    "admin_log.read": Permission(ADMIN, "see the administrative change log"),
    # reporting
    "reports.read": Permission(CUSTOMER_AND_STAFF, "see monthly reports"),
    "reports.manage": Permission(STAFF, "build monthly reports"),
    "stats.read": Permission(STAFF, "read the provider's statistics"),
}


def can(user, action):
    """True when the user's role may take `action` (an anonymous user may not)."""
    role = getattr(user, "role", None)
    return role in PERMISSIONS[action].roles


def require(user, action):
    """Refuse with 403 unless the user's role may take `action`."""
    if not can(user, action):
        raise Forbidden(f"Your role may not {PERMISSIONS[action].doing}.")


# ---------------------------------------------------------------- incidents


def scope_incidents(stmt, user):
    """Restrict an incident query to what `user` may see."""
    if user.role == "customer":
        return stmt.where(Incident.organization_id == user.organization_id)
    if user.role == "technician":  # incidents offered to them now, or their visits
        live = select(Dispatch.incident_id).where(
            Dispatch.technician_id == user.technician_id, Dispatch.state.in_(LIVE_STATES))
        return stmt.where(Incident.id.in_(live))
    if user.role == "insurer":  # incidents it was given notice of, or claimed under its policy
        noticed = select(InsurerNotice.incident_id).where(
            InsurerNotice.insurer_id == user.insurer_id)
        claimed = select(Claim.incident_id).join(InsurancePolicy).where(
            InsurancePolicy.insurer_id == user.insurer_id)
        return stmt.where(Incident.id.in_(noticed.union(claimed)))
    return stmt


def _one(scope, user, model, row_id, missing):
    """The row of `model` with `row_id` if `scope` lets `user` see it, else NotFound with
    the same words as for a row that does not exist."""
    row = db.session.scalars(scope(select(model).where(model.id == row_id), user)).first()
    if row is None:
        raise NotFound(missing)
    return row


def get_incident_for(user, incident_id):
    """The incident if `user` may see it, else NotFound (never a hint that it exists)."""
    return _one(scope_incidents, user, Incident, incident_id, "Incident not found.")


def require_trigger_scope(actor, incident, trigger):
    """An insurer decides only on claims under its own policies (checked before anything
    changes): any other claim is not found, though it may see the incident."""
    if actor is None or actor.role != "insurer" or not INCIDENT.may_fire("insurer", trigger):
        return
    if incident.claim is not None:
        require_own_claim(actor, incident.claim)


# ---------------------------------------------------------------- dispatches and visits


def get_dispatch_visible_to(user, dispatch_id):
    """A dispatch the user may see: a technician their own, others through its incident."""
    dispatch = db.session.get(Dispatch, dispatch_id)
    if dispatch is None or (user.role == "technician"
                            and dispatch.technician_id != user.technician_id):
        raise NotFound("Dispatch not found.")
    if user.role != "technician":  # 404 unless the incident is visible, in the same words
        _through_incident(user, dispatch.incident_id, "Dispatch not found.")
    return dispatch


def get_dispatch_for(user, dispatch_id):
    """A dispatch the user may act on: their own (technician), or any (dispatcher, admin)."""
    dispatch = db.session.get(Dispatch, dispatch_id)
    if dispatch is None or not can(user, "dispatches.act") or (
            user.role == "technician" and dispatch.technician_id != user.technician_id):
        raise NotFound("Dispatch not found.")
    return dispatch


def scope_dispatches(stmt, user):
    """Restrict a dispatch query: a technician its own, staff every one."""
    if user.role == "technician":
        return stmt.where(Dispatch.technician_id == user.technician_id)
    return stmt


def dispatches_seen_by(user, incident):
    """The incident's dispatches the user may see, by id: a technician only its own."""
    dispatches = sorted(incident.dispatches, key=lambda d: d.id)
    if user.role == "technician":
        return [d for d in dispatches if d.technician_id == user.technician_id]
    return dispatches


def note_shared_with_insurer(user, asked):
    """Whether a note `user` writes is the insurer's to read: an insurer's own note is; the
    provider's people share one by asking (others may not: 403)."""
    if user.role == "insurer":
        return True
    if asked:
        require(user, "notes.share")
    return bool(asked)


def events_seen_by(user, incident):
    """The incident's timeline as the user may read it: an insurer reads no note the desk
    did not share with it (they are the provider's own working notes)."""
    if user.role == "insurer":
        return [e for e in incident.events if shared_with_insurer(e)]
    return list(incident.events)


def _own_visit(user, incident):
    """The technician's visit (holding or completed) on the incident, or None."""
    return next((d for d in incident.dispatches
                 if d.technician_id == user.technician_id and d.state in VISIT_STATES), None)


def visit_of(user, incident):
    """A technician's visit on the incident; NotFound when they have none (or no business)."""
    visit = _own_visit(user, incident)
    if visit is None:
        raise NotFound("Incident not found.")
    return visit


def default_visit(user, incident):
    """The visit a technician's entry belongs to (its own); None for staff."""
    return visit_of(user, incident) if user.role == "technician" else None


def may_use_dispatch(user, dispatch):
    """A technician names only its own dispatches; staff any of the incident's."""
    return user.role != "technician" or dispatch.technician_id == user.technician_id


def require_visit_if_technician(user, incident):
    """A technician reaches an incident's costs and files only through a visit of theirs
    (an open offer is not yet a look at them); other roles through the incident alone."""
    if user.role == "technician":
        visit_of(user, incident)


# ---------------------------------------------------------------- costs and evidence


def get_cost_for(user, cost_id):
    """A cost line the user may see (through its incident), else NotFound."""
    item = db.session.get(CostItem, cost_id)
    if item is None:
        raise NotFound("Cost line not found.")
    _through_incident(user, item.incident_id, "Cost line not found.", visit=True)
    return item


def get_evidence_for(user, evidence_id):
    """An evidence row whose incident the user may see, else NotFound (no hint it exists)."""
    evidence = db.session.get(Evidence, evidence_id)
    if evidence is None:
        raise NotFound("Evidence not found.")
    _through_incident(user, evidence.incident_id, "Evidence not found.", visit=True)
    return evidence


def get_incident_files_for(user, incident_id):
    """The incident whose costs and evidence (custody included) the user may see: a
    technician only through a visit of theirs, an open offer is not enough; else NotFound."""
    return _through_incident(user, incident_id, "Incident not found.", visit=True)


def sees_incident_files(user, incident):
    """True when the incident's costs and evidence may be shown to `user` (see above)."""
    return user.role != "technician" or _own_visit(user, incident) is not None


def _through_incident(user, incident_id, missing, visit=False):
    """A row reached through its incident: not seeing the incident (or, with `visit`, a
    technician without a visit) is the row's own 404, in the words of a missing row, so the
    answer never tells "not yours" from "does not exist"."""
    try:
        incident = get_incident_for(user, incident_id)
        if visit:
            require_visit_if_technician(user, incident)
    except NotFound:
        raise NotFound(missing) from None
    return incident


def require_evidence_upload(user, incident, dispatch):
    """A technician adds evidence only to its own visit (holding or completed)."""
    if user.role != "technician":
        return
    if dispatch is not None and dispatch.technician_id != user.technician_id:
        raise NotFound("Dispatch not found.")
    mine = select(Dispatch.id).where(
        Dispatch.incident_id == incident.id, Dispatch.technician_id == user.technician_id,
        Dispatch.state.in_(VISIT_STATES))
    if db.session.scalars(mine).first() is None:
        raise Forbidden("Only the technician holding the incident may add evidence.")


# ---------------------------------------------------------------- organizations


def scope_organizations(stmt, user):
    """Restrict an organization query to what `user` may see: staff every organization, a
    customer its own, a technician or insurer those of the incidents it may see."""
    if user.role == "customer":
        return stmt.where(Organization.id == user.organization_id)
    if user.role in ("technician", "insurer"):
        return stmt.where(Organization.id.in_(
            scope_incidents(select(Incident.organization_id), user)))
    return stmt


def get_organization_for(user, organization_id):
    """The organization if `user` may see it, else NotFound (never a hint that it exists)."""
    return _one(scope_organizations, user, Organization, organization_id,
                "Organization not found.")


def is_another_technician(user, technician_id):
    """A technician signed in as someone other than `technician_id` (whose link it is)."""
    return getattr(user, "role", None) == "technician" and user.technician_id != technician_id


def acts_for_own_organization_only(user):
    """A customer acts for its own organization and no other (for none, if it has none)."""
    return getattr(user, "role", None) == "customer"


def own_organization_id(user):
    """The organization a customer acts for; None for every other role (and for a customer
    with no organization, who then reaches none: see acts_for_own_organization_only)."""
    return user.organization_id if acts_for_own_organization_only(user) else None


# ---------------------------------------------------------------- alerts


def scope_alerts(stmt, user):
    """Restrict an alert query to what `user` may see: staff every alert, a customer its
    organization's; any other role none (403)."""
    require(user, "alerts.read")
    if user.role == "customer":
        return stmt.where(Alert.organization_id == user.organization_id)
    return stmt


# ---------------------------------------------------------------- claims and notices


def scope_claims(stmt, user):
    """Restrict a claim query to what `user` may see (insurers: their policies' claims)."""
    if user.role == "insurer":
        return stmt.join(InsurancePolicy, Claim.policy_id == InsurancePolicy.id).where(
            InsurancePolicy.insurer_id == user.insurer_id)
    if user.role in STAFF:
        return stmt
    return stmt.where(False)  # customers and technicians see claims through the incident


def get_claim_for(user, claim_id):
    """The claim if `user` may see it, else NotFound (never a hint that it exists)."""
    return _one(scope_claims, user, Claim, claim_id, "Claim not found.")


def require_own_claim(user, claim):
    """An insurer's own claim (its policy's), else NotFound."""
    if user.role == "insurer" and claim.policy.insurer_id != user.insurer_id:
        raise NotFound("Claim not found.")


def scope_policies(stmt, user):
    """Restrict a policy query to what `user` may see (insurers: their own policies)."""
    if user.role == "insurer":
        return stmt.where(InsurancePolicy.insurer_id == user.insurer_id)
    if user.role in STAFF:
        return stmt
    return stmt.where(False)


def get_policy_for(user, policy_id):
    """The policy if `user` may see it, else NotFound (never a hint that it exists)."""
    return _one(scope_policies, user, InsurancePolicy, policy_id, "Policy not found.")


def scope_notices(stmt, user):
    """The notices an insurer received (every insurer's for an admin)."""
    if user.role != "admin":
        return stmt.where(InsurerNotice.insurer_id == user.insurer_id)
    return stmt


# ---------------------------------------------------------------- monthly reports


def scope_reports(stmt, user):
    """Restrict a report query to what `user` may see; 403 for roles that see none."""
    require(user, "reports.read")
    if user.role == "customer":
        return stmt.where(MonthlyReport.organization_id == user.organization_id)
    return stmt


def get_report_for(user, report_id):
    """The report if `user` may see it, else NotFound (never a hint that it exists)."""
    return _one(scope_reports, user, MonthlyReport, report_id, "Report not found.")
