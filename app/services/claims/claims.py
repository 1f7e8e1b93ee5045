"""Insurance claims: preparing, submitting (payout and a signed packet), the insurer's answers.

A claim follows its incident's claim_* states: the workflow triggers move the incident
(app/services/incidents/lifecycle.py) and run the side effects here that they name, in the
same transaction, so a claim and its incident never disagree. Submitting computes the payable
amount from the policy (app/domain/payout.py) and builds a new packet version (packets.py);
earlier versions stay. Insurers see only claims of their own policies (404 otherwise).
"""

from datetime import date

from sqlalchemy import func, select

from app import access
from app.domain.timeutil import utcnow
from app.errors import Conflict, InvalidInput, NotFound
from app.extensions import db
from app.models import Claim, ClaimPacket, Incident
from app.services.actors import label_for
from app.services.claims import notices as claim_notices
from app.services.claims.coverage import covering_policy
from app.services.claims.packets import build_packet, compute_for, packet_path, verify_packet
from app.services.incidents.audit import append_event
from app.services.incidents.lifecycle import fire_trigger
from app.services.transaction import commit_or_conflict
from workflows import INCIDENT
from workflows.guards import ClaimReadiness
from workflows.incident import CLAIM_OPEN_STATES

# The insurer's decisions (the API's and the portal's words) and the trigger each fires;
# acknowledging changes no state.
ACTIONS = {"acknowledge": None, "request_info": "request_info", "approve": "approve_claim",
           "deny": "deny_claim", "record_payment": "record_payment"}


# ---------------------------------------------------------------- facts for the guards


def claimable_lines(incident):
    """The cost lines a claim carries: all but rejected ones."""
    return [c for c in incident.cost_items if c.status != "rejected"]


def claim_readiness(incident, params, now):
    """The fact `claim_readiness` of submit_claim's guard: what the claim still lacks."""
    lines = claimable_lines(incident)
    return ClaimReadiness(
        has_policy=incident.claim is not None or covering_policy(incident) is not None,
        cost_lines=len(lines), not_approved=sum(c.status != "approved" for c in lines),
        without_evidence=sum(not c.evidence for c in lines),
        visits_without_report=sum(not _visit_reported(d) for d in incident.dispatches
                                  if d.arrived_at is not None))


def _visit_reported(dispatch):
    return dispatch.state == "completed" and bool(dispatch.work_report.strip()) \
        and bool(dispatch.signoff_name.strip())


def has_claim(incident, params, now):
    """The fact `has_claim` of close's guard."""
    return incident.claim is not None


def covering_policy_id(incident, params, now):
    """The fact `covering_policy_id` of prepare_claim's guard (None: no policy covers it)."""
    policy = covering_policy(incident)
    return policy.id if policy is not None else None


# ---------------------------------------------------------------- what the triggers change
# Each is a side effect named in workflows/incident.py, run in the trigger's transaction
# (no commit) after the state has changed; bound by name in app/services/wiring.py.


def open_claim(step):
    """prepare_claim: the incident's claim, under the policy covering it."""
    return step.incident.claim or _new_claim(step.incident, step.now)


def _new_claim(incident, now):
    policy = covering_policy(incident)
    if policy is None:
        raise Conflict("No insurance policy of the organization covers the incident.",
                       {"reason": "no_policy"})
    claim = Claim(incident=incident, policy=policy, created_at=now, computation={})
    db.session.add(claim)
    return claim


def submit_claim(step):
    """submit_claim: the payout computed and a new signed packet version, told the insurer."""
    incident, now = step.incident, step.now
    claim = incident.claim or _new_claim(incident, now)
    computation = compute_for(claim)  # as the packet shows it
    claim.claimed_amount, claim.payable_amount = computation.claimed_total, computation.payable
    claim.computation = computation.as_dict()
    db.session.flush()  # the packet names the claim's id
    version = (db.session.scalar(select(func.max(ClaimPacket.version)).where(
        ClaimPacket.claim_id == claim.id)) or 0) + 1
    packet = build_packet(claim, version, label_for(step.actor, "system"), now)
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


