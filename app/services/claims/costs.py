"""Cost lines of an incident: entry, the labour line of a visit, approval, evidence links.

Who may do what: desk, dispatcher and admin on any incident they see; a technician only
on the incident of a visit of theirs (an accepted offer or later). A draft line is
editable by its author only; desk, dispatcher or admin approve or reject it. Once the
claim is submitted (and until the insurer asks for information) lines are frozen.
Every change is a timeline event in the same commit.
"""

import math
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from app import access
from app.domain.payout import line_amount
from app.domain.timeutil import to_jst, utcnow
from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.extensions import db
from app.models import MAX_INTEGER, CostItem, CoverageHead, Dispatch, Evidence
from app.services.actors import label_for
from app.services.incidents.audit import append_event
from app.services.transaction import commit_or_conflict
from workflows.incident import COSTS_FROZEN_STATES

TAX_RATES = (10, 8, 0)  # Japan's standard, reduced and no consumption tax
MAX_UNIT_PRICE = 100_000_000
MAX_QUANTITY = Decimal("99999999.99")
DESCRIPTION_MAX = 500
# An incident's lines, tax included (10% at most), must fit the claim's INTEGER amounts.
MAX_INCIDENT_TOTAL = MAX_INTEGER * 10 // 11
LABOUR_PREFIX = "駆付け作業"  # marks the labour line of a visit (one per dispatch)
QUARTER = timedelta(minutes=15)


# ---------------------------------------------------------------- checks


def _field_error(field, message):
    return InvalidInput(message, {"field": field})


def _clean(head_code, description, quantity, unit_price, tax_rate, incurred_on, today):
    """Validated values of a cost line, or InvalidInput naming the first bad field."""
    head = db.session.scalar(select(CoverageHead).where(CoverageHead.code == head_code))
    if head is None:
        raise _field_error("head", "Choose a coverage head.")
    description = (description or "").strip()
    if not description or len(description) > DESCRIPTION_MAX:
        raise _field_error("description", f"A description needs 1 to {DESCRIPTION_MAX} "
                                          "characters.")
    try:
        quantity = Decimal(str(quantity))
    except InvalidOperation as exc:
        raise _field_error("quantity", "The quantity is not a number.") from exc
    if not (quantity.is_finite() and 0 < quantity <= MAX_QUANTITY
            and quantity == quantity.quantize(Decimal("0.01"))):
        raise _field_error("quantity", "The quantity must be above 0 with at most two "
                                       "decimals.")
    if isinstance(unit_price, bool) or not isinstance(unit_price, int) \
            or not 0 <= unit_price <= MAX_UNIT_PRICE:
        raise _field_error("unit_price", "The unit price is whole yen from 0 to "
                                         f"{MAX_UNIT_PRICE}.")
    if tax_rate not in TAX_RATES or isinstance(tax_rate, bool):
        raise _field_error("tax_rate", "The tax rate is 10, 8 or 0 percent.")
    if not isinstance(incurred_on, date) or incurred_on > today:
        raise _field_error("incurred_on", "The date incurred cannot be in the future.")
    amount = line_amount(quantity, unit_price)
    if amount > MAX_INCIDENT_TOTAL:
        raise _field_error("quantity", f"Quantity × unit price is at most {MAX_INCIDENT_TOTAL} "
                                       "yen.")
    return dict(head=head, description=description, quantity=quantity, unit_price=unit_price,
                amount=amount, tax_rate=tax_rate, incurred_on=incurred_on)


def _check_total(incident, amount, replacing=None):
    """The incident's lines (but rejected ones) with this amount must fit MAX_INCIDENT_TOTAL."""
    others = sum(i.amount for i in incident.cost_items
                 if i.status != "rejected" and i is not replacing)
    if others + amount > MAX_INCIDENT_TOTAL:
        raise _field_error("quantity", "The incident's cost lines would total more than "
                                       f"{MAX_INCIDENT_TOTAL} yen.")


def _editable_incident(actor, incident_id):
    """The incident if the actor may enter costs on it and its lines are not frozen."""
    access.require(actor, "costs.enter")
    incident = access.get_incident_for(actor, incident_id)
    access.require_visit_if_technician(actor, incident)
    if incident.state in COSTS_FROZEN_STATES:
        raise Conflict(f"Costs cannot change while the incident is {incident.state}.",
                       {"state": incident.state, "reason": "costs_frozen"})
    return incident


def _dispatch_on(actor, incident, dispatch_id):
    if dispatch_id is None:
        return access.default_visit(actor, incident)
    dispatch = db.session.get(Dispatch, dispatch_id)
    if dispatch is None or dispatch.incident_id != incident.id or \
            not access.may_use_dispatch(actor, dispatch):
        raise _field_error("dispatch_id", "That dispatch is not one of this incident's.")
    return dispatch


def _evidence_of(incident, evidence_ids):
    ids = list(dict.fromkeys(evidence_ids or ()))
    if not ids:
        return []
    rows = db.session.scalars(select(Evidence).where(
        Evidence.id.in_(ids), Evidence.incident_id == incident.id)).all()
    if len(rows) != len(ids):
        raise _field_error("evidence_ids", "Evidence can only be linked from the same incident.")
    return rows


def _record(incident, actor, now, action, item):
    append_event(incident, kind="cost", actor=actor, actor_label=label_for(actor, ""), now=now,
                 data={"action": action, "cost_id": item.id, "head": item.head.code,
                       "amount": item.amount, "tax_rate": item.tax_rate,
                       "status": item.status})


# ---------------------------------------------------------------- use cases


