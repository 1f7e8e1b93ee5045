"""Benchmark: POST /api/v1/alerts with deduplication under gunicorn vs a bare insert (DESIGN §8).

Targets: alert ingest sustains at least 1,000 alerts/s, and at least 60% of the alerts/s of a
bare Flask + SQLAlchemy endpoint inserting one row per alert (bench/reference_app.py) on the
same gunicorn settings and PostgreSQL.

The load is a realistic mix: batches of `--batch` generic JSON alerts, each batch from one of
20 organizations (each sends with its own ingest key). Every organization has a pool of
`--signatures` distinct alerts (source, rule, host), drawn Zipf-like (a few noisy rules make
most of the volume), so after the first minute almost every alert is a repeat counted on its
twin; 2% of the signatures are critical and 6% high, so their first sighting opens an incident
and pages the desk through the outbox. Each round measures the reference, then Kaketsuke,
each on a freshly created scratch database. After Kaketsuke's run the script checks the
deduplication: the stored alerts' counts must add up to every alert answered 202.

    .venv/bin/python -m bench.alert_ingest           # 10 s per app, 1 round (validation size)
    .venv/bin/python -m bench.alert_ingest --full    # 60 s per app, 2 rounds
"""

import argparse
import json
import random
import sys
from datetime import datetime, timedelta

from sqlalchemy import create_engine, text

from bench import serve
from bench.common import (
    Request,
    load_defaults,
    load_options,
    plain_url,
    print_json,
    report_rounds,
    run_load,
    scratch,
    scratch_options,
)

TARGET_RATIO = 0.6
TARGET_ALERTS_PER_S = 1000
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench_alert_ingest"
ORGANIZATIONS = 20
SEVERITIES = {"critical": 2, "high": 6, "medium": 22, "low": 70}
RULES = [("EDR-RANSOM-001", "Ransomware behaviour: mass file encryption", "edr"),
         ("UTM-IPS-16384", "utm:ips signature: SQL injection attempt", "utm"),
         ("UTM-AV-8192", "utm:virus detected in download", "utm"),
         ("EDR-CRED-014", "Credential dumping tool executed", "edr"),
         ("IDS-SCAN-2001", "Port scan from the internet", "ids"),
         ("IDS-BRUTE-5712", "SSH brute force against a server", "ids")]
BATCHES = 400  # distinct request bodies, sent in rotation
START = datetime(2026, 11, 25, 5, 44, 10)


def signatures(org_id, size, rng):
    """The distinct alerts one organization's sensors raise (severity fixed per signature)."""
    weights = list(SEVERITIES.values())
    pool = []
    for n in range(size):
        rule_id, rule_name, source = RULES[n % len(RULES)]
        pool.append({"source": source, "sensor": f"{source}-org{org_id}",
                     "severity": rng.choices(list(SEVERITIES), weights)[0],
                     "rule_id": f"{rule_id}-{n // len(RULES)}", "rule_name": rule_name,
                     "hosts": [f"pc-{org_id}-{n % 97:02d}"],
                     "addresses": [f"192.168.{org_id % 250}.{n % 250 + 1}"]})
    return pool


def batches(organization_ids, size, pool_size, count, seed=7):
    """`count` (organization id, JSON body bytes, alerts) batches, drawn Zipf-like."""
    rng = random.Random(seed)
    pools = {org: signatures(org, pool_size, rng) for org in organization_ids}
    zipf = [1 / (rank + 1) for rank in range(pool_size)]
    made = []
    for n in range(count):
        org = organization_ids[n % len(organization_ids)]
        alerts = []
        for k, signature in enumerate(rng.choices(pools[org], zipf, k=size)):
            occurred = START + timedelta(seconds=n * size + k)
            alerts.append({**signature, "occurred_at": occurred.isoformat() + "Z"})
        made.append((org, json.dumps(alerts).encode(), size))
    return made


