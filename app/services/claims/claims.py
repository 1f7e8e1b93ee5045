"""Insurance claims: preparing, submitting (payout and a signed packet), the insurer's answers.

A claim follows its incident's claim_* states: the workflow triggers move the incident
(app/services/incidents/lifecycle.py) and call on_trigger() here in the same transaction, so a
claim and its incident never disagree. Submitting computes the payable amount from the
policy (app.services.payout) and builds a new packet version (app.services.packets);
earlier versions stay. Insurers see only claims of their own policies (404 otherwise).
"""

from datetime import date

from sqlalchemy import func, select

from app.domain.timeutil import utcnow
from app.errors import Conflict, InvalidInput, NotFound
from app.extensions import db
from app.models import Claim, ClaimPacket, Incident, InsurancePolicy
from app.services.actors import label_for, require_role
from app.services.claims import notices as claim_notices
from app.services.claims.coverage import covering_policy
from app.services.incidents.audit import append_event
from app.services.incidents.lifecycle import commit_or_conflict, fire_trigger
from workflows.guards import Refusal

SETTLED_STATES = ("claim_paid", "claim_denied")
INSURER_TRIGGERS = ("request_info", "approve_claim", "deny_claim", "record_payment")
ACTIONS = {"acknowledge": None, "request_info": "request_info", "approve": "approve_claim",
           "deny": "deny_claim", "record_payment": "record_payment"}
STAFF_ROLES = ("desk", "dispatcher", "admin")


# ---------------------------------------------------------------- facts for the guards


def claimable_lines(incident):
    """The cost lines a claim carries: all but rejected ones."""
    return [c for c in incident.cost_items if c.status != "rejected"]


def submit_refusal(incident):
    """Why the claim cannot be submitted yet, or None (the submit_claim guard's facts)."""
    lines = claimable_lines(incident)
    if incident.claim is None and covering_policy(incident) is None:
        return Refusal("no_policy", "No insurance policy of the organization covers the "
                                    "incident.")
    if not lines:
        return Refusal("no_cost_lines", "A claim needs at least one cost line.")
    if any(c.status != "approved" for c in lines):
        return Refusal("cost_lines_not_approved",
                       "Every cost line must be approved (or rejected) before submitting.")
    if any(not c.evidence for c in lines):
        return Refusal("cost_lines_without_evidence",
                       "Every cost line needs at least one piece of evidence.")
    if any(not _visit_reported(d) for d in incident.dispatches if d.arrived_at is not None):
        return Refusal("work_report_missing",
                       "A visit needs a completed work report signed off by the customer.")
    return None


def _visit_reported(dispatch):
    return dispatch.state == "completed" and bool(dispatch.work_report.strip()) \
        and bool(dispatch.signoff_name.strip())


def open_claim_refusal(incident):
    """Closing after a claim needs it settled (paid or denied); None when it may close."""
    if incident.claim is not None and incident.state not in SETTLED_STATES:
        return Refusal("claim_open", "The claim is not settled (paid or denied) yet.")
    return None


# ---------------------------------------------------------------- what the triggers change


def on_trigger(incident, trigger, params, actor, now):
    """The claim side of a claim trigger, in the trigger's transaction (no commit)."""
    handler = _HANDLERS.get(trigger)
    if handler is None:
        return None
    claim = incident.claim
    if trigger in INSURER_TRIGGERS and claim is not None:
        _check_insurer(actor, claim)
    return handler(incident, claim, params, actor, now)


def _check_insurer(actor, claim):
    if actor is not None and actor.role == "insurer" and \
            claim.policy.insurer_id != actor.insurer_id:
        raise NotFound("Claim not found.")


def _prepare(incident, claim, params, actor, now):
    return claim or _new_claim(incident, now)


def _new_claim(incident, now):
    policy = covering_policy(incident)
    if policy is None:
        raise Conflict("No insurance policy of the organization covers the incident.",
                       {"reason": "no_policy"})
    claim = Claim(incident=incident, policy=policy, created_at=now, computation={})
    db.session.add(claim)
    return claim


def _submit(incident, claim, params, actor, now):
    from app.services.claims.packets import build_packet, compute_for  # they build on claims' rows

    claim = claim or _new_claim(incident, now)
    computation = compute_for(claim)  # as the packet shows it
    claim.claimed_amount, claim.payable_amount = computation.claimed_total, computation.payable
    claim.computation = computation.as_dict()
    db.session.flush()  # the packet names the claim's id
    version = (db.session.scalar(select(func.max(ClaimPacket.version)).where(
        ClaimPacket.claim_id == claim.id)) or 0) + 1
    packet = build_packet(claim, version, label_for(actor, "system"), now)
    payload = {**claim_notices.incident_facts(incident, claim.policy),
               "claim": claim_summary(claim, packet, computation.customer_share)}
    claim_notices.notify_insurer(incident, claim.policy, f"claim_submitted:{version}", payload,
                                 now)
    return claim


def claim_summary(claim, packet, customer_share):
    """The claim's figures as told to the insurer (notice, e-mail, webhook)."""
    return {"id": claim.id, "packet_version": packet.version, "packet_sha256": packet.sha256,
            "claimed_amount": claim.claimed_amount, "payable_amount": claim.payable_amount,
            "customer_share": customer_share}


