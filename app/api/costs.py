"""Cost endpoints: an incident's cost lines with the payout preview, entry, approval,
evidence links, the visit's labour line; coverage heads and a policy's terms (set by the
admin, read by staff and the policy's insurer)."""

from flask import g
from flask_openapi3 import Tag

from app import access
from app.api import bp
from app.api.cost_schemas import (
    CostCreate,
    CostList,
    CostOut,
    CostPath,
    CostUpdate,
    Empty,
    EvidenceLink,
    HeadCreate,
    HeadList,
    HeadOut,
    PolicyPath,
    PolicyTermsIn,
    PolicyTermsOut,
)
from app.api.dispatch_schemas import DispatchPath
from app.api.schemas import IncidentPath
from app.domain.timeutil import isoformat_utc
from app.services.claims import costs, coverage

TAG = Tag(name="costs", description="Cost lines, coverage heads and policy terms")


def cost_out(item):
    """A cost line as the API shows it."""
    return {"id": item.id, "incident_id": item.incident_id, "dispatch_id": item.dispatch_id,
            "head": item.head.code, "description": item.description,
            "quantity": str(item.quantity), "unit_price": item.unit_price,
            "amount": item.amount, "tax_rate": item.tax_rate,
            "incurred_on": item.incurred_on.isoformat(), "status": item.status,
            "entered_by": item.entered_by_label, "approved_at": isoformat_utc(item.approved_at),
            "evidence_ids": [e.id for e in item.evidence]}


def terms_out(policy):
    """A policy's limits and per-head terms."""
    return {"id": policy.id, "number": policy.number, "insurer": policy.insurer.name,
            "organization": policy.organization.name,
            "starts_on": policy.starts_on.isoformat(), "ends_on": policy.ends_on.isoformat(),
            "per_incident_limit": policy.per_incident_limit,
            "annual_aggregate": policy.annual_aggregate, "deductible": policy.deductible,
            "heads": {c.head.code: {"payout_ratio": c.payout_ratio, "sub_limit": c.sub_limit}
                      for c in policy.coverages}}


@bp.get("/incidents/<int:incident_id>/costs", tags=[TAG], responses={200: CostList})
def list_costs(path: IncidentPath):
    """The incident's cost lines and the payout of its approved lines (null without policy)."""
    incident = access.get_incident_files_for(g.api_user, path.incident_id)
    items = incident.cost_items
    _, computation = coverage.preview(incident)
    return {"items": [cost_out(i) for i in items],
            "computation": computation.as_dict() if computation else None}


@bp.post("/incidents/<int:incident_id>/costs", tags=[TAG], responses={201: CostOut})
def add_cost(path: IncidentPath, body: CostCreate):
    """Enter a draft cost line (desk, dispatcher, admin; a technician on their visit)."""
    item = costs.add_cost_line(path.incident_id, g.api_user, body.head, body.description,
                               body.quantity, body.unit_price, body.tax_rate, body.incurred_on,
                               dispatch_id=body.dispatch_id, evidence_ids=body.evidence_ids)
    return cost_out(item), 201


@bp.get("/costs/<int:cost_id>", tags=[TAG], responses={200: CostOut})
def get_cost(path: CostPath):
    """One cost line."""
    return cost_out(access.get_cost_for(g.api_user, path.cost_id))


@bp.patch("/costs/<int:cost_id>", tags=[TAG], responses={200: CostOut})
def update_cost(path: CostPath, body: CostUpdate):
    """Change one's own draft or rejected line; it becomes a draft again."""
    fields = body.model_dump(exclude_unset=True)
    if "head" in fields:
        fields["head_code"] = fields.pop("head")
    return cost_out(costs.update_cost_line(path.cost_id, g.api_user, **fields))


@bp.post("/costs/<int:cost_id>/approve", tags=[TAG], responses={200: CostOut})
def approve_cost(path: CostPath, body: Empty):
    """Approve a draft line (desk, dispatcher, admin)."""
    return cost_out(costs.approve(path.cost_id, g.api_user))


@bp.post("/costs/<int:cost_id>/reject", tags=[TAG], responses={200: CostOut})
def reject_cost(path: CostPath, body: Empty):
    """Reject a draft line (desk, dispatcher, admin)."""
    return cost_out(costs.reject(path.cost_id, g.api_user))


@bp.post("/costs/<int:cost_id>/evidence", tags=[TAG], responses={200: CostOut})
def link_cost_evidence(path: CostPath, body: EvidenceLink):
    """Link evidence files of the same incident to the line."""
    return cost_out(costs.link_evidence(path.cost_id, body.evidence_ids, g.api_user))


@bp.post("/dispatches/<int:dispatch_id>/labour", tags=[TAG], responses={201: CostOut})
def add_labour(path: DispatchPath, body: Empty):
    """The visit's labour line from its arrival and completion times (quarter hours, up)."""
    return cost_out(costs.labour_line(path.dispatch_id, g.api_user)), 201


@bp.get("/coverage-heads", tags=[TAG], responses={200: HeadList})
def list_heads():
    """Every coverage head."""
    return {"items": [HeadOut.model_validate(h, from_attributes=True).model_dump()
                      for h in costs.list_heads()]}


@bp.post("/coverage-heads", tags=[TAG], responses={201: HeadOut})
def create_head(body: HeadCreate):
    """Add a coverage head (admin)."""
    head = coverage.create_head(g.api_user, body.code, body.name_ja, body.name_en)
    return HeadOut.model_validate(head, from_attributes=True).model_dump(), 201


@bp.get("/policies/<int:policy_id>/terms", tags=[TAG], responses={200: PolicyTermsOut})
def get_policy_terms(path: PolicyPath):
    """A policy's limits, deductible and per-head terms (staff; an insurer its own policies)."""
    return terms_out(coverage.policy_terms(g.api_user, path.policy_id))


@bp.put("/policies/<int:policy_id>/terms", tags=[TAG], responses={200: PolicyTermsOut})
def set_policy_terms(path: PolicyPath, body: PolicyTermsIn):
    """Replace a policy's limits, deductible and per-head terms (admin)."""
    policy = coverage.set_terms(
        path.policy_id, g.api_user, per_incident_limit=body.per_incident_limit,
        annual_aggregate=body.annual_aggregate, deductible=body.deductible,
        heads={code: (t.payout_ratio, t.sub_limit) for code, t in body.heads.items()})
    return terms_out(policy)
