"""A monthly report's frozen figures laid out once, as titled tables and charts.

The page renders these sections as HTML (charts as inline SVG) and the PDF with reportlab
(the same charts as vector drawings), so both show the same cells, formatted the same way.
Labels are translated in the locale in force when `sections` is called.
"""

from dataclasses import dataclass, field

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from reportlab.graphics.shapes import Drawing

from app.domain.labels import CATEGORY_LABELS, CHANNEL_LABELS, SEVERITY_LABELS
from app.rendering.charts import bar_chart
from app.rendering.formats import number, yen

CLOCK_LABELS = {
    "first_response": _l("First response"),
    "acknowledgement": _l("Technician acknowledgement"),
    "arrival": _l("Arrival on site"),
    "claim_submission": _l("Claim submission"),
    "leak_preliminary": _l("Data leak: preliminary report"),
    "leak_final": _l("Data leak: final report"),
}


@dataclass
class Table:
    """Columns and rows of formatted cells; `numeric` columns hold the figures."""

    columns: list
    rows: list
    numeric: tuple = ()
    caption: str = ""


@dataclass
class Section:
    """A titled part of the report: its tables and at most one chart."""

    key: str
    title: str
    tables: list = field(default_factory=list)
    chart: Drawing | None = None
    chart_label: str = ""
    note: str = ""


def _label(labels, code):
    return str(labels.get(code, code))


def _head_name(head):
    return head["name_ja"] if str(get_locale()) == "ja" else head["name_en"]


def sections(data):
    """Every section of the report, in order, from the frozen figures."""
    return [_summary(data), _alerts(data["alerts"]), _incidents(data["incidents"]),
            _sla(data["sla"]), _dispatches(data["dispatches"]), _costs(data["costs"]),
            _claims(data["claims"])]


def _pairs(rows):
    return Table([_("Item"), _("Value")], [[label, value] for label, value in rows], (1,))


def _summary(data):
    alerts, costs, claims = data["alerts"], data["costs"], data["claims"]
    return Section("summary", _("Summary"), [_pairs([
        (_("Monitoring alerts"), number(alerts["alerts"])),
        (_("Alert occurrences (with repeats)"), number(alerts["occurrences"])),
        (_("Incidents received"), number(data["incidents"]["received"])),
        (_("On-site visits"), number(data["dispatches"]["visits"])),
        (_("Approved costs incl. tax"), yen(costs["total"])),
        (_("Insurance paid"), yen(claims["paid_amount"])),
    ])])


def _alerts(alerts):
    columns = [_("Alerts"), _("Occurrences (with repeats)")]
    by_severity = [[_label(SEVERITY_LABELS, r["severity"]), number(r["alerts"]),
                    number(r["occurrences"])] for r in alerts["by_severity"]]
    by_source = [[r["source"], number(r["alerts"]), number(r["occurrences"])]
                 for r in alerts["by_source"]]
    total = [_("Total"), number(alerts["alerts"]), number(alerts["occurrences"])]
    title = _("Alerts by severity")
    chart = bar_chart(title, [row[0] for row in by_severity],
                      [r["alerts"] for r in alerts["by_severity"]])
    return Section("alerts", _("Monitoring alerts"), [
        Table([_("Severity"), *columns], [*by_severity, total], (1, 2), title),
        Table([_("Source"), *columns], by_source or [[_("None"), "0", "0"]], (1, 2),
              _("Alerts by source"))],
        chart=chart, chart_label=title,
        note=_("Alerts first received in the month; repeats of an alert are counted on it."))


def _incidents(incidents):
    def table(key, labels, caption, heading):
        rows = [[_label(labels, r[key]), number(r["count"])] for r in incidents[f"by_{key}"]]
        return Table([heading, _("Count")], rows, (1,), caption)

    by_category = table("category", CATEGORY_LABELS, _("By category"), _("Category"))
    title = _("Incidents by category")
    chart = bar_chart(title, [row[0] for row in by_category.rows],
                      [r["count"] for r in incidents["by_category"]])
    return Section("incidents", _("Incidents received"), [
        _pairs([(_("Incidents received"), number(incidents["received"]))]), by_category,
        table("severity", SEVERITY_LABELS, _("By severity"), _("Severity")),
        table("channel", CHANNEL_LABELS, _("By channel"), _("Channel"))],
        chart=chart, chart_label=title)


def _sla(sla):
    columns = [_("Clock"), _("Clocks"), _("Met"), _("Missed"), _("Breached, still running"),
               _("Running"), _("Withdrawn"), _("Median (min)"), _("Longest (min)")]
    rows = [[_label(CLOCK_LABELS, c["clock"]), *(number(c[k]) for k in (
        "count", "met", "missed", "breached", "running", "withdrawn", "median_minutes",
        "longest_minutes"))] for c in sla["clocks"]]
    return Section("sla", _("Response times against the SLA"),
                   [Table(columns, rows, tuple(range(1, 9)))] if rows else [],
                   note=_("Clocks of the incidents received in the month; times are real "
                          "minutes from start to stop of the clocks met or missed.")
                   if rows else _("No SLA clocks this month."))


def _dispatches(dispatches):
    return Section("dispatches", _("On-site dispatches"), [_pairs([
        (_("Visits"), number(dispatches["visits"])),
        (_("Arrived on site"), number(dispatches["arrived"])),
        (_("Median time from request to arrival (min)"),
         number(dispatches["median_request_to_arrival_minutes"])),
        (_("Longest time from request to arrival (min)"),
         number(dispatches["longest_request_to_arrival_minutes"])),
    ])])


def _costs(costs):
    heads = [[_head_name(h), number(h["lines"]), yen(h["amount"])] for h in costs["by_head"]]
    taxes = [[f"{t['rate']}%", yen(t["base"]), yen(t["tax"])] for t in costs["taxes"]]
    title = _("Approved costs by coverage head (excl. tax)")
    chart = bar_chart(title, [row[0] for row in heads],
                      [h["amount"] for h in costs["by_head"]]) if heads else None
    tables = [_pairs([(_("Approved cost lines"), number(costs["lines"])),
                      (_("Subtotal excl. tax"), yen(costs["subtotal"])),
                      (_("Consumption tax"), yen(costs["tax"])),
                      (_("Total incl. tax"), yen(costs["total"]))])]
    if heads:
        tables.append(Table([_("Coverage head"), _("Lines"), _("Amount excl. tax")], heads,
                            (1, 2), _("By coverage head")))
    if taxes:
        tables.append(Table([_("Tax rate"), _("Taxable amount"), _("Tax")], taxes, (1, 2),
                            _("Tax per rate (once per rate, rounded down)")))
    note = _("Approved cost lines incurred in the month. %(count)s line(s) awaiting approval "
             "are not counted.", count=costs["draft_lines"])
    return Section("costs", _("Costs"), tables, chart=chart, chart_label=title, note=note)


def _claims(claims):
    return Section("claims", _("Insurance claims"), [Table(
        [_("Item"), _("Claims"), _("Amount")],
        [[_("Submitted (claimed incl. tax)"), number(claims["submitted"]),
          yen(claims["claimed_amount"])],
         [_("Approved"), number(claims["approved"]), yen(claims["approved_amount"])],
         [_("Paid"), number(claims["paid"]), yen(claims["paid_amount"])]], (1, 2))],
        note=_("Claims first submitted, approved and paid in the month."))
