"""Fault run: PostgreSQL stops under intake load and starts again; the app answers clean
503s meanwhile, loses no accepted incident, and recovers by itself.

What it does (results in docs/reliability.md):

1. Starts a PRIVATE PostgreSQL cluster: `initdb` into a temporary folder (as the `postgres`
   user when run as root, since initdb refuses root) and `pg_ctl start` on a free port.
   The machine's own server is never touched.
2. Creates the database, builds the schema with the migrations, adds an SME and a desk
   user with an API token.
3. Serves the app with gunicorn (`--workers`, sync workers, as in production) on a free port.
4. Drives intake: `--threads` threads each POST /api/v1/incidents in a closed loop, every
   request with its own summary. After `--before` seconds it stops PostgreSQL
   (`pg_ctl stop -m fast`: sessions are cut, new connections refused), keeps it down for
   `--down` seconds, starts it again, and keeps the load on for `--after` seconds.
5. Checks:
   - every request answered 201 is in the database afterwards (by its reference and its
     summary);
   - every other answer is a 503 in the API error shape with code `service_unavailable`
     (no 500, no HTML, no dropped connection);
   - the service recovers on its own: the gunicorn master and its workers are the same
     processes before and after, and the last `--settle` seconds are all 201;
   - every incident's hash-chained timeline verifies.
   It also counts requests answered 503 whose incident was committed anyway (PostgreSQL
   went away between the commit and the answer): the client saw an error for a recorded
   incident. Prints everything; exits 1 when a check fails.

    .venv/bin/python -m scripts.faults.pg_outage
    .venv/bin/python -m scripts.faults.pg_outage --threads 8 --down 10
"""

import argparse
import glob
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests
from sqlalchemy import select, text

from app import create_app
from app.auth import create_token
from app.config import Config
from app.extensions import db
from app.models import Incident
from app.services.incidents.audit import verify_chains
from scripts.faults.common import (
    machine,
    migrate,
    plain_url,
    recreate_database,
    scratch_url,
)

ROOT = Path(__file__).resolve().parent.parent.parent
DATABASE = "kaketsuke_faults"
HTTP_TIMEOUT_SECONDS = 15
READY_TIMEOUT_SECONDS = 60


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------- the private cluster


class PrivateCluster:
    """A throwaway PostgreSQL cluster in a temporary folder, on its own port."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.data = self.folder / "data"
        self.port = free_port()
        self.bin = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                               key=lambda p: int(p.split("/")[4]))[-1]).parent
        # initdb and postgres refuse to run as root: as root, run them as `postgres`.
        self.as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args):
        subprocess.run([*self.as_owner, *args], check=True, capture_output=True, text=True)

    def create(self):
        if self.as_owner:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth=trust", "--no-sync", "--encoding=UTF8", "--no-locale")

    def start(self):
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l",
                  str(self.folder / "postgresql.log"), "-o", options, "-w", "start")

    def stop(self):
        """Fast shutdown: open sessions are cut, new connections refused until start()."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    @property
    def url(self):
        return f"postgresql://postgres@127.0.0.1:{self.port}/{DATABASE}"


# ---------------------------------------------------------------- gunicorn


