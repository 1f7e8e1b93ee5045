"""Benchmark: syslog TCP ingest with dedup through the real receiver vs a bare insert (issue 12).

Target: at least 5,000 lines/s sustained, with its ratio to the bare insert of the same
number of alert rows (executemany in batches of the receiver's size), measured in the same
run on the same PostgreSQL.

The receiver is the real `flask alerts syslog` process on a free port of 127.0.0.1, bound to
the benchmark organization's ingest key. `--connections` threads send `--lines` CEF lines
(FortiGate-like, with rt and dvchost), octet-counted, as fast as the receiver reads them.
The lines are drawn from `--distinct` signatures (host, rule, source and destination vary),
so most are repeats counted on an alert of the window, as a busy UTM's are; one signature in
500 is high severity and opens an incident that pages the desk. The clock runs from the
first byte sent until the stored alerts' counts add up to every line sent (polled every
20 ms), so the rate is lines stored per second, not lines read.

    .venv/bin/python -m bench.syslog_ingest                 # 50,000 lines
    .venv/bin/python -m bench.syslog_ingest --lines 200000 --distinct 20000

The same run also times `ingest_lines` called in-process on the same lines for a second
organization (no sockets, no receiver): the cost of the ingest itself, so what the receiver
adds is the difference.

The database named by --database-url is DROPPED and created again: its name must contain
"bench".
"""

import argparse
import socket
import sys
import threading
import time
from datetime import datetime

from sqlalchemy import func, insert, select

from app import create_app
from app.config import TestConfig
from app.extensions import db
from app.models import Alert, Incident, IngestKey, Organization
from app.services.monitoring import ingest, senders
from app.testkit.syslog import cef_line, octet_counted, receiver_process, rfc5424
from bench.common import (
    fresh_organization,
    plain_url,
    print_json,
    recreate_database,
    scratch,
    scratch_options,
)

TARGET_LINES_PER_S = 5000
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench_syslog_ingest"
HOSTS = ("fgt-honsha", "fgt-osaka", "fgt-nagoya", "fwb-web01")
POLL_SECONDS = 0.02
DEADLINE_SECONDS = 600
BARE_BATCH = 500  # the receiver's batch size
INPROCESS_BATCH = 2000
NOW = datetime(2026, 12, 6, 3, 0)


def _bodies(lines, distinct):
    """The CEF bodies sent: `lines` of them over `distinct` signatures."""
    bodies = []
    for n in range(lines):
        signature = n % distinct
        severity = 8 if signature % 500 == 0 else (3, 5, 3, 6)[signature % 4]
        bodies.append(cef_line(signature, host=HOSTS[signature % len(HOSTS)],
                               signature=f"IPS-{signature % 211}", severity=severity))
    return bodies


def _frames(lines, distinct, connections):
    """Per connection, the octet-counted frames it sends (lines spread round-robin)."""
    frames = [[] for _ in range(connections)]
    for n, body in enumerate(_bodies(lines, distinct)):
        frames[n % connections].append(octet_counted(rfc5424(body)))
    return [b"".join(chunk) for chunk in frames]


def _prepare(app):
    """Empty tables, one organization bound to 127.0.0.1, a desk user to page."""
    with app.app_context():
        organization = fresh_organization()
        senders.create_bound_key(organization, ["127.0.0.1"], "bench-utm")
        organization_id = organization.id
        db.session.remove()
    return organization_id


def _counted(app):
    with app.app_context():
        value = db.session.scalar(select(func.coalesce(func.sum(Alert.count), 0)))
        db.session.remove()
    return value


def _send(port, data):
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(data)


def _syslog_run(app, url, args):
    """Seconds from the first byte sent until every line is counted; the receiver's log."""
    streams = _frames(args.lines, args.distinct, args.connections)
    options = ["--writers", str(args.writers)] if args.writers else []
    with receiver_process(plain_url(url), udp=False, options=options) as receiver:
        threads = [threading.Thread(target=_send, args=(receiver.ports["tcp"], data))
                   for data in streams]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        pause, deadline = threading.Event(), time.monotonic() + DEADLINE_SECONDS
        while _counted(app) < args.lines:
            if time.monotonic() > deadline or receiver.process.poll() is not None:
                raise SystemExit("the lines were not all stored:\n" + receiver.stderr())
            pause.wait(POLL_SECONDS)
        elapsed = time.perf_counter() - started
        for thread in threads:
            thread.join()
        code = receiver.stop()
        log = receiver.stderr()
    if code != 0:
        raise SystemExit(f"the receiver exited {code}:\n{log}")
    return elapsed, log


