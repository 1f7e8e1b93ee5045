"""Benchmark: building and verifying a claim packet with a large evidence set (DESIGN §8).

Target: a claim packet with 200 evidence files / 500 MB is built in <= 10 s with peak memory
<= 150 MB (streamed: no evidence file is ever whole in memory). The run makes a scratch SQLite
database and evidence folder in a temporary directory, writes the evidence files (random bytes
behind a JPEG header, so they are packed as stored like real photos; every tenth file is a text
log, packed deflated), records them as evidence of an on-site incident with approved cost
lines and a claim, then times build_packet (+ commit) and verify_packet and reports the
process's peak RSS (ru_maxrss, the whole process: Python, Flask, reportlab included).

    .venv/bin/python -m bench.claim_packet                           # 20 files / 50 MB
    .venv/bin/python -m bench.claim_packet --files 200 --total-mb 500  # the size the target names
"""

import argparse
import base64
import hashlib
import json
import os
import platform
import resource
import sys
import tempfile
import time
import uuid
from datetime import date, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app import create_app
from app.config import TestConfig
from app.extensions import db
from app.models import Claim, CostItem, Evidence
from app.services.claims import packets
from app.testkit import factories

TARGET_SECONDS, TARGET_RSS_MB = 10.0, 150.0
CHUNK = 1024 * 1024
JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
LOG_LINE = "2026-03-01 09:00:00 fw01 DENY 203.0.113.7:443 -> 192.0.2.10:49152 不審な通信\n"
NOW = datetime(2026, 3, 2, 1, 30)


def rss_mb():
    """Peak resident set size of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_file(path, size, text):
    """Write `size` bytes in chunks (never whole in memory); returns its SHA-256."""
    digest = hashlib.sha256()
    line = LOG_LINE.encode()
    log_chunk = line * (CHUNK // len(line) + 1)
    with open(path, "wb") as handle:
        left = size
        first = True
        while left:
            chunk = log_chunk[:min(CHUNK, left)] if text else os.urandom(min(CHUNK, left))
            if first and not text:
                chunk = JPEG_HEAD + chunk[len(JPEG_HEAD):]
            first = False
            handle.write(chunk)
            digest.update(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def make_claim(evidence_dir, files, total_bytes):
    """An on-site incident with `files` evidence files, two approved cost lines and a claim."""
    org = factories.make_organization()
    tech = factories.make_technician()
    incident = factories.make_incident(org, state="onsite_completed", technician=tech,
                                       summary="ランサムウェア感染の疑い")
    size = total_bytes // files
    kept = []
    for n in range(files):
        text = n % 10 == 9
        stored = f"{uuid.uuid4().hex}.{'log' if text else 'jpg'}"
        sha256 = write_file(evidence_dir / stored, size, text)
        kept.append(Evidence(incident_id=incident.id, kind="log" if text else "photo",
                             original_name=f"evidence-{n:03d}.{'log' if text else 'jpg'}",
                             stored_name=stored, size=size, sha256=sha256,
                             content_type="text/plain; charset=utf-8" if text else "image/jpeg",
                             uploaded_by_label="bench", uploaded_at=NOW))
    db.session.add_all(kept)
    heads = factories.coverage_heads()
    for head, price in (("dispatch", 16000), ("investigation", 120000)):
        db.session.add(CostItem(incident_id=incident.id, head_id=heads[head].id,
                                description=head, quantity=1, unit_price=price, amount=price,
                                tax_rate=10, incurred_on=date(2026, 3, 1), status="approved",
                                entered_by_label="bench", evidence=kept[:1]))
    claim = Claim(incident_id=incident.id, policy_id=org.policies[0].id)
    db.session.add(claim)
    db.session.commit()
    return claim


def throwaway_key():
    """A signing key for this run only (base64 raw Ed25519, as CLAIM_SIGNING_KEY wants)."""
    raw = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
        serialization.NoEncryption())
    return base64.b64encode(raw).decode()


def run(args, workdir):
    evidence_dir = workdir / "evidence"
    evidence_dir.mkdir()
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{workdir / 'bench.db'}",
                     EVIDENCE_DIR=str(evidence_dir),
                     CLAIM_SIGNING_KEY=throwaway_key())
    with app.app_context():
        db.create_all()
        started = time.perf_counter()
        claim = make_claim(evidence_dir, args.files, args.total_mb * 1_000_000)
        setup_s = time.perf_counter() - started
        rss_before = rss_mb()
        started = time.perf_counter()
        packet = packets.build_packet(claim, 1, "bench", NOW)
        db.session.commit()
        build_s = time.perf_counter() - started
        rss_build = rss_mb()
        started = time.perf_counter()
        problems = packets.verify_packet(packets.packet_path(packet), packet.public_key)
        verify_s = time.perf_counter() - started
        result = {
            "files": args.files, "evidence_mb": args.total_mb, "zip_mb": packet.size / 1e6,
            "setup_s": round(setup_s, 2), "build_s": round(build_s, 2),
            "verify_s": round(verify_s, 2), "rss_before_build_mb": round(rss_before, 1),
            "peak_rss_after_build_mb": round(rss_build, 1),
            "peak_rss_after_verify_mb": round(rss_mb(), 1), "problems": problems,
        }
        db.session.remove()
        db.engine.dispose()
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--total-mb", type=int, default=50, help="evidence size in MB (1e6)")
    parser.add_argument("--dir", type=Path, default=None,
                        help="scratch folder (default: a temporary one, removed afterwards)")
    args = parser.parse_args(argv)
    print(json.dumps({"python": platform.python_version(), "cpus": os.cpu_count(),
                      "machine": platform.machine()}))
    with tempfile.TemporaryDirectory(dir=args.dir) as scratch:
        result = run(args, Path(scratch))
    print(json.dumps(result, ensure_ascii=False))
    ok = (not result["problems"] and result["build_s"] <= TARGET_SECONDS
          and result["peak_rss_after_build_mb"] <= TARGET_RSS_MB)
    print(f"build {result['build_s']} s (target <= {TARGET_SECONDS} s), peak RSS "
          f"{result['peak_rss_after_build_mb']} MB (target <= {TARGET_RSS_MB} MB), verify "
          f"{'OK' if not result['problems'] else result['problems']}: "
          f"{'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
