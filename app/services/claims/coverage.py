"""Coverage heads and a policy's per-head terms (admin sets them; staff and the policy's insurer
read them), and the payout preview of an incident."""

import re
from datetime import date

from sqlalchemy import func, select

from app import access
from app.domain import payout
from app.domain.timeutil import to_jst
from app.errors import Conflict, InvalidInput, NotFound
from app.extensions import db
from app.models import MAX_INTEGER, Claim, CoverageHead, InsurancePolicy, PolicyCoverage
from app.services import admin_log

CODE = re.compile(r"^[a-z][a-z0-9_]{1,31}$")


def covering_policy(incident):
    """The claim's policy, else the organization's policy in force on the discovery date."""
    if incident.claim is not None:
        return incident.claim.policy
    on = to_jst(incident.discovered_at).date()
    policies = [p for p in incident.organization.policies if p.covers(on)]
    return min(policies, key=lambda p: p.id) if policies else None


def policy_year(policy, on):
    """(first day, first day of the next) of the policy year that contains `on`."""
    start = _anniversary(policy.starts_on, on.year)
    if start > on:
        start = _anniversary(policy.starts_on, on.year - 1)
    return start, _anniversary(policy.starts_on, start.year + 1)


def _anniversary(first, year):
    try:
        return first.replace(year=year)
    except ValueError:  # 29 February in a common year
        return date(year, 2, 28)


def prior_paid(policy, incident):
    """What other paid claims of the policy took in the incident's policy year."""
    start, end = policy_year(policy, to_jst(incident.discovered_at).date())
    return db.session.scalar(select(func.coalesce(func.sum(Claim.paid_amount), 0)).where(
        Claim.policy_id == policy.id, Claim.incident_id != incident.id,
        Claim.paid_amount.is_not(None), Claim.paid_on >= start, Claim.paid_on < end))


def preview(incident):
    """(policy, Computation of the approved lines) for showing; (None, None) without a policy."""
    policy = covering_policy(incident)
    if policy is None:
        return None, None
    approved = [c for c in incident.cost_items if c.status == "approved"]
    return policy, payout.compute(payout.terms_of(policy), payout.lines_of(approved),
                                  prior_paid(policy, incident))


# ---------------------------------------------------------------- admin


def _yen(field, value):
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INTEGER:
        raise InvalidInput(f"{field} is whole yen from 0 to {MAX_INTEGER}.", {"field": field})
    return value


def create_head(actor, code, name_ja, name_en):
    """Add a coverage head (admin); codes are unique lowercase words."""
    access.require(actor, "coverage_heads.add")
    code = (code or "").strip()
    if not CODE.match(code):
        raise InvalidInput("The code is 2 to 32 lowercase letters, digits or _.",
                           {"field": "code"})
    names = {"name_ja": (name_ja or "").strip(), "name_en": (name_en or "").strip()}
    for field, value in names.items():
        if not value or len(value) > 100:
            raise InvalidInput("A name needs 1 to 100 characters.", {"field": field})
    if db.session.scalar(select(CoverageHead.id).where(CoverageHead.code == code)):
        raise Conflict("A coverage head with that code exists.", {"field": "code"})
    head = CoverageHead(code=code, **names)
    db.session.add(head)
    admin_log.record(actor, "coverage_head", "created", head)
    db.session.commit()
    return head


def get_policy(actor, policy_id):
    """A policy for the admin, else NotFound."""
    access.require(actor, "policies.manage")
    policy = db.session.get(InsurancePolicy, policy_id)
    if policy is None:
        raise NotFound("Policy not found.")
    return policy


def policy_terms(actor, policy_id):
    """A policy whose terms `actor` may read: staff any, an insurer its own; else NotFound."""
    access.require(actor, "policies.read_terms")
    return access.get_policy_for(actor, policy_id)


def list_policies(actor):
    """Every policy by number (admin)."""
    access.require(actor, "policies.manage")
    return db.session.scalars(select(InsurancePolicy).order_by(InsurancePolicy.number)).all()


def _terms_snapshot(policy):
    """The policy's fields and its per-head terms (head id: [ratio %, sub-limit])."""
    return admin_log.snapshot(policy, terms={
        str(c.head_id): [c.payout_ratio, c.sub_limit] for c in policy.coverages})


def set_terms(policy_id, actor, *, per_incident_limit, annual_aggregate, deductible, heads):
    """Replace a policy's limits and per-head terms; `heads` = {code: (ratio %, sub-limit)}.

    A head left out is no longer covered. One commit; nothing changes on any bad value.
    """
    policy = get_policy(actor, policy_id)
    limits = {"per_incident_limit": _yen("per_incident_limit", per_incident_limit),
              "annual_aggregate": _yen("annual_aggregate", annual_aggregate),
              "deductible": _yen("deductible", deductible)}
    if limits["per_incident_limit"] > limits["annual_aggregate"]:
        raise InvalidInput("The per-incident limit cannot exceed the annual aggregate.",
                           {"field": "per_incident_limit"})
    known = {h.code: h for h in db.session.scalars(select(CoverageHead))}
    terms = {}
    for code, (ratio, sub_limit) in heads.items():
        if code not in known:
            raise InvalidInput(f"Unknown coverage head {code!r}.", {"field": "heads"})
        if isinstance(ratio, bool) or not isinstance(ratio, int) or not 0 <= ratio <= 100:
            raise InvalidInput("A payout ratio is a whole percent from 0 to 100.",
                               {"field": f"heads.{code}.payout_ratio"})
        terms[known[code].id] = (ratio, _yen(f"heads.{code}.sub_limit", sub_limit))
    before = _terms_snapshot(policy)
    for name, value in limits.items():
        setattr(policy, name, value)
    existing = {c.head_id: c for c in policy.coverages}
    for head_id, coverage in existing.items():
        if head_id not in terms:
            policy.coverages.remove(coverage)
    for head_id, (ratio, sub_limit) in terms.items():
        coverage = existing.get(head_id) or PolicyCoverage(head_id=head_id)
        coverage.payout_ratio, coverage.sub_limit = ratio, sub_limit
        if coverage not in policy.coverages:
            policy.coverages.append(coverage)
    admin_log.record(actor, "policy", "updated", policy, before,
                     after=_terms_snapshot(policy))
    db.session.commit()
    return policy