def _inprocess_run(app, args):
    """Seconds for ingest_lines alone on the same lines (no sockets, no receiver), for a
    second organization with its own key, in batches of INPROCESS_BATCH: what the ingest
    itself costs, so the receiver's share is the difference."""
    with app.app_context():
        organization = Organization(code="BENCH-2", name="ベンチ2株式会社", prefecture=13)
        db.session.add(organization)
        db.session.commit()
        plain = senders.create_bound_key(organization, ["127.0.0.2"])
        key_id = db.session.scalar(select(IngestKey.id).where(
            IngestKey.prefix == plain[:12]))
        db.session.remove()
    lines = [rfc5424(body) for body in _bodies(args.lines, args.distinct)]
    started = time.perf_counter()
    for start in range(0, len(lines), INPROCESS_BATCH):
        with app.app_context():
            ingest.ingest_lines(db.session.get(IngestKey, key_id),
                                lines[start:start + INPROCESS_BATCH], sender="127.0.0.2")
            db.session.remove()
    return time.perf_counter() - started


def _bare_rows(organization_id, lines):
    return [{"organization_id": organization_id, "source": "cef", "sensor": "bench-utm",
             "severity": "low", "rule_id": f"IPS-{n % 211}", "rule_name": "bare insert",
             "hosts": [HOSTS[n % len(HOSTS)]], "addresses": ["203.0.113.5"],
             "occurred_at": NOW, "first_seen_at": NOW, "last_seen_at": NOW, "count": 1,
             "dedup_key": f"{n:064d}", "raw": "x" * 250} for n in range(lines)]


def _bare_insert(app, organization_id, lines):
    """Seconds to insert `lines` alert rows, BARE_BATCH per executemany and commit."""
    rows = _bare_rows(organization_id, lines)
    with app.app_context():
        started = time.perf_counter()
        for start in range(0, lines, BARE_BATCH):
            db.session.execute(insert(Alert), rows[start:start + BARE_BATCH])
            db.session.commit()
        elapsed = time.perf_counter() - started
        db.session.remove()
    return elapsed


def _stored(app):
    with app.app_context():
        result = {"alerts": db.session.scalar(select(func.count(Alert.id))),
                  "counted": db.session.scalar(select(func.sum(Alert.count))),
                  "incidents": db.session.scalar(select(func.count(Incident.id)))}
        db.session.remove()
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    scratch_options(parser, DEFAULT_URL)
    parser.add_argument("--lines", type=int, default=50_000, help="CEF lines sent")
    parser.add_argument("--distinct", type=int, default=5_000,
                        help="distinct signatures among them (the rest are repeats)")
    parser.add_argument("--connections", type=int, default=2, help="TCP connections")
    parser.add_argument("--writers", type=int, help="the receiver's database threads "
                                                    "(default: its own default)")
    args = parser.parse_args(argv)
    with scratch(args) as url:
        recreate_database(url)
        app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=plain_url(url))
        organization_id = _prepare(app)
        syslog_seconds, log = _syslog_run(app, url, args)
        stored = _stored(app)
        inprocess_seconds = _inprocess_run(app, args)
        bare_seconds = _bare_insert(app, organization_id, args.lines)
        with app.app_context():
            db.engine.dispose()
    syslog_rate, bare_rate = args.lines / syslog_seconds, args.lines / bare_seconds
    stopped = next((line for line in log.splitlines() if "receiver stopped" in line), "")
    print_json("stored", stored)
    print_json("receiver", stopped.split(": ", 2)[-1])
    print_json("result", {
        "syslog_lines_per_s": round(syslog_rate), "syslog_seconds": round(syslog_seconds, 2),
        "ingest_lines_in_process_per_s": round(args.lines / inprocess_seconds),
        "bare_insert_rows_per_s": round(bare_rate), "bare_seconds": round(bare_seconds, 2),
        "ratio": round(syslog_rate / bare_rate, 3), "target_lines_per_s": TARGET_LINES_PER_S,
        "met": syslog_rate >= TARGET_LINES_PER_S})
    return 0 if syslog_rate >= TARGET_LINES_PER_S else 1


if __name__ == "__main__":
    sys.exit(main())
