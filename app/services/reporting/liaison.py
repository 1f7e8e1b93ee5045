"""Statistics for the IPA liaison meeting (事業者連絡会): counts of alerts and incidents, and
incident case summaries, with nothing that identifies a customer.

What leaves this module is built only from coded, structured fields: categories, severities,
channels, discovery sources, industry, size band, prefecture or region, whether a technician
went on site, durations rounded to hours, a cost band and whether a claim was made. Never
free text (summaries, descriptions, notes, rule names), names, phones, e-mail or postal
addresses, hosts, IP addresses, references, organization names or codes, or ids.

Small cells: a count backed by fewer than MIN_ORGANIZATIONS organizations is merged into
"other" (OTHER); if "other" is still backed by fewer, the smallest remaining cells are merged
into it too, and a dimension backed by fewer than MIN_ORGANIZATIONS in all is suppressed
(count None). A case summary shows its organization's industry, size band and region only
when at least MIN_ORGANIZATIONS organizations among the published cases show the same three;
otherwise industry, then region, then size band are hidden (HIDDEN) until they do, and a case
that cannot be hidden among MIN_ORGANIZATIONS organizations at all is withheld. The rules and
the export columns are documented in docs/statistics.md.
"""

import csv
import io
import json
from contextlib import nullcontext
from dataclasses import dataclass, field

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, exists, func, select

from app.domain.labels import (
    CATEGORY_LABELS,
    CHANNEL_LABELS,
    SEVERITY_LABELS,
    SOURCE_LABELS,
    prefecture_name,
)
from app.extensions import db
from app.models import Alert, Claim, Dispatch, Incident, Organization
from app.services.reporting.dashboard import approved_costs, clock_seconds

MIN_ORGANIZATIONS = 3
OTHER, HIDDEN, NO_INCIDENT, TOTAL = "_other", "_hidden", "_none", "_total"

# Company size by employees: (key, largest headcount of the band; None = no upper bound).
SIZE_BANDS = (("small", 20), ("medium", 300), ("large", None))
SIZE_BAND_LABELS = {"small": _l("Small (20 employees or fewer)"),
                    "medium": _l("Medium (21 to 300 employees)"),
                    "large": _l("Larger (301 employees or more)")}

# The eight regions (地方区分) by JIS prefecture code, first to last.
REGIONS = (("hokkaido", 1, 1), ("tohoku", 2, 7), ("kanto", 8, 14), ("chubu", 15, 23),
           ("kinki", 24, 30), ("chugoku", 31, 35), ("shikoku", 36, 39), ("kyushu", 40, 47))
REGION_LABELS = {"hokkaido": _l("Hokkaido"), "tohoku": _l("Tohoku"), "kanto": _l("Kanto"),
                 "chubu": _l("Chubu"), "kinki": _l("Kinki"), "chugoku": _l("Chugoku"),
                 "shikoku": _l("Shikoku"), "kyushu": _l("Kyushu and Okinawa")}

# Approved costs excluding tax: (key, yen below which a total falls in the band).
COST_BANDS = (("none", 1), ("under_100k", 100_000), ("100k_300k", 300_000),
              ("300k_1m", 1_000_000), ("1m_plus", None))
COST_BAND_LABELS = {"none": _l("No costs"), "under_100k": _l("Under ¥100,000"),
                    "100k_300k": _l("¥100,000 to under ¥300,000"),
                    "300k_1m": _l("¥300,000 to under ¥1,000,000"),
                    "1m_plus": _l("¥1,000,000 or more")}
SPECIAL_LABELS = {OTHER: _l("Other (cells of fewer than 3 organizations merged)"),
                  HIDDEN: _l("Not shown (fewer than 3 organizations)"),
                  NO_INCIDENT: _l("No incident"), TOTAL: _l("Total"),
                  "": _l("Not recorded")}
DIMENSIONS = ("category", "industry", "size_band", "prefecture")
SUBJECTS = ("incidents", "alerts")


