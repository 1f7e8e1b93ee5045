"""What the gunicorn benchmarks share: scratch databases, percentiles, an HTTP load driver.

The load driver is closed-loop: each of `concurrency` threads sends its next request as soon
as the previous one is answered, over the standard library's http.client (gunicorn's sync
workers close the connection after each response, so every request opens a new one, as
behind a proxy that does not keep connections to the backend). Only requests answered inside
the measuring window count; the warm-up before it is not measured.
"""

import http.client
import json
import math
import os
import platform
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from app.config import normalize_database_url

SERVER = "postgresql://postgres@127.0.0.1:5432"
HTTP_TIMEOUT_SECONDS = 30


# --- scratch databases ----------------------------------------------------------------------

def bench_url(url):
    """The SQLAlchemy URL of a scratch database; refuses any name without 'bench' in it."""
    parsed = make_url(normalize_database_url(url))
    if "bench" not in (parsed.database or ""):
        raise SystemExit(f"refusing to use {parsed.database!r}: the name must contain 'bench'")
    return parsed


def _admin(url):
    return create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")


def recreate_database(url):
    """DROP (forcing other sessions off) and CREATE the scratch database `url`."""
    name = '"' + url.database.replace('"', '""') + '"'
    engine = _admin(url)
    with engine.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    engine.dispose()


def drop_database(url):
    name = '"' + url.database.replace('"', '""') + '"'
    engine = _admin(url)
    with engine.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    engine.dispose()


def plain_url(url):
    """The URL as a string with its password, for DATABASE_URL of child processes."""
    return url.render_as_string(hide_password=False)


def scratch_options(parser, default_url):
    """The options every benchmark has: its scratch database and whether to keep it."""
    parser.add_argument("--database-url", default=default_url,
                        help="scratch database, DROPPED and recreated (name contains 'bench')")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")


def load_options(parser):
    """The options of the throughput benchmarks (reference and Kaketsuke, in rounds)."""
    parser.add_argument("--full", action="store_true",
                        help="the full run: 60 s per app, 2 rounds")
    parser.add_argument("--duration", type=float, help="measured seconds per app (default 10)")
    parser.add_argument("--rounds", type=int, help="reference + Kaketsuke rounds (default 1)")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds first")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client threads")


def load_defaults(args):
    """The sizes --full stands for; returns args."""
    args.duration = args.duration or (60.0 if args.full else 10.0)
    args.rounds = args.rounds or (2 if args.full else 1)
    return args


@contextmanager
def scratch(args):
    """The run's scratch database URL; the machine and settings are printed first, and the
    database is dropped afterwards (unless --keep), with how busy the machine was by then."""
    url = bench_url(args.database_url)
    print_json("machine", machine())
    print_json("settings", {k: v for k, v in vars(args).items() if k != "database_url"})
    try:
        yield url
    finally:
        if not args.keep:
            drop_database(url)
        print_json("machine after", machine())


# --- numbers --------------------------------------------------------------------------------

def fresh_organization():
    """Empty tables, then one organization (BENCH) and a desk user its alerts page: the
    alert benchmarks' starting point, in the caller's app context."""
    from app.extensions import db
    from app.models import Organization, User
    db.drop_all()
    db.create_all()
    organization = Organization(code="BENCH", name="ベンチ株式会社", prefecture=13)
    db.session.add_all([organization, User(email="desk@bench.example", name="desk",
                                           role="desk", phone="+819000000000")])
    db.session.commit()
    return organization


def percentile(ordered, p):
    """Nearest-rank percentile of an already sorted list (None when empty)."""
    if not ordered:
        return None
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def summary(samples_ms):
    """n, p50, p95, p99 and max of latencies in ms."""
    ordered = sorted(samples_ms)
    return {"n": len(ordered), "p50": percentile(ordered, 50), "p95": percentile(ordered, 95),
            "p99": percentile(ordered, 99), "max": ordered[-1] if ordered else None}


def ms(value):
    return "—" if value is None else f"{value:.1f}"


def machine():
    """Where the numbers come from, and how busy the machine was when they were taken."""
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo
                  if line.startswith("model name")), platform.processor())
    return {"cores": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "loadavg": os.getloadavg(),
            "date": datetime.now().astimezone().isoformat(timespec="seconds")}


def print_json(label, value):
    print(f"{label}: {json.dumps(value, ensure_ascii=False, default=str)}", flush=True)


# --- HTTP -----------------------------------------------------------------------------------

@dataclass
class Request:
    """One request to send: method, path (with query), body bytes and headers."""

    method: str
    path: str
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    weight: int = 1  # what it counts for in the throughput (e.g. alerts in a batch)


def connection(base_url):
    parts = urlsplit(base_url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=HTTP_TIMEOUT_SECONDS)


def send(conn, request):
    """Send one request on `conn` (reconnecting as needed); (status, body bytes)."""
    conn.request(request.method, request.path, body=request.body or None,
                 headers=request.headers)
    response = conn.getresponse()
    data = response.read()
    if response.will_close:
        conn.close()  # the next request opens a new connection
    return response.status, data


