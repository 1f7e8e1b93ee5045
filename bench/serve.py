"""Start a benchmark layout on this machine, wait until it answers, stop it cleanly.

A layout is gunicorn serving Kaketsuke (`wsgi:app`) or the bare reference app
(bench/reference_app.py) against one PostgreSQL database, optionally with `flask worker`
processes and, in this process, the fake Twilio server of the test suite
(app/testkit/fake_twilio.py) plus the test SMTP server (NOTIFY_PROVIDER=twilio needs
one for e-mail). Every child runs in its own process group and is stopped with SIGTERM to
the group (SIGKILL after a grace period), so gunicorn's workers go with their master.

gunicorn settings, the same for both apps (GUNICORN_SETTINGS below): `--workers N` (default
4, as in the README's production section), `--worker-class sync`, `--bind 127.0.0.1:PORT`
(a free port), `--timeout 30`, `--graceful-timeout 10`, `--backlog 2048`,
`--log-level warning`; no access log unless asked (then one line per request with the
server time in microseconds, `%(D)s`). Sync workers close the connection after each
response (no keep-alive), as they would behind a reverse proxy.

    .venv/bin/python -m bench.serve --recreate --seed --worker-processes 2 --fake-twilio
        # Kaketsuke on bench_serve (--database-url), serving until Ctrl-C
    .venv/bin/python -m bench.serve --app reference --recreate  # the reference app

As a library: `prepare_kaketsuke(url)` / `prepare_reference(url)`, `seed(url)`, then
`with start(Layout(...)) as running: ... running.base_url, running.twilio ...`.
"""

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from bench.common import (
    Request,
    bench_url,
    connection,
    plain_url,
    print_json,
    recreate_database,
    send,
)

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"kaketsuke": "wsgi:app", "reference": "bench.reference_app:create_app()"}
HEALTH_PATHS = {"kaketsuke": "/login", "reference": "/health"}
GUNICORN_SETTINGS = ["--worker-class", "sync", "--timeout", "30", "--graceful-timeout", "10",
                     "--backlog", "2048", "--log-level", "warning"]
ACCESS_LOG_FORMAT = "%(m)s %(U)s %(s)s %(D)s"  # method, path, status, server time in µs
START_TIMEOUT_SECONDS = 60
STOP_GRACE_SECONDS = 10
TWILIO_FROM = "+815012345678"
DESK_PHONE = "+819011110000"  # the seeded desk user's, paged by SMS about critical alerts
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench_serve"


@dataclass
class Layout:
    """What to start: the app, its database, how many of each process, which fakes."""

    database_url: str
    app: str = "kaketsuke"  # or "reference"
    web_workers: int = 4  # gunicorn workers; 0: no web server (e.g. workers only)
    worker_processes: int = 0  # `flask worker` processes (Kaketsuke only)
    fake_twilio: bool = False  # NOTIFY_PROVIDER=twilio at the fake server, e-mail to test SMTP
    access_log: Path | None = None
    env: dict = field(default_factory=dict)  # more settings for the children


