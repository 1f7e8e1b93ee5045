"""Benchmark: the dispatcher's board and the open-incident list under gunicorn (DESIGN §8).

Target: with 1,000,000 incidents stored, a page of the open-incident list (50 rows) has
p95 <= 20 ms server time; the dispatcher's board is held to the same bar. The data are
bench/incident_list.py's (the same generator and seed: organizations, 40 technicians, N
incidents over three years, mostly closed), plus what the board shows: every technician on
call now, for each incident in a board state its live dispatch (an open offer with its
three pending escalation timers for `dispatch_requested`, the accepted visit for
`technician_assigned`, `en_route` and `on_site`), and the running SLA clocks the lists show
(first response of a `received` incident; acknowledgement and arrival of one waiting for a
technician, arrival of one assigned or on the way), started at random within twice their
target so that some are on time, some near and some in breach.

Kaketsuke runs under gunicorn (bench/serve.py) with its access log on, so each request's
server time (gunicorn's `%(D)s`, from the request read to the response written) is known
beside the client's round trip. One request at a time, after a warm-up:

(a) the dispatcher's board `GET /dispatch/` (logged in as a dispatcher): its first page,
    the 50 longest waiting incidents (app/web/dispatch/views.py BOARD_PAGE);
(b) the desk's open list `GET /desk/?state=received` (HTML, logged in as the desk);
(c) the API `GET /api/v1/incidents?state=received` (desk token).

The reference, in the same run and under the same gunicorn settings, is the bare app
(bench/reference_app.py) reading the same rows with one Core SELECT: (a) the board's states,
50 rows; (b) and (c) `state=received`, 50 rows. The ratio is of the server-time medians.

    .venv/bin/python -m bench.board                   # 100,000 incidents (validation size)
    .venv/bin/python -m bench.board --full            # 1,000,000 incidents
    .venv/bin/python -m bench.board --keep            # keep the loaded database, then ...
    .venv/bin/python -m bench.board --reuse --keep    # ... measure it again without loading
"""

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

import requests
from sqlalchemy import bindparam, text

from app.web.dispatch.views import BOARD_PAGE, BOARD_STATES
from bench import incident_list, serve
from bench.common import (
    ms,
    plain_url,
    print_json,
    scratch,
    scratch_options,
    summary,
)

TARGET_P95_MS = 20.0
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench_board"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

SHIFTS_SQL = """
INSERT INTO on_call_shift (technician_id, starts_at, ends_at, note)
SELECT id, CAST(:now AS timestamp) - interval '12 hours', CAST(:now AS timestamp)
       + interval '12 hours', 'bench' FROM technician
"""
# Each board incident's live dispatch; the technician is the assigned one, or one by id.
DISPATCHES_SQL = """
INSERT INTO dispatch (incident_id, technician_id, state, version, offered_at, offered_by,
                      escalation_step, responded_at, decline_reason, cancel_reason,
                      work_report, signoff_name)
SELECT i.id, coalesce(i.assigned_technician_id,
                      (SELECT min(id) FROM technician) + i.id % 40),
       CASE i.state WHEN 'dispatch_requested' THEN 'offered'
                    WHEN 'technician_assigned' THEN 'accepted' ELSE i.state END,
       1, i.updated_at, 'system', 1,
       CASE WHEN i.state = 'dispatch_requested' THEN NULL ELSE i.updated_at END,
       '', '', '', ''
FROM incident i WHERE i.state IN :states
"""
TIMERS_SQL = """
INSERT INTO escalation_step (dispatch_id, step, action, due_at, status, outcome)
SELECT d.id, s.step, s.action, CAST(:now AS timestamp) + s.minutes * interval '1 minute',
       'pending', ''
FROM dispatch d
CROSS JOIN (VALUES (2, 'voice', 3), (3, 'next_candidate', 10), (4, 'page_dispatcher', 15))
     AS s (step, action, minutes)
WHERE d.state = 'offered'
"""
# The running clocks of the open incidents the lists show (24-hour calendar, 80% warning).
CLOCKS_SQL = """
INSERT INTO sla_clock (incident_id, name, calendar, target_minutes, started_at, warn_at,
                       due_at, outcome)
SELECT i.id, c.name, '24h', c.minutes, s.started_at,
       s.started_at + c.minutes * 0.8 * interval '1 minute',
       s.started_at + c.minutes * interval '1 minute', 'running'
FROM incident i
JOIN (VALUES ('received', 'first_response', 60), ('dispatch_requested', 'acknowledgement', 30),
             ('dispatch_requested', 'arrival', 240), ('technician_assigned', 'arrival', 240),
             ('en_route', 'arrival', 240)) AS c (state, name, minutes) ON c.state = i.state
CROSS JOIN LATERAL (SELECT CAST(:now AS timestamp)
                           - random() * 2 * c.minutes * interval '1 minute') AS s (started_at)
"""


