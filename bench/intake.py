"""Benchmark: POST /api/v1/incidents throughput under gunicorn vs a bare insert (DESIGN §8).

Target: incident intake (reference number, audit event, SLA clocks included) reaches at least
50% of the throughput of a bare Flask + SQLAlchemy endpoint inserting one row
(bench/reference_app.py) on the same gunicorn settings and PostgreSQL. Each round measures
the reference, then Kaketsuke, each on a freshly created scratch database; the layouts are
started by bench/serve.py. The load is closed-loop (bench/common.py): `--clients` threads,
each sending its next request when the previous one is answered; requests answered in the
measuring window count, after a warm-up.

    .venv/bin/python -m bench.intake           # 10 s per app, 1 round (validation size)
    .venv/bin/python -m bench.intake --full    # 60 s per app, 2 rounds

--in-process sends the same requests through the Flask test client of each app instead (no
gunicorn, no sockets), one at a time, and reports what one request costs in this process:
CPU ms (median; PostgreSQL's own CPU is not in it), wall ms and SQL statements. It shows
where the 2 cores go, which the served ratio follows; --profile FILE profiles Kaketsuke's
measured requests: pyinstrument (wall time, waits on PostgreSQL included) as HTML, or text
when FILE ends in .txt; cProfile over this process's CPU time when it ends in .pstats.

    .venv/bin/python -m bench.intake --in-process --requests 300 --profile /tmp/intake.html

--cpu-split (served runs) also reads, over each measuring window, the CPU time of gunicorn's
processes, of the PostgreSQL backends of the scratch database and of the whole machine
(/proc), and samples what those backends wait on (pg_stat_activity): CPU ms per request of
each part, what other processes took, and how often a backend queued on a row lock.
"""

import argparse
import json
import os
import statistics
import sys
import threading
import time
from collections import Counter
from pathlib import Path

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
    """The reference's LoadResult, and its CpuSplit with --cpu-split (else None)."""
    serve.prepare_reference(url)
    layout = serve.Layout(plain_url(url), "reference", args.workers)
    with serve.start(layout) as running:
        return _load(running, url, args, requests_for("/incidents", list(range(1, 21))))


def measure_kaketsuke(url, args):
    """Kaketsuke's LoadResult, and its CpuSplit with --cpu-split (else None)."""
    serve.prepare_kaketsuke(url)
    seeded = serve.seed(url, desk_tokens=CALLERS)
    layout = serve.Layout(plain_url(url), "kaketsuke", args.workers)
    with serve.start(layout) as running:
        return _load(running, url, args, requests_for(
            "/api/v1/incidents", seeded.organization_ids, seeded.desk_tokens))


def _load(running, url, args, requests):
    split = None
    if args.cpu_split:
        split = CpuSplit(running.children[0].process.pid, url, args.warmup, args.duration)
        split.start()
    result = run_load(running.base_url, requests, concurrency=args.clients,
                      duration=args.duration, warmup=args.warmup)
    if split is not None:
        split.join()
    return result, split


# --- where the CPU goes (served) ---------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
WAIT_SAMPLE_SECONDS = 0.05


def _processes():
    """{pid: (process group, command line, CPU seconds)} of every process readable now."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(
                errors="replace")
        except OSError:
            continue  # gone meanwhile
        # after the name: state ppid pgrp ... utime (14th field of the line) stime (15th)
        found[int(entry.name)] = (int(fields[2]), command,
                                  (int(fields[11]) + int(fields[12])) / CLOCK_TICKS)
    return found


def _machine_busy_seconds():
    """CPU seconds the whole machine has been busy (all cores; idle and iowait left out)."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = (
        int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