@dataclass
class Child:
    """A started process (the leader of its own process group) and its log file."""

    name: str
    process: subprocess.Popen
    log: Path

    def running(self):
        return self.process.poll() is None

    def tail(self, lines=30):
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class Running:
    """A started layout; use it as a context manager so it is always stopped."""

    layout: Layout
    base_url: str
    log_dir: Path
    env: dict
    children: list = field(default_factory=list)
    twilio: object = None  # FakeTwilio when layout.fake_twilio
    smtp: object = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def check_alive(self):
        """Raise when a child has died (its log's tail in the message)."""
        for child in self.children:
            if not child.running():
                raise RuntimeError(f"{child.name} exited with {child.process.returncode}:\n"
                                   f"{child.tail()}")

    def stop(self):
        """SIGTERM every process group, wait, SIGKILL what is left; stop the fakes."""
        for child in reversed(self.children):
            _signal_group(child, signal.SIGTERM)
        for child in reversed(self.children):
            try:
                child.process.wait(STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                _signal_group(child, signal.SIGKILL)
                child.process.wait()
        self.children.clear()
        for fake in (self.twilio, self.smtp):
            if fake is not None:
                fake.stop()
        self.twilio = self.smtp = None


def _signal_group(child, sig):
    try:
        os.killpg(child.process.pid, sig)
    except ProcessLookupError:
        pass


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the database ------------------------------------------------------------------------------

def kaketsuke_app(url):
    """Kaketsuke's app on the scratch database, for in-process set-up work."""
    from app import create_app
    from app.config import Config

    return create_app(Config, SQLALCHEMY_DATABASE_URI=plain_url(url))


def prepare_kaketsuke(url, recreate=True):
    """(Re)create the scratch database and apply Kaketsuke's migrations."""
    import flask_migrate

    from app.extensions import db

    if recreate:
        recreate_database(url)
    app = kaketsuke_app(url)
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()


def prepare_reference(url, recreate=True):
    """(Re)create the scratch database with the reference app's tables."""
    from bench.reference_app import create_tables

    if recreate:
        recreate_database(url)
    create_tables(plain_url(url))


@dataclass
class Seed:
    """What the benchmarks send with: ids, API tokens, ingest keys."""

    organization_ids: list
    technician_ids: list
    tokens: dict  # role -> API token
    emails: dict  # role -> e-mail (each with the password below)
    ingest_keys: dict  # organization id -> key
    password: str = ""
    desk_tokens: list = field(default_factory=list)  # more tokens of the desk user


def seed(url, *, organizations=20, technicians=5, desk_tokens=0):
    """Organizations (contract with on-site support, policy), on-call technicians, staff.

    `desk_tokens` more API tokens of the desk user stand for that many API callers: the
    API intake is rate limited per token (RATELIMIT_API_INTAKE_PER_TOKEN), and a load from
    one token would measure the limiter's refusals.
    """
    from app.domain.timeutil import utcnow
    from app.extensions import db
    from app.services.monitoring.ingest import create_ingest_key
    from app.testkit import factories

    app = kaketsuke_app(url)
    with app.app_context():
        orgs = [factories.make_organization() for _ in range(organizations)]
        now = utcnow()
        on_call = (now - timedelta(days=1), now + timedelta(days=30))
        techs = [factories.make_technician(on_call=on_call) for _ in range(technicians)]
        users = {"desk": factories.make_user("desk", phone=DESK_PHONE),
                 "dispatcher": factories.make_user("dispatcher", phone="+819022220000"),
                 "admin": factories.make_user("admin"),
                 "technician": factories.make_user("technician", technician=techs[0])}
        result = Seed([o.id for o in orgs], [t.id for t in techs],
                      {role: api_token(u) for role, u in users.items()},
                      {role: u.email for role, u in users.items()},
                      {o.id: create_ingest_key(o) for o in orgs}, factories.PASSWORD,
                      [api_token(users["desk"]) for _ in range(desk_tokens)])
        db.session.remove()
        db.engine.dispose()
    return result


def api_token(user):
    """A new API token of `user` (inside an app context)."""
    from app.auth import create_token

    return create_token(user)


# --- processes ---------------------------------------------------------------------------------

def _environment(layout, base_url, twilio, smtp):
    """The children's environment: the production settings of the README, aimed at fakes."""
    env = {**os.environ, "DATABASE_URL": layout.database_url, "PUBLIC_BASE_URL": base_url,
           "SECRET_KEY": secrets.token_urlsafe(32), "FLASK_APP": "wsgi",
           "PYTHONUNBUFFERED": "1"}
    if twilio is not None:
        env |= {"NOTIFY_PROVIDER": "twilio", "TWILIO_ACCOUNT_SID": twilio.account_sid,
                "TWILIO_AUTH_TOKEN": twilio.auth_token, "TWILIO_FROM_NUMBER": TWILIO_FROM,
                "TWILIO_BASE_URL": twilio.base_url, "SMTP_HOST": smtp.host,
                "SMTP_PORT": str(smtp.port), "SMTP_USERNAME": smtp.username,
                "SMTP_PASSWORD": smtp.password, "MAIL_FROM": "desk@bench.example"}
    return env | layout.env


def spawn(name, command, env, log_dir):
    """Start `command` in its own process group, its output into `<log_dir>/<name>.log`."""
    log = log_dir / f"{name}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    return Child(name, process, log)


def gunicorn_command(layout, port):
    command = [str(Path(sys.executable).parent / "gunicorn"), "--workers",
               str(layout.web_workers), "--bind", f"127.0.0.1:{port}", *GUNICORN_SETTINGS]
    if layout.access_log is not None:
        command += ["--access-logfile", str(layout.access_log),
                    "--access-logformat", ACCESS_LOG_FORMAT]
    return command + [TARGETS[layout.app]]


def wait_until(ready, child, what):
    """Poll `ready()` until true; fail when `child` exits or START_TIMEOUT_SECONDS pass."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if not child.running():
            raise RuntimeError(f"{child.name} exited while starting:\n{child.tail()}")
        try:
            if ready():
                return
        except (OSError, RuntimeError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{child.name} did not become {what} in {START_TIMEOUT_SECONDS} s:\n"
                       f"{child.tail()}")


def _start_fakes():
    from app.testkit.fake_smtp import FakeSmtp
    from app.testkit.fake_twilio import FakeTwilio

    return FakeTwilio().start(), FakeSmtp(username="mailer", password="mail-secret").start()


def start(layout):
    """Start the layout and wait until gunicorn answers and every worker listens."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    twilio, smtp = _start_fakes() if layout.fake_twilio else (None, None)
    env = _environment(layout, base_url, twilio, smtp)
    running = Running(layout, base_url, Path(tempfile.mkdtemp(prefix="kaketsuke-bench-")), env,
                      twilio=twilio, smtp=smtp)
    try:
        if layout.web_workers:
            web = spawn("gunicorn", gunicorn_command(layout, port), env, running.log_dir)
            running.children.append(web)
            wait_until(lambda: answers(base_url, HEALTH_PATHS[layout.app]), web, "healthy")
        for n in range(layout.worker_processes):
            worker = spawn(f"worker{n + 1}", [sys.executable, "-m", "flask", "--app", "wsgi",
                                               "worker"], env, running.log_dir)
            running.children.append(worker)
            wait_until(lambda w=worker: "worker started" in w.log.read_text(errors="replace"),
                  worker, "ready")
    except BaseException:
        running.stop()
        raise
    return running


def answers(base_url, path):
    """True once GET `path` answers 200."""
    conn = connection(base_url)
    try:
        status, _ = send(conn, Request("GET", path))
    finally:
        conn.close()
    return status == 200


# --- command line ------------------------------------------------------------------------------

def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", choices=sorted(TARGETS), default="kaketsuke")
    parser.add_argument("--database-url", default=DEFAULT_URL,
                        help="scratch PostgreSQL database (its name must contain 'bench')")
    parser.add_argument("--recreate", action="store_true",
                        help="drop and recreate the database, then migrate (or make the "
                             "reference's tables)")
    parser.add_argument("--seed", action="store_true",
                        help="add organizations, technicians, staff, tokens and ingest keys")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--worker-processes", type=int, default=0,
                        help="`flask worker` processes (default 0)")
    parser.add_argument("--fake-twilio", action="store_true",
                        help="NOTIFY_PROVIDER=twilio at the in-process fake Twilio server")
    parser.add_argument("--access-log", type=Path, help="gunicorn access log with µs times")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    url = bench_url(args.database_url)
    if args.recreate:
        (prepare_kaketsuke if args.app == "kaketsuke" else prepare_reference)(url)
    seeded = seed(url) if args.seed and args.app == "kaketsuke" else None
    layout = Layout(plain_url(url), args.app, args.workers, args.worker_processes,
                    args.fake_twilio, args.access_log)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    with start(layout) as running:
        print_json("serving", {"base_url": running.base_url, "logs": str(running.log_dir),
                               "twilio": running.twilio and running.twilio.base_url,
                               "seed": seeded and seeded.__dict__})
        try:
            while not stop:
                running.check_alive()
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
    print("stopped", flush=True)


if __name__ == "__main__":
    main()