def load(url, rows, seed):
    """incident_list's data, the board's dispatches and timers, and the people who look."""
    from app.domain.timeutil import utcnow
    from app.extensions import db
    from app.testkit import factories

    serve.prepare_kaketsuke(url)
    app = serve.kaketsuke_app(url)
    with app.app_context():
        timings = incident_list.load(rows, seed)
        now = utcnow()
        dispatches = text(DISPATCHES_SQL).bindparams(bindparam("states", expanding=True))
        db.session.execute(text(SHIFTS_SQL), {"now": now})
        db.session.execute(dispatches, {"states": list(BOARD_STATES)})
        db.session.execute(text(TIMERS_SQL), {"now": now})
        db.session.execute(text(CLOCKS_SQL), {"now": now})
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(
                "VACUUM (ANALYZE) dispatch, escalation_step, on_call_shift, sla_clock")
        people = {role: factories.make_user(role) for role in ("dispatcher", "desk")}
        info = {"timings": timings, **_describe(people)}
        db.session.remove()
        db.engine.dispose()
    return info


def reuse(url):
    """What a database kept by an earlier run holds, and a new token of its desk user."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import User

    app = serve.kaketsuke_app(url)
    with app.app_context():
        people = {role: db.session.scalars(select(User).where(User.role == role)
                                           .order_by(User.id)).first()
                  for role in ("dispatcher", "desk")}
        info = _describe(people)
        db.session.remove()
        db.engine.dispose()
    return info


def _describe(people):
    """Incident counts (all, received, board states), the people's e-mails, a desk token."""
    from app.extensions import db

    count = "SELECT count(*) FROM incident WHERE state = :s"
    return {"incidents": db.session.scalar(text("SELECT count(*) FROM incident")),
            **{state: db.session.scalar(text(count), {"s": state})
               for state in ("received", *BOARD_STATES)},
            "emails": {role: user.email for role, user in people.items()},
            "desk_token": serve.api_token(people["desk"])}


def login(base_url, email, password):
    """A requests session logged in through the login form (CSRF token included)."""
    session = requests.Session()
    page = session.get(f"{base_url}/login", timeout=30)
    token = CSRF.search(page.text).group(1)
    answer = session.post(f"{base_url}/login", timeout=30, allow_redirects=False, data={
        "email": email, "password": password, "csrf_token": token})
    if answer.status_code != 302:
        raise RuntimeError(f"login as {email} failed: HTTP {answer.status_code}")
    return session


class AccessLog:
    """Server times (ms) of the requests logged since the last call, from gunicorn's log."""

    def __init__(self, path):
        self.path, self.offset = path, 0

    def since_last(self, path_prefix):
        with open(self.path) as log:
            log.seek(self.offset)
            lines = log.readlines()
            self.offset = log.tell()
        times = []
        for line in lines:
            method, path, status, micros = line.split()
            if path.startswith(path_prefix) and status == "200":
                times.append(int(micros) / 1000)
        return times


def time_case(session, url, count, log, prefix, headers=None):
    """Client round trips and server times (ms) of `count` GETs of `url`."""
    client = []
    for _ in range(count):
        started = time.perf_counter()
        answer = session.get(url, headers=headers, timeout=60, allow_redirects=False)
        client.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 200:
            raise RuntimeError(f"GET {url}: HTTP {answer.status_code}")
    time.sleep(0.2)  # gunicorn writes the access log line after the response
    return {"client": summary(client), "server": summary(log.since_last(prefix))}


