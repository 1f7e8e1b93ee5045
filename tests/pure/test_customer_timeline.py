"""The customer's allow-list (app/domain/customer_timeline.py): every trigger and state is
decided on purpose, and what is internal stays hidden."""

import pytest

from app.domain import customer_timeline as ct
from workflows.incident import STATES, TRIGGERS


def facts(kind, trigger=None, by_customer=False):
    return ct.EventFacts(kind=kind, trigger=trigger, by_customer=by_customer)


def test_every_trigger_is_either_told_or_hidden_on_purpose():
    told, hidden = set(ct.TRANSITION_SENTENCES), set(ct.HIDDEN_TRIGGERS)
    assert told.isdisjoint(hidden)
    assert told | hidden == set(TRIGGERS), "a new trigger: decide whether customers read it"


def test_every_state_has_a_plain_sentence():
    assert set(ct.STATE_SENTENCES) == set(STATES)


@pytest.mark.parametrize("trigger", ["start_triage", "depart", "arrive", "complete_onsite",
                                     "submit_claim", "approve_claim", "record_payment"])
def test_the_customers_milestones_are_told(trigger):
    assert ct.customer_sees(facts("transition", trigger))


@pytest.mark.parametrize("event", [
    facts("note"), facts("note", by_customer=True), facts("triage_check"), facts("cost"),
    facts("dispatch"), facts("claim"), facts("leak"), facts("some_future_kind"),
    facts("transition", "request_info"), facts("transition", "release_technician"),
    facts("evidence"),  # the staff's files are receipts: only the customer's own are shown
    facts("customer_note"), facts("customer_signoff"),  # not written by a customer: hidden
])
def test_internal_events_stay_hidden(event):
    assert not ct.customer_sees(event)


@pytest.mark.parametrize("kind", ["customer_note", "customer_signoff", "evidence", "intake"])
def test_the_customers_own_events_are_shown(kind):
    assert ct.customer_sees(facts(kind, by_customer=True))
