"""How numbers read on the pages and in the report PDF: one form for each, a dash for none.

(claim.pdf writes amounts the Japanese document way, 12,345円: app/rendering/claim_pdf.py.)
"""


def number(value):
    """A count with thousands separators; a dash for no value."""
    return "—" if value is None else f"{value:,}"


def yen(value):
    """Whole yen: ¥12,345 (an average is cut to whole yen); a dash for no amount, which is
    not the same as ¥0."""
    return "—" if value is None else f"¥{int(value):,}"
