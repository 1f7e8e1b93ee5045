"""Benchmark: GET /api/v1/incidents with many incidents stored (DESIGN §8).

Target: open-incident list, 50 per page, with 1,000,000 incidents stored: p95 <= 20 ms server
time. The run recreates a scratch PostgreSQL database, builds the schema with the app's
migrations, bulk-loads incidents with server-side SQL (generate_series, no ORM per row), times
the API in-process with the Flask test client, times the same list query through bare
SQLAlchemy Core as a reference, prints EXPLAIN (ANALYZE, BUFFERS) of each list query, and drops
the database again (unless --keep).

    .venv/bin/python -m bench.incident_list                  # 100,000 incidents, about a minute
    .venv/bin/python -m bench.incident_list --rows 1000000   # the size the target names

The database named by --database-url is DROPPED and recreated: its name must contain "bench".
"""

import argparse
import itertools
import json
import math
import os
import platform
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import make_url

from app import create_app
from app.auth import create_token
from app.config import TestConfig, normalize_database_url
from app.domain.timeutil import utcnow
from app.extensions import db
from app.models import Incident, Organization, User
from app.services.incidents.queries import FILTERS
from app.services.paging import decode_cursor, encode_cursor
from workflows.incident import FINAL_STATES, STATES

URL = "/api/v1/incidents"
PAGE = 50
TARGET_P95_MS = 20.0
FOLLOW = 20  # next_cursor hops after each start page in the deep-paging case
ORGANIZATIONS = 200
TECHNICIANS = 40
YEARS = 3
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/kaketsuke_bench"

# Distributions (weights, normalised). Alerts are the volume path (DESIGN §1), so monitoring
# and "suspicious traffic" dominate; almost every incident older than two weeks is finished.
CHANNELS = {"monitoring": 55, "phone": 25, "web": 12, "email": 8}
CATEGORIES = {
    "suspicious_traffic": 30, "malware": 18, "phishing_bec": 14, "unauthorized_access": 9,
    "support_scam": 7, "vulnerability_exploit": 6, "data_leak": 5, "ransomware": 3, "dos": 2,
    "web_defacement": 2, "insider": 1, "other": 3,
}
SEVERITY_DEFAULT = {"critical": 4, "high": 18, "medium": 38, "low": 40}
SEVERITY_SERIOUS = {"critical": 25, "high": 40, "medium": 25, "low": 10}  # ransomware, leaks
SEVERITY_NOISE = {"critical": 1, "high": 9, "medium": 30, "low": 60}  # unconfirmed alerts
SERIOUS = ("ransomware", "data_leak", "web_defacement")
RECENT_OPEN = {
    "received": 25, "triaging": 20, "resolved_remotely": 8, "dispatch_requested": 5,
    "technician_assigned": 3, "en_route": 2, "on_site": 2, "onsite_completed": 5,
    "claim_preparing": 10, "claim_submitted": 8, "claim_info_requested": 4,
    "claim_approved": 4, "claim_denied": 2, "claim_paid": 2,
}
LONG_RUNNING = {  # the few old incidents still open: insurance claims take months
    "claim_preparing": 20, "claim_submitted": 35, "claim_info_requested": 25,
    "claim_approved": 15, "claim_paid": 5,
}
OPEN_STATES = [s for s in STATES if s not in FINAL_STATES]
SUMMARIES = {
    "suspicious_traffic": "UTMが不審な外部通信を検知",
    "malware": "PCがマルウェアに感染した疑い",
    "phishing_bec": "取引先を装った振込先変更メール",
    "unauthorized_access": "VPNへの不審なログイン",
    "support_scam": "偽の警告画面からサポートに電話した",
    "vulnerability_exploit": "公開サーバの脆弱性を突かれた",
    "data_leak": "顧客名簿をメールで誤送信",
    "ransomware": "画面に身代金要求が表示された",
    "dos": "Webサイトが応答しない",
    "web_defacement": "Webサイトが改ざんされた",
    "insider": "退職者のアカウントが使われた",
    "other": "その他の相談",
}
DESCRIPTION = ("社内の端末で不審な挙動を確認。"
               "ネットワークから切り離し、電源は切らずにログを保全した。")


@dataclass
class Case:
    """One measured request shape; `starts` makes it follow next_cursor from each start."""

    key: str
    title: str
    role: str
    params: dict
    starts: list | None = None
    api: bool = True
    open_states: bool = False  # Core only: state IN (every open state)
    result: dict = field(default_factory=dict)


