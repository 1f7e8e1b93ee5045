"""The worker as a long-running loop and as the `flask worker` process; the callback helper."""

import os
import signal
import subprocess
import sys
import threading

from twilio.request_validator import RequestValidator

from app.config import BASE_DIR
from app.domain.timeutil import utcnow
from app.extensions import db
from app.models import Notification
from app.testkit.fake_twilio import post_signed
from notifications.worker import run
from tests.scenes.notifications import RecordingProvider, queue_messages, work


def test_a_running_worker_sends_a_new_message_soon_after_commit_and_stops_when_asked(
        app, world):
    provider, stop = RecordingProvider(), threading.Event()

    def serve():
        with app.app_context():
            run(providers=provider.providers(), stop=stop)
            db.session.remove()

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        with app.app_context():
            (message_id,) = queue_messages(1, now=utcnow())
            db.session.remove()
        assert provider.delivered.wait(5)  # woken by NOTIFY (PostgreSQL) or the 0.2 s poll
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()
    assert [ref for _c, _to, ref in provider.sent] == [message_id]


def test_the_worker_command_stops_cleanly_on_sigterm(app):
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "FLASK_APP": "wsgi", "NOTIFY_PROVIDER": "console", "SMTP_HOST": ""}
    with subprocess.Popen([sys.executable, "-m", "flask", "worker"], cwd=BASE_DIR, env=env,
                          stderr=subprocess.PIPE, text=True) as process:
        guard = threading.Timer(20, process.kill)  # never let a stuck worker hang the suite
        guard.start()
        try:
            started = next((line for line in iter(process.stderr.readline, "")
                            if "worker started" in line), "")  # the first match, or EOF
            process.send_signal(signal.SIGTERM)
            rest = process.stderr.read()
            assert process.wait(10) == 0
        finally:
            guard.cancel()
    assert "console provider" in started
    assert "worker stopped" in rest


class CapturingClient:
    """Stands in for the Flask test client: keeps what would have been posted."""

    def post(self, path, **kwargs):
        self.path, self.kwargs = path, kwargs
        return "response"


def test_status_callbacks_are_posted_with_the_signature_twilio_would_send():
    client, params = CapturingClient(), {"MessageSid": "SM1", "MessageStatus": "delivered"}
    url = "http://kaketsuke.test/webhooks/twilio/status/sms"
    assert post_signed(client, url, params, "token") == "response"
    assert (client.path, client.kwargs["base_url"]) == (
        "/webhooks/twilio/status/sms", "http://kaketsuke.test")
    signature = client.kwargs["headers"]["X-Twilio-Signature"]
    assert RequestValidator("token").validate(url, client.kwargs["data"], signature)
    assert not RequestValidator("other").validate(url, client.kwargs["data"], signature)


def test_the_fakes_signed_status_callback_reaches_the_webhook_and_marks_the_sms_delivered(
        app, client, world, fake_twilio, clock):
    with app.app_context():
        (message_id,) = queue_messages(1)
        work(clock)
        db.session.remove()
    (sms,) = fake_twilio.messages
    response = fake_twilio.status_callback(client, sms.sid, "delivered")
    assert response.status_code == 204
    with app.app_context():
        assert db.session.get(Notification, message_id).status == "delivered"
        db.session.remove()