def size_band_of(employees):
    """The size band key of a headcount."""
    return next(key for key, most in SIZE_BANDS if most is None or employees <= most)


def _size_band_sql(employees):
    bands = [(employees <= most, key) for key, most in SIZE_BANDS if most is not None]
    return case(*bands, else_=SIZE_BANDS[-1][0])


def region_of(prefecture):
    """The region key of a JIS prefecture code."""
    return next(key for key, first, last in REGIONS if first <= prefecture <= last)


def cost_band_of(yen):
    """The cost band key of a total in yen (excluding tax)."""
    return next(key for key, below in COST_BANDS if below is None or (yen or 0) < below)


def _hours(seconds):
    """Whole hours, rounded half up; None stays None."""
    return None if seconds is None else int(float(seconds) / 3600 + 0.5)


# ---------------------------------------------------------------- counts


def _count_sources(period):
    """{subject: (base select joined to Organization, {dimension: key column}, org column)}."""
    incidents = select().select_from(Incident).join(
        Organization, Organization.id == Incident.organization_id).where(
        period.holds(Incident.created_at))
    alerts = select().select_from(Alert).join(
        Organization, Organization.id == Alert.organization_id).outerjoin(
        Incident, Incident.id == Alert.incident_id).where(period.holds(Alert.first_seen_at))
    by_organization = {"industry": Organization.industry,
                       "size_band": _size_band_sql(Organization.employees),
                       "prefecture": Organization.prefecture}
    return {
        "incidents": (incidents, {"category": Incident.category, **by_organization},
                      Incident.organization_id),
        "alerts": (alerts, {"category": func.coalesce(Incident.category, NO_INCIDENT),
                            **by_organization}, Alert.organization_id),
    }


@dataclass
class Cell:
    """One count and the organizations behind it."""

    count: int = 0
    organizations: set = field(default_factory=set)

    def add(self, other):
        self.count += other.count
        self.organizations |= other.organizations


def _cells(base, key, organization_id):
    """{key: Cell} from one GROUP BY (key, organization): no row per incident or alert."""
    cells = {}
    stmt = base.add_columns(key, organization_id, func.count()).group_by(key, organization_id)
    for value, org, count in db.session.execute(stmt):
        cell = cells.setdefault(str(value), Cell())
        cell.add(Cell(count, {org}))
    return cells


def _enough(cell):
    return len(cell.organizations) >= MIN_ORGANIZATIONS


def protect(cells):
    """[(key, count or None)]: the small-cell rule applied (see the module's docstring)."""
    kept = {key: cell for key, cell in cells.items() if _enough(cell)}
    other, merged = Cell(), False
    for key, cell in cells.items():
        if key not in kept:
            other.add(cell)
            merged = True
    while merged and not _enough(other) and kept:
        smallest = min(kept, key=lambda k: (len(kept[k].organizations), kept[k].count, k))
        other.add(kept.pop(smallest))
    rows = sorted(((k, c.count) for k, c in kept.items()), key=lambda row: (-row[1], row[0]))
    if merged:
        rows.append((OTHER, other.count if _enough(other) else None))
    return rows


def _total(cells):
    total = Cell()
    for cell in cells.values():
        total.add(cell)
    return total.count if _enough(total) else None


def counts(period):
    """[{subject, dimension, key, count}] with the small-cell rule applied."""
    found = []
    for subject, (base, keys, organization_id) in _count_sources(period).items():
        for dimension in DIMENSIONS:
            cells = _cells(base, keys[dimension], organization_id)
            found += [{"subject": subject, "dimension": dimension, "key": key, "count": count}
                      for key, count in protect(cells)]
        # Each row falls in exactly one cell of a breakdown: any breakdown's cells add up.
        found.append({"subject": subject, "dimension": "total", "key": TOTAL,
                      "count": _total(cells)})
    return found


