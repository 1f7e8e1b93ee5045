"""Benchmark: many pending escalation timers coming due, fired by `flask worker` (DESIGN §8).

Target: with 10,000 pending escalation timers, each fires within 2 s of its due time. The
script stores `--timers` open offers (incidents in `dispatch_requested`, each with one offered
dispatch) and one pending timer per offer, due evenly over `--span` seconds starting a few
seconds after the workers are up. The mix is that of a real escalation policy's later steps:
60% `voice` (a call is queued), 25% `next_candidate` (the offer expires and the next
technician is offered the incident: an SMS and three new timers), 15% `page_dispatcher` (the
dispatchers get an SMS and an e-mail). Lateness is the worker's clock when it fired the timer
(`escalation_step.done_at`) minus the due time the script gave it.

Runs, each on a freshly created scratch database:
(ref) the reference: a bare timer loop in this process (SQLAlchemy Core; every 50 ms it takes
      each due row with FOR UPDATE SKIP LOCKED and marks it done, one transaction per timer),
      i.e. what firing costs with none of Kaketsuke's work;
(1)   one `flask worker` process; (2) two `flask worker` processes.
Workers send through NOTIFY_PROVIDER=twilio at the fake Twilio server (bench/serve.py).

    .venv/bin/python -m bench.escalation_timers          # 1,000 timers over 30 s (validation)
    .venv/bin/python -m bench.escalation_timers --full   # 10,000 timers over 300 s

Both sizes bring 33 timers due per second: three times the rate at which 10,000 pending
timers of a 15-minute escalation policy would fall due if spread evenly. `--span` sets
another rate; the table also gives the rate the workers fired at while behind (their
capacity), so the headroom is visible.
"""

import argparse
import sys
import threading
import time
from datetime import timedelta

from sqlalchemy import create_engine, text

from bench import serve
from bench.common import (
    plain_url,
    print_json,
    scratch,
    scratch_options,
    summary,
)

TARGET_SECONDS = 2.0
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench_timers"
LEAD_SECONDS = 3.0  # the first timer is due this long after the timers are stored
DRAIN_SECONDS = 300  # after the last due time, give up waiting after this long
REFERENCE_POLL_SECONDS = 0.05
ACTIONS = [("voice", 2)] * 12 + [("next_candidate", 3)] * 5 + [("page_dispatcher", 4)] * 3

INCIDENTS_SQL = """
INSERT INTO incident (reference, organization_id, channel, category, severity, summary,
                      description, reporter_name, reporter_phone, reporter_email,
                      discovered_at, discovery_source, state, version, audit_head,
                      event_count, created_at, updated_at)
SELECT 'TMR-' || lpad(n::text, 7, '0'),
       (CAST(:orgs AS int[]))[1 + n % cardinality(CAST(:orgs AS int[]))], 'phone',
       'ransomware', 'critical', '画面に身代金要求が表示された #' || n, '', '担当者', '', '',
       CAST(:now AS timestamp), 'user', 'dispatch_requested', 1, '', 0,
       CAST(:now AS timestamp), CAST(:now AS timestamp)
FROM generate_series(1, :timers) AS n ORDER BY n
"""
DISPATCHES_SQL = """
INSERT INTO dispatch (incident_id, technician_id, state, version, offered_at, offered_by,
                      escalation_step, decline_reason, cancel_reason, work_report, signoff_name)
SELECT i.id, (CAST(:techs AS int[]))[1 + i.id % cardinality(CAST(:techs AS int[]))],
       'offered', 1, CAST(:now AS timestamp), 'system', 1, '', '', '', ''
FROM incident i WHERE i.reference LIKE 'TMR-%' ORDER BY i.id
"""
STEPS_SQL = """
INSERT INTO escalation_step (dispatch_id, step, action, due_at, status, outcome)
SELECT d.id, (CAST(:steps AS int[]))[1 + k % cardinality(CAST(:steps AS int[]))],
       (CAST(:actions AS text[]))[1 + k % cardinality(CAST(:actions AS text[]))],
       CAST(:first AS timestamp) + (k * CAST(:span AS float) / :timers) * interval '1 second',
       'pending', ''
FROM (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM dispatch
      WHERE state = 'offered') AS d
RETURNING id, due_at
"""


def store_timers(engine, seeded, timers, span):
    """Store the offers and their timers; {step id: due_at} (due times naive UTC)."""
    from app.domain.timeutil import utcnow

    now = utcnow()
    first = now + timedelta(seconds=LEAD_SECONDS)
    params = {"now": now, "first": first, "timers": timers, "span": span,
              "orgs": seeded.organization_ids, "techs": seeded.technician_ids,
              "actions": [a for a, _ in ACTIONS], "steps": [s for _, s in ACTIONS]}
    with engine.begin() as conn:
        conn.execute(text(INCIDENTS_SQL), params)
        conn.execute(text(DISPATCHES_SQL), params)
        due = dict(conn.execute(text(STEPS_SQL), params).all())
    return due


def wait_fired(engine, due, span, running=None):
    """Wait until none of the timers is pending (or DRAIN_SECONDS after the last due time)."""
    deadline = time.monotonic() + LEAD_SECONDS + span + DRAIN_SECONDS
    ids = list(due)
    while time.monotonic() < deadline:
        if running is not None:
            running.check_alive()
        with engine.connect() as conn:
            pending = conn.execute(text(
                "SELECT count(*) FROM escalation_step WHERE status = 'pending' "
                "AND id = ANY(:ids)"), {"ids": ids}).scalar()
        if not pending:
            return 0
        time.sleep(0.5)
    return pending