class Recorder:
    """Collects the SQL sent while active (for statement counts and EXPLAIN)."""

    def __init__(self):
        self.active = False
        self.statements = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        if self.active:
            self.statements.append((statement, parameters))

    def capture(self, fn):
        """Run `fn` once and return the statements it sent."""
        self.statements, self.active = [], True
        try:
            fn()
        finally:
            self.active = False
        return self.statements


# --- database ---------------------------------------------------------------------------------

def admin_engine(url):
    """An autocommit engine on the server's `postgres` database, for DROP/CREATE DATABASE."""
    return create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")


def quoted(name):
    return '"' + name.replace('"', '""') + '"'


def drop_database(url):
    engine = admin_engine(url)
    with engine.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {quoted(url.database)} WITH (FORCE)")
    engine.dispose()


def recreate_database(url):
    drop_database(url)
    engine = admin_engine(url)
    with engine.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {quoted(url.database)}")
    engine.dispose()


def pick(column, weights):
    """A SQL CASE choosing a key of `weights` by the uniform random value in `column`."""
    total, acc, whens = sum(weights.values()), 0.0, []
    items = list(weights.items())
    for value, weight in items[:-1]:
        acc += weight / total
        whens.append(f"WHEN {column} < {acc:.6f} THEN '{value}'")
    return f"CASE {' '.join(whens)} ELSE '{items[-1][0]}' END"


def incident_insert_sql():
    """INSERT ... SELECT FROM generate_series: every value drawn server-side."""
    serious = ", ".join(f"'{c}'" for c in SERIOUS)
    summary = "CASE category " + " ".join(
        f"WHEN '{c}' THEN '{s}'" for c, s in SUMMARIES.items()) + " END"
    return f"""
WITH base AS (
    SELECT n, random() AS r_org, random() AS r_ch, random() AS r_cat, random() AS r_sev,
           random() AS r_open, random() AS r_state, random() AS r_txt, random() AS r_t,
           CAST(:start AS timestamp)
               + (n - 1 + random()) * :slot * interval '1 second' AS created_at
    FROM generate_series(1, :rows) AS n
), picked AS (
    SELECT base.*,
           :org_base + least(:orgs, floor(exp(r_org * ln(:orgs + 1)))::int) AS organization_id,
           {pick("r_ch", CHANNELS)} AS channel,
           {pick("r_cat", CATEGORIES)} AS category,
           extract(epoch FROM CAST(:now AS timestamp) - created_at) / 86400 AS age_days
    FROM base
), shaped AS (
    SELECT picked.*, extract(year FROM created_at)::int AS year,
           CASE WHEN category IN ({serious}) THEN {pick("r_sev", SEVERITY_SERIOUS)}
                WHEN category = 'suspicious_traffic' THEN {pick("r_sev", SEVERITY_NOISE)}
                ELSE {pick("r_sev", SEVERITY_DEFAULT)} END AS severity,
           CASE WHEN age_days < 14 AND r_open < 0.6 * exp(-age_days / 5.0)
                    THEN {pick("r_state", RECENT_OPEN)}
                WHEN r_open < 0.0005 THEN {pick("r_state", LONG_RUNNING)}
                WHEN r_state < 0.72 THEN 'closed'
                ELSE 'cancelled' END AS state
    FROM picked
), numbered AS (
    SELECT shaped.*, row_number() OVER (PARTITION BY year ORDER BY n) AS seq FROM shaped
)
INSERT INTO incident (
    id, reference, organization_id, channel, category, severity, summary, description,
    reporter_name, reporter_phone, reporter_email, occurred_at, discovered_at, discovery_source,
    state, assigned_technician_id, version, audit_head, event_count, created_at, updated_at)
SELECT n, 'INC-' || year || '-' || lpad(seq::text, 6, '0'), organization_id, channel,
       category, severity, {summary} || ' #' || (n % 997),
       repeat('{DESCRIPTION}', 1 + floor(r_txt * 5)::int),
       CASE WHEN channel = 'monitoring' THEN '' ELSE '担当者' || (n % 500) END,
       CASE WHEN channel = 'monitoring' THEN '' ELSE '+8130' || lpad((n % 99999999)::text, 8, '0')
       END,
       CASE WHEN channel = 'email' THEN 'user' || (n % 500) || '@org' || organization_id
                                          || '.example.jp' ELSE '' END,
       CASE WHEN r_t < 0.3 THEN NULL ELSE created_at - r_t * interval '2 days' END,
       created_at - r_t * interval '1 hour',
       CASE WHEN channel = 'monitoring' THEN 'alert' WHEN r_t < 0.1 THEN 'external_notice'
            ELSE 'user' END,
       state,
       CASE WHEN state IN ('technician_assigned', 'en_route', 'on_site', 'onsite_completed')
                 OR (state = 'closed' AND r_txt < 0.02)
            THEN :tech_base + 1 + floor(r_t * :techs)::int END,
       CASE state WHEN 'received' THEN 1 WHEN 'closed' THEN 5 WHEN 'cancelled' THEN 3
            ELSE 4 END,
       '', 0, created_at,
       least(CAST(:now AS timestamp), created_at + CASE WHEN state IN ('closed', 'cancelled')
             THEN r_t * interval '10 days' ELSE r_t * interval '1 hour' END)
FROM numbered ORDER BY n
"""


