"""Claim endpoints: list, open, download packet versions, verify them, the insurer's actions."""

from flask import g, send_file
from flask_openapi3 import Tag

from app import access
from app.api import bp
from app.api.claim_schemas import (
    ClaimAction,
    ClaimDetail,
    ClaimList,
    ClaimListQuery,
    ClaimPath,
    PacketPath,
    VerifyRequest,
    VerifyResult,
)
from app.domain.timeutil import isoformat_utc
from app.services.claims import claims
from app.services.claims.packets import packet_path

TAG = Tag(name="claims", description="Insurance claims, their signed packets and decisions")
ZIP = {200: {"content": {"application/zip": {"schema": {"type": "string",
                                                          "format": "binary"}}}}}


def packet_out(packet):
    """A packet version's facts (the ZIP itself is downloaded separately)."""
    return {"version": packet.version, "size": packet.size, "sha256": packet.sha256,
            "manifest_sha256": packet.manifest_sha256, "signature": packet.signature,
            "public_key": packet.public_key, "created_at": isoformat_utc(packet.created_at),
            "created_by": packet.created_by_label}


def claim_out(claim, detail=False):
    """A claim as the API shows it; with detail, the computation line by line."""
    incident, policy = claim.incident, claim.policy
    out = {"id": claim.id, "incident_id": incident.id, "reference": incident.reference,
           "state": incident.state,
           "organization": {"id": incident.organization.id, "name": incident.organization.name},
           "policy": {"id": policy.id, "number": policy.number},
           "claimed_amount": claim.claimed_amount, "payable_amount": claim.payable_amount,
           "customer_share": (claim.computation or {}).get("customer_share"),
           "approved_amount": claim.approved_amount, "paid_amount": claim.paid_amount,
           "paid_on": claim.paid_on.isoformat() if claim.paid_on else None,
           "acknowledged_at": isoformat_utc(claim.acknowledged_at),
           "created_at": isoformat_utc(claim.created_at),
           "packets": [packet_out(p) for p in claim.packets]}
    if detail:
        out["computation"] = claim.computation or {}
    return out


@bp.get("/claims", tags=[TAG], responses={200: ClaimList})
def list_claims(query: ClaimListQuery):
    """Claims you may see, newest first (insurers: the claims of their own policies)."""
    return {"items": [claim_out(c) for c in claims.list_claims(g.api_user, query.state)]}


@bp.get("/claims/<int:claim_id>", tags=[TAG], responses={200: ClaimDetail})
def get_claim(path: ClaimPath):
    """One claim with its computation and packet versions."""
    return claim_out(access.get_claim_for(g.api_user, path.claim_id), detail=True)


def _zip(packet, claim):
    response = send_file(packet_path(packet), mimetype="application/zip", as_attachment=True,
                         download_name=f"{claim.incident.reference}-claim-v{packet.version}.zip",
                         max_age=0)
    response.headers["X-Content-SHA256"] = packet.sha256
    return response


@bp.get("/claims/<int:claim_id>/packet", tags=[TAG], responses=ZIP)
def download_latest_packet(path: ClaimPath):
    """The ZIP of the latest packet version."""
    claim = access.get_claim_for(g.api_user, path.claim_id)
    return _zip(claims.get_packet(claim), claim)


@bp.get("/claims/<int:claim_id>/packets/<int:version>", tags=[TAG], responses=ZIP)
def download_packet(path: PacketPath):
    """The ZIP of one packet version (earlier versions stay downloadable)."""
    claim = access.get_claim_for(g.api_user, path.claim_id)
    return _zip(claims.get_packet(claim, path.version), claim)


@bp.post("/claims/<int:claim_id>/verify", tags=[TAG], responses={200: VerifyResult})
def verify_claim(path: ClaimPath, body: VerifyRequest):
    """Check a stored packet against its signed manifest; each problem names its file."""
    claim = access.get_claim_for(g.api_user, path.claim_id)
    packet, problems = claims.verify(claim, body.version)
    return {"version": packet.version, "ok": not problems, "problems": problems}


@bp.post("/claims/<int:claim_id>/actions", tags=[TAG], responses={200: ClaimDetail})
def act_on_claim(path: ClaimPath, body: ClaimAction):
    """acknowledge, request_info (message), approve (amount), deny (reason) or record_payment
    (amount, paid_on); the incident moves by the matching trigger."""
    claim = claims.insurer_action(path.claim_id, g.api_user, body.action, amount=body.amount,
                                  reason=body.reason, message=body.message,
                                  paid_on=body.paid_on, note=body.note)
    return claim_out(access.get_claim_for(g.api_user, claim.id), detail=True)
