"""The claim document (claim.json of a packet): what the packet says, as plain JSON data.

The shape is documented by docs/claim-packet.schema.json (schema_version "1"); a test
validates every packet against it. Times are ISO 8601 UTC with a Z; money is integer yen.
"""

import re
from collections import OrderedDict
from dataclasses import asdict, is_dataclass

from flask_babel import force_locale

from app.domain.timeline import shared_with_insurer
from app.domain.timeutil import isoformat_utc
from app.services.incidents.timeline_text import DatabaseNames, describe

SCHEMA_VERSION = "1"
# What no common file system accepts in a name: Windows' reserved characters, the path
# separators and control characters. Everything else (Japanese included) is kept as typed.
UNSAFE_CHARS = re.compile(r'[/\\:*?"<>|\x00-\x1f\x7f]')
MAX_NAME_BYTES = 255  # one path component on ext4, NTFS, APFS (UTF-8 bytes here)


def evidence_member(evidence):
    """The evidence file's name inside the ZIP: evidence/<id>-<safe name> (never a path)."""
    # The "<id>-" prefix keeps names unique and never "." or ".." or a dot file.
    prefix = f"{evidence.id}-"
    return "evidence/" + prefix + safe_file_name(evidence.original_name,
                                                 MAX_NAME_BYTES - len(prefix))


def safe_file_name(name, max_bytes=MAX_NAME_BYTES):
    """A name every file system accepts, changing only what one of them would refuse.

    Refused characters become "_"; leading dots and trailing dots or spaces (Windows drops
    or refuses them) go; a name too long in UTF-8 keeps its end, so the extension stays.
    """
    safe = UNSAFE_CHARS.sub("_", name or "").lstrip(".").rstrip(". ")
    while len(safe.encode()) > max_bytes:
        safe = safe[1:]
    safe = safe.lstrip(". ")
    return safe or "file"


def claim_document(claim, *, version, created_at, created_by, lines, computation, evidence):
    """Everything the insurer needs about the claim, as one JSON-ready dict."""
    incident = claim.incident
    return {
        "schema_version": SCHEMA_VERSION,
        "packet": {"claim_id": claim.id, "version": version,
                   "created_at": isoformat_utc(created_at), "created_by": created_by},
        "policy": _policy(claim.policy),
        "insured": _insured(incident.organization),
        "incident": _incident(incident),
        "timeline": _timeline(incident),
        "dispatches": [_dispatch(d) for d in incident.dispatches],
        "costs_by_head": _costs_by_head(lines),
        "computation": _plain(computation),
        "evidence": [_evidence(e) for e in evidence],
    }


def _policy(policy):
    return {
        "number": policy.number,
        "insurer": {"code": policy.insurer.code, "name": policy.insurer.name},
        "starts_on": policy.starts_on.isoformat(), "ends_on": policy.ends_on.isoformat(),
        "per_incident_limit": policy.per_incident_limit,
        "annual_aggregate": policy.annual_aggregate, "deductible": policy.deductible,
        "coverages": [{"head": c.head.code, "name_ja": c.head.name_ja, "name_en": c.head.name_en,
                       "payout_ratio": c.payout_ratio, "sub_limit": c.sub_limit}
                      for c in policy.coverages],
    }


def _insured(org):
    return {"code": org.code, "name": org.name, "address": org.address,
            "prefecture": org.prefecture, "industry": org.industry,
            "employees": org.employees}


def _incident(incident):
    return {
        "reference": incident.reference, "channel": incident.channel,
        "category": incident.category, "severity": incident.severity,
        "summary": incident.summary, "description": incident.description or "",
        "occurred_at": isoformat_utc(incident.occurred_at),
        "discovered_at": isoformat_utc(incident.discovered_at),
        "discovery_source": incident.discovery_source, "state": incident.state,
        "audit_head": incident.audit_head,
    }


def _timeline(incident):
    """The events the insurer may read (no note the provider kept to itself), each also as
    a Japanese sentence with its details (claim.pdf prints them)."""
    names = DatabaseNames()
    with force_locale("ja"):
        return [_event(e, describe(e, names)) for e in incident.events
                if shared_with_insurer(e)]


def _event(event, told):
    return {"seq": event.seq, "at": isoformat_utc(event.occurred_at), "kind": event.kind,
            "actor": event.actor_label, "trigger": event.trigger,
            "from_state": event.from_state, "to_state": event.to_state,
            "note": event.note or "", "hash": event.hash, "text": told.text,
            "details": [{"label": label, "text": text} for label, text in told.details]}


def _dispatch(dispatch):
    tech = dispatch.technician
    return {
        "id": dispatch.id, "state": dispatch.state,
        "technician": {"name": tech.name, "company": tech.company},
        "offered_at": isoformat_utc(dispatch.offered_at),
        "responded_at": isoformat_utc(dispatch.responded_at),
        "departed_at": isoformat_utc(dispatch.departed_at),
        "arrived_at": isoformat_utc(dispatch.arrived_at),
        "completed_at": isoformat_utc(dispatch.completed_at),
        "work_report": dispatch.work_report or "", "signoff_name": dispatch.signoff_name or "",
    }


def _line(item):
    return {
        "id": item.id, "description": item.description, "quantity": str(item.quantity),
        "unit_price": item.unit_price, "amount": item.amount, "tax_rate": item.tax_rate,
        "incurred_on": item.incurred_on.isoformat(), "dispatch_id": item.dispatch_id,
        "entered_by": item.entered_by_label,
        "approved_at": isoformat_utc(item.approved_at),
        "evidence_ids": [e.id for e in item.evidence],
    }


def _costs_by_head(lines):
    """Cost lines grouped by coverage head, heads in first-seen order, with subtotals."""
    heads = OrderedDict()
    for item in lines:
        group = heads.setdefault(item.head.code, {
            "head": item.head.code, "name_ja": item.head.name_ja,
            "name_en": item.head.name_en, "amount_excl_tax": 0, "lines": []})
        group["amount_excl_tax"] += item.amount
        group["lines"].append(_line(item))
    return list(heads.values())


def _evidence(evidence):
    return {"id": evidence.id, "file": evidence_member(evidence), "kind": evidence.kind,
            "original_name": evidence.original_name, "content_type": evidence.content_type,
            "size": evidence.size, "sha256": evidence.sha256,
            "description": evidence.description or "",
            "uploaded_at": isoformat_utc(evidence.uploaded_at),
            "uploaded_by": evidence.uploaded_by_label,
            "cost_line_ids": sorted(c.id for c in evidence.cost_items)}


def _plain(value):
    """A payout Computation (dataclasses, tuples, Decimals) as JSON-ready data."""
    if is_dataclass(value) and not isinstance(value, type):
        return _plain(asdict(value))
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)  # Decimal, date: exact text rather than a lossy float
