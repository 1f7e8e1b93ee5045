"""The payout computation on a table of cases, with exact yen (pure: no database)."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.payout import HeadTerms, Line, PolicyTerms, compute, line_amount

STANDARD = {"dispatch": HeadTerms(100, 300_000), "investigation": HeadTerms(90, 500_000),
            "recovery": HeadTerms(80, 500_000), "consultation": HeadTerms(100, 100_000)}


def terms(*, limit=1_000_000, aggregate=3_000_000, deductible=0, heads=None):
    return PolicyTerms(per_incident_limit=limit, annual_aggregate=aggregate,
                       deductible=deductible, heads=heads or STANDARD)


def line(head, amount, rate=10):
    return Line(ref=None, head=head, amount=amount, tax_rate=rate)


# (name, terms, lines, prior_paid, claimed_total, payable, customer_share)
CASES = [
    ("one dispatch line is paid in full with its tax",
     terms(), [line("dispatch", 50_000)], 0, 55_000, 55_000, 0),
    ("a 90% head pays 90% of the amount including tax",
     terms(), [line("investigation", 100_000)], 0, 110_000, 99_000, 11_000),
    ("the ratio rounds down to the yen",
     terms(), [line("recovery", 12_345)], 0, 13_579, 10_863, 2_716),
    ("a head is capped at its sub-limit",
     terms(), [line("dispatch", 400_000)], 0, 440_000, 300_000, 140_000),
    ("the deductible comes off the covered total",
     terms(deductible=30_000), [line("dispatch", 50_000)], 0, 55_000, 25_000, 30_000),
    ("a deductible larger than the cover leaves nothing, never below zero",
     terms(deductible=100_000), [line("consultation", 10_000)], 0, 11_000, 0, 11_000),
    ("the per-incident limit caps the sum of the heads",
     terms(limit=400_000), [line("dispatch", 400_000), line("investigation", 200_000)], 0,
     660_000, 400_000, 260_000),
    ("an exhausted annual aggregate pays nothing",
     terms(), [line("dispatch", 50_000)], 3_000_000, 55_000, 0, 55_000),
    ("paid claims beyond the aggregate still pay nothing",
     terms(), [line("dispatch", 50_000)], 3_500_000, 55_000, 0, 55_000),
    ("the remaining annual aggregate caps the payable amount",
     terms(), [line("dispatch", 50_000)], 2_980_000, 55_000, 20_000, 35_000),
    ("a zero-cost head adds nothing and breaks nothing",
     terms(), [line("consultation", 0), line("dispatch", 10_000)], 0, 11_000, 11_000, 0),
    ("a head the policy does not list covers nothing",
     terms(), [line("forensics", 10_000)], 0, 11_000, 0, 11_000),
    ("tax is computed once per document per rate, not per line",
     terms(), [line("dispatch", 105)] * 5, 0, 577, 577, 0),
    ("each rate is taxed on its own",
     terms(), [line("dispatch", 1_005, 10), line("consultation", 1_005, 8)], 0,
     2_190, 2_190, 0),
    ("a line without tax",
     terms(), [line("consultation", 7_777, 0)], 0, 7_777, 7_777, 0),
    ("no lines claim nothing",
     terms(), [], 0, 0, 0, 0),
    ("ratio, deductible and remaining aggregate together",
     terms(deductible=10_000), [line("dispatch", 200_000), line("recovery", 100_000)],
     2_900_000, 330_000, 100_000, 230_000),
    ("ratio, sub-limit, deductible and per-incident limit together",
     terms(limit=500_000, deductible=50_000),
     [line("dispatch", 300_000), line("investigation", 300_000), line("consultation", 50_000)],
     0, 715_000, 500_000, 215_000),
]


@pytest.mark.parametrize(("name", "policy", "lines", "prior", "claimed", "payable", "share"),
                         CASES, ids=[c[0] for c in CASES])
def test_the_payable_amount_of_each_case_is_exact(name, policy, lines, prior, claimed,
                                                  payable, share):
    result = compute(policy, lines, prior)
    assert (result.claimed_total, result.payable, result.customer_share) == (
        claimed, payable, share)


def test_the_document_tax_is_shared_over_lines_largest_fraction_first_earlier_on_ties():
    result = compute(terms(), [line("dispatch", 105)] * 5 + [line("recovery", 109)])
    assert [r.tax for r in result.lines] == [11, 11, 10, 10, 10, 11]
    assert result.taxes[0].tax == (5 * 105 + 109) * 10 // 100 == 63
    assert result.tax_total == 63


def test_the_computation_shows_each_step():
    result = compute(terms(limit=500_000, deductible=50_000),
                     [line("dispatch", 300_000), line("investigation", 300_000),
                      line("consultation", 50_000)])
    heads = {h.head: (h.claimed, h.after_ratio, h.covered) for h in result.heads}
    assert heads == {"dispatch": (330_000, 330_000, 300_000),
                     "investigation": (330_000, 297_000, 297_000),
                     "consultation": (55_000, 55_000, 55_000)}
    assert (result.subtotal, result.tax_total, result.covered_total) == (650_000, 65_000, 652_000)
    assert (result.after_deductible, result.after_limit, result.remaining_aggregate) == (
        602_000, 500_000, 3_000_000)


def test_the_computation_is_json_ready_and_names_its_schema():
    data = compute(terms(), [Line(ref=7, head="dispatch", amount=1_000, tax_rate=10,
                                  description="駆付け 1時間")]).as_dict()
    assert data["schema"] == "payout/1"
    assert data["lines"][0] == {"ref": 7, "head": "dispatch", "description": "駆付け 1時間",
                                "amount": 1_000, "tax_rate": 10, "tax": 100,
                                "amount_incl_tax": 1_100}
    assert data["heads"][0]["in_policy"] is True
    assert data["payable"] == 1_100


@pytest.mark.parametrize(("quantity", "unit_price", "amount"), [
    (1, 8_000, 8_000), (Decimal("1.25"), 8_000, 10_000), ("1.5", 333, 499),
    (Decimal("0.01"), 99, 0), (3, 0, 0)])
def test_a_line_amount_is_quantity_times_unit_price_rounded_down(quantity, unit_price, amount):
    assert line_amount(quantity, unit_price) == amount


amounts = st.integers(min_value=0, max_value=10_000_000)


@given(st.lists(st.tuples(st.sampled_from(["dispatch", "recovery", "other"]), amounts,
                          st.sampled_from([0, 8, 10])), max_size=12),
       amounts, amounts, st.integers(min_value=0, max_value=5_000_000))
def test_lines_and_heads_add_up_and_payable_stays_within_the_claim(rows, deductible, limit,
                                                                  prior):
    result = compute(terms(deductible=deductible, limit=limit),
                     [line(h, a, r) for h, a, r in rows], prior)
    assert sum(r.amount_incl_tax for r in result.lines) == result.claimed_total
    assert sum(h.claimed for h in result.heads) == result.claimed_total
    assert result.claimed_total == result.subtotal + result.tax_total
    assert result.tax_total == sum(t.base * t.rate // 100 for t in result.taxes)
    assert 0 <= result.payable <= min(result.claimed_total, limit)
    assert result.customer_share == result.claimed_total - result.payable
