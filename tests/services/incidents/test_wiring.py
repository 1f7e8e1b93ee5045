"""The lifecycle's wiring: every name the workflows use is bound, and a missing binding
refuses the trigger with nothing changed (guards and side effects fail closed)."""

from dataclasses import replace

import pytest
from sqlalchemy import func, select

from app.errors import Conflict, GuardConflict
from app.extensions import db
from app.models import Dispatch, Incident, IncidentEvent, Organization, Technician, User
from app.services import bindings, wiring
from app.services.dispatch import visits
from app.services.incidents.lifecycle import fire_trigger
from app.testkit import factories
from workflows import DISPATCH, INCIDENT


def test_every_fact_a_guard_reads_has_a_provider_and_every_provider_is_read():
    read = set(INCIDENT.all_facts()) | set(DISPATCH.all_facts())
    assert read - set(wiring.FACTS) == set(), "facts no provider looks up"
    assert set(wiring.FACTS) - read == set(), "providers of facts no guard reads"


@pytest.mark.parametrize(("workflow", "handlers"), [
    (INCIDENT, wiring.INCIDENT_EFFECTS), (DISPATCH, wiring.DISPATCH_EFFECTS)])
def test_every_side_effect_has_a_handler_and_every_handler_is_named(workflow, handlers):
    named = set(workflow.all_effects())
    assert named - set(handlers) == set(), "side effects with no handler"
    assert set(handlers) - named == set(), "handlers no transition names"


def test_the_app_holds_the_wiring(app):
    with app.app_context():
        assert bindings.current() is wiring.BINDINGS


@pytest.fixture
def unbound(app, monkeypatch):
    """unbound(facts=[...], effects=[...]) runs the app without those bindings."""
    def remove(facts=(), effects=()):
        current = app.extensions[bindings.KEY]
        monkeypatch.setitem(app.extensions, bindings.KEY, replace(
            current,
            facts={k: v for k, v in current.facts.items() if k not in facts},
            incident_effects={k: v for k, v in current.incident_effects.items()
                              if k not in effects},
            dispatch_effects={k: v for k, v in current.dispatch_effects.items()
                              if k not in effects}))
    return remove


def row_counts():
    """Incidents, timeline events and offers (a refusal adds none)."""
    return tuple(db.session.scalar(select(func.count()).select_from(model))
                 for model in (Incident, IncidentEvent, Dispatch))


def triaging_incident(world):
    organization = db.session.get(Organization, world.org_a)
    return factories.make_incident(organization, state="triaging").id


def test_a_fact_with_no_provider_refuses_the_trigger_and_changes_nothing(
        ctx, world, unbound):
    incident_id = triaging_incident(world)
    dispatcher = db.session.get(User, world.users["dispatcher"])
    unbound(facts=["onsite_contract_active"])
    before = row_counts()
    with pytest.raises(GuardConflict) as refused:
        fire_trigger(incident_id, "request_dispatch", dispatcher)
    assert refused.value.details["reason"] == "fact_unavailable"
    assert "onsite_contract_active" in refused.value.message
    assert db.session.get(Incident, incident_id).state == "triaging"
    assert row_counts() == before


def test_with_its_provider_bound_the_same_trigger_goes_through(ctx, world):
    incident_id = triaging_incident(world)
    fire_trigger(incident_id, "request_dispatch",
                 db.session.get(User, world.users["dispatcher"]))
    assert db.session.get(Incident, incident_id).state == "dispatch_requested"


def test_a_side_effect_with_no_handler_refuses_the_trigger_and_changes_nothing(
        ctx, world, unbound):
    incident_id = triaging_incident(world)
    unbound(effects=["offer_to_best_candidate"])
    before = row_counts()
    with pytest.raises(Conflict) as refused:
        fire_trigger(incident_id, "request_dispatch",
                     db.session.get(User, world.users["dispatcher"]))
    assert refused.value.details == {"trigger": "request_dispatch", "reason": "effect_unbound",
                                     "effects": ["offer_to_best_candidate"]}
    assert db.session.get(Incident, incident_id).state == "triaging"
    assert row_counts() == before


def accepted_visit(world):
    """A visit the technician accepted: (dispatch id, the technician's login)."""
    organization = db.session.get(Organization, world.org_a)
    technician = db.session.get(Technician, world.technician)
    incident = factories.make_incident(organization, state="technician_assigned",
                                       technician=technician)
    dispatch_id = db.session.scalar(select(Dispatch.id).where(
        Dispatch.incident_id == incident.id))
    return dispatch_id, db.session.get(User, world.users["technician"])


@pytest.fixture
def depart_reads(monkeypatch):
    """The dispatch workflow as if `depart` had a guard reading technician_active."""
    monkeypatch.setattr(DISPATCH, "facts_of", lambda trigger: (
        ["technician_active"] if trigger == "depart" else []))


@pytest.mark.parametrize("bound", [True, False])
def test_a_dispatch_guard_gets_its_facts_from_the_same_table(
        ctx, world, unbound, depart_reads, bound):
    dispatch_id, technician = accepted_visit(world)
    if not bound:
        unbound(facts=["technician_active"])
    before = row_counts()
    if bound:
        assert visits.fire(dispatch_id, "depart", technician).state == "en_route"
        return
    with pytest.raises(GuardConflict) as refused:
        visits.fire(dispatch_id, "depart", technician)
    assert refused.value.details["reason"] == "fact_unavailable"
    db.session.rollback()
    assert db.session.get(Dispatch, dispatch_id).state == "accepted"
    assert row_counts() == before


def test_a_dispatch_side_effect_with_no_handler_refuses_and_changes_nothing(
        ctx, world, unbound):
    dispatch_id, technician = accepted_visit(world)
    unbound(effects=["stamp_departure"])
    before = row_counts()
    with pytest.raises(GuardConflict) as refused:
        visits.fire(dispatch_id, "depart", technician)
    assert refused.value.details["effects"] == ["stamp_departure"]
    db.session.rollback()
    assert db.session.get(Dispatch, dispatch_id).state == "accepted"
    assert row_counts() == before