def _event(incident, claim, kind, now, extra):
    """Tell the insurer's portal and webhook about its own decision (no e-mail)."""
    if claim is None:
        return
    payload = {**claim_notices.incident_facts(incident, claim.policy),
               "claim": {"id": claim.id, **extra}}
    claim_notices.notify_insurer(incident, claim.policy, f"{kind}:{incident.event_count}",
                                 payload, now, email=False)


def _request_info(incident, claim, params, actor, now):
    message = params["message"].strip()
    claim_notices.tell_desk(incident, "claim_info_requested", {"message": message}, now,
                            dedupe=f"claim_info:{incident.id}:{incident.event_count}")
    _event(incident, claim, "claim_info_requested", now, {"message": message})


def _approve(incident, claim, params, actor, now):
    amount = params["amount"]
    if claim is not None:
        if amount > claim.claimed_amount:
            raise InvalidInput("The approved amount cannot exceed the claimed amount.",
                               {"field": "amount", "claimed_amount": claim.claimed_amount})
        claim.approved_amount = amount
    _event(incident, claim, "claim_approved", now, {"approved_amount": amount})


def _deny(incident, claim, params, actor, now):
    _event(incident, claim, "claim_denied", now, {"reason": params["reason"].strip()})


def _record_payment(incident, claim, params, actor, now):
    amount, paid_on = params["amount"], _date(params["paid_on"])
    if claim is not None:
        if claim.approved_amount is not None and amount > claim.approved_amount:
            raise InvalidInput("The payment cannot exceed the approved amount.",
                               {"field": "amount", "approved_amount": claim.approved_amount})
        claim.paid_amount, claim.paid_on = amount, paid_on
    _event(incident, claim, "claim_paid", now, {"paid_amount": amount,
                                                "paid_on": paid_on.isoformat()})


def _date(value):
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise InvalidInput("Give the payment date as YYYY-MM-DD.", {"field": "paid_on"}) from exc


_HANDLERS = {"prepare_claim": _prepare, "submit_claim": _submit, "request_info": _request_info,
             "approve_claim": _approve, "deny_claim": _deny, "record_payment": _record_payment}


# ---------------------------------------------------------------- reading and the insurer's hand


def scope_claims(stmt, user):
    """Restrict a claim query to what `user` may see (insurers: their policies' claims)."""
    if user.role == "insurer":
        return stmt.join(InsurancePolicy, Claim.policy_id == InsurancePolicy.id).where(
            InsurancePolicy.insurer_id == user.insurer_id)
    if user.role in STAFF_ROLES:
        return stmt
    return stmt.where(False)  # customers and technicians see claims through the incident


def get_claim_for(user, claim_id):
    """The claim if `user` may see it, else NotFound (never a hint that it exists)."""
    claim = db.session.scalars(scope_claims(select(Claim).where(Claim.id == claim_id),
                                            user)).first()
    if claim is None:
        raise NotFound("Claim not found.")
    return claim


def list_claims(user, state=None, limit=100):
    """Claims `user` may see, newest first (optionally in one incident state)."""
    stmt = scope_claims(select(Claim), user).join(Incident, Claim.incident_id == Incident.id)
    if state:
        stmt = stmt.where(Incident.state == state)
    return db.session.scalars(stmt.order_by(Claim.id.desc()).limit(limit)).all()


def get_packet(claim, version=None):
    """A packet version of the claim (the latest when `version` is None), else NotFound."""
    packets = claim.packets
    if version is not None:
        packets = [p for p in packets if p.version == version]
    if not packets:
        raise NotFound("Packet not found.")
    return packets[-1]


def verify(claim, version=None):
    """(packet, problems) of a packet version, checked against the key it was signed with."""
    from app.services.claims.packets import packet_path, verify_packet

    packet = get_packet(claim, version)
    return packet, verify_packet(packet_path(packet), public_key=packet.public_key)


def acknowledge(claim_id, actor, now=None):
    """The insurer confirms it received the claim (once; later calls change nothing)."""
    now = now or utcnow()
    require_role(actor, ("insurer", "admin"), "acknowledge claims")
    claim = get_claim_for(actor, claim_id)
    if claim.incident.state not in ("claim_submitted", "claim_info_requested",
                                    "claim_approved"):
        raise Conflict("Only a submitted claim can be acknowledged.",
                       {"state": claim.incident.state})
    if claim.acknowledged_at is None:
        claim.acknowledged_at = now
        append_event(claim.incident, kind="claim", actor=actor, actor_label=label_for(actor, ""),
                     now=now, data={"action": "acknowledged", "claim_id": claim.id})
        _event(claim.incident, claim, "claim_acknowledged", now, {"acknowledged": True})
        commit_or_conflict(claim.incident)
    return claim


def insurer_action(claim_id, actor, action, *, amount=None, reason=None, message=None,
                   paid_on=None, note="", now=None):
    """acknowledge, request_info, approve, deny or record_payment on a claim you may see."""
    if action not in ACTIONS:
        raise InvalidInput(f"Unknown action; use one of {', '.join(ACTIONS)}.",
                           {"field": "action"})
    claim = get_claim_for(actor, claim_id)
    if action == "acknowledge":
        return acknowledge(claim_id, actor, now)
    params = {"amount": amount, "reason": reason, "message": message,
              "paid_on": paid_on.isoformat() if isinstance(paid_on, date) else paid_on}
    fire_trigger(claim.incident_id, ACTIONS[action], actor, params=params,
                 note=note, now=now)
    return claim