def count_label(dimension, key):
    """The display label of a count's key."""
    if key in SPECIAL_LABELS:
        return str(SPECIAL_LABELS[key])
    if dimension == "category":
        return str(CATEGORY_LABELS[key])
    if dimension == "size_band":
        return str(SIZE_BAND_LABELS[key])
    if dimension == "prefecture":
        return prefecture_name(int(key))
    return key  # an industry, shared by enough organizations to be shown


# ---------------------------------------------------------------- case summaries


QUASI_IDENTIFIERS = ("industry", "size_band", "region")
# The order in which an organization's attributes are hidden until enough share them.
HIDING_STEPS = ((), ("industry",), ("industry", "region"), QUASI_IDENTIFIERS)


def _case_rows(period):
    """One row per incident received in the period and not cancelled: coded fields only."""
    first_response = clock_seconds("first_response").subquery()
    arrival = clock_seconds("arrival").subquery()
    costs = approved_costs().subquery()
    visited = exists().where(Dispatch.incident_id == Incident.id,
                             Dispatch.arrived_at.is_not(None))
    claimed = exists().where(Claim.incident_id == Incident.id)
    return db.session.execute(select(
        Incident.organization_id, Incident.category, Incident.severity, Incident.channel,
        Incident.discovery_source, Organization.industry, Organization.employees,
        Organization.prefecture, visited.label("dispatched"),
        first_response.c.seconds.label("first_response"), arrival.c.seconds.label("arrival"),
        costs.c.yen, claimed.label("claim"),
    ).join(Organization, Organization.id == Incident.organization_id)
        .outerjoin(first_response, first_response.c.incident_id == Incident.id)
        .outerjoin(arrival, arrival.c.incident_id == Incident.id)
        .outerjoin(costs, costs.c.incident_id == Incident.id)
        .where(period.holds(Incident.created_at), Incident.state != "cancelled")).all()


def _case(row):
    """(organization id, the case's coded fields): the id only counts organizations."""
    return row.organization_id, {
        "category": row.category, "severity": row.severity, "channel": row.channel,
        "discovery_source": row.discovery_source, "industry": row.industry,
        "size_band": size_band_of(row.employees), "region": region_of(row.prefecture),
        "dispatched": bool(row.dispatched), "hours_to_first_response":
        _hours(row.first_response), "hours_to_site": _hours(row.arrival),
        "cost_band": cost_band_of(row.yen), "claim": bool(row.claim)}


def _hide(case_fields, step):
    return {**case_fields, **{name: HIDDEN for name in step}}


def _generalize(cases):
    """(published cases, how many were withheld): each case's industry, size band and region
    as shown are shared by at least MIN_ORGANIZATIONS organizations of the published cases."""
    published, waiting = [], cases
    for step in HIDING_STEPS:
        groups = {}
        for organization, fields in waiting:
            hidden = _hide(fields, step)
            groups.setdefault(tuple(hidden[q] for q in QUASI_IDENTIFIERS), []).append(
                (organization, hidden))
        waiting = []
        for members in groups.values():
            enough = len({organization for organization, _fields in members})
            target = published if enough >= MIN_ORGANIZATIONS else waiting
            target.extend(members)
    return [fields for _organization, fields in published], len(waiting)


def _order(fields):
    """A sort key from the published fields only, so the order reveals nothing else."""
    return tuple("" if value is None else str(value) for value in fields.values())


def case_summaries(period):
    """(cases, withheld): anonymized case summaries in an order that carries no meaning."""
    cases, withheld = _generalize([_case(row) for row in _case_rows(period)])
    return sorted(cases, key=_order), withheld


def case_label(name, value):
    """The display label of one field of a case."""
    if value in (HIDDEN, ""):
        return str(SPECIAL_LABELS[value])
    labels = {"category": CATEGORY_LABELS, "severity": SEVERITY_LABELS,
              "channel": CHANNEL_LABELS, "discovery_source": SOURCE_LABELS,
              "size_band": SIZE_BAND_LABELS, "region": REGION_LABELS,
              "cost_band": COST_BAND_LABELS}.get(name)
    if labels is not None:
        return str(labels[value])
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    return "" if value is None else str(value)


