"""Named guards: each reads the trigger's parameters and named facts, and refuses with a reason.

A guard returns None when the transition may go ahead, or a Refusal (a stable code and an
English message). The facts a guard reads are declared with it (`@guard("fact", ...)`); the
engine refuses a trigger whose guards' facts are not all in the context, so a guard whose
fact nobody looked up never passes: guards fail closed. Facts are plain data that the
service layer looks up through the providers bound in app/services/wiring.py.
"""

from dataclasses import dataclass, field

from workflows.incident import SETTLED_STATES


@dataclass(frozen=True)
class Refusal:
    """Why a guard said no: a stable code and a human-readable message."""

    code: str
    message: str


@dataclass(frozen=True)
class ClaimReadiness:
    """The fact `claim_readiness`: what submitting a claim needs, counted."""

    has_policy: bool  # the claim's policy, or one covering the incident's discovery date
    cost_lines: int  # lines the claim carries (all but rejected ones)
    not_approved: int  # of those, lines still draft
    without_evidence: int  # of those, lines with no evidence linked
    visits_without_report: int  # visits (arrived) not completed with report and sign-off


class MissingFact(LookupError):
    """A guard read a fact the context does not hold."""


@dataclass
class TriggerContext:
    """What guards read: the caller's parameters, the facts looked up, the state fired from."""

    params: dict = field(default_factory=dict)
    facts: dict = field(default_factory=dict)
    state: str = ""  # set by the engine

    def fact(self, name):
        """The fact `name`; MissingFact when it was not looked up."""
        try:
            return self.facts[name]
        except KeyError:
            raise MissingFact(name) from None


GUARDS = {}


def guard(*facts):
    """Register a guard under its function name, with the facts it reads."""
    def register(check):
        check.facts = facts
        GUARDS[check.__name__] = check
        return check
    return register


def _required(params, name, message):
    value = params.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return Refusal(f"{name}_required", message)
    return None


@guard("onsite_contract_active")
def contract_covers_onsite(ctx):
    """On-site dispatch needs an active contract whose plan includes it."""
    if ctx.fact("onsite_contract_active"):
        return None
    return Refusal("no_onsite_contract",
                   "The organization has no active contract that covers on-site support.")


@guard("technician_active")
def technician_available(ctx):
    """The named technician exists and is active."""
    missing = _required(ctx.params, "technician_id", "Name the technician to assign.")
    if missing is not None or ctx.fact("technician_active"):
        return missing
    return Refusal("technician_unavailable", "The technician is unknown or inactive.")


@guard("assigned_technician_id")
def technician_assigned(ctx):
    """Arriving on site needs a technician who holds the incident."""
    if ctx.fact("assigned_technician_id") is None:
        return Refusal("no_technician", "No technician holds this incident.")
    return None


@guard()
def reason_given(ctx):
    """Cancelling, releasing or denying needs a reason."""
    return _required(ctx.params, "reason", "Give a reason.")


@guard()
def message_given(ctx):
    """An information request needs the message to send to the desk."""
    return _required(ctx.params, "message", "Write what information is needed.")


@guard()
def work_report_given(ctx):
    """Completing on site needs the work report."""
    return _required(ctx.params, "work_report", "Record the work report.")


@guard()
def signoff_given(ctx):
    """Completing a visit needs the name of the customer who signed it off."""
    return _required(ctx.params, "signoff_name", "Record who signed off the work.")


@guard()
def amount_given(ctx):
    """Approval and payment need a positive whole-yen amount."""
    amount = ctx.params.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        return Refusal("amount_required", "Give the amount as a positive whole number of yen.")
    return None


@guard()
def paid_on_given(ctx):
    """A payment needs the date it was paid."""
    return _required(ctx.params, "paid_on", "Give the payment date.")


@guard("covering_policy_id")
def policy_covers_incident(ctx):
    """A claim needs an insurance policy covering the incident."""
    if ctx.fact("covering_policy_id") is None:
        return Refusal("no_policy",
                       "No insurance policy of the organization covers the incident.")
    return None


@guard("claim_readiness")
def claim_complete(ctx):
    """A claim needs approved cost lines with evidence, and every visit reported."""
    readiness = ctx.fact("claim_readiness")
    if not readiness.has_policy:
        return Refusal("no_policy",
                       "No insurance policy of the organization covers the incident.")
    if not readiness.cost_lines:
        return Refusal("no_cost_lines", "A claim needs at least one cost line.")
    if readiness.not_approved:
        return Refusal("cost_lines_not_approved",
                       "Every cost line must be approved (or rejected) before submitting.")
    if readiness.without_evidence:
        return Refusal("cost_lines_without_evidence",
                       "Every cost line needs at least one piece of evidence.")
    if readiness.visits_without_report:
        return Refusal("work_report_missing",
                       "A visit needs a completed work report signed off by the customer.")
    return None


@guard("has_claim")
def no_open_claim(ctx):
    """Closing after a claim needs it settled (paid or denied)."""
    if ctx.fact("has_claim") and ctx.state not in SETTLED_STATES:
        return Refusal("claim_open", "The claim is not settled (paid or denied) yet.")
    return None
