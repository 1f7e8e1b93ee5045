"""In-process cost of firing incident triggers through the lifecycle (no target of its own).

Times `fire_trigger` for start_triage (no guard fact, no side effect), request_dispatch (a
fact looked up, an offer with its timers as side effect) and cancel (a parameter guard, the
offers withdrawn), one incident after another, on a scratch SQLite file, or with
--database-url on a PostgreSQL database created for the run and dropped after it (its name
must contain "bench"). It shows what the lifecycle's own steps (access, facts, the workflow,
audit, SLA, side effects) cost per trigger; docs/benchmarks.md has the numbers.

    .venv/bin/python -m bench.triggers
    .venv/bin/python -m bench.triggers --incidents 1000 --database-url postgresql://.../kaketsuke_bench
"""

import argparse
import json
import statistics
import tempfile
import time

from app import create_app
from app.config import TestConfig
from app.extensions import db
from app.models import Organization, User
from app.services.incidents.lifecycle import fire_trigger
from app.testkit import factories
from bench.common import bench_url, drop_database, recreate_database

STEPS = (("start_triage", {}), ("request_dispatch", {}), ("cancel", {"reason": "benchmark"}))
WARM_UP = 50


def _parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=300)
    parser.add_argument("--database-url", default=None,
                        help="a scratch database (default: a temporary SQLite file)")
    return parser.parse_args(argv)


def _app(url):
    return create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, EVIDENCE_DIR=tempfile.mkdtemp())


def measure(incidents):
    """{trigger: [milliseconds]} of firing each step on `incidents` new incidents."""
    world = factories.make_world()
    dispatcher = db.session.get(User, world["users"]["dispatcher"])
    organization = db.session.get(Organization, world["org_a"])
    timings = {trigger: [] for trigger, _ in STEPS}
    for _ in range(incidents):
        incident_id = factories.make_incident(organization, state="received").id
        for trigger, params in STEPS:
            started = time.perf_counter()
            fire_trigger(incident_id, trigger, dispatcher, params=params)
            timings[trigger].append((time.perf_counter() - started) * 1000)
            db.session.expire_all()
    return timings


def main(argv=None):
    args = _parse(argv)
    scratch = bench_url(args.database_url) if args.database_url else None
    if scratch is not None:
        recreate_database(scratch)
    url = scratch.render_as_string(hide_password=False) if scratch is not None else \
        f"sqlite:///{tempfile.mkdtemp()}/triggers.sqlite3"
    app = _app(url)
    try:
        with app.app_context():
            db.create_all()
            timings = measure(args.incidents)
            db.session.remove()
            db.engine.dispose()
    finally:
        if scratch is not None:
            drop_database(scratch)
    result = {}
    for trigger, values in timings.items():
        values = values[WARM_UP:] or values
        result[trigger] = {"median_ms": round(statistics.median(values), 2),
                           "p90_ms": round(statistics.quantiles(values, n=10)[-1], 2)}
    print(json.dumps({"database": app.config["SQLALCHEMY_DATABASE_URI"].split(":")[0],
                      "incidents": args.incidents, "triggers": result}, indent=2))


if __name__ == "__main__":
    main()
