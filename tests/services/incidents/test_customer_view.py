"""The customer's own share of the costs (customer_view.cost_share): which insurance figure
counts as covered at each step of the claim."""

from types import SimpleNamespace

import pytest

from app.services.incidents.customer_view import CostShare, cost_share


def incident(claim, triggers=()):
    return SimpleNamespace(claim=claim, events=[SimpleNamespace(trigger=t) for t in triggers])


def claim(**fields):
    values = {"computation": {"customer_share": 3_000}, "claimed_amount": 33_000,
              "payable_amount": 30_000, "approved_amount": None, "paid_amount": None}
    return SimpleNamespace(**{**values, **fields})


def test_no_share_before_the_claim_is_computed():
    assert cost_share(incident(None)) is None
    assert cost_share(incident(claim(computation={}))) is None


@pytest.mark.parametrize(("fields", "triggers", "expected"), [
    ({}, ("submit_claim",), CostShare(33_000, 30_000, 3_000, "computed")),
    ({"approved_amount": 20_000}, ("approve_claim",), CostShare(33_000, 20_000, 13_000,
                                                                 "approved")),
    ({"approved_amount": 20_000, "paid_amount": 19_000}, ("record_payment",),
     CostShare(33_000, 19_000, 14_000, "paid")),
    ({}, ("submit_claim", "deny_claim", "close"), CostShare(33_000, 0, 33_000, "denied")),
])
def test_the_share_follows_the_insurers_figures(fields, triggers, expected):
    assert cost_share(incident(claim(**fields), triggers)) == expected


def test_the_computed_share_is_the_payout_computations():
    """Before the insurer decides, the share is what app/domain/payout.py computed."""
    computed = claim()
    assert cost_share(incident(computed)).own_share == computed.computation["customer_share"]