ORGANIZATIONS_SQL = """
INSERT INTO organization (code, name, address, prefecture, industry, employees, created_at)
SELECT 'BENCH-' || lpad(n::text, 4, '0'), 'ベンチ株式会社' || n, '東京都千代田区1-' || n,
       1 + (n * 7) % 47,
       (ARRAY['製造業', '小売業', '建設業', '医療・福祉', '士業', '運輸業'])[1 + n % 6],
       5 + (n * 37) % 300, CAST(:start AS timestamp)
FROM generate_series(1, :orgs) AS n
"""

TECHNICIANS_SQL = """
INSERT INTO technician (name, company, phone, email, prefectures, skills, hourly_rate, active)
SELECT '技術者' || n, 'ベンチサポート', '+8190' || lpad(n::text, 8, '0'),
       'tech' || n || '@bench.example',
       CAST('[13, 14, 11]' AS json), CAST('["malware", "ransomware"]' AS json), 8000, true
FROM generate_series(1, :techs) AS n
"""

COUNTERS_SQL = """
INSERT INTO reference_counter (year, last_value)
SELECT CAST(substr(reference, 5, 4) AS int), max(CAST(substr(reference, 10) AS int))
FROM incident GROUP BY 1
"""


def load(rows, seed):
    """Organizations, technicians and `rows` incidents, then VACUUM ANALYZE; returns timings."""
    now = utcnow().replace(microsecond=0)  # naive UTC, as the app stores times
    start = now - timedelta(days=365 * YEARS)
    timings = {}
    t0 = time.perf_counter()
    session = db.session
    session.execute(text("SELECT setseed(:seed)"), {"seed": seed})
    session.execute(text("SET LOCAL work_mem = '256MB'"))
    session.execute(text(ORGANIZATIONS_SQL), {"start": start, "orgs": ORGANIZATIONS})
    session.execute(text(TECHNICIANS_SQL), {"techs": TECHNICIANS})
    org_base = session.scalar(text("SELECT min(id) - 1 FROM organization"))
    tech_base = session.scalar(text("SELECT min(id) - 1 FROM technician"))
    session.execute(text(incident_insert_sql()), {
        "rows": rows, "start": start, "now": now, "slot": (now - start).total_seconds() / rows,
        "orgs": ORGANIZATIONS, "org_base": org_base, "techs": TECHNICIANS,
        "tech_base": tech_base})
    session.execute(text(
        "SELECT setval(pg_get_serial_sequence('incident', 'id'), (SELECT max(id) FROM incident))"))
    session.execute(text(COUNTERS_SQL))
    session.commit()
    timings["insert_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM (ANALYZE)")
    timings["vacuum_analyze_s"] = time.perf_counter() - t0
    return timings


def callers(largest_org):
    """A desk user and a customer of the largest organization, each with a fresh token."""
    tokens = {}
    for role, org in (("desk", None), ("customer", largest_org)):
        email = f"{role}@bench.example"
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            user = User(email=email, name=f"bench {role}", role=role, organization_id=org)
            user.set_password("bench")
            db.session.add(user)
            db.session.commit()
        tokens[role] = create_token(user)
    return tokens


