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

--in-process sends the same requests through the Flask test client of each app instead (no
gunicorn, no sockets), one at a time, and reports what one request costs in this process:
CPU ms (median; PostgreSQL's own CPU is not in it), wall ms and SQL statements. It shows
where the 2 cores go, which the served ratio follows; --profile FILE profiles Kaketsuke's
measured requests: pyinstrument (wall time, waits on PostgreSQL included) as HTML, or text
when FILE ends in .txt; cProfile over this process's CPU time when it ends in .pstats.

    .venv/bin/python bench/intake.py --in-process --requests 300 --profile /tmp/intake.html
"""

import argparse
import json
import statistics
import sys
import time
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


# --- in process --------------------------------------------------------------------------

def _count_statements(engine):
    """A list that grows by one for each SQL statement `engine` sends (and its remover)."""
    from sqlalchemy import event

    sent = []

    def count(*_args):
        sent.append(1)

    event.listen(engine, "before_cursor_execute", count)
    return sent, lambda: event.remove(engine, "before_cursor_execute", count)


def _send_in_process(app, engine, requests, count, warmup, profiler=None):
    """Send `warmup` then `count` requests through the test client; per measured request:
    (CPU ms of this process, wall ms, SQL statements)."""
    client = app.test_client()
    for n in range(warmup):
        _post(client, requests(n))
    sent, stop_counting = _count_statements(engine)
    samples = []
    if profiler is not None:
        profiler.start()
    try:
        for n in range(warmup, warmup + count):
            request, before = requests(n), len(sent)
            cpu0, wall0 = time.process_time(), time.perf_counter()
            _post(client, request)
            samples.append(((time.process_time() - cpu0) * 1000,
                            (time.perf_counter() - wall0) * 1000, len(sent) - before))
    finally:
        if profiler is not None:
            profiler.stop()
        stop_counting()
    return samples


def _post(client, request):
    answer = client.post(request.path, data=request.body, headers=request.headers)
    if answer.status_code != 201:
        raise RuntimeError(f"POST {request.path}: HTTP {answer.status_code} {answer.text[:300]}")


def _in_process_summary(samples):
    cpu, wall, statements = zip(*samples, strict=True)
    return {"requests": len(samples), "cpu_ms_median": round(statistics.median(cpu), 2),
            "cpu_ms_mean": round(statistics.fmean(cpu), 2),
            "wall_ms_median": round(statistics.median(wall), 2),
            "statements": sorted(set(statements))}


def measure_reference_in_process(url, args):
    from bench.reference_app import create_app, db

    serve.prepare_reference(url)
    app = create_app(plain_url(url))
    with app.app_context():
        engine = db.engine
    try:
        return _send_in_process(app, engine, requests_for("/incidents", list(range(1, 21))),
                                args.requests, args.warmup_requests)
    finally:
        engine.dispose()


def measure_kaketsuke_in_process(url, args, profiler=None):
    from app.extensions import db

    serve.prepare_kaketsuke(url)
    seeded = serve.seed(url, desk_tokens=CALLERS)
    app = serve.kaketsuke_app(url)
    with app.app_context():
        engine = db.engine
    try:
        return _send_in_process(app, engine, requests_for(
            "/api/v1/incidents", seeded.organization_ids, seeded.desk_tokens),
            args.requests, args.warmup_requests, profiler)
    finally:
        engine.dispose()


class _CpuProfiler:
    """cProfile timed by this process's CPU clock (waits on the database do not count)."""

    def __init__(self):
        import cProfile

        self.profile = cProfile.Profile(time.process_time)

    def start(self):
        self.profile.enable()

    def stop(self):
        self.profile.disable()


def _profiler(path):
    """The profiler --profile asks for (by the file's suffix), or None."""
    if not path:
        return None
    if Path(path).suffix == ".pstats":
        return _CpuProfiler()
    from pyinstrument import Profiler

    return Profiler(interval=0.0005)


def _write_profile(profiler, path):
    path = Path(path)
    if isinstance(profiler, _CpuProfiler):
        profiler.profile.dump_stats(path)
    elif path.suffix == ".txt":
        path.write_text(profiler.output_text(unicode=True, show_all=False))
    else:
        path.write_text(profiler.output_html())
    print(f"profile: {path}", flush=True)


def main_in_process(args):
    """Each app through the Flask test client, --rounds times; medians per request."""
    profiler = _profiler(args.profile)
    results = {"reference": [], "kaketsuke": []}
    with scratch(args) as url:
        for n in range(args.rounds):
            results["reference"].append(_in_process_summary(
                measure_reference_in_process(url, args)))
            print_json(f"round {n + 1} reference (in process)", results["reference"][-1])
            results["kaketsuke"].append(_in_process_summary(
                measure_kaketsuke_in_process(url, args, profiler)))
            print_json(f"round {n + 1} kaketsuke (in process)", results["kaketsuke"][-1])
    if profiler is not None:
        _write_profile(profiler, args.profile)
    print("\n| app | CPU ms/request (median of rounds) | wall ms | SQL statements |")
    print("|---|---:|---:|---|")
    cpu = {}
    for app, rounds in results.items():
        cpu[app] = statistics.median(r["cpu_ms_median"] for r in rounds)
        wall = statistics.median(r["wall_ms_median"] for r in rounds)
        statements = sorted({s for r in rounds for s in r["statements"]})
        print(f"| {app} | {cpu[app]:.2f} | {wall:.2f} | {statements} |")
    print(f"\nCPU per request, reference / Kaketsuke: {cpu['reference'] / cpu['kaketsuke']:.0%} "
          f"(the served ratio is bounded by about this while the cores are the limit)")
    return 0


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    load_options(parser)
    scratch_options(parser, DEFAULT_URL)
    parser.add_argument("--in-process", action="store_true",
                        help="through the Flask test client: CPU, wall time and SQL per request")
    parser.add_argument("--requests", type=int, default=300,
                        help="measured requests per app and round (--in-process)")
    parser.add_argument("--warmup-requests", type=int, default=30,
                        help="unmeasured requests first (--in-process)")
    parser.add_argument("--profile", help="pyinstrument profile of Kaketsuke (--in-process)")
    return load_defaults(parser.parse_args(argv))


def main(argv=None):
    args = parse_args(argv)
    if args.in_process:
        return main_in_process(args)
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
