"""Fault run: messages flow through real worker processes that keep being SIGKILLed while
the provider fails; at the end no message is lost and every duplicate is explained.

What it does (DESIGN §9 "no notification is lost"; results in docs/reliability.md):

1. Recreates the scratch PostgreSQL database (`--database-url`, its name must contain
   "faults"), builds the schema with the migrations, and puts `--messages` SMS (default
   10,000) into the outbox through `notifications.outbox.enqueue`, one unique phone number
   each, all due now, tied to one incident whose dispatcher has e-mail only.
2. Starts `--workers` (2) `flask --app wsgi worker` processes with NOTIFY_PROVIDER=twilio.
   Each incarnation of a worker gets its own fake Twilio server (tests/services/notifications/
   fake_twilio.py), so every API request is known to come from one process; the fakes
   answer HTTP 500 to `--error-rate` of the requests and leave `--hang-rate` hanging past
   the client's timeout. E-mail (the dispatcher pages) goes to a local test SMTP server.
3. Every `--kill-every` seconds SIGKILLs a random worker that is busy (it made a provider
   call in the last second, so it holds a claimed batch) while another one is busy too,
   and starts it again.
4. Waits until every outbox row is final (sent or failed), stops the workers with SIGTERM,
   and checks, message by message:
   - lost: 0. Every message is `sent` with the SID of a request the fake accepted for its
     number, or `failed` with the dispatchers paged by e-mail (page row sent, mail received);
   - duplicates (a number that got the SMS more than once) only where the process that sent
     the extra copy was killed with that request as its last one: it was in flight between
     the provider's answer and the record. A copy the fake answered although the worker had
     given up on the call (its log says the try failed: timeout) is counted apart;
   - every call the fake accepted is accounted for: the recorded one of a sent message, an
     explained extra copy, or a request a kill cut off halfway (the fake read a truncated
     form: no or a partial `To`);
   - no worker exited by itself, and the incident's hash-chained timeline verifies.
   Prints the counts, exits 1 when any check fails.

    nice -n 10 .venv/bin/python -m scripts.faults.worker_kill               # 10,000 messages
    .venv/bin/python -m scripts.faults.worker_kill --messages 500 --kill-every 3

The reduced test in tests/system/faults/test_worker_kill.py runs the same experiment with a few
hundred messages and a worker clock 20 times as fast (scripts/faults/clocked_worker.py).
"""

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select, text

from app import create_app
from app.config import Config
from app.domain.timeutil import utcnow
from app.extensions import db
from app.models import Notification
from app.services.incidents.audit import verify_chains
from app.services.incidents.intake import IntakeRequest, report_incident
from app.testkit.fake_smtp import FakeSmtp
from app.testkit.fake_twilio import FakeTwilio
from notifications.outbox import enqueue
from scripts.faults.clocked_worker import FastClock
from scripts.faults.common import (
    drop_database,
    machine,
    migrate,
    plain_url,
    recreate_database,
    scratch_url,
)

ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/kaketsuke_faults"
TEMPLATE = "customer_en_route"
CONTEXT = {"reference": "INC-2026-000001", "organization": "甲商事", "technician": "技術者1",
           "company": "テストサポート", "time": "10:00"}
FINAL = ("sent", "failed", "cancelled", "delivered", "undelivered")
BUSY_WINDOW = 1.0  # a worker that called the provider this recently holds a batch
# The worker's log line of a try whose request the client gave up on (timeout, reset).
GAVE_UP = re.compile(r"sms #(\d+) (?:attempt \d+/\d+ )?failed(?: after \d+ attempt\(s\))?: "
                     r"Twilio unreachable")
STOP_GRACE_SECONDS = 15


def number(i):
    """The phone number of message i: unique, so each provider request names its message."""
    return f"+8170{i:08d}"


@dataclass
class Settings:
    """One experiment. Times are real seconds (the fake's hang, the client's timeout)."""

    messages: int = 10_000
    workers: int = 2
    kill_every: float = 10.0
    max_kills: int | None = None  # None: keep killing until every message is final
    restart: bool = True  # start a killed worker again (False: the others carry on alone)
    error_rate: float = 0.15
    hang_rate: float = 0.05
    client_timeout: float = 0.5
    hang_seconds: float = 1.0
    clock_speed: float = 1.0  # above 1: workers run scripts/faults/clocked_worker.py
    seed: int = 20261125
    deadline: float = 1800.0  # give up (and fail) after this many seconds