def measure_kaketsuke(url, info, args, password):
    log_path = Path(tempfile.mkdtemp(prefix="kaketsuke-board-")) / "access.log"
    layout = serve.Layout(plain_url(url), "kaketsuke", args.workers, access_log=log_path)
    results = {}
    with serve.start(layout) as running:
        base = running.base_url
        log = AccessLog(log_path)
        dispatcher = login(base, info["emails"]["dispatcher"], password)
        desk = login(base, info["emails"]["desk"], password)
        api = requests.Session()
        auth = {"Authorization": f"Bearer {info['desk_token']}"}
        cases = {"board": (dispatcher, f"{base}/dispatch/", "/dispatch/", None),
                 "desk_list": (desk, f"{base}/desk/?state=received", "/desk/", None),
                 "api_list": (api, f"{base}/api/v1/incidents?state=received",
                              "/api/v1/incidents", auth)}
        for name, (session, page, prefix, headers) in cases.items():
            time_case(session, page, args.warmup, log, prefix, headers)
            results[name] = time_case(session, page, args.requests, log, prefix, headers)
            print_json(f"kaketsuke {name}", results[name])
    return results


def measure_reference(url, args):
    log_path = Path(tempfile.mkdtemp(prefix="reference-board-")) / "access.log"
    layout = serve.Layout(plain_url(url), "reference", args.workers, access_log=log_path)
    board = "&".join(f"state={s}" for s in BOARD_STATES)
    results = {}
    with serve.start(layout) as running:
        log, session = AccessLog(log_path), requests.Session()
        cases = {"board": f"{running.base_url}/incidents?{board}&limit={BOARD_PAGE}",
                 "list": f"{running.base_url}/incidents?state=received&limit=50"}
        for name, page in cases.items():
            time_case(session, page, args.warmup, log, "/incidents")
            results[name] = time_case(session, page, args.requests, log, "/incidents")
            print_json(f"reference {name}", results[name])
    return results


TITLES = {"board": "(a) dispatcher's board GET /dispatch/",
          "desk_list": "(b) desk open list GET /desk/?state=received",
          "api_list": "(c) API GET /api/v1/incidents?state=received"}
REFERENCE_OF = {"board": "board", "desk_list": "list", "api_list": "list"}


def report(kaketsuke, reference):
    """The table: server and client times, and the ratio of the server medians."""
    print("\n| case | server p50 | server p95 | server p99 | client p50 | client p95 | "
          "reference server p50 | ratio p50 | p95 <= 20 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    ok = True
    for name, title in TITLES.items():
        server, client = kaketsuke[name]["server"], kaketsuke[name]["client"]
        ref = reference[REFERENCE_OF[name]]["server"]
        met = server["p95"] <= TARGET_P95_MS
        ok = ok and met
        print(f"| {title} | {ms(server['p50'])} | {ms(server['p95'])} | {ms(server['p99'])} | "
              f"{ms(client['p50'])} | {ms(client['p95'])} | {ms(ref['p50'])} | "
              f"{server['p50'] / ref['p50']:.1f}× | {'yes' if met else '**no**'} |")
    return ok


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="1,000,000 incidents")
    parser.add_argument("--rows", type=int, help="incidents to load (default 100000)")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per case")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per case")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--seed", type=float, default=0.42, help="PostgreSQL setseed() value")
    parser.add_argument("--reuse", action="store_true",
                        help="measure a database kept by an earlier --keep run, without loading")
    scratch_options(parser, DEFAULT_URL)
    args = parser.parse_args(argv)
    args.rows = args.rows or (1_000_000 if args.full else 100_000)
    return args


def main(argv=None):
    from app.testkit.factories import PASSWORD

    args = parse_args(argv)
    with scratch(args) as url:
        info = reuse(url) if args.reuse else load(url, args.rows, args.seed)
        print_json("loaded", {k: v for k, v in info.items() if k != "desk_token"})
        kaketsuke = measure_kaketsuke(url, info, args, PASSWORD)
        reference = measure_reference(url, args)
    ok = report(kaketsuke, reference)
    print(f"\nserver p95 <= {TARGET_P95_MS:.0f} ms for every case: {'PASS' if ok else 'MISS'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
