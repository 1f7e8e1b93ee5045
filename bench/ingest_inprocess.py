"""Quick in-process measure of the alert ingest (DESIGN §8: >= 1,000 alerts/s sustained).

Calls the ingest service (or, with --http, POST /api/v1/alerts through the Flask test
client) in one process, without gunicorn: it shows what the service itself does per alert,
not the served throughput (bench/alert_ingest.py measures that). Two runs:

- new: every record a distinct alert (low severity, so no incident is opened);
- repeats: --distinct alerts sent over and over, most records counted on an existing alert
  (a fifth of the distinct ones are high: each opens an incident and pages the desk once).

    .venv/bin/python -m bench.ingest_inprocess --database-url postgresql://.../kaketsuke_bench

The tables of the database named by --database-url are DROPPED and created again: its name
must contain "bench".
"""

import argparse
import json
import time
from datetime import datetime

from sqlalchemy.engine import make_url

from app import create_app
from app.config import TestConfig, normalize_database_url
from app.extensions import db
from app.services.monitoring import ingest
from bench.common import fresh_organization

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/kaketsuke_bench"
NOW = datetime(2026, 11, 25, 3, 0)
SEVERITIES = ("low", "medium", "low", "medium", "high")


def _alert(number, severity="low"):
    return {"source": "edr", "sensor": "edr-bench", "severity": severity,
            "rule_id": f"BENCH-{number}", "rule_name": "Benchmark rule", "hosts": ["pc-01"],
            "addresses": ["192.168.10.5"], "occurred_at": "2026-11-25T02:59:00Z"}


def _bodies(total, batch, distinct):
    """JSON batch bodies: `total` records over `distinct` alerts (None: all distinct)."""
    numbers = range(total) if distinct is None else (i % distinct for i in range(total))
    records = [_alert(n, "low" if distinct is None else SEVERITIES[n % len(SEVERITIES)])
               for n in numbers]
    return [json.dumps(records[i:i + batch]).encode() for i in range(0, total, batch)]


def _prepare(app):
    """Empty tables, one organization, its key and a desk user to page."""
    with app.app_context():
        organization = fresh_organization()
        key = ingest.create_ingest_key(organization)
        db.session.remove()
    return key


def _run(app, key, bodies, http):
    """Seconds to send every body, one after the other."""
    client = app.test_client()
    started = time.perf_counter()
    for body in bodies:
        if http:
            answer = client.post("/api/v1/alerts", data=body, content_type="application/json",
                                 headers={"Authorization": f"Bearer {key}"})
            assert answer.status_code == 202, answer.text
        else:
            with app.app_context():
                ingest.ingest(key, "application/json", body, now=NOW)
                db.session.remove()
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--alerts", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--distinct", type=int, default=100)
    parser.add_argument("--http", action="store_true", help="through the Flask test client")
    args = parser.parse_args()
    url = normalize_database_url(args.database_url)
    if "bench" not in (make_url(url).database or ""):
        parser.error("the database name must contain 'bench' (its tables are dropped)")
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)
    for name, distinct in (("new", None), ("repeats", args.distinct)):
        key = _prepare(app)
        seconds = _run(app, key, _bodies(args.alerts, args.batch, distinct), args.http)
        print(f"{name:8} {args.alerts} alerts in batches of {args.batch}: "
              f"{seconds:.2f} s, {args.alerts / seconds:,.0f} alerts/s")
    with app.app_context():
        db.drop_all()
        db.engine.dispose()


if __name__ == "__main__":
    main()
