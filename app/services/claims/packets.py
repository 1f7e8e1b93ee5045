"""Claim packets: one signed ZIP per claim version, built streaming, and its verification.

A packet holds claim.json, claim.pdf, the evidence files (evidence/<id>-<name>, the name as
uploaded but for what no file system accepts; UTF-8 in the ZIP with the language encoding
flag), manifest.json (every other file's SHA-256 and size, an evidence file's original name,
the claim id, packet version and time, the signer's public key) and manifest.sig (Ed25519
over the exact manifest.json bytes, base64). docs/claim-packet.md documents the layout.
Evidence is copied in chunks, so a packet of any size needs little memory.
"""

import base64
import binascii
import hashlib
import json
import logging
import uuid
import zipfile
import zlib
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import current_app

from app.domain import payout
from app.domain.timeutil import isoformat_utc, to_utc_naive
from app.errors import Conflict
from app.extensions import db
from app.files import keep_only_if_committed
from app.models import ClaimPacket
from app.rendering.claim_pdf import render_pdf
from app.services.claims.coverage import prior_paid
from app.services.claims.evidence import evidence_path, record_custody
from app.services.claims.packet_data import claim_document, evidence_member
from app.services.signing import CLAIM_DEV_KEY_FILE, configured_key, fingerprint
from app.services.signing import SigningKeyError as SigningKeyError  # the error callers catch

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
MANIFEST, SIGNATURE = "manifest.json", "manifest.sig"
DEV_KEY_FILE = CLAIM_DEV_KEY_FILE


class EvidenceChanged(Conflict):
    """An evidence file on disk is gone or no longer has the SHA-256 recorded at upload."""

    code = "evidence_changed"


def signing_key():
    """The Ed25519 key that signs packets: CLAIM_SIGNING_KEY, else the development key."""
    return configured_key("CLAIM_SIGNING_KEY", DEV_KEY_FILE)