class CpuSplit(threading.Thread):
    """Over the measuring window: the CPU seconds of gunicorn (its process group), of the
    PostgreSQL backends of the scratch database and of the whole machine, and what those
    backends are doing, sampled from pg_stat_activity every WAIT_SAMPLE_SECONDS."""

    def __init__(self, gunicorn_pid, url, warmup, duration):
        super().__init__(daemon=True)
        self.gunicorn_pid, self.url = gunicorn_pid, url
        self.start_at = time.monotonic() + warmup
        self.end_at = self.start_at + duration
        self.cores = {}  # part -> CPU seconds per second of the window
        self.waits = Counter()  # (state, wait event) -> samples

    def _cpu(self):
        parts = {"gunicorn": {}, "postgres": {}}
        backend = f" {self.url.database} "
        for pid, (group, command, seconds) in _processes().items():
            if group == self.gunicorn_pid:
                parts["gunicorn"][pid] = seconds
            elif command.startswith("postgres:") and backend in command:
                parts["postgres"][pid] = seconds
        return parts, _machine_busy_seconds(), time.monotonic()

    def run(self):
        from sqlalchemy import create_engine, text

        engine = create_engine(self.url.set(database="postgres"))
        query = text("SELECT state, coalesce(wait_event_type || ':' || wait_event, 'cpu') "
                     "FROM pg_stat_activity WHERE datname = :name")
        time.sleep(max(0.0, self.start_at - time.monotonic()))
        before, machine0, t0 = self._cpu()
        with engine.connect() as conn:
            while time.monotonic() < self.end_at:
                self.waits.update(tuple(row) for row in conn.execute(
                    query, {"name": self.url.database}))
                time.sleep(WAIT_SAMPLE_SECONDS)
        after, machine1, t1 = self._cpu()
        engine.dispose()
        seconds = t1 - t0
        for part in after:
            self.cores[part] = sum(cpu - before[part].get(pid, 0.0)
                                   for pid, cpu in after[part].items()) / seconds
        self.cores["machine"] = (machine1 - machine0) / seconds

    def as_dict(self, result):
        """Per request: CPU ms of each part; what the rest of the machine took; waits."""
        rate = result.requests_per_s
        ms = {part: round(self.cores[part] * 1000 / rate, 2)
              for part in ("gunicorn", "postgres")}
        ms["client"] = round(result.client_cpu * 1000 / rate, 2)
        ours = self.cores["gunicorn"] + self.cores["postgres"] + result.client_cpu
        samples = sum(self.waits.values()) or 1
        active = {f"{state}/{event}": round(count / samples, 3)
                  for (state, event), count in self.waits.most_common(6)}
        return {"cpu_ms_per_request": ms, "machine_busy_cores": round(self.cores["machine"], 2),
                "other_processes_cores": round(self.cores["machine"] - ours, 2),
                "backend_samples": active,
                "waiting_on_a_lock": round(sum(count for (_, event), count in self.waits.items()
                                               if event.startswith("Lock:")) / samples, 3)}