def describe():
    """What is stored: counts by state group, the largest organization, sizes."""
    q = db.session.scalar
    largest = db.session.execute(text(
        "SELECT organization_id, count(*) FROM incident GROUP BY 1 ORDER BY 2 DESC LIMIT 1")).one()
    smallest = q(text("SELECT min(c) FROM (SELECT count(*) AS c FROM incident GROUP BY "
                      "organization_id) AS per_org"))
    return {
        "incidents": q(text("SELECT count(*) FROM incident")),
        "open": q(text("SELECT count(*) FROM incident WHERE state NOT IN ('closed', 'cancelled')")),
        "received": q(text("SELECT count(*) FROM incident WHERE state = 'received'")),
        "closed": q(text("SELECT count(*) FROM incident WHERE state = 'closed'")),
        "largest_org": largest[0], "largest_org_incidents": largest[1],
        "smallest_org_incidents": smallest,
        "ransomware_critical": q(text("SELECT count(*) FROM incident WHERE category = "
                                      "'ransomware' AND severity = 'critical'")),
        "heap_mb": round(float(q(text("SELECT pg_relation_size('incident')"))) / 2**20),
        "indexes_mb": round(float(q(text("SELECT pg_indexes_size('incident')"))) / 2**20),
    }


# --- cases --------------------------------------------------------------------------------

def deep_starts(depths):
    """Cursors into the closed list at the given fractions of its length (None = page 1)."""
    closed = db.session.scalar(text("SELECT count(*) FROM incident WHERE state = 'closed'"))
    starts = []
    for depth in depths:
        if depth == 0:
            starts.append(None)
            continue
        offset = min(closed - 1, int(closed * depth))
        row_id = db.session.scalar(text(
            "SELECT id FROM incident WHERE state = 'closed' ORDER BY id DESC OFFSET :k LIMIT 1"),
            {"k": offset})
        starts.append(encode_cursor(row_id))
    return starts


def id_cursors(depths):
    """Cursors at the given fractions of the whole id range (None = page 1)."""
    top = db.session.scalar(text("SELECT max(id) FROM incident"))
    return [encode_cursor(int(top * (1 - d))) if d else None for d in depths]


def build_cases(info):
    org = info["largest_org"]
    return [
        Case("a", "desk, first page, no filter", "desk", {}),
        Case("b", "desk, state=received (open list)", "desk", {"state": "received"}),
        Case("c", f"desk, state=closed, deep pages (+{FOLLOW} next_cursor hops from 0/25/50/"
                  "75/95% depth)", "desk", {"state": "closed"},
             starts=deep_starts([0, 0.25, 0.5, 0.75, 0.95])),
        Case("d", f"desk, organization_id={org} (largest org)", "desk",
             {"organization_id": org}),
        Case("e", "desk, category=ransomware & severity=critical", "desk",
             {"category": "ransomware", "severity": "critical"}),
        Case("f", "customer of the largest org (scoped), no filter", "customer", {}),
        Case("g", "extra: desk, rare combination insider & critical & email", "desk",
             {"category": "insider", "severity": "critical", "channel": "email"}),
        Case("x", "reference only: every open state (state IN ...), page 1 and pages at "
                  "50%/90% of the ids; not an API filter", "desk", {},
             starts=id_cursors([0, 0.5, 0.9]), api=False, open_states=True),
    ]


# --- measuring ----------------------------------------------------------------------------

def run_api(client, token, case, count):
    """Time `count` API requests of `case`; returns the samples (ms) and the queries sent."""
    headers = {"Authorization": f"Bearer {token}"}
    starts = itertools.cycle(case.starts or [None])
    cursor, hops, samples, sent = next(starts), 0, [], []
    while len(samples) < count:
        query = dict(case.params, **({"cursor": cursor} if cursor else {}))
        t0 = time.perf_counter()
        response = client.get(URL, query_string=query, headers=headers)
        samples.append((time.perf_counter() - t0) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"case {case.key}: HTTP {response.status_code} {response.data!r}")
        sent.append(query)
        hops += 1
        next_cursor = response.json["next_cursor"] if case.starts else None
        if next_cursor and hops <= FOLLOW:
            cursor = next_cursor
        else:
            cursor, hops = next(starts), 0
    return samples, sent


def core_statement(table, case, query, scope_org):
    """The page's data (incidents and their organization's name) in one plain Core select."""
    org = Organization.__table__
    stmt = select(table, org.c.name.label("organization_name")).join(
        org, org.c.id == table.c.organization_id)
    if scope_org is not None:
        stmt = stmt.where(table.c.organization_id == scope_org)
    if case.open_states:
        stmt = stmt.where(table.c.state.in_(OPEN_STATES))
    for name in FILTERS:
        if name in query:
            stmt = stmt.where(table.c[name] == query[name])
    if "cursor" in query:
        stmt = stmt.where(table.c.id < decode_cursor(query["cursor"]))
    return stmt.order_by(table.c.id.desc()).limit(PAGE + 1)