def add_cost_line(incident_id, actor, head_code, description, quantity, unit_price, tax_rate,
                  incurred_on, dispatch_id=None, evidence_ids=(), now=None):
    """Record a draft cost line on an incident (one commit, with its timeline event)."""
    now = now or utcnow()
    incident = _editable_incident(actor, incident_id)
    values = _clean(head_code, description, quantity, unit_price, tax_rate, incurred_on,
                    to_jst(now).date())
    _check_total(incident, values["amount"])
    dispatch = _dispatch_on(actor, incident, dispatch_id)
    evidence = _evidence_of(incident, evidence_ids)
    item = CostItem(incident=incident, dispatch=dispatch, evidence=evidence, status="draft",
                    entered_by_id=actor.id, entered_by_label=label_for(actor, ""),
                    created_at=now, **values)
    db.session.add(item)
    db.session.flush()
    _record(incident, actor, now, "added", item)
    commit_or_conflict(incident)
    return item


def update_cost_line(cost_id, actor, now=None, **fields):
    """Change a draft (or rejected) line of one's own; it is a draft again afterwards."""
    now = now or utcnow()
    item = access.get_cost_for(actor, cost_id)
    incident = _editable_incident(actor, item.incident_id)
    if item.entered_by_id is None or item.entered_by_id != actor.id:
        raise Forbidden("Only the person who entered a line may change it.")
    if item.status == "approved":
        raise Conflict("An approved line cannot change.", {"reason": "approved"})
    current = dict(head_code=item.head.code, description=item.description,
                   quantity=item.quantity, unit_price=item.unit_price, tax_rate=item.tax_rate,
                   incurred_on=item.incurred_on)
    unknown = set(fields) - set(current)
    if unknown:
        raise _field_error(sorted(unknown)[0], "That field cannot be changed.")
    merged = {**current, **fields}
    values = _clean(merged.pop("head_code"), today=to_jst(now).date(), **merged)
    _check_total(incident, values["amount"], replacing=item)
    for name, value in values.items():
        setattr(item, name, value)
    item.status = "draft"
    _record(incident, actor, now, "changed", item)
    commit_or_conflict(incident)
    return item


def labour_line(dispatch_id, actor, now=None):
    """The visit's labour as a draft line: arrival to completion, rounded UP to the next
    quarter hour, at the technician's hourly rate, under the dispatch head."""
    now = now or utcnow()
    # The role first: a 403 for an existing dispatch and a 404 for a missing one would
    # tell a customer or an insurer which dispatch ids exist.
    access.require(actor, "costs.enter")
    dispatch = db.session.get(Dispatch, dispatch_id)
    if dispatch is None:
        raise NotFound("Dispatch not found.")
    incident = _editable_incident(actor, dispatch.incident_id)
    dispatch = _dispatch_on(actor, incident, dispatch.id)
    if dispatch.arrived_at is None or dispatch.completed_at is None:
        raise Conflict("The labour line needs the arrival and completion times of the visit.",
                       {"reason": "visit_not_completed"})
    if any(i.dispatch_id == dispatch.id and i.status != "rejected"
           and i.description.startswith(LABOUR_PREFIX) for i in incident.cost_items):
        raise Conflict("This visit already has its labour line.", {"reason": "labour_exists"})
    rate = dispatch.technician.hourly_rate
    if not rate:
        raise Conflict("The technician has no hourly rate; ask an admin to set it.",
                       {"reason": "no_hourly_rate"})
    quarters = max(1, math.ceil((dispatch.completed_at - dispatch.arrived_at) / QUARTER))
    start, end = to_jst(dispatch.arrived_at), to_jst(dispatch.completed_at)
    description = (f"{LABOUR_PREFIX} {dispatch.technician.name} {start:%Y-%m-%d %H:%M}"
                   f"–{end:%H:%M} JST（15分単位切上げ）")
    return add_cost_line(incident.id, actor, "dispatch", description,
                         Decimal(quarters) / 4, rate, 10, start.date(),
                         dispatch_id=dispatch.id, now=now)


def _decide(cost_id, actor, status, now):
    access.require(actor, "costs.decide")
    now = now or utcnow()
    item = access.get_cost_for(actor, cost_id)
    incident = _editable_incident(actor, item.incident_id)
    if item.status != "draft":
        raise Conflict(f"Only a draft line can be decided; this one is {item.status}.",
                       {"status": item.status, "reason": "not_draft"})
    item.status = status
    item.approved_by_id = actor.id
    item.approved_at = now
    _record(incident, actor, now, status, item)
    commit_or_conflict(incident)
    return item


def approve(cost_id, actor, now=None):
    """Approve a draft line (desk, dispatcher, admin)."""
    return _decide(cost_id, actor, "approved", now)


def reject(cost_id, actor, now=None):
    """Reject a draft line (desk, dispatcher, admin); its author may correct it."""
    return _decide(cost_id, actor, "rejected", now)


def link_evidence(cost_id, evidence_ids, actor, now=None):
    """Link evidence files of the same incident to a cost line (links already there stay)."""
    now = now or utcnow()
    item = access.get_cost_for(actor, cost_id)
    incident = _editable_incident(actor, item.incident_id)
    if not evidence_ids:
        raise _field_error("evidence_ids", "Choose at least one evidence file.")
    added = [e for e in _evidence_of(incident, evidence_ids) if e not in item.evidence]
    item.evidence.extend(added)
    append_event(incident, kind="cost", actor=actor, actor_label=label_for(actor, ""), now=now,
                 data={"action": "evidence_linked", "cost_id": item.id,
                       "evidence_ids": [e.id for e in added]})
    commit_or_conflict(incident)
    return item


def list_heads():
    """Every coverage head, standard ones first (by id)."""
    return db.session.scalars(select(CoverageHead).order_by(CoverageHead.id)).all()
