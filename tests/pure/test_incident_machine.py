"""The incident machine on its own: every legal and illegal trigger, guards and roles."""

from types import SimpleNamespace

import pytest

from workflows import (
    INCIDENT,
    GuardRefused,
    IllegalTrigger,
    TriggerForbidden,
    UnknownTrigger,
    Workflow,
)
from workflows.guards import GUARDS, ClaimReadiness, Refusal, TriggerContext
from workflows.incident import STATES, TRANSITIONS, TRIGGERS

fire = INCIDENT.fire
allowed_triggers = INCIDENT.allowed_triggers
triggers_from = INCIDENT.triggers_from

PASSING_PARAMS = {"reason": "duplicate", "message": "send the receipt", "amount": 50000,
                  "paid_on": "2026-12-01", "technician_id": 1, "work_report": "cleaned PC"}


READY = ClaimReadiness(has_policy=True, cost_lines=1, not_approved=0, without_evidence=0,
                       visits_without_report=0)
PASSING_FACTS = {"onsite_contract_active": True, "technician_active": True,
                 "assigned_technician_id": 1, "covering_policy_id": 7,
                 "claim_readiness": READY, "has_claim": False}


def passing_context():
    return TriggerContext(params=dict(PASSING_PARAMS), facts=dict(PASSING_FACTS))


LEGAL = [(src, t["trigger"], t["dest"]) for t in TRANSITIONS
         for src in (t["source"] if isinstance(t["source"], list) else [t["source"]])]
ILLEGAL = [(state, trigger) for state in STATES for trigger in TRIGGERS
           if trigger not in triggers_from(state)]


@pytest.mark.parametrize(("source", "trigger", "dest"), LEGAL)
def test_every_legal_trigger_moves_to_its_destination(source, trigger, dest):
    assert fire(source, trigger, "system", passing_context()) == dest


@pytest.mark.parametrize(("state", "trigger"), ILLEGAL)
def test_every_illegal_trigger_is_refused_naming_state_and_allowed_triggers(state, trigger):
    with pytest.raises(IllegalTrigger) as info:
        fire(state, trigger, "system", passing_context())
    assert info.value.state == state
    assert info.value.trigger == trigger
    assert info.value.allowed == triggers_from(state)


def test_final_states_have_no_way_out():
    assert triggers_from("closed") == []
    assert triggers_from("cancelled") == []


def test_every_state_is_reachable_from_received():
    reached, frontier = {"received"}, ["received"]
    while frontier:
        state = frontier.pop()
        for source, _trigger, dest in LEGAL:
            if source == state and dest not in reached:
                reached.add(dest)
                frontier.append(dest)
    assert reached == set(STATES)


@pytest.mark.parametrize("trigger", ["assign_technician", "release_technician", "depart",
                                     "arrive", "complete_onsite"])
def test_the_technicians_steps_are_fired_by_the_application_only(trigger):
    for role in ("admin", "dispatcher", "technician", "desk"):
        assert not INCIDENT.may_fire(role, trigger)
    assert INCIDENT.may_fire("system", trigger)


def test_admin_may_fire_every_human_trigger():
    human = [t["trigger"] for t in TRANSITIONS if t["roles"]]
    assert all(INCIDENT.may_fire("admin", t) for t in human)


def test_an_unknown_trigger_is_its_own_error():
    with pytest.raises(UnknownTrigger):
        fire("received", "teleport", "admin")


def test_roles_limit_who_may_fire():
    with pytest.raises(TriggerForbidden):
        fire("claim_submitted", "approve_claim", "desk", passing_context())
    with pytest.raises(TriggerForbidden):
        fire("received", "start_triage", "customer")
    assert fire("claim_submitted", "approve_claim", "insurer", passing_context()) == \
        "claim_approved"


def test_allowed_triggers_are_filtered_by_role():
    assert allowed_triggers("triaging", "desk") == ["resolve_remotely", "request_dispatch",
                                                    "cancel"]
    assert allowed_triggers("technician_assigned", "technician") == []
    assert allowed_triggers("claim_submitted", "desk") == []
    assert allowed_triggers("received", "customer") == []


@pytest.mark.parametrize(("trigger", "state", "param"), [
    ("cancel", "received", "reason"), ("release_technician", "technician_assigned", "reason"),
    ("deny_claim", "claim_submitted", "reason"), ("request_info", "claim_submitted", "message"),
    ("approve_claim", "claim_submitted", "amount"),
    ("record_payment", "claim_approved", "paid_on"),
    ("complete_onsite", "on_site", "work_report"),
    ("assign_technician", "dispatch_requested", "technician_id"),
])
def test_guards_refuse_a_missing_parameter_with_its_reason(trigger, state, param):
    ctx = passing_context()
    del ctx.params[param]
    with pytest.raises(GuardRefused) as info:
        fire(state, trigger, "system", ctx)
    assert info.value.refusal.code == f"{param}_required"


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_blank_reason_is_no_reason(reason):
    ctx = passing_context()
    ctx.params["reason"] = reason
    with pytest.raises(GuardRefused):
        fire("received", "cancel", "desk", ctx)


