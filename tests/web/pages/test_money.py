"""Amounts read alike on every page: ¥ with thousands separators, and a dash for an amount
that is missing (which is not ¥0)."""

from types import SimpleNamespace

from flask import render_template

from app.rendering.formats import yen

# A stored computation in which the amount paid earlier this policy year is unknown.
COMPUTATION = {"lines": [], "heads": [], "taxes": [], "subtotal": 120000,
               "claimed_total": 132000, "tax_total": 12000, "covered_total": 132000,
               "deductible": 0, "after_deductible": 132000, "per_incident_limit": 1000000,
               "after_limit": 132000, "annual_aggregate": 3000000, "prior_paid": None,
               "remaining_aggregate": 132000, "payable": 132000, "customer_share": 0}


def test_yen_is_whole_yen_with_separators_and_a_dash_for_no_amount():
    assert yen(1234567) == "¥1,234,567"
    assert yen(0) == "¥0"
    assert yen(None) == "—"
    assert yen(1999.5) == "¥1,999"  # an average is cut to whole yen


def test_the_insurer_portal_and_the_desk_show_a_missing_amount_alike(app):
    with app.test_request_context("/?lang=en"):
        insurer = render_template("insurer/_computation.html",
                                  claim=SimpleNamespace(computation=COMPUTATION), heads={})
        desk = app.jinja_env.from_string(
            '{% from "desk/_cost_macros.html" import computation_table %}'
            "{{ computation_table(policy, c, {}) }}").render(
            policy=SimpleNamespace(number="POL-1"), c=COMPUTATION)
    for page in (insurer, desk):
        assert "¥132,000" in page and "¥1,000,000" in page
    assert "(already paid this policy year —)" in insurer  # was ¥0 here, — on the desk
    assert "less — paid this policy year" in desk