@dataclass
class Incarnation:
    """One worker process and the fake Twilio server only it talks to."""

    slot: int
    number: int
    fake: FakeTwilio
    process: subprocess.Popen
    log_path: Path
    killed_at: float | None = None
    exit_code: int | None = None

    def alive(self):
        return self.process.poll() is None

    def gave_up_on(self):
        """Ids of the messages whose provider call this worker gave up on (from its log)."""
        return {int(match[1]) for match in GAVE_UP.finditer(
            self.log_path.read_text(errors="replace"))}

    def busy(self, now):
        last = self.fake.requests[-1].arrived_at if self.fake.requests else 0.0
        return now - last < BUSY_WINDOW


@dataclass
class Report:
    """What the run counted; `problems()` names every failed check."""

    settings: dict
    elapsed_seconds: float = 0.0
    finished: bool = False
    statuses: Counter = field(default_factory=Counter)  # the messages' final statuses
    failures: Counter = field(default_factory=Counter)  # why the failed ones failed
    attempts: Counter = field(default_factory=Counter)  # tries per message
    requests: Counter = field(default_factory=Counter)  # provider answers: 201, 500, 0
    kills: int = 0
    restarts: int = 0
    unexpected_exits: list = field(default_factory=list)
    unfinished: list = field(default_factory=list)  # not sent, not failed
    sent_without_delivery: list = field(default_factory=list)
    failed_unpaged: list = field(default_factory=list)
    duplicates_in_flight: list = field(default_factory=list)  # extra copies sent at a kill
    duplicates_after_timeout: list = field(default_factory=list)
    duplicates_unexplained: list = field(default_factory=list)
    # Claims that ended without a provider call: rows a killed worker held, which another
    # worker took over once the lease expired (a slow batch giving rows back counts too).
    claims_without_call: int = 0
    pages: Counter = field(default_factory=Counter)
    calls_to_unknown: list = field(default_factory=list)  # a number no message was for
    cut_off_by_kill: Counter = field(default_factory=Counter)  # truncated requests, by answer
    chain_intact: bool = False
    machine: dict = field(default_factory=dict)

    @property
    def extra_copies(self):
        return len(self.duplicates_in_flight) + len(self.duplicates_after_timeout) + len(
            self.duplicates_unexplained)

    @property
    def lost(self):
        return len(self.unfinished) + len(self.sent_without_delivery) + len(self.failed_unpaged)

    def problems(self):
        checks = {
            "the run did not finish before the deadline": not self.finished,
            f"{self.lost} message(s) lost": self.lost,
            f"{len(self.duplicates_unexplained)} duplicate(s) not explained by a kill":
                self.duplicates_unexplained,
            f"{len(self.unexpected_exits)} worker(s) exited by themselves":
                self.unexpected_exits,
            f"{len(self.calls_to_unknown)} provider call(s) for no message":
                self.calls_to_unknown,
            "the provider's accepted calls do not add up to the sent messages, the extra "
            "copies and the calls cut off by a kill":
                self.requests[201] != self.statuses["sent"] + self.extra_copies
                + self.cut_off_by_kill[201],
            "the incident's timeline does not verify": not self.chain_intact,
        }
        return [name for name, failed in checks.items() if failed]

    def lines(self):
        total = sum(self.statuses.values())
        rate = total / self.elapsed_seconds if self.elapsed_seconds else 0
        return [
            f"messages: {total} in {self.elapsed_seconds:.1f} s ({rate:.0f}/s): "
            f"{dict(sorted(self.statuses.items()))}",
            f"failed, by reason: {dict(self.failures.most_common())}",
            f"tries per message: {dict(sorted(self.attempts.items()))}",
            f"provider answers (0 = hung up, client timed out): "
            f"{dict(sorted(self.requests.items()))}; requests cut off by a kill (the fake "
            f"read a truncated form): {dict(self.cut_off_by_kill)}",
            f"kills: {self.kills} (SIGKILL of a busy worker); restarts: {self.restarts}; "
            f"claims taken over after a lease, without a provider call: "
            f"{self.claims_without_call}",
            f"lost: {self.lost} (unfinished {len(self.unfinished)}, recorded sent without a "
            f"delivery {len(self.sent_without_delivery)}, failed without a page "
            f"{len(self.failed_unpaged)})",
            f"duplicates: {len(self.duplicates_in_flight)} in flight at a kill, "
            f"{len(self.duplicates_after_timeout)} answered after the client's timeout, "
            f"{len(self.duplicates_unexplained)} unexplained",
            f"dispatcher pages (e-mail): {dict(sorted(self.pages.items()))}",
            f"timeline hash chain intact: {self.chain_intact}",
        ]