@pytest.mark.parametrize("amount", [0, -5, "100", 1.5, True])
def test_an_amount_must_be_a_positive_whole_number(amount):
    ctx = passing_context()
    ctx.params["amount"] = amount
    with pytest.raises(GuardRefused) as info:
        fire("claim_submitted", "approve_claim", "insurer", ctx)
    assert info.value.refusal.code == "amount_required"


@pytest.mark.parametrize(("state", "trigger", "fact", "value", "code"), [
    ("triaging", "request_dispatch", "onsite_contract_active", False, "no_onsite_contract"),
    ("dispatch_requested", "assign_technician", "technician_active", False,
     "technician_unavailable"),
    ("resolved_remotely", "prepare_claim", "covering_policy_id", None, "no_policy"),
    ("claim_preparing", "submit_claim", "claim_readiness",
     ClaimReadiness(True, 0, 0, 0, 0), "no_cost_lines"),
    ("claim_preparing", "submit_claim", "claim_readiness",
     ClaimReadiness(True, 2, 1, 0, 0), "cost_lines_not_approved"),
    ("claim_preparing", "submit_claim", "claim_readiness",
     ClaimReadiness(True, 2, 0, 1, 0), "cost_lines_without_evidence"),
    ("claim_preparing", "submit_claim", "claim_readiness",
     ClaimReadiness(True, 2, 0, 0, 1), "work_report_missing"),
    ("claim_preparing", "submit_claim", "claim_readiness",
     ClaimReadiness(False, 2, 0, 0, 0), "no_policy"),
    ("resolved_remotely", "close", "has_claim", True, "claim_open"),
])
def test_guards_refuse_on_the_facts_the_service_found(state, trigger, fact, value, code):
    ctx = passing_context()
    ctx.facts[fact] = value
    with pytest.raises(GuardRefused) as info:
        fire(state, trigger, "system", ctx)
    assert info.value.refusal.code == code


def test_closing_after_a_settled_claim_passes():
    ctx = passing_context()
    ctx.facts["has_claim"] = True
    assert fire("claim_paid", "close", "system", ctx) == "closed"
    assert fire("claim_denied", "close", "system", passing_context()) == "closed"


@pytest.mark.parametrize("trigger", [t for t in TRIGGERS if INCIDENT.facts_of(t)])
def test_a_guard_whose_fact_was_not_looked_up_refuses(trigger):
    """Guards fail closed: a fact nobody provided never lets a trigger through."""
    state = INCIDENT.sources_of(trigger)[0]
    for fact in INCIDENT.facts_of(trigger):
        ctx = passing_context()
        del ctx.facts[fact]
        with pytest.raises(GuardRefused) as info:
            fire(state, trigger, "system", ctx)
        assert info.value.refusal.code == "fact_unavailable"
        assert fact in info.value.refusal.message


def test_a_guard_reading_a_fact_it_did_not_declare_refuses(monkeypatch):
    def sneaky(ctx):
        return None if ctx.fact("undeclared") else Refusal("no", "No.")

    sneaky.facts = ()
    monkeypatch.setitem(GUARDS, "sneaky", sneaky)
    workflow = Workflow(SimpleNamespace(
        STATES=["a", "b"], INITIAL_STATE="a", TRIGGERS=["go"],
        TRANSITIONS=[{"trigger": "go", "source": "a", "dest": "b", "roles": ("desk",),
                      "conditions": ["sneaky"]}]))
    with pytest.raises(GuardRefused) as info:
        workflow.fire("a", "go", "desk", TriggerContext(facts={"other": True}))
    assert info.value.refusal.code == "fact_unavailable"


def test_each_transition_names_the_facts_of_its_guards_and_its_effects():
    assert INCIDENT.facts_of("request_dispatch") == ["onsite_contract_active"]
    assert INCIDENT.facts_of("start_triage") == []
    assert INCIDENT.effects_of("assign_technician") == ["hold_for_technician",
                                                        "send_early_notice"]
    assert INCIDENT.effects_of("start_triage") == []
    assert INCIDENT.params_of("record_payment") == ["amount", "paid_on"]
    assert INCIDENT.person_params() == ["message", "amount", "reason", "paid_on"]


def test_arriving_needs_a_technician_holding_the_incident():
    ctx = passing_context()
    ctx.facts["assigned_technician_id"] = None
    with pytest.raises(GuardRefused) as info:
        fire("en_route", "arrive", "system", ctx)
    assert info.value.refusal.code == "no_technician"


def test_a_refused_guard_leaves_the_machine_usable():
    with pytest.raises(GuardRefused):
        fire("received", "cancel", "desk", TriggerContext())
    assert fire("received", "start_triage", "desk") == "triaging"