def run_core(engine, case, queries, scope_org):
    """Time the same queries through bare Core: build, execute, fetch 51 rows."""
    table, samples = Incident.__table__, []
    for query in queries:
        t0 = time.perf_counter()
        with engine.connect() as conn:
            conn.execute(core_statement(table, case, query, scope_org)).all()
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def percentile(ordered, p):
    """Nearest-rank percentile of an already sorted list."""
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def stats(samples):
    ordered = sorted(samples)
    return {"n": len(ordered), "p50": percentile(ordered, 50), "p95": percentile(ordered, 95),
            "p99": percentile(ordered, 99), "max": ordered[-1]}


def list_statement(statements):
    """The incident list SELECT among the statements a request sent."""
    for statement, parameters in statements:
        if "FROM incident" in statement and "LIMIT" in statement:
            return statement, parameters
    raise LookupError("no incident list statement was sent")


def explain(engine, statement, parameters):
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
        return [row[0] for row in rows]


def measure(app, case, tokens, core, recorder, args, scope_orgs):
    """API and Core timings of one case, statement count per request, and the plans."""
    client = app.test_client()
    scope_org = scope_orgs.get(case.role)
    queries = [dict(case.params, **({"cursor": c} if c else {}))
               for c in itertools.islice(itertools.cycle(case.starts or [None]), args.requests)]
    if case.api:
        run_api(client, tokens[case.role], case, args.warmup)
        samples, queries = run_api(client, tokens[case.role], case, args.requests)
        case.result["api"] = stats(samples)
        sent = recorder.capture(lambda: run_api(client, tokens[case.role], case, 1))
        case.result["statements"] = len(sent)
    else:
        sent = recorder.capture(lambda: run_core(core, case, queries[:1], scope_org))
    run_core(core, case, queries[:args.warmup], scope_org)
    case.result["core"] = stats(run_core(core, case, queries, scope_org))
    case.result["plan"] = explain(core, *list_statement(sent))
    if case.starts:  # the plan of the deepest page, where an index problem would show
        deepest = min((q for q in queries if "cursor" in q),
                      key=lambda q: decode_cursor(q["cursor"]))
        stmt = core_statement(Incident.__table__, case, deepest, scope_org)
        deep = recorder.capture(lambda: _execute(core, stmt))
        case.result["plan_deep"] = explain(core, *list_statement(deep))


def _execute(engine, stmt):
    with engine.connect() as conn:
        conn.execute(stmt).all()


# --- reporting ----------------------------------------------------------------------------

def machine(conn):
    """Where the numbers come from."""
    meminfo = Path("/proc/meminfo").read_text().split()
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo
                  if line.startswith("model name")), platform.processor())
    settings = {name: conn.exec_driver_sql(f"SHOW {name}").scalar()
                for name in ("shared_buffers", "work_mem", "effective_cache_size", "jit")}
    return {"cores": os.cpu_count(), "ram_gib": round(int(meminfo[1]) / 1024 / 1024, 1),
            "cpu": model, "postgresql": conn.exec_driver_sql("SELECT version()").scalar(),
            "postgresql_settings": settings, "python": platform.python_version(),
            "date": datetime.now().astimezone().isoformat(timespec="seconds")}


def fmt(value):
    return f"{value:.2f}"