def ask_desk_for_information(step):
    """request_info: the desk is e-mailed the insurer's question."""
    incident, claim, now = step.incident, step.incident.claim, step.now
    message = step.params["message"].strip()
    claim_notices.tell_desk(incident, "claim_info_requested", {"message": message}, now,
                            dedupe=f"claim_info:{incident.id}:{incident.event_count}")
    _event(incident, claim, "claim_info_requested", now, {"message": message})


def approve_claim(step):
    """approve_claim: the approved amount, at most the claimed one."""
    incident, claim, now = step.incident, step.incident.claim, step.now
    amount = step.params["amount"]
    if claim is not None:
        if amount > claim.claimed_amount:
            raise InvalidInput("The approved amount cannot exceed the claimed amount.",
                               {"field": "amount", "claimed_amount": claim.claimed_amount})
        claim.approved_amount = amount
    _event(incident, claim, "claim_approved", now, {"approved_amount": amount})


def deny_claim(step):
    """deny_claim: the insurer's portal and webhook are told the reason."""
    _event(step.incident, step.incident.claim, "claim_denied", step.now,
           {"reason": step.params["reason"].strip()})


def record_payment(step):
    """record_payment: the amount paid (at most the approved one) and the date."""
    incident, claim, now = step.incident, step.incident.claim, step.now
    amount, paid_on = step.params["amount"], _date(step.params["paid_on"])
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


# ---------------------------------------------------------------- reading and the insurer's hand


def list_claims(user, state=None, limit=100):
    """Claims `user` may see, newest first (optionally in one incident state)."""
    stmt = access.scope_claims(select(Claim), user).join(Incident, Claim.incident_id == Incident.id)
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
    packet = get_packet(claim, version)
    return packet, verify_packet(packet_path(packet), public_key=packet.public_key)


def acknowledge(claim_id, actor, now=None):
    """The insurer confirms it received the claim (once; later calls change nothing)."""
    now = now or utcnow()
    access.require(actor, "claims.acknowledge")
    claim = access.get_claim_for(actor, claim_id)
    if claim.incident.state not in CLAIM_OPEN_STATES:
        raise Conflict("Only a submitted claim can be acknowledged.",
                       {"state": claim.incident.state})
    if claim.acknowledged_at is None:
        claim.acknowledged_at = now
        append_event(claim.incident, kind="claim", actor=actor, actor_label=label_for(actor, ""),
                     now=now, data={"action": "acknowledged", "claim_id": claim.id})
        _event(claim.incident, claim, "claim_acknowledged", now, {"acknowledged": True})
        commit_or_conflict(claim.incident)
    return claim


def actions_now(claim):
    """The decisions the insurer can take on the claim now, in the order of ACTIONS."""
    allowed = INCIDENT.allowed_triggers(claim.incident.state, "insurer")
    open_ = claim.incident.state in CLAIM_OPEN_STATES and claim.acknowledged_at is None
    return [action for action, trigger in ACTIONS.items()
            if (trigger is None and open_) or (trigger is not None and trigger in allowed)]


def action_params(action):
    """What a decision needs besides the claim, e.g. ["amount", "paid_on"] (workflow data)."""
    trigger = ACTIONS[action]
    return INCIDENT.params_of(trigger) if trigger else []


def insurer_action(claim_id, actor, action, *, amount=None, reason=None, message=None,
                   paid_on=None, note="", now=None):
    """acknowledge, request_info, approve, deny or record_payment on a claim you may see."""
    if action not in ACTIONS:
        raise InvalidInput(f"Unknown action; use one of {', '.join(ACTIONS)}.",
                           {"field": "action"})
    claim = access.get_claim_for(actor, claim_id)
    if action == "acknowledge":
        return acknowledge(claim_id, actor, now)
    params = {"amount": amount, "reason": reason, "message": message,
              "paid_on": paid_on.isoformat() if isinstance(paid_on, date) else paid_on}
    fire_trigger(claim.incident_id, ACTIONS[action], actor, params=params,
                 note=note, now=now)
    return claim