# ---------------------------------------------------------------- the scene


def prepare(count, now, chunk=500):
    """The incident, its dispatcher (e-mail only) and `count` due SMS; committed."""
    from app.testkit.factories import make_organization, make_user

    organization = make_organization(contract=False, policy=False)  # no SLA clocks paging
    dispatcher = make_user("dispatcher", email="dispatcher@faults.example", phone="")
    incident = report_incident(IntakeRequest(
        organization_id=organization.id, channel="phone", category="malware",
        severity="medium", summary="fault run"), actor_label="worker_kill", now=now)
    for i in range(count):
        enqueue("sms", number(i), TEMPLATE, CONTEXT, dedupe_key=f"faults:{i}",
                incident=incident, now=now)
        if (i + 1) % chunk == 0:
            db.session.commit()
    db.session.commit()
    return incident.id, dispatcher.id


def _status_counts():
    rows = db.session.execute(select(Notification.status, func.count(Notification.id))
                              .group_by(Notification.status)).all()
    db.session.rollback()
    return dict(rows)


# ---------------------------------------------------------------- the run


class Run:
    """The workers, their fakes, the killer; `analyze()` afterwards."""

    def __init__(self, app, settings, log_dir, out=print):
        self.app, self.settings, self.log_dir, self.out = app, settings, Path(log_dir), out
        self.random = random.Random(settings.seed)
        self.smtp = FakeSmtp()
        self.incarnations = []
        self.clock = FastClock(utcnow(), settings.clock_speed)
        self.report = Report(settings=settings.__dict__.copy())
        self.gave_up = {}  # incarnation number -> ids whose call it gave up on

    # ------------------------------------------------------------ workers

    def _environment(self, fake):
        config = self.app.config
        env = {**os.environ, "FLASK_APP": "wsgi",
               "DATABASE_URL": plain_url(db.engine.url),
               "NOTIFY_PROVIDER": "twilio", "TWILIO_ACCOUNT_SID": fake.account_sid,
               "TWILIO_AUTH_TOKEN": fake.auth_token, "TWILIO_FROM_NUMBER": "+815012345678",
               "TWILIO_BASE_URL": fake.base_url,
               "TWILIO_TIMEOUT_SECONDS": str(self.settings.client_timeout),
               "SMTP_HOST": self.smtp.host, "SMTP_PORT": str(self.smtp.port),
               "SMTP_USERNAME": "", "SMTP_PASSWORD": "", "SMTP_STARTTLS": "0",
               "MAIL_FROM": "kaketsuke@faults.example",
               "PUBLIC_BASE_URL": config["PUBLIC_BASE_URL"],
               "NOTIFY_MAX_ATTEMPTS": str(config["NOTIFY_MAX_ATTEMPTS"]),
               "PYTHONUNBUFFERED": "1"}
        env.pop("TEST_DATABASE_URL", None)
        if self.settings.clock_speed != 1:
            env.update(self.clock.environment())
        return env

    def _command(self):
        if self.settings.clock_speed == 1:
            return [sys.executable, "-m", "flask", "--app", "wsgi", "worker"]
        return [sys.executable, "-m", "scripts.faults.clocked_worker"]

    def start_worker(self, slot):
        number_ = len(self.incarnations) + 1
        fake = FakeTwilio(error_rate=self.settings.error_rate, hang_rate=self.settings.hang_rate,
                          hang_seconds=self.settings.hang_seconds,
                          seed=self.settings.seed + number_).start()
        log_path = self.log_dir / f"worker-{slot}-{number_}.log"
        with log_path.open("w") as log:
            process = subprocess.Popen(self._command(), cwd=ROOT, env=self._environment(fake),
                                       stdout=log, stderr=subprocess.STDOUT)
        self.incarnations.append(Incarnation(slot, number_, fake, process, log_path))

    def live(self):
        return [i for i in self.incarnations if i.exit_code is None]

    def kill_one(self):
        """SIGKILL a random busy worker and start it again; False when none may be killed.

        Only while another worker is busy too: the messages keep flowing, and a kill is not
        wasted on the seconds a restarted worker spends starting up.
        """
        now = time.monotonic()
        busy = [i for i in self.live() if i.alive() and i.busy(now)]
        if len(busy) < 2:
            return False
        victim = self.random.choice(busy)
        victim.process.send_signal(signal.SIGKILL)
        victim.exit_code = victim.process.wait()
        victim.killed_at = time.monotonic()
        victim.fake.stop()  # its requests stay recorded; nobody calls it any more
        self.report.kills += 1
        if self.settings.restart:
            self.start_worker(victim.slot)
            self.report.restarts += 1
        return True

    def watch_for_crashes(self):
        for incarnation in self.live():
            if not incarnation.alive():
                incarnation.exit_code = incarnation.process.returncode
                self.report.unexpected_exits.append(
                    f"worker {incarnation.slot}#{incarnation.number} exited "
                    f"{incarnation.exit_code} (log {incarnation.log_path})")
                self.start_worker(incarnation.slot)
                self.report.restarts += 1

    def stop_workers(self):
        for incarnation in self.live():
            incarnation.process.send_signal(signal.SIGTERM)
        for incarnation in self.live():
            try:
                incarnation.exit_code = incarnation.process.wait(STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                incarnation.process.kill()
                incarnation.exit_code = incarnation.process.wait()
                self.report.unexpected_exits.append(
                    f"worker {incarnation.slot}#{incarnation.number} ignored SIGTERM")

    # ------------------------------------------------------------ the loop

    def execute(self):
        """Start, kill and restart until every row is final (or the deadline); then stop."""
        settings, started = self.settings, time.monotonic()
        self.smtp.start()
        for slot in range(1, settings.workers + 1):
            self.start_worker(slot)
        next_kill, next_progress = started + settings.kill_every, started + 10
        try:
            while time.monotonic() - started < settings.deadline:
                counts = _status_counts()
                if sum(counts.values()) and all(s in FINAL for s in counts):
                    self.report.finished = True
                    break
                now = time.monotonic()
                may_kill = settings.max_kills is None or self.report.kills < settings.max_kills
                if may_kill and now >= next_kill and self.kill_one():
                    next_kill = now + settings.kill_every
                if now >= next_progress:
                    self.out(f"  {now - started:6.1f} s  {dict(sorted(counts.items()))}  "
                             f"kills {self.report.kills}")
                    next_progress = now + 10
                self.watch_for_crashes()
                time.sleep(0.1)
        finally:
            self.report.elapsed_seconds = time.monotonic() - started
            self.stop_workers()
            for incarnation in self.incarnations:
                if incarnation.killed_at is None:
                    incarnation.fake.stop()
            self.smtp.stop()

    # ------------------------------------------------------------ the checks

    def analyze(self, incident_id, dispatcher_id):
        """Fill the report from the outbox, the fakes' request logs and the SMTP server."""
        report = self.report
        requests = defaultdict(list)  # phone number -> [(incarnation, request)]
        for incarnation in self.incarnations:
            for request in incarnation.fake.requests:
                report.requests[request.status] += 1
                requests[request.form.get("To")].append((incarnation, request))
        mails = {m.message["Message-ID"].strip("<").split(".")[0] for m in self.smtp.received}
        self.gave_up = {i.number: i.gave_up_on() for i in self.incarnations}
        rows = db.session.scalars(select(Notification).where(
            Notification.template == TEMPLATE).order_by(Notification.id)).all()
        pages = {p.dedupe_key: p for p in db.session.scalars(select(Notification).where(
            Notification.template == "dispatcher_page"))}
        report.pages.update(p.status for p in pages.values())
        for to in set(requests) - {row.recipient for row in rows}:
            for incarnation, request in requests[to]:
                self._check_stray(incarnation, request)
        for row in rows:
            report.statuses[row.status] += 1
            if row.status == "failed":
                report.failures[_reason(row.last_error)] += 1
            report.attempts[row.attempts] += 1
            tried = requests.get(row.recipient, [])
            report.claims_without_call += max(0, row.attempts - len(tried))
            self._check_outcome(row, tried, pages, mails, dispatcher_id)
            self._check_duplicates(row, tried)
        report.chain_intact = verify_chains() is None
        report.machine = machine(db.session.execute(text("SHOW server_version")).scalar())
        db.session.rollback()
        return report

    def _check_stray(self, incarnation, request):
        """A call naming no message's number: the request a kill cut off halfway (the fake
        read a truncated form), or a problem."""
        if incarnation.killed_at is not None and incarnation.fake.requests[-1] is request:
            self.report.cut_off_by_kill[request.status] += 1
        else:
            self.report.calls_to_unknown.append((request.form.get("To"), request.status))

    def _check_outcome(self, row, tried, pages, mails, dispatcher_id):
        report = self.report
        accepted = {request.sid for _i, request in tried if request.status == 201}
        if row.status == "sent":
            if row.provider_id not in accepted:
                report.sent_without_delivery.append(row.id)
        elif row.status == "failed":
            page = pages.get(f"page:failed:{row.id}:{dispatcher_id}:email")
            if page is None or page.status != "sent" or str(page.id) not in mails:
                report.failed_unpaged.append(row.id)
        else:
            report.unfinished.append((row.id, row.status))

    def _check_duplicates(self, row, tried):
        """Each accepted copy but the recorded one must be explained."""
        extra = [(incarnation, request) for incarnation, request in tried
                 if request.status == 201 and request.sid != row.provider_id]
        for incarnation, request in extra:
            last_call = incarnation.fake.requests[-1] is request
            if incarnation.killed_at is not None and last_call:
                self.report.duplicates_in_flight.append(row.id)
            elif row.id in self.gave_up.get(incarnation.number, ()):
                self.report.duplicates_after_timeout.append(row.id)
            else:
                self.report.duplicates_unexplained.append(
                    (row.id, incarnation.slot, incarnation.number, request.sid))


def _reason(error):
    """Why a message failed: its workers kept dying, or the last try's provider error."""
    if (error or "").startswith("given up"):
        return "given up: claimed too often (its workers kept dying)"
    return f"5 tries, the last: {error}"


def run_experiment(app, settings, log_dir, out=print):
    """Prepare the outbox in `app`'s database, run, and return the Report (app context in)."""
    with app.app_context():
        run = Run(app, settings, log_dir, out)
        incident_id, dispatcher_id = prepare(settings.messages, run.clock())
        db.session.remove()
        out(f"{settings.messages} messages queued; {settings.workers} workers, a kill every "
            f"{settings.kill_every} s; logs in {log_dir}")
        run.execute()
        report = run.analyze(incident_id, dispatcher_id)
        db.session.remove()
    return report


# ---------------------------------------------------------------- command line


def _parse(argv):
    defaults = Settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL,
                        help="scratch PostgreSQL database, DROPPED and recreated "
                             "(the name must contain 'faults')")
    parser.add_argument("--messages", type=int, default=defaults.messages)
    parser.add_argument("--workers", type=int, default=defaults.workers)
    parser.add_argument("--kill-every", type=float, default=defaults.kill_every,
                        help="seconds between kills")
    parser.add_argument("--max-kills", type=int, default=None)
    parser.add_argument("--error-rate", type=float, default=defaults.error_rate,
                        help="share of provider calls answered HTTP 500")
    parser.add_argument("--hang-rate", type=float, default=defaults.hang_rate,
                        help="share of provider calls left hanging past the client timeout")
    parser.add_argument("--client-timeout", type=float, default=defaults.client_timeout,
                        help="TWILIO_TIMEOUT_SECONDS of the workers")
    parser.add_argument("--hang-seconds", type=float, default=defaults.hang_seconds)
    parser.add_argument("--clock-speed", type=float, default=defaults.clock_speed,
                        help="run the workers' clock this many times as fast (1: real time)")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--deadline-minutes", type=float, default=defaults.deadline / 60)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--json", help="also write the report to this file")
    return parser.parse_args(argv)


def main(argv=None):
    args = _parse(argv)
    settings = Settings(messages=args.messages, workers=args.workers,
                        kill_every=args.kill_every, max_kills=args.max_kills,
                        error_rate=args.error_rate, hang_rate=args.hang_rate,
                        client_timeout=args.client_timeout, hang_seconds=args.hang_seconds,
                        clock_speed=args.clock_speed, seed=args.seed,
                        deadline=args.deadline_minutes * 60)
    url = scratch_url(args.database_url)
    recreate_database(url)
    app = create_app(Config, SQLALCHEMY_DATABASE_URI=plain_url(url))
    log_dir = tempfile.mkdtemp(prefix="kaketsuke-worker-kill-")
    try:
        migrate(app)
        report = run_experiment(app, settings, log_dir)
    finally:
        with app.app_context():
            db.engine.dispose()
        if not args.keep:
            drop_database(url)
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
