"""Named guards: each reads facts from the firing context and refuses with a reason.

A guard returns None when the transition may go ahead, or a short reason code
and English message when it may not. The context is plain data built by the
service layer (see app/services/incidents/lifecycle.py), so these stay pure.
"""

from dataclasses import dataclass, field


@dataclass
class Refusal:
    """Why a guard said no: a stable code and a human-readable message."""

    code: str
    message: str


@dataclass
class TriggerContext:
    """Facts a guard may read; the service fills in what it knows."""

    params: dict = field(default_factory=dict)
    onsite_contract: Refusal | None = None  # None: an active contract covers on-site support
    technician: Refusal | None = None  # None: the named technician may take the incident
    assigned_technician_id: int | None = None
    policy: Refusal | None = None  # None: a policy covers the incident
    claim: Refusal | None = None  # None: the claim is complete enough to submit
    open_claim: Refusal | None = None  # None: no claim is left open


def _required(params, name, message):
    value = params.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return Refusal(f"{name}_required", message)
    return None


def contract_covers_onsite(ctx):
    """On-site dispatch needs an active contract whose plan includes it."""
    return ctx.onsite_contract


def technician_available(ctx):
    """The named technician exists, is active, and is free to take the incident."""
    return _required(ctx.params, "technician_id", "Name the technician to assign.") \
        or ctx.technician


def technician_assigned(ctx):
    """Arriving on site needs a technician who holds the incident."""
    if ctx.assigned_technician_id is None:
        return Refusal("no_technician", "No technician holds this incident.")
    return None


def reason_given(ctx):
    """Cancelling, releasing or denying needs a reason."""
    return _required(ctx.params, "reason", "Give a reason.")


def message_given(ctx):
    """An information request needs the message to send to the desk."""
    return _required(ctx.params, "message", "Write what information is needed.")


def work_report_given(ctx):
    """Completing on site needs the work report."""
    return _required(ctx.params, "work_report", "Record the work report.")


def signoff_given(ctx):
    """Completing a visit needs the name of the customer who signed it off."""
    return _required(ctx.params, "signoff_name", "Record who signed off the work.")


def amount_given(ctx):
    """Approval and payment need a positive whole-yen amount."""
    amount = ctx.params.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        return Refusal("amount_required", "Give the amount as a positive whole number of yen.")
    return None


def paid_on_given(ctx):
    """A payment needs the date it was paid."""
    return _required(ctx.params, "paid_on", "Give the payment date.")


def policy_covers_incident(ctx):
    """A claim needs an insurance policy covering the incident."""
    return ctx.policy


def claim_complete(ctx):
    """A claim needs approved cost lines with evidence (and a signed work report)."""
    return ctx.claim


def no_open_claim(ctx):
    """Closing needs every claim settled."""
    return ctx.open_claim


GUARDS = {
    guard.__name__: guard
    for guard in (
        contract_covers_onsite, technician_available, technician_assigned, reason_given,
        message_given, work_report_given, signoff_given, amount_given, paid_on_given,
        policy_covers_incident, claim_complete, no_open_claim,
    )
}
