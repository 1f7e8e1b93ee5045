"""Fixtures for the worker and providers: frozen clock, fake Twilio, test SMTP, a dispatch."""

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Incident, Notification, Organization, User
from app.services.incidents.lifecycle import fire_trigger
from app.testkit import factories
from app.testkit.fake_smtp import FakeSmtp
from app.testkit.fake_twilio import FakeTwilio
from notifications.outbox import enqueue
from notifications.providers import Providers
from notifications.worker import run

T0 = datetime(2026, 11, 25, 1, 0)  # 10:00 JST, a Wednesday


class Clock:
    """A frozen clock the worker reads; tests move it on by hand."""

    def __init__(self, start=T0):
        self.now = start

    def __call__(self):
        return self.now

    def advance(self, **delta):
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture(autouse=True)
def console_by_default(app, monkeypatch):
    """Whatever the environment says, tests start with the console provider and no SMTP."""
    monkeypatch.setitem(app.config, "NOTIFY_PROVIDER", "console")
    monkeypatch.setitem(app.config, "SMTP_HOST", "")


@pytest.fixture(scope="session")
def twilio_server():
    server = FakeTwilio().start()
    yield server
    server.stop()


@pytest.fixture
def fake_twilio(app, twilio_server, smtp, monkeypatch):
    """The twilio provider, aimed at the fake server (short timeout), e-mail to test SMTP."""
    twilio_server.reset()
    settings = {"NOTIFY_PROVIDER": "twilio", "TWILIO_ACCOUNT_SID": twilio_server.account_sid,
                "TWILIO_AUTH_TOKEN": twilio_server.auth_token,
                "TWILIO_FROM_NUMBER": "+815012345678",
                "TWILIO_BASE_URL": twilio_server.base_url, "TWILIO_TIMEOUT_SECONDS": 0.3}
    for key, value in settings.items():
        monkeypatch.setitem(app.config, key, value)
    return twilio_server


@pytest.fixture(scope="session")
def smtp_server():
    server = FakeSmtp(username="mailer", password="mail-secret").start()
    yield server
    server.stop()


@pytest.fixture
def smtp(app, smtp_server, monkeypatch):
    """E-mail goes to the test SMTP server, with login."""
    smtp_server.reset()
    for key, value in {"SMTP_HOST": smtp_server.host, "SMTP_PORT": smtp_server.port,
                       "SMTP_USERNAME": "mailer", "SMTP_PASSWORD": "mail-secret",
                       "SMTP_STARTTLS": False, "MAIL_FROM": "kaketsuke@otasuketai.example",
                       "SMTP_TIMEOUT_SECONDS": 2}.items():
        monkeypatch.setitem(app.config, key, value)
    return smtp_server


@dataclass
class Scene:
    """Ids of a dispatch request: incident of org A, its dispatcher and technicians."""

    incident_id: int
    dispatcher_id: int
    technician_user_id: int
    other_technician_user_id: int
    technician_phone: str
    other_technician_phone: str
    dispatcher_phone: str
    dispatcher_email: str


@pytest.fixture
def dispatch_requested(world, ctx):
    """Org A's incident in triage, then the dispatcher requests dispatch at T0."""
    org = db.session.get(Organization, world.org_a)
    incident = factories.make_incident(org, state="triaging", category="ransomware")
    dispatcher = db.session.get(User, world.users["dispatcher"])
    fire_trigger(incident.id, "request_dispatch", dispatcher, now=T0)
    technician = db.session.get(User, world.users["technician"]).technician
    other = db.session.get(User, world.users["other_technician"]).technician
    return Scene(incident.id, dispatcher.id, world.users["technician"],
                 world.users["other_technician"], technician.phone, other.phone,
                 dispatcher.phone, dispatcher.email)


def work(clock, **kwargs):
    """One `worker --once` pass at the clock's time (inside the test's app context)."""
    return run(once=True, now=clock, **kwargs)


def outbox(**filters):
    """Outbox rows, oldest first, optionally filtered by column values."""
    stmt = select(Notification).order_by(Notification.id).filter_by(**filters)
    return db.session.scalars(stmt).all()


def incident(scene):
    return db.session.get(Incident, scene.incident_id)


class RecordingProvider:
    """A phone and mail provider double: records each send and whether a transaction was open."""

    name = "recording"

    def __init__(self, latency=0.0):
        self.sent, self.in_transaction, self.threads = [], [], []
        self.latency = latency  # stands in for the network, to interleave two workers
        self.delivered = threading.Event()
        self._lock = threading.Lock()

    def send_sms(self, to, body, status_callback, *, reference=""):
        return self._record("sms", to, reference)

    def place_call(self, to, twiml_url, status_callback, *, reference=""):
        return self._record("voice", to, reference)

    def send_email(self, to, subject, body, *, reference="", headers=None):
        return self._record("email", to, reference)

    def _record(self, channel, to, reference):
        with self._lock:
            self.in_transaction.append(db.session().in_transaction())
            self.sent.append((channel, to, int(reference)))
            self.threads.append(threading.get_ident())
        if self.latency:
            time.sleep(self.latency)
        self.delivered.set()
        return f"rec-{reference}"

    def providers(self):
        return Providers(phone=self, mail=self)


CUSTOMER_CONTEXT = {"reference": "INC-2026-000001", "organization": "甲商事",
                    "technician": "技術者1", "company": "テストサポート", "time": "10:00"}


def queue_messages(n, *, channel="sms", incident=None, now=T0, max_attempts=None):
    """Commit `n` customer messages to the outbox, due at `now`; their ids."""
    rows = [enqueue(channel, f"c{i}@sme.example.jp" if channel == "email" else f"+8190{i:08d}",
                    "customer_en_route", CUSTOMER_CONTEXT, dedupe_key=f"test:{channel}:{i}",
                    incident=incident, now=now, max_attempts=max_attempts) for i in range(n)]
    db.session.commit()
    return [row.id for row in rows]