class Gunicorn:
    """The app served as in production: gunicorn, sync workers, DATABASE_URL."""

    def __init__(self, database_url, workers, log_path):
        self.port, self.workers, self.log_path = free_port(), workers, log_path
        self.env = {**os.environ, "DATABASE_URL": database_url,
                    "SECRET_KEY": secrets.token_urlsafe(48), "NOTIFY_PROVIDER": "console",
                    "RATELIMIT_ENABLED": "0"}  # the load is one client on purpose
        self.env.pop("TEST_DATABASE_URL", None)
        self.process = None

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--workers", str(self.workers),
                 "--bind", f"127.0.0.1:{self.port}", "wsgi:app"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            try:
                if requests.get(self.base_url + "/login", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.2)
        raise SystemExit(f"gunicorn did not answer within {READY_TIMEOUT_SECONDS} s")

    def pids(self):
        """The master and its workers (the workers are the master's children)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return self.process.pid, sorted(int(p) for p in children.read_text().split())

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(30)


# ---------------------------------------------------------------- the load


@dataclass
class Answer:
    """One intake request and what came back."""

    summary: str
    sent_at: float
    answered_at: float
    status: object  # the HTTP status, or the name of the transport error
    body: object = None  # the JSON answer, or the start of a non-JSON one


@dataclass
class Load:
    """Closed-loop intake from several threads until stopped."""

    base_url: str
    token: str
    organization_id: int
    threads: int
    answers: list = field(default_factory=list)

    def __post_init__(self):
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._workers = []

    def start(self):
        self._workers = [threading.Thread(target=self._drive, args=(n,), daemon=True)
                         for n in range(self.threads)]
        for worker in self._workers:
            worker.start()

    def stop(self):
        self.stopping.set()
        for worker in self._workers:
            worker.join(HTTP_TIMEOUT_SECONDS + 5)

    def _drive(self, thread):
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.token}"
        for n in range(10**9):
            if self.stopping.is_set():
                return
            summary = f"outage load {thread}-{n}"
            sent_at = time.monotonic()
            status, body = self._post(session, summary)
            with self._lock:
                self.answers.append(Answer(summary, sent_at, time.monotonic(), status, body))

    def _post(self, session, summary):
        try:
            response = session.post(
                self.base_url + "/api/v1/incidents", timeout=HTTP_TIMEOUT_SECONDS,
                json={"organization_id": self.organization_id, "channel": "web",
                      "category": "malware", "severity": "medium", "summary": summary})
        except requests.RequestException as exc:
            return type(exc).__name__, None
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, response.text[:200]


# ---------------------------------------------------------------- the checks


@dataclass
class Report:
    settings: dict
    phases: dict = field(default_factory=dict)  # seconds from the start of the load
    statuses: Counter = field(default_factory=Counter)
    during_outage: Counter = field(default_factory=Counter)
    lost: list = field(default_factory=list)  # answered 201, not in the database
    unclean: list = field(default_factory=list)  # not 201, not a proper 503
    committed_but_503: list = field(default_factory=list)
    recovered_after_seconds: float | None = None
    settled_clean: bool = False
    same_processes: bool = False
    chain_intact: bool = False
    incidents_stored: int = 0
    machine: dict = field(default_factory=dict)

    def problems(self):
        checks = {
            f"{len(self.lost)} incident(s) answered 201 are not in the database": self.lost,
            f"{len(self.unclean)} answer(s) were neither 201 nor a clean 503": self.unclean,
            "no request succeeded after PostgreSQL was back": self.recovered_after_seconds is None,
            "errors went on after the database was back": not self.settled_clean,
            "gunicorn or its workers were restarted": not self.same_processes,
            "a timeline does not verify": not self.chain_intact,
        }
        return [name for name, failed in checks.items() if failed]

    def lines(self):
        p, recovered = self.phases, self.recovered_after_seconds
        return [
            f"phases (s from the start of the load): PostgreSQL stopped {p['stop_from']:.1f}"
            f"-{p['stop_to']:.1f}, started {p['start_from']:.1f}-{p['start_to']:.1f}, "
            f"load ended {p['end']:.1f}",
            f"answers: {dict(self.statuses)}; while PostgreSQL was stopping, down or "
            f"starting: {dict(self.during_outage)}",
            f"201s missing from the database: {len(self.lost)}; unclean answers: "
            f"{len(self.unclean)} {self.unclean[:5]}",
            f"answered 503 although committed: {len(self.committed_but_503)}",
            f"first 201 after PostgreSQL was back: "
            f"{'none' if recovered is None else f'{recovered:.2f} s'}; "
            f"last {self.settings['settle']} s all 201: {self.settled_clean}",
            f"same gunicorn master and workers before and after: {self.same_processes}",
            f"incidents stored: {self.incidents_stored}; timelines intact: {self.chain_intact}",
        ]


def _clean_503(answer):
    body = answer.body if isinstance(answer.body, dict) else {}
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    return answer.status == 503 and set(error) == {"code", "message", "details"} \
        and error["code"] == "service_unavailable"


def check(app, answers, report, marks, settle):
    """Compare every answer with what the database holds afterwards."""
    with app.app_context():
        stored = {row.summary: row.reference for row in db.session.execute(
            select(Incident.summary, Incident.reference))}
        report.incidents_stored = len(stored)
        report.chain_intact = verify_chains() is None
        report.machine = machine(db.session.execute(text("SHOW server_version")).scalar())
        db.session.remove()
    outage = (marks["stop_from"], marks["start_to"])
    for answer in answers:
        report.statuses[answer.status] += 1
        if answer.answered_at >= outage[0] and answer.sent_at <= outage[1]:
            report.during_outage[answer.status] += 1
        if answer.status == 201:
            if stored.get(answer.summary) != answer.body.get("reference"):
                report.lost.append(answer.summary)
        elif not _clean_503(answer):
            report.unclean.append((answer.status, str(answer.body)[:120]))
        elif answer.summary in stored:
            report.committed_but_503.append(answer.summary)
    after = sorted((a for a in answers if a.sent_at >= marks["start_to"]),
                   key=lambda a: a.answered_at)
    first_ok = next((a for a in after if a.status == 201), None)
    if first_ok is not None:
        report.recovered_after_seconds = first_ok.answered_at - marks["start_to"]
    tail = [a for a in answers if a.sent_at >= marks["end"] - settle]
    report.settled_clean = bool(tail) and all(a.status == 201 for a in tail)


# ---------------------------------------------------------------- the run


def seed(app):
    """An SME with a contract, a desk user and their API token."""
    from app.testkit.factories import make_organization, make_user

    with app.app_context():
        organization = make_organization()
        token = create_token(make_user("desk"))
        organization_id = organization.id
        db.session.remove()
    return organization_id, token


def run(args, folder, out=print):
    cluster = PrivateCluster(folder)
    cluster.create()
    cluster.start()
    out(f"private PostgreSQL ({cluster.bin.parent.name}) on port {cluster.port} in {folder}")
    url = scratch_url(cluster.url)
    recreate_database(url)
    app = create_app(Config, SQLALCHEMY_DATABASE_URI=plain_url(url))
    migrate(app)
    organization_id, token = seed(app)
    with app.app_context():
        db.engine.dispose()  # no connection of ours in the way of the stop
    server = Gunicorn(plain_url(url), args.workers, Path(folder) / "gunicorn.log")
    server.start()
    before = server.pids()
    out(f"gunicorn with {args.workers} workers at {server.base_url}; {args.threads} threads "
        f"of intake for {args.before} s, PostgreSQL down {args.down} s, {args.after} s after")
    load = Load(server.base_url, token, organization_id, args.threads)
    report = Report(settings=vars(args).copy())
    try:
        origin = time.monotonic()
        load.start()
        time.sleep(args.before)
        marks = {"stop_from": time.monotonic()}
        cluster.stop()
        marks["stop_to"] = time.monotonic()
        time.sleep(args.down)
        marks["start_from"] = time.monotonic()
        cluster.start()
        marks["start_to"] = time.monotonic()
        time.sleep(args.after)
        marks["end"] = time.monotonic()
        load.stop()
        report.same_processes = server.pids() == before and server.process.poll() is None
        report.phases = {name: at - origin for name, at in marks.items()}
        check(app, load.answers, report, marks, args.settle)
    finally:
        load.stopping.set()
        server.stop()
        with app.app_context():
            db.engine.dispose()
        try:
            cluster.stop()
        except subprocess.CalledProcessError:
            pass  # already stopped
    return report


def _parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--before", type=float, default=5.0)
    parser.add_argument("--down", type=float, default=5.0)
    parser.add_argument("--after", type=float, default=8.0)
    parser.add_argument("--settle", type=float, default=3.0,
                        help="the last seconds of the load that must be all 201")
    parser.add_argument("--keep", action="store_true", help="keep the cluster's folder")
    parser.add_argument("--json", help="also write the report to this file")
    return parser.parse_args(argv)


def main(argv=None):
    args = _parse(argv)
    folder = tempfile.mkdtemp(prefix="kaketsuke-pg-outage-")
    os.chmod(folder, 0o755)  # the postgres user reaches its data folder inside
    try:
        report = run(args, folder)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    for line in report.lines():
        print(line)
    print(f"machine: {json.dumps(report.machine, ensure_ascii=False)}")
    if args.json:
        Path(args.json).write_text(json.dumps(report.__dict__, default=str, indent=1))
    problems = report.problems()
    print("RESULT: " + ("PASS" if not problems else "FAIL: " + "; ".join(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
