"""Benchmark: POST /api/v1/incidents throughput under gunicorn vs a bare insert (DESIGN §8).

Target: incident intake (reference number, audit event, SLA clocks included) reaches at least
50% of the throughput of a bare Flask + SQLAlchemy endpoint inserting one row
(bench/reference_app.py) on the same gunicorn settings and PostgreSQL. Each round measures
the reference, then Kaketsuke, each on a freshly created scratch database; the layouts are
started by bench/serve.py. The load is closed-loop (bench/common.py): `--clients` threads,
each sending its next request when the previous one is answered; requests answered in the
measuring window count, after a warm-up.

    .venv/bin/python bench/intake.py           # 10 s per app, 1 round (validation size)
    .venv/bin/python bench/intake.py --full    # 60 s per app, 2 rounds
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import serve  # noqa: E402
from bench.common import (  # noqa: E402
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

TARGET_RATIO = 0.5
CALLERS = 100  # API tokens the load rotates through (intake is rate limited per token)
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench_intake"
CATEGORIES = ("malware", "ransomware", "phishing_bec", "unauthorized_access", "support_scam")
SEVERITIES = ("low", "medium", "medium", "high", "critical")


def incident_body(n, organization_ids):
    """The n-th phone report (organizations, categories and severities in rotation)."""
    return {"organization_id": organization_ids[n % len(organization_ids)], "channel": "phone",
            "category": CATEGORIES[n % len(CATEGORIES)],
            "severity": SEVERITIES[n % len(SEVERITIES)],
            "summary": f"PCの画面に警告が表示された #{n}",
            "description": "経理部のPCで不審なポップアップ。ネットワークから切り離し済み。",
            "reporter": {"name": "田中 一郎", "phone": "03-1234-5678",
                         "email": "tanaka@sme.example.jp"},
            "discovered_at": "2026-11-25T09:00:00+09:00", "discovery_source": "user"}


def requests_for(path, organization_ids, tokens=()):
    """The n-th request of the load: a JSON intake body, with one of the tokens if any."""
    def make(n):
        body = json.dumps(incident_body(n, organization_ids)).encode()
        headers = {"Content-Type": "application/json"}
        if tokens:
            headers["Authorization"] = f"Bearer {tokens[n % len(tokens)]}"
        return Request("POST", path, body, headers)
    return make


def measure_reference(url, args):
    serve.prepare_reference(url)
    layout = serve.Layout(plain_url(url), "reference", args.workers)
    with serve.start(layout) as running:
        result = run_load(running.base_url, requests_for("/incidents", list(range(1, 21))),
                          concurrency=args.clients, duration=args.duration, warmup=args.warmup)
    return result


def measure_kaketsuke(url, args):
    serve.prepare_kaketsuke(url)
    seeded = serve.seed(url, desk_tokens=CALLERS)
    layout = serve.Layout(plain_url(url), "kaketsuke", args.workers)
    with serve.start(layout) as running:
        result = run_load(running.base_url, requests_for(
            "/api/v1/incidents", seeded.organization_ids, seeded.desk_tokens),
            concurrency=args.clients, duration=args.duration, warmup=args.warmup)
    return result


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    load_options(parser)
    scratch_options(parser, DEFAULT_URL)
    return load_defaults(parser.parse_args(argv))


def main(argv=None):
    args = parse_args(argv)
    rounds = []
    with scratch(args) as url:
        for n in range(args.rounds):
            measured = {"reference": measure_reference(url, args)}
            print_json(f"round {n + 1} reference", measured["reference"].as_dict())
            measured["kaketsuke"] = measure_kaketsuke(url, args)
            print_json(f"round {n + 1} kaketsuke", measured["kaketsuke"].as_dict())
            rounds.append(measured)
    ratio = report_rounds(rounds, "requests", TARGET_RATIO)
    return 0 if ratio >= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