def case_text(fields):
    """A few sentences describing the case, made from its labels only."""
    def label(name):
        return case_label(name, fields[name])

    parts = [_("%(category)s (severity: %(severity)s).", category=label("category"),
               severity=label("severity"))]
    profile = [label(name) for name in QUASI_IDENTIFIERS if fields[name] != HIDDEN]
    if profile:
        parts.append(_("Organization: %(profile)s.", profile=" / ".join(profile)))
    parts.append(_("Received by %(channel)s; found by: %(source)s.", channel=label("channel"),
                   source=label("discovery_source")))
    parts.append(_("A technician went on site.") if fields["dispatched"] else
                 _("No on-site visit."))
    if fields["hours_to_first_response"] is not None:
        parts.append(_("First response after about %(hours)d h.",
                       hours=fields["hours_to_first_response"]))
    if fields["hours_to_site"] is not None:
        parts.append(_("Technician on site after about %(hours)d h.",
                       hours=fields["hours_to_site"]))
    parts.append(_("Costs: %(band)s.", band=label("cost_band")))
    parts.append(_("An insurance claim was made.") if fields["claim"] else
                 _("No insurance claim."))
    return " ".join(parts)


# ---------------------------------------------------------------- the export


CASE_FIELDS = ("category", "severity", "channel", "discovery_source", *QUASI_IDENTIFIERS,
               "dispatched", "hours_to_first_response", "hours_to_site", "cost_band", "claim")
CSV_COLUMNS = ("section", "subject", "dimension", "key", "label", "count", *CASE_FIELDS,
               "summary")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run these as formulas


def _size_bands():
    bands, least = [], 0
    for key, most in SIZE_BANDS:
        bands.append({"key": key, "label": str(SIZE_BAND_LABELS[key]),
                      "min_employees": least, "max_employees": most})
        least = (most or 0) + 1
    return bands


def build(period, locale=None):
    """The liaison statistics of a period, labels in `locale` (default: the request's)."""
    with force_locale(locale) if locale else nullcontext():
        return _report(period)


def _report(period):
    cases, withheld = case_summaries(period)
    return {
        "period": period.as_dict(),
        "rules": {"min_organizations": MIN_ORGANIZATIONS, "size_bands": _size_bands()},
        "counts": [{**row, "label": count_label(row["dimension"], row["key"])}
                   for row in counts(period)],
        "cases": [{**fields, "labels": {name: case_label(name, fields[name])
                                        for name in CASE_FIELDS},
                   "summary": case_text(fields)} for fields in cases],
        "cases_withheld": withheld,
    }


def _cell(value):
    """A CSV cell: text that a spreadsheet would read as a formula is quoted with '."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _csv_rows(report):
    yield {"section": "period", "key": "from", "label": report["period"]["from"]}
    yield {"section": "period", "key": "to", "label": report["period"]["to"]}
    for row in report["counts"]:
        yield {"section": "count", **row}
    for fields in report["cases"]:
        yield {"section": "case", **fields["labels"], "summary": fields["summary"]}
    yield {"section": "cases_withheld", "count": report["cases_withheld"]}


def to_csv(report):
    """The report as CSV bytes: UTF-8 with a byte-order mark, so Excel reads the Japanese."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for row in _csv_rows(report):
        writer.writerow({name: _cell(row.get(name)) for name in CSV_COLUMNS})
    return ("\ufeff" + out.getvalue()).encode("utf-8")


EXPORT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json; charset=utf-8"}


def export(report, fmt):
    """The report as bytes: "csv" (UTF-8 with BOM) or "json" (UTF-8)."""
    if fmt == "csv":
        return to_csv(report)
    return (json.dumps(report, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def export_name(period, fmt):
    """The download's file name, e.g. liaison-2026-11-01-2026-11-30.csv."""
    return f"liaison-{period.first.isoformat()}-{period.last.isoformat()}.{fmt}"