def lateness(engine, due):
    """(due, fired) times of the fired timers, and the outcomes counted."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT id, done_at, outcome FROM escalation_step WHERE id = ANY(:ids)"),
            {"ids": list(due)}).all()
    fired, outcomes = [], {}
    for step_id, done_at, outcome in rows:
        if done_at is not None:
            fired.append((due[step_id], done_at))
        key = outcome.split(" to ")[0] if outcome else "(not fired)"
        outcomes[key] = outcomes.get(key, 0) + 1
    return fired, outcomes


def capacity(fired, behind=1.0):
    """Timers fired per second while more than `behind` s late (None: they kept up)."""
    late = sorted(done for due, done in fired if (done - due).total_seconds() > behind)
    if len(late) < 50:
        return None
    return len(late) / max((late[-1] - late[0]).total_seconds(), 0.001)


class ReferenceLoop:
    """The bare timer loop: poll, take one due row (SKIP LOCKED), mark it done, commit."""

    def __init__(self, engine):
        self.engine, self.stop = engine, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _fire_one(self, conn):
        step_id = conn.execute(text(
            "SELECT id FROM escalation_step WHERE status = 'pending' AND due_at <= :now "
            "ORDER BY due_at, id LIMIT 1 FOR UPDATE SKIP LOCKED"),
            {"now": _utcnow()}).scalar()
        if step_id is None:
            return False
        conn.execute(text("UPDATE escalation_step SET status = 'done', done_at = :now, "
                          "outcome = 'reference' WHERE id = :id"),
                     {"now": _utcnow(), "id": step_id})
        return True

    def _run(self):
        while not self.stop.is_set():
            with self.engine.begin() as conn:
                fired = self._fire_one(conn)
            if not fired:
                self.stop.wait(REFERENCE_POLL_SECONDS)


def _utcnow():
    from app.domain.timeutil import utcnow

    return utcnow()


def run_once(url, args, worker_processes):
    """One run on a fresh database: the reference loop (0) or N worker processes."""
    serve.prepare_kaketsuke(url)
    seeded = serve.seed(url)
    engine = create_engine(url)
    layout = serve.Layout(plain_url(url), "kaketsuke", web_workers=0,
                          worker_processes=worker_processes, fake_twilio=True)
    try:
        if worker_processes:
            with serve.start(layout) as running:
                due = store_timers(engine, seeded, args.timers, args.span)
                left = wait_fired(engine, due, args.span, running)
        else:
            loop = ReferenceLoop(engine)
            loop.thread.start()
            due = store_timers(engine, seeded, args.timers, args.span)
            left = wait_fired(engine, due, args.span)
            loop.stop.set()
            loop.thread.join()
        fired, outcomes = lateness(engine, due)
    finally:
        engine.dispose()
    late = [(done - due).total_seconds() for due, done in fired]
    rate = capacity(fired)
    return {"timers": len(due), "not_fired": left, "lateness_s": summary(late),
            "over_2_s": sum(1 for s in late if s > TARGET_SECONDS),
            "capacity_per_s": rate and round(rate, 1), "outcomes": outcomes}


TITLES = {0: "(ref) bare timer loop, one row per transaction",
          1: "(1) one `flask worker`", 2: "(2) two `flask worker` processes"}


def report(results, args):
    rate = args.timers / args.span
    print(f"\n{args.timers:,} timers due over {args.span:.0f} s ({rate:.0f} per second):\n")
    print("| run | fired | not fired | lateness p50 s | p99 s | max s | later than 2 s | "
          "fired/s while behind | max ≤ 2 s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    ok = True
    for processes, result in results.items():
        late = result["lateness_s"]
        met = late["max"] is not None and late["max"] <= TARGET_SECONDS \
            and not result["not_fired"]
        if processes:
            ok = ok and met
        print(f"| {TITLES[processes]} | {late['n']} | {result['not_fired']} | "
              f"{late['p50']:.2f} | {late['p99']:.2f} | {late['max']:.2f} | "
              f"{result['over_2_s']} | {result['capacity_per_s'] or 'kept up'} | "
              f"{'yes' if met else '**no**'} |")
    return ok


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="10,000 timers over 300 s")
    parser.add_argument("--timers", type=int, help="timers to store (default 1000)")
    parser.add_argument("--span", type=float, help="seconds over which they fall due "
                                                   "(default 30; 300 with --full)")
    parser.add_argument("--runs", default="0,1,2",
                        help="comma-separated: 0 the reference loop, N N worker processes")
    scratch_options(parser, DEFAULT_URL)
    args = parser.parse_args(argv)
    args.timers = args.timers or (10_000 if args.full else 1_000)
    args.span = args.span or (300.0 if args.full else 30.0)
    return args


def main(argv=None):
    args = parse_args(argv)
    results = {}
    with scratch(args) as url:
        for processes in (int(n) for n in args.runs.split(",")):
            results[processes] = run_once(url, args, processes)
            print_json(f"run {processes}", results[processes])
    ok = report(results, args)
    print(f"\nevery timer fired within {TARGET_SECONDS:.0f} s of its due time: "
          f"{'PASS' if ok else 'MISS'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
