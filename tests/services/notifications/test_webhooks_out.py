"""Signed outbound webhooks: the worker posts the outbox row's body, signed, and retries."""

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Insurer, Notification
from notifications.providers import Providers, get_provider
from notifications.providers.console import ConsoleProvider
from notifications.providers.webhook import WebhookProvider
from notifications.worker import Worker
from tests.scenes.claims import WEBHOOK_SECRET, accepted_incident, integrate_insurer


class Receiver(ThreadingHTTPServer):
    """An insurer's endpoint: records each request and answers the next queued status."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests, self.statuses = [], []

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802  (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests.append((dict(self.headers), body))
        status = self.server.statuses.pop(0) if self.server.statuses else 204
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def hooked(ctx, world, receiver, clock):
    """An accepted dispatch whose early notice is a webhook row aimed at the receiver."""
    integrate_insurer(world)
    insurer = db.session.get(Insurer, world.insurer)
    insurer.webhook_url = receiver.url
    db.session.commit()
    accepted_incident(world, now=clock())
    clock.advance(minutes=5)  # past the accept
    return db.session.scalars(select(Notification).where(
        Notification.channel == "webhook")).one()


def worker(app, clock):
    console = ConsoleProvider()
    return Worker(Providers(phone=console, mail=console, webhook=WebhookProvider(app.config)),
                  clock, "http://kaketsuke.test")


def test_the_worker_posts_the_body_signed_with_the_insurers_secret(app, hooked, receiver,
                                                                    clock):
    worker(app, clock).drain()
    [(headers, body)] = receiver.requests
    expected = hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Kaketsuke-Signature"] == f"sha256={expected}"
    assert headers["X-Kaketsuke-Event"] == "early_notice"
    assert headers["Content-Type"].startswith("application/json")
    payload = json.loads(body)
    assert payload["event"] == "early_notice" and payload["data"]["insured"]["name"] == "甲商事"
    db.session.expire_all()
    row = db.session.get(Notification, hooked.id)
    assert (row.status, row.provider) == ("sent", "webhook")


def test_a_5xx_is_retried_with_the_same_bytes_and_signature(app, hooked, receiver, clock):
    receiver.statuses = [503, 200]
    worker(app, clock).drain()
    db.session.expire_all()
    row = db.session.get(Notification, hooked.id)
    assert row.status == "pending" and "503" in row.last_error
    clock.advance(seconds=10)
    worker(app, clock).drain()
    assert len(receiver.requests) == 2
    (first_headers, first), (second_headers, second) = receiver.requests
    assert first == second
    assert first_headers["X-Kaketsuke-Signature"] == second_headers["X-Kaketsuke-Signature"]
    db.session.expire_all()
    assert db.session.get(Notification, hooked.id).status == "sent"


def test_a_4xx_fails_at_once_and_pages_the_dispatchers(app, hooked, receiver, clock):
    receiver.statuses = [410]
    worker(app, clock).drain()
    db.session.expire_all()
    row = db.session.get(Notification, hooked.id)
    assert row.status == "failed" and "410" in row.last_error
    pages = db.session.scalars(select(Notification).where(
        Notification.template == "dispatcher_page")).all()
    assert pages


def test_an_unreachable_endpoint_is_retried(app, hooked, receiver, clock):
    row = db.session.get(Notification, hooked.id)
    row.recipient = "http://127.0.0.1:9/closed"
    db.session.commit()
    worker(app, clock).drain()
    db.session.expire_all()
    row = db.session.get(Notification, hooked.id)
    assert row.status == "pending" and "unreachable" in row.last_error


def test_the_configured_providers_carry_webhooks(app):
    assert isinstance(get_provider(app.config).for_channel("webhook"), WebhookProvider)