def report_split(rounds):
    """A Markdown table of the CPU splits of every round."""
    print("\n| round | app | requests/s | gunicorn ms | PostgreSQL ms | client ms "
          "| other processes (cores) | backends waiting on a lock |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for n, measured in enumerate(rounds, start=1):
        for app, (result, split) in measured.items():
            d = split.as_dict(result)
            cpu = d["cpu_ms_per_request"]
            print(f"| {n} | {app} | {result.requests_per_s:.1f} | {cpu['gunicorn']:.2f} | "
                  f"{cpu['postgres']:.2f} | {cpu['client']:.2f} | "
                  f"{d['other_processes_cores']:.2f} | {d['waiting_on_a_lock']:.0%} |")


# --- in process --------------------------------------------------------------------------

class _StatementWatch:
    """Counts the SQL statements `engine` sends, and times how long each transaction holds
    the year's reference counter row: from its UPDATE to the end of the commit (meanwhile
    other intakes queue on the row lock)."""

    def __init__(self, engine):
        self.engine, self.sent, self.held_ms, self._taken = engine, 0, [], None

    def __enter__(self):
        from sqlalchemy import event
        from sqlalchemy.orm import Session

        event.listen(self.engine, "before_cursor_execute", self._statement)
        event.listen(Session, "after_commit", self._committed)
        return self

    def __exit__(self, *_exc):
        from sqlalchemy import event
        from sqlalchemy.orm import Session

        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(Session, "after_commit", self._committed)

    def _statement(self, _conn, _cursor, sql, *_args):
        self.sent += 1
        if self._taken is None and sql.lstrip().upper().startswith("UPDATE REFERENCE_COUNTER"):
            self._taken = time.perf_counter()

    def _committed(self, _session):
        if self._taken is not None:
            self.held_ms.append((time.perf_counter() - self._taken) * 1000)
            self._taken = None


def _send_in_process(app, engine, requests, count, warmup, profiler=None):
    """Send `warmup` then `count` requests through the test client; per measured request:
    (CPU ms of this process, wall ms, SQL statements, ms the reference counter was held)."""
    client = app.test_client()
    for n in range(warmup):
        _post(client, requests(n))
    samples = []
    with _StatementWatch(engine) as watch:
        if profiler is not None:
            profiler.start()
        try:
            for n in range(warmup, warmup + count):
                request, sent, held = requests(n), watch.sent, len(watch.held_ms)
                cpu0, wall0 = time.process_time(), time.perf_counter()
                _post(client, request)
                samples.append(((time.process_time() - cpu0) * 1000,
                                (time.perf_counter() - wall0) * 1000, watch.sent - sent,
                                sum(watch.held_ms[held:])))
        finally:
            if profiler is not None:
                profiler.stop()
    return samples


def _post(client, request):
    answer = client.post(request.path, data=request.body, headers=request.headers)
    if answer.status_code != 201:
        raise RuntimeError(f"POST {request.path}: HTTP {answer.status_code} {answer.text[:300]}")


def _in_process_summary(samples):
    cpu, wall, statements, held = zip(*samples, strict=True)
    return {"requests": len(samples), "cpu_ms_median": round(statistics.median(cpu), 2),
            "cpu_ms_mean": round(statistics.fmean(cpu), 2),
            "wall_ms_median": round(statistics.median(wall), 2),
            "statements": sorted(set(statements)),
            "counter_held_ms_median": round(statistics.median(held), 2)}


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
    print("\n| app | CPU ms/request | wall ms | SQL statements | counter held ms |")
    print("|---|---:|---:|---|---:|")
    cpu = {}
    for app, rounds in results.items():
        cpu[app] = statistics.median(r["cpu_ms_median"] for r in rounds)
        wall = statistics.median(r["wall_ms_median"] for r in rounds)
        held = statistics.median(r["counter_held_ms_median"] for r in rounds)
        statements = sorted({s for r in rounds for s in r["statements"]})
        print(f"| {app} | {cpu[app]:.2f} | {wall:.2f} | {statements} | {held:.2f} |")
    print(f"\nCPU per request in this process, reference / Kaketsuke: "
          f"{cpu['reference'] / cpu['kaketsuke']:.0%} (served, gunicorn, PostgreSQL and the "
          f"client add to both: --cpu-split)")
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
    parser.add_argument("--cpu-split", action="store_true",
                        help="served: CPU per request of gunicorn, PostgreSQL and the client")
    return load_defaults(parser.parse_args(argv))


def main(argv=None):
    args = parse_args(argv)
    if args.in_process:
        return main_in_process(args)
    rounds = []
    with scratch(args) as url:
        for n in range(args.rounds):
            measured = {}
            for app, measure in (("reference", measure_reference),
                                 ("kaketsuke", measure_kaketsuke)):
                result, split = measured[app] = measure(url, args)
                print_json(f"round {n + 1} {app}", result.as_dict())
                if split is not None:
                    print_json(f"round {n + 1} {app} cpu split", split.as_dict(result))
            rounds.append(measured)
    ratio = report_rounds([{app: result for app, (result, _) in measured.items()}
                           for measured in rounds], "requests", TARGET_RATIO)
    if args.cpu_split:
        report_split(rounds)
    return 0 if ratio >= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