def report(cases, info, rows):
    """A Markdown results table; the API/Core ratio is of the medians."""
    print(f"\n## Results: {rows:,} incidents ({info['open']:,} open, {info['received']:,} "
          f"received, largest org {info['largest_org_incidents']:,})\n")
    print("| case | API p50 | API p95 | API p99 | API max | SQL/req | Core p50 | Core p95 "
          "| API/Core p50 | p95 <= 20 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for case in cases:
        core = case.result["core"]
        api = case.result.get("api")
        if api is None:
            cells = ["—"] * 5 + [fmt(core["p50"]), fmt(core["p95"]), "—",
                                 "yes (Core)" if core["p95"] <= TARGET_P95_MS else "NO (Core)"]
        else:
            cells = [fmt(api["p50"]), fmt(api["p95"]), fmt(api["p99"]), fmt(api["max"]),
                     str(case.result["statements"]), fmt(core["p50"]), fmt(core["p95"]),
                     f"{api['p50'] / core['p50']:.1f}x",
                     "yes" if api["p95"] <= TARGET_P95_MS else "NO"]
        print(f"| ({case.key}) {case.title} | " + " | ".join(cells) + " |")
    print("\nms per request; API = Flask test client (routing, token look-up, query, "
          "serialization); Core = one SELECT of the same rows (incident joined to its "
          "organization) through SQLAlchemy Core, no Flask.")


def print_plans(cases):
    for case in cases:
        print(f"\n### EXPLAIN (ANALYZE, BUFFERS): ({case.key}) {case.title}\n")
        print("\n".join(case.result["plan"]))
        if "plan_deep" in case.result:
            print(f"\n### deepest page of ({case.key})\n")
            print("\n".join(case.result["plan_deep"]))


# --- main ---------------------------------------------------------------------------------

def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000,
                        help="incidents to load (default 100000; the target names 1000000)")
    parser.add_argument("--database-url", default=DEFAULT_URL,
                        help="scratch PostgreSQL database, DROPPED and recreated "
                             "(its name must contain 'bench')")
    parser.add_argument("--requests", type=int, default=300, help="timed requests per case")
    parser.add_argument("--warmup", type=int, default=30, help="untimed requests per case first")
    parser.add_argument("--seed", type=float, default=0.42, help="PostgreSQL setseed() value")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--reuse", action="store_true",
                        help="measure a database kept by an earlier --keep run, without loading")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    return parser.parse_args(argv)


def prepare(app, args, url):
    """Schema and data (unless --reuse); returns what is stored and the load timings."""
    import flask_migrate

    timings = {}
    with app.app_context():
        if not args.reuse:
            t0 = time.perf_counter()
            flask_migrate.upgrade()
            timings["migrate_s"] = time.perf_counter() - t0
            timings |= load(args.rows, args.seed)
        info = describe()
        db.session.remove()
    print(f"loaded into {url.database}: {json.dumps(info, default=str)}")
    print(f"timings: {json.dumps({k: round(v, 1) for k, v in timings.items()})}")
    return info, timings


def run(app, args, url, core):
    """Load, measure every case, print the report; returns the results for --json."""
    info, timings = prepare(app, args, url)
    recorder = Recorder()
    with app.app_context():
        tokens = callers(info["largest_org"])
        cases = build_cases(info)
        event.listen(db.engine, "before_cursor_execute", recorder)
        db.session.remove()
    event.listen(core, "before_cursor_execute", recorder)
    scope_orgs = {"customer": info["largest_org"]}
    window = {"start": time.time(), "loadavg_before": os.getloadavg()}
    print(f"measuring from {window['start']:.0f} (epoch s)", flush=True)
    for case in cases:  # no app context held open around test-client requests
        measure(app, case, tokens, core, recorder, args, scope_orgs)
        print(f"measured ({case.key}) {case.title}", flush=True)
    window |= {"end": time.time(), "loadavg_after": os.getloadavg()}
    report(cases, info, args.rows)
    # Other work on the machine skews the tail: a 2-core box has no spare core.
    print(f"measured from {window['start']:.0f} to {window['end']:.0f} (epoch s); load average "
          f"(1, 5, 15 min) before {window['loadavg_before']}, after {window['loadavg_after']}")
    print_plans(cases)
    return {"rows": args.rows, "requests": args.requests, "info": info, "timings": timings,
            "window": window,
            "cases": {c.key: {"title": c.title, **c.result} for c in cases}}


def main(argv=None):
    args = parse_args(argv)
    url = make_url(normalize_database_url(args.database_url))
    if "bench" not in (url.database or ""):
        raise SystemExit(f"refusing to drop {url.database!r}: the name must contain 'bench'")
    core = create_engine(url)
    admin = admin_engine(url)
    with admin.connect() as conn:
        env = machine(conn)
    admin.dispose()
    print(json.dumps(env, ensure_ascii=False))
    if not args.reuse:
        recreate_database(url)
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url.render_as_string(hide_password=False))
    try:
        results = run(app, args, url, core)
        if args.json:
            args.json.write_text(json.dumps({"machine": env, **results}, ensure_ascii=False,
                                            indent=1, default=str))
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        core.dispose()
        if not args.keep:
            drop_database(url)
            print(f"dropped {url.database} (use --keep to keep it)")


if __name__ == "__main__":
    main()
