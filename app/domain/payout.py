"""The payable amount of a claim, computed from the policy line by line (pure: no db, no Flask).

Algorithm (all money integer yen; every division rounds down):

1. Lines: each line has an amount excluding tax and a tax rate (percent). Tax is computed ONCE
   PER DOCUMENT PER RATE: tax(rate) = floor(sum of the amounts at that rate × rate / 100). So
   that every line and head still shows an amount including tax, the document's tax of a rate
   is shared out over its lines: each line gets floor(amount × rate / 100), and the yen left
   over (fewer than the number of lines) go one each to the lines with the largest dropped
   fractions, earlier lines first on ties. Lines and heads therefore add up exactly to the
   document total.
2. Per head: claimed = sum of its lines including tax;
   covered = min(floor(claimed × payout_ratio / 100), sub_limit). A head the policy does not
   list covers nothing (ratio 0, sub-limit 0).
3. covered_total = sum of the heads' covered amounts.
4. Minus the deductible, not below 0.
5. Capped at the per-incident limit.
6. Capped at the remaining annual aggregate = max(0, annual_aggregate - prior_paid), where
   prior_paid is what paid claims of the same policy in the same policy year already took.
7. payable = the result; customer_share (自己負担) = claimed_total - payable.
"""

from dataclasses import asdict, dataclass, field
from decimal import ROUND_FLOOR, Decimal

SCHEMA = "payout/1"


@dataclass(frozen=True)
class HeadTerms:
    """How a policy pays one coverage head."""

    payout_ratio: int  # percent, 0..100
    sub_limit: int  # yen per incident


@dataclass(frozen=True)
class PolicyTerms:
    """The parts of a policy that decide the payable amount."""

    per_incident_limit: int
    annual_aggregate: int
    deductible: int
    heads: dict[str, HeadTerms] = field(default_factory=dict)  # by head code


@dataclass(frozen=True)
class Line:
    """One cost line as the computation sees it."""

    ref: int | str | None  # the cost line's id, for showing
    head: str  # coverage head code
    amount: int  # yen excluding tax
    tax_rate: int  # percent
    description: str = ""


@dataclass(frozen=True)
class LineRow:
    """A line with its share of the document's tax."""

    ref: int | str | None
    head: str
    description: str
    amount: int
    tax_rate: int
    tax: int
    amount_incl_tax: int


@dataclass(frozen=True)
class TaxRow:
    """The tax of one rate over the whole document."""

    rate: int
    base: int
    tax: int


@dataclass(frozen=True)
class HeadRow:
    """What one head claims and what the policy covers of it."""

    head: str
    claimed: int  # incl. tax
    payout_ratio: int
    sub_limit: int
    after_ratio: int
    covered: int
    in_policy: bool


@dataclass(frozen=True)
class Computation:
    """The whole computation, shown on screen and put into the claim packet."""

    lines: list[LineRow]
    taxes: list[TaxRow]
    heads: list[HeadRow]
    subtotal: int  # excl. tax
    tax_total: int
    claimed_total: int  # incl. tax
    covered_total: int
    deductible: int
    after_deductible: int
    per_incident_limit: int
    after_limit: int
    annual_aggregate: int
    prior_paid: int
    remaining_aggregate: int
    payable: int
    customer_share: int

    def as_dict(self):
        """A JSON-ready dict (for Claim.computation and claim.json)."""
        return {"schema": SCHEMA, **asdict(self)}


def line_amount(quantity, unit_price):
    """floor(quantity × unit price) in yen; quantity may be fractional (e.g. 1.25 hours)."""
    value = Decimal(str(quantity)) * int(unit_price)
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


def compute(policy_terms, lines, prior_paid=0):
    """The payable amount and the customer's share of `lines` under `policy_terms`."""
    line_rows, taxes = _taxed_lines(list(lines))
    heads = _head_rows(policy_terms, line_rows)
    claimed = sum(r.amount_incl_tax for r in line_rows)
    covered = sum(h.covered for h in heads)
    after_deductible = max(0, covered - policy_terms.deductible)
    after_limit = min(after_deductible, policy_terms.per_incident_limit)
    remaining = max(0, policy_terms.annual_aggregate - prior_paid)
    payable = min(after_limit, remaining)
    return Computation(
        lines=line_rows, taxes=taxes, heads=heads,
        subtotal=sum(r.amount for r in line_rows), tax_total=sum(t.tax for t in taxes),
        claimed_total=claimed, covered_total=covered,
        deductible=policy_terms.deductible, after_deductible=after_deductible,
        per_incident_limit=policy_terms.per_incident_limit, after_limit=after_limit,
        annual_aggregate=policy_terms.annual_aggregate, prior_paid=prior_paid,
        remaining_aggregate=remaining, payable=payable, customer_share=claimed - payable)


def _taxed_lines(lines):
    """Each line with its share of its rate's document tax, and the tax per rate."""
    shares = {}
    taxes = []
    for rate in sorted({line.tax_rate for line in lines}):
        at_rate = [i for i, line in enumerate(lines) if line.tax_rate == rate]
        base = sum(lines[i].amount for i in at_rate)
        tax = base * rate // 100
        floors = {i: lines[i].amount * rate // 100 for i in at_rate}
        left = tax - sum(floors.values())
        # Largest dropped fraction first; ties go to the earlier line.
        order = sorted(at_rate, key=lambda i: (-(lines[i].amount * rate % 100), i))
        for i in order[:left]:
            floors[i] += 1
        shares.update(floors)
        taxes.append(TaxRow(rate=rate, base=base, tax=tax))
    rows = [LineRow(ref=line.ref, head=line.head, description=line.description,
                    amount=line.amount, tax_rate=line.tax_rate, tax=shares[i],
                    amount_incl_tax=line.amount + shares[i])
            for i, line in enumerate(lines)]
    return rows, taxes


def _head_rows(policy_terms, line_rows):
    """Per head in order of first appearance: claimed, after the ratio, covered."""
    claimed = {}
    for row in line_rows:
        claimed[row.head] = claimed.get(row.head, 0) + row.amount_incl_tax
    rows = []
    for head, amount in claimed.items():
        terms = policy_terms.heads.get(head)
        ratio, sub_limit = (terms.payout_ratio, terms.sub_limit) if terms else (0, 0)
        after_ratio = amount * ratio // 100
        rows.append(HeadRow(head=head, claimed=amount, payout_ratio=ratio, sub_limit=sub_limit,
                            after_ratio=after_ratio, covered=min(after_ratio, sub_limit),
                            in_policy=terms is not None))
    return rows


def terms_of(policy):
    """PolicyTerms read from an InsurancePolicy row (its attributes only; no query of its own)."""
    return PolicyTerms(
        per_incident_limit=policy.per_incident_limit, annual_aggregate=policy.annual_aggregate,
        deductible=policy.deductible,
        heads={c.head.code: HeadTerms(c.payout_ratio, c.sub_limit) for c in policy.coverages})


def lines_of(cost_items):
    """Lines read from CostItem rows (their attributes only)."""
    return [Line(ref=c.id, head=c.head.code, amount=c.amount, tax_rate=c.tax_rate,
                 description=c.description) for c in cost_items]