def requests_for(path, made, keys=None):
    """The n-th request: the n-th batch, with its organization's ingest key (Kaketsuke)."""
    def make(n):
        org, body, size = made[n % len(made)]
        headers = {"Content-Type": "application/json"}
        if keys:
            headers["Authorization"] = f"Bearer {keys[org]}"
        return Request("POST", path, body, headers, weight=size)
    return make


def measure_reference(url, args):
    serve.prepare_reference(url)
    made = batches(list(range(1, ORGANIZATIONS + 1)), args.batch, args.signatures, BATCHES)
    layout = serve.Layout(plain_url(url), "reference", args.workers)
    with serve.start(layout) as running:
        return run_load(running.base_url, requests_for("/alerts", made),
                        concurrency=args.clients, duration=args.duration, warmup=args.warmup)


def measure_kaketsuke(url, args):
    serve.prepare_kaketsuke(url)
    seeded = serve.seed(url, organizations=ORGANIZATIONS)
    made = batches(seeded.organization_ids, args.batch, args.signatures, BATCHES)
    layout = serve.Layout(plain_url(url), "kaketsuke", args.workers)
    with serve.start(layout) as running:
        result = run_load(running.base_url, requests_for("/api/v1/alerts", made,
                                                         seeded.ingest_keys),
                          concurrency=args.clients, duration=args.duration, warmup=args.warmup)
    return result, stored(url)


def stored(url):
    """What the deduplication left: alert rows, their counts, incidents opened, outbox rows."""
    engine = create_engine(url)
    with engine.connect() as conn:
        alerts, counted, with_incident = conn.execute(text(
            "SELECT count(*), coalesce(sum(count), 0), count(incident_id) FROM alert")).one()
        incidents = conn.execute(text("SELECT count(*) FROM incident")).scalar()
        outbox = conn.execute(text("SELECT count(*) FROM notification")).scalar()
    engine.dispose()
    return {"alert_rows": alerts, "sum_of_counts": counted, "alerts_with_incident":
            with_incident, "incidents": incidents, "outbox_rows": outbox}


def check(result, db_state):
    """Every alert answered 202 is counted exactly once; each incident has one alert."""
    problems = []
    if db_state["sum_of_counts"] != result.all_units:
        problems.append(f"alert counts add up to {db_state['sum_of_counts']}, but "
                        f"{result.all_units} alerts were answered 202")
    if db_state["alerts_with_incident"] != db_state["incidents"]:
        problems.append(f"{db_state['incidents']} incidents for "
                        f"{db_state['alerts_with_incident']} alerts that opened one")
    return problems


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    load_options(parser)
    parser.add_argument("--batch", type=int, default=50, help="alerts per request")
    parser.add_argument("--signatures", type=int, default=100,
                        help="distinct alerts per organization")
    scratch_options(parser, DEFAULT_URL)
    return load_defaults(parser.parse_args(argv))


def main(argv=None):
    args = parse_args(argv)
    rounds, problems = [], []
    with scratch(args) as url:
        for n in range(args.rounds):
            measured = {"reference": measure_reference(url, args)}
            print_json(f"round {n + 1} reference", measured["reference"].as_dict())
            measured["kaketsuke"], db_state = measure_kaketsuke(url, args)
            print_json(f"round {n + 1} kaketsuke", measured["kaketsuke"].as_dict())
            print_json(f"round {n + 1} stored", db_state)
            problems += check(measured["kaketsuke"], db_state)
            rounds.append(measured)
    ratio = report_rounds(rounds, "alerts", TARGET_RATIO)
    rate = sum(r["kaketsuke"].units for r in rounds) / sum(
        r["kaketsuke"].duration_s for r in rounds)
    print(f"Kaketsuke {rate:.0f} alerts/s (target >= {TARGET_ALERTS_PER_S}): "
          f"{'PASS' if rate >= TARGET_ALERTS_PER_S else 'MISS'}")
    print("deduplication: " + ("exact (every alert answered 202 counted once)" if not problems
                               else "WRONG: " + "; ".join(problems)))
    return 0 if ratio >= TARGET_RATIO and rate >= TARGET_ALERTS_PER_S and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