def public_key_b64(private_key):
    """The raw public key of a private key, base64 (what packets and rows carry)."""
    raw = private_key.public_key().public_bytes(serialization.Encoding.Raw,
                                                serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def key_fingerprint(public_b64):
    """The fingerprint of a base64 raw public key (SHA-256 of its 32 bytes, hex in fours)."""
    return fingerprint(base64.b64decode(public_b64))


def signing_public_key():
    """(base64 raw public key, fingerprint) of the key packets are signed with now."""
    public_b64 = public_key_b64(signing_key())
    return public_b64, key_fingerprint(public_b64)


def packets_dir():
    """Where packet ZIPs are kept: EVIDENCE_DIR/packets."""
    return Path(current_app.config["EVIDENCE_DIR"]) / "packets"


def packet_path(packet):
    """The ZIP file of a ClaimPacket row."""
    return packets_dir() / packet.stored_name


def build_packet(claim, version, actor_label, now):
    """Write the claim's signed packet ZIP and add its ClaimPacket row (the caller commits)."""
    now = to_utc_naive(now)
    lines = _claimed_lines(claim)
    evidence = list(claim.incident.evidence)
    document = claim_document(claim, version=version, created_at=now, created_by=actor_label,
                              lines=lines, computation=compute_for(claim, lines).as_dict(),
                              evidence=evidence)
    key = signing_key()
    fingerprint_text = key_fingerprint(public_key_b64(key))
    target = packets_dir() / f"{uuid.uuid4().hex}.zip"
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    try:
        with zipfile.ZipFile(partial, "w") as archive:
            files = _write_members(archive, document, evidence, now, fingerprint_text)
            manifest = _manifest_bytes(claim, version, now, key, files)
            _write_bytes(archive, MANIFEST, manifest, now)
            signature = base64.b64encode(key.sign(manifest))
            _write_bytes(archive, SIGNATURE, signature + b"\n", now)
        partial.replace(target)
        keep_only_if_committed(target)  # the row naming it may still be rolled back
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    for item in evidence:
        record_custody(item, "packed", actor_label, f"claim packet v{version}", now=now)
    packet = ClaimPacket(
        claim=claim, claim_id=claim.id, version=version, stored_name=target.name,
        size=target.stat().st_size, sha256=_file_sha256(target),
        manifest_sha256=hashlib.sha256(manifest).hexdigest(), signature=signature.decode(),
        public_key=public_key_b64(key), created_at=now,
        created_by_label=actor_label)
    db.session.add(packet)
    return packet


def _claimed_lines(claim):
    """The cost lines a claim is made of: the incident's approved lines."""
    return [item for item in claim.incident.cost_items if item.status == "approved"]


def compute_for(claim, lines=None):
    """The payout computation of a claim (its approved lines unless given) under its policy."""
    lines = _claimed_lines(claim) if lines is None else lines
    return payout.compute(payout.terms_of(claim.policy), payout.lines_of(lines),
                          prior_paid(claim.policy, claim.incident))


def _write_members(archive, document, evidence, now, key_fingerprint_text):
    """claim.json, claim.pdf and the evidence files; returns their manifest entries."""
    files = []
    claim_json = json.dumps(document, ensure_ascii=False, indent=2).encode()
    claim_pdf = render_pdf(document, key_fingerprint=key_fingerprint_text)
    for name, data in (("claim.json", claim_json), ("claim.pdf", claim_pdf)):
        _write_bytes(archive, name, data, now)
        files.append(_entry(name, hashlib.sha256(data).hexdigest(), len(data)))
    for item in evidence:
        files.append(_copy_evidence(archive, item, evidence_path(item), now))
    return files


def _copy_evidence(archive, evidence, source, now):
    """Stream one evidence file into the ZIP, checking it still has its recorded hash."""
    name = evidence_member(evidence)
    info = _zip_info(name, now, compress=evidence.content_type.startswith("text/"))
    info.file_size = evidence.size  # lets zipfile choose ZIP64 up front for huge files
    digest, size = hashlib.sha256(), 0
    try:
        src = open(source, "rb")
    except FileNotFoundError as exc:
        raise EvidenceChanged(f"Evidence {evidence.id} ({evidence.original_name}): its file "
                              "is missing.", {"evidence_id": evidence.id}) from exc
    with src, archive.open(info, "w") as dst:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            dst.write(chunk)
    if digest.hexdigest() != evidence.sha256 or size != evidence.size:
        raise EvidenceChanged(f"Evidence {evidence.id} ({evidence.original_name}) does not "
                              "match the SHA-256 recorded at upload.",
                              {"evidence_id": evidence.id})
    return _entry(name, evidence.sha256, size, original_name=evidence.original_name)


def _entry(name, sha256, size, original_name=None):
    """One file's line in the manifest; an evidence file also names what it was called."""
    entry = {"name": name, "sha256": sha256, "size": size}
    if original_name is not None:
        entry["original_name"] = original_name
    return entry


def _manifest_bytes(claim, version, now, key, files):
    """The manifest's exact bytes (these are what the signature covers)."""
    manifest = {
        "schema_version": "1", "claim_id": claim.id,
        "incident_reference": claim.incident.reference, "packet_version": version,
        "created_at": isoformat_utc(now),
        "signature": {"algorithm": "Ed25519", "file": SIGNATURE,
                      "public_key": public_key_b64(key)},
        "files": files,
    }
    return json.dumps(manifest, ensure_ascii=False, indent=2).encode()


def _zip_info(name, now, *, compress=True):
    # zipfile writes a non-ASCII name as UTF-8 and sets the language encoding flag (bit 11),
    # so unzip tools show Japanese names instead of mojibake.
    info = zipfile.ZipInfo(name, date_time=now.timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    return info


def _write_bytes(archive, name, data, now):
    archive.writestr(_zip_info(name, now), data)


def _file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify_packet(path_or_file, public_key=None):
    """Every problem of a packet, each naming its file; an empty list means intact.

    public_key (base64) is the key the packet must be signed with; without it the key in
    the manifest is used, which proves the packet is whole but not who signed it.
    """
    try:
        with zipfile.ZipFile(path_or_file) as archive:
            return _verify_archive(archive, public_key)
    except (zipfile.BadZipFile, OSError) as exc:
        return [f"not a readable ZIP file ({exc.__class__.__name__})"]


def _verify_archive(archive, public_key):
    names = [info.filename for info in archive.infolist()]
    problems = [f"{n}: appears more than once" for n in sorted(set(names))
                if names.count(n) > 1]
    if MANIFEST not in names:
        return problems + [f"{MANIFEST}: missing"]
    manifest_bytes = archive.read(MANIFEST)
    try:
        manifest = json.loads(manifest_bytes)
        listed = {f["name"]: (f["sha256"], f["size"]) for f in manifest["files"]}
    except (ValueError, KeyError, TypeError):
        return problems + [f"{MANIFEST}: not a valid manifest"]
    problems += _signature_problems(archive, names, manifest, manifest_bytes, public_key)
    for name, (sha256, size) in listed.items():
        if name not in names:
            problems.append(f"{name}: missing")
        elif _member_digest(archive, name) != (sha256, size):
            problems.append(f"{name}: changed")
    # An empty folder entry (as `zip -r` writes) holds no bytes, so it cannot hide anything.
    folders = {i.filename for i in archive.infolist() if i.is_dir() and i.file_size == 0}
    problems += [f"{n}: added (not in the manifest)" for n in dict.fromkeys(names)
                 if n not in listed and n not in (MANIFEST, SIGNATURE, *folders)]
    return problems


def _signature_problems(archive, names, manifest, manifest_bytes, public_key):
    """Whether manifest.sig is a valid signature of manifest.json by the expected key."""
    if SIGNATURE not in names:
        return [f"{SIGNATURE}: missing"]
    embedded = (manifest.get("signature") or {}).get("public_key", "")
    problems = []
    if public_key and embedded != public_key:
        problems.append(f"{MANIFEST}: names another signing key than the expected one")
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key or embedded))
        key.verify(base64.b64decode(archive.read(SIGNATURE).strip(), validate=True),
                   manifest_bytes)
    except (InvalidSignature, ValueError, binascii.Error):
        problems.append(f"{SIGNATURE}: bad signature ({MANIFEST} was altered or signed by "
                        "another key)")
    return problems


def _member_digest(archive, name):
    """(SHA-256, size) of a member, read in chunks; a damaged member gives (None, None)."""
    digest, size = hashlib.sha256(), 0
    try:
        with archive.open(name) as member:
            while chunk := member.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as exc:
        log.info("packet member %s unreadable: %s", name, exc)
        return None, None
    return digest.hexdigest(), size