@dataclass
class LoadResult:
    """What a load run measured inside its window."""

    duration_s: float
    latencies_ms: list
    units: int  # sum of the weights of the successful requests in the window
    errors: dict  # status (or exception name) -> count, in the window
    client_cpu: float  # this process's CPU seconds per wall second in the window
    first_error: str = ""
    all_units: int = 0  # weights of every successful request, warm-up and tail included

    @property
    def requests_per_s(self):
        return len(self.latencies_ms) / self.duration_s

    @property
    def units_per_s(self):
        return self.units / self.duration_s

    def as_dict(self):
        return {"duration_s": round(self.duration_s, 2), "requests": len(self.latencies_ms),
                "requests_per_s": round(self.requests_per_s, 1),
                "units_per_s": round(self.units_per_s, 1), "latency_ms": summary(
                    self.latencies_ms), "errors": self.errors,
                "client_cpu": round(self.client_cpu, 2), "first_error": self.first_error}


class _Window:
    """The measuring window shared by the load threads."""

    def __init__(self, warmup, duration):
        self.start = time.monotonic() + warmup
        self.end = self.start + duration
        self.lock = threading.Lock()
        self.latencies, self.units, self.errors, self.first_error = [], 0, {}, ""
        self.all_units = 0

    def record(self, started, finished, ok, weight, error):
        if ok:
            with self.lock:
                self.all_units += weight
        if started < self.start or finished > self.end:
            return  # warm-up, or answered after the window closed
        with self.lock:
            if ok:
                self.latencies.append((finished - started) * 1000)
                self.units += weight
            else:
                self.errors[error] = self.errors.get(error, 0) + 1


def _load_thread(base_url, requests, window, accept, index):
    conn = connection(base_url)
    n = index
    while time.monotonic() < window.end:
        request = requests(n)
        n += 1
        started = time.monotonic()
        try:
            status, data = send(conn, request)
            ok, error = accept(status), str(status)
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            ok, error, data = False, type(exc).__name__, b""
        finished = time.monotonic()
        if not ok and not window.first_error:
            window.first_error = f"{error}: {data[:300]!r}"
        window.record(started, finished, ok, request.weight, error)
    conn.close()


def run_load(base_url, requests, *, concurrency, duration, warmup, accept=None):
    """Closed-loop load: `requests(n)` gives the n-th Request; returns a LoadResult."""
    accept = accept or (lambda status: 200 <= status < 300)
    window = _Window(warmup, duration)
    threads = [threading.Thread(target=_load_thread, daemon=True,
                                args=(base_url, requests, window, accept, i * 1_000_003))
               for i in range(concurrency)]
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, window.start - time.monotonic()))
    cpu0 = time.process_time()
    time.sleep(max(0.0, window.end - time.monotonic()))
    cpu = time.process_time() - cpu0
    for thread in threads:
        thread.join(HTTP_TIMEOUT_SECONDS + 5)
    return LoadResult(duration, window.latencies, window.units, window.errors,
                      cpu / duration, window.first_error, window.all_units)


def get_json(base_url, path, headers=None):
    """GET and decode JSON (for set-up steps); raises on a non-2xx answer."""
    conn = connection(base_url)
    try:
        status, data = send(conn, Request("GET", path, headers=headers or {}))
    finally:
        conn.close()
    if not 200 <= status < 300:
        raise RuntimeError(f"GET {path}: HTTP {status} {data[:300]!r}")
    return json.loads(data)


def post_json(base_url, path, payload, headers=None, conn=None):
    """POST JSON and decode the answer; raises on a non-2xx answer."""
    own = conn is None
    conn = conn or connection(base_url)
    body = json.dumps(payload).encode()
    try:
        status, data = send(conn, Request("POST", path, body, {
            "Content-Type": "application/json", **(headers or {})}))
    finally:
        if own:
            conn.close()
    if not 200 <= status < 300:
        raise RuntimeError(f"POST {path}: HTTP {status} {data[:300]!r}")
    return json.loads(data) if data else None


def report_rounds(rounds, unit, target_ratio):
    """A Markdown table of each round ({"reference": LoadResult, "kaketsuke": ...}) and the
    ratio of Kaketsuke's to the reference's throughput over all rounds; returns the ratio."""
    extra = unit != "requests"  # a batch endpoint: requests/s beside its units/s
    print(f"\n| round | app | {unit}/s |" + (" requests/s |" if extra else "")
          + " p50 ms | p99 ms | max ms | errors | client CPU |")
    print("|---|---|---:|" + ("---:|" if extra else "") + "---:|---:|---:|---|---:|")
    totals = {}
    for n, measured in enumerate(rounds, start=1):
        for app, result in measured.items():
            lat = summary(result.latencies_ms)
            print(f"| {n} | {app} | {result.units_per_s:.1f} |"
                  + (f" {result.requests_per_s:.1f} |" if extra else "")
                  + f" {ms(lat['p50'])} | {ms(lat['p99'])} | {ms(lat['max'])} | "
                  f"{result.errors or '—'} | {result.client_cpu:.0%} |")
            units, seconds = totals.get(app, (0, 0.0))
            totals[app] = (units + result.units, seconds + result.duration_s)
    rate = {app: units / seconds for app, (units, seconds) in totals.items()}
    ratio = rate["kaketsuke"] / rate["reference"]
    print(f"\nKaketsuke {rate['kaketsuke']:.1f} {unit}/s, reference {rate['reference']:.1f} "
          f"{unit}/s: ratio {ratio:.0%} (target >= {target_ratio:.0%}): "
          f"{'PASS' if ratio >= target_ratio else 'MISS'}")
    return ratio
