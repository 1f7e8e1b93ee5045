"""The worker: runs the app's periodic tasks and sends due outbox messages.

The tasks (escalation timers, SLA pages) and what to do when a message is given up on
(page the dispatchers) are the app's: create_app hands them over with `init_app`, so
this package builds on the models only and knows nothing of the use cases.

A message row is claimed (status `sending`, a lease, one more attempt) and committed,
sent with no transaction open, then recorded as `sent` with the provider's id. A row
is recorded only while the claim is still ours: the attempt count is the fencing token.
Delivery is at least once: a worker that dies between the provider's answer and the
record leaves a leased row that another worker sends again once the lease expires.
Several workers may run at once; on PostgreSQL they skip each other's locked rows.
"""

import logging
import random
import signal
import threading
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from flask import current_app
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from app.domain.timeutil import utcnow
from app.extensions import db
from app.models import Incident, Notification
from notifications.outbox import WAKE_CHANNEL
from notifications.providers import DeliveryError, get_provider

log = logging.getLogger(__name__)

BATCH_SIZE = 10
LEASE = timedelta(seconds=60)  # several provider timeouts: a live worker never loses a row
# A batch is worked on for at most LEASE - LEASE_RESERVE; what is left is given back.
LEASE_RESERVE = timedelta(seconds=30)
BACKOFF_BASE_SECONDS = 5
BACKOFF_CAP_SECONDS = 600
BACKOFF_JITTER = 0.1  # up to +10 %, so failed messages of one burst spread out
LISTEN_SECONDS = 0.5  # also the longest delay of a due timer on PostgreSQL
POLL_SECONDS = 0.2  # SQLite: no NOTIFY, so look this often
ERROR_PAUSE_SECONDS = 2  # the database is away: wait before the next pass
CONFLICT_TRIES = 3
SMS_STATUS_PATH = "/webhooks/twilio/status/sms"
VOICE_STATUS_PATH = "/webhooks/twilio/status/voice"


@dataclass(frozen=True)
class Claimed:
    """What sending a claimed row needs, read before its transaction ends."""

    id: int
    channel: str
    recipient: str
    subject: str
    body: str
    twiml_path: str
    attempts: int
    max_attempts: int
    lease_until: datetime
    event: str = ""  # webhook only: X-Kaketsuke-Event
    signature: str = ""  # webhook only: X-Kaketsuke-Signature, computed when enqueued
    headers: tuple = ()  # e-mail only: (name, value) pairs such as Message-ID, In-Reply-To


def backoff(attempts, rand=random.random):
    """The wait after a failed try number `attempts`: 5 s, 10 s, 20 s ... at most 10 min."""
    seconds = min(BACKOFF_BASE_SECONDS * 2 ** (attempts - 1), BACKOFF_CAP_SECONDS)
    return timedelta(seconds=seconds * (1 + BACKOFF_JITTER * rand()))


def _still_ours(message):
    return (Notification.id == message.id, Notification.status == "sending",
            Notification.attempts == message.attempts)


def _offer_closed(row):
    return row.template == "offer" and row.dispatch is not None \
        and row.dispatch.state != "offered"


def claim_notifications(now, limit=BATCH_SIZE, lease=LEASE):
    """Lease up to `limit` due rows (pending and due, or abandoned by a dead worker); commit.

    An offer whose dispatch is no longer open is cancelled instead of being sent.
    """
    due = or_(and_(Notification.status == "pending", Notification.next_attempt_at <= now),
              and_(Notification.status == "sending", Notification.lease_until < now))
    rows = db.session.scalars(
        select(Notification).where(due).order_by(Notification.next_attempt_at, Notification.id)
        .limit(limit).with_for_update(skip_locked=True, of=Notification)).all()
    claimed = []
    for row in rows:
        if _offer_closed(row):
            row.status, row.lease_until = "cancelled", None
            row.last_error = f"not sent: the offer is {row.dispatch.state}"
            continue
        row.status, row.lease_until, row.attempts = "sending", now + lease, row.attempts + 1
        context = row.context or {}
        claimed.append(Claimed(row.id, row.channel, row.recipient, row.subject, row.body,
                               context.get("twiml_path", ""), row.attempts,
                               row.max_attempts, row.lease_until, context.get("event", ""),
                               context.get("signature", ""),
                               tuple(map(tuple, context.get("headers", ())))))
    db.session.commit()
    return claimed


def release(messages):
    """Give claimed rows back unsent, for any worker to take now.

    The claim still counts as an attempt: attempts only ever grow, so each claim's
    count stays unique and fences out a worker that lost its claim.
    """
    for message in messages:
        db.session.execute(update(Notification).where(*_still_ours(message)).values(
            status="pending", lease_until=None),
            execution_options={"synchronize_session": False})
    db.session.commit()


EXTENSION = "kaketsuke.worker"


@dataclass(frozen=True)
class Hooks:
    """What the app gives the worker: tasks run on every pass before the messages, each
    task(clock, stop) -> how many things it handled; and on_give_up(notification, now),
    run in the transaction that marks a message failed."""

    tasks: tuple = ()
    on_give_up: object = None


def init_app(app, *, tasks=(), on_give_up=None):
    """Give `app`'s worker its tasks and its give-up hook."""
    app.extensions[EXTENSION] = Hooks(tuple(tasks), on_give_up)


class Worker:
    """One worker's passes over the app's tasks and the due messages, with an injectable
    clock."""

    def __init__(self, providers, clock, base_url, stop=None, hooks=None):
        self.providers, self.clock = providers, clock
        self.base_url = base_url.rstrip("/")
        self.stop = stop or threading.Event()
        self.hooks = hooks or current_app.extensions.get(EXTENSION, Hooks())  # the app's

    def drain(self):
        """Run every task and send every due message; return how many were handled."""
        total = 0
        while not self.stop.is_set():
            done = sum(self._run(task) for task in self.hooks.tasks) + self.send_due_messages()
            if not done:
                return total
            total += done
        return total

    def _run(self, task):
        """One task's pass; its failure must not stop messages from flowing (a database
        that is away stops the pass, and the run loop waits)."""
        try:
            return task(self.clock, self.stop)
        except OperationalError:
            raise
        except Exception:
            db.session.rollback()
            log.exception("%s failed; trying again on the next pass", task.__name__)
            return 0

    # ------------------------------------------------------------ messages

    def send_due_messages(self):
        """Claim one batch and send it; return how many rows were claimed."""
        claimed = claim_notifications(self.clock())
        self.send_batch(claimed)
        return len(claimed)

    def send_batch(self, claimed):
        """Send claimed messages while their lease lasts; give the rest back unsent."""
        for index, message in enumerate(claimed):
            if self.stop.is_set() or self.clock() > message.lease_until - LEASE_RESERVE:
                release(claimed[index:])  # stopping, or slow: let any worker take the rest
                return
            self.send(message)

    def send(self, message):
        """Send one claimed message (no transaction open) and record the outcome."""
        if message.attempts > message.max_attempts:
            self._fail(message, "given up: claimed too often without a recorded outcome")
            return
        try:
            provider, provider_id = self._deliver(message)
        except DeliveryError as exc:
            self._failed_try(message, str(exc), exc.permanent)
        except Exception as exc:  # a bug or surprise in a provider: retried, then failed
            log.exception("%s #%s: unexpected error from the provider", message.channel,
                          message.id)
            self._failed_try(message, f"unexpected error: {type(exc).__name__}", False)
        else:
            self._record_sent(message, provider, provider_id)

    def _deliver(self, message):
        provider = self.providers.for_channel(message.channel)
        reference = str(message.id)
        if message.channel == "sms":
            provider_id = provider.send_sms(message.recipient, message.body,
                                            self.base_url + SMS_STATUS_PATH, reference=reference)
        elif message.channel == "voice":
            if not message.twiml_path:
                raise DeliveryError("A voice message needs a twiml_path.", permanent=True)
            provider_id = provider.place_call(message.recipient,
                                              self.base_url + message.twiml_path,
                                              self.base_url + VOICE_STATUS_PATH,
                                              reference=reference)
        elif message.channel == "webhook":
            provider_id = provider.post(message.recipient, message.event, message.signature,
                                        message.body, reference=reference)
        else:
            provider_id = provider.send_email(message.recipient, message.subject, message.body,
                                              reference=reference, headers=dict(message.headers))
        return provider.name, provider_id

    def _record_sent(self, message, provider, provider_id):
        result = db.session.execute(update(Notification).where(*_still_ours(message)).values(
            status="sent", provider=provider, provider_id=provider_id[:64],
            sent_at=self.clock(), lease_until=None),
            execution_options={"synchronize_session": False})
        db.session.commit()
        if result.rowcount:
            log.info("sent %s #%s via %s (%s), attempt %s", message.channel, message.id,
                     provider, provider_id, message.attempts)
        else:
            log.warning("sent %s #%s via %s (%s), but its lease had passed to another worker",
                        message.channel, message.id, provider, provider_id)

    def _failed_try(self, message, error, permanent):
        if permanent or message.attempts >= message.max_attempts:
            self._fail(message, error)
            return
        delay = backoff(message.attempts)
        db.session.execute(update(Notification).where(*_still_ours(message)).values(
            status="pending", lease_until=None, last_error=error[:500],
            next_attempt_at=self.clock() + delay),
            execution_options={"synchronize_session": False})
        db.session.commit()
        log.warning("%s #%s attempt %s/%s failed: %s; next try in %.0f s", message.channel,
                    message.id, message.attempts, message.max_attempts, error,
                    delay.total_seconds())

    def _fail(self, message, error):
        """Mark the message failed and run the give-up hook (the dispatchers are paged)."""
        for _ in range(CONFLICT_TRIES):
            try:
                self._fail_once(message, error)
                return
            except (StaleDataError, IntegrityError):
                db.session.rollback()  # the incident moved meanwhile; page on the new version
        log.error("%s #%s failed (%s) but could not be recorded; its lease will expire",
                  message.channel, message.id, error)

    def _fail_once(self, message, error):
        incident_id = db.session.scalar(select(Notification.incident_id).where(
            Notification.id == message.id))
        if incident_id is not None:  # the incident first, as the dispatch use cases lock
            db.session.execute(select(Incident.id).where(Incident.id == incident_id)
                               .with_for_update())
        row = db.session.scalars(select(Notification).where(*_still_ours(message))
                                 .with_for_update().execution_options(populate_existing=True)
                                 ).first()
        if row is None:
            db.session.rollback()
            return
        row.status, row.lease_until, row.last_error = "failed", None, error[:500]
        if self.hooks.on_give_up is not None:
            self.hooks.on_give_up(row, self.clock())
        db.session.commit()
        log.error("%s #%s failed after %s attempt(s): %s", message.channel, message.id,
                  message.attempts, error)


# ---------------------------------------------------------------- waiting and running


class _Waker:
    """Waits for work: a NOTIFY on its own PostgreSQL connection, else a short poll."""

    def __init__(self, stop):
        url = db.engine.url
        self.conninfo = url.set(drivername="postgresql").render_as_string(
            hide_password=False) if url.get_backend_name() == "postgresql" else None
        self.stop, self.conn = stop, None
        self._connect()

    def _connect(self):
        if self.conninfo is None:
            return
        try:
            self.conn = psycopg.connect(self.conninfo, autocommit=True)
            self.conn.execute(f"LISTEN {WAKE_CHANNEL}")
        except psycopg.Error as exc:
            log.warning("cannot LISTEN (%s); polling instead", type(exc).__name__)
            self.close()

    def wait(self):
        """Return on a NOTIFY, or after LISTEN_SECONDS so that due timers fire too."""
        if self.conn is None:
            self.stop.wait(POLL_SECONDS)
            self._connect()  # PostgreSQL: try to LISTEN again
            return
        try:
            for _ in self.conn.notifies(timeout=LISTEN_SECONDS, stop_after=1):
                pass
        except psycopg.Error:
            log.warning("lost the LISTEN connection; reconnecting")
            self.close()

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


@contextmanager
def _stop_on_signals(stop):
    """SIGTERM and SIGINT finish the message in hand, then stop (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, lambda *_: stop.set())
                for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _configure_logging():
    """INFO lines on stderr when nobody configured logging (the `flask worker` process)."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("twilio").setLevel(logging.WARNING)  # it logs every request


def run(once=False, *, now=utcnow, providers=None, stop=None):
    """Work until SIGTERM/SIGINT (or `stop` is set); with once, drain what is due and return."""
    config = current_app.config
    worker = Worker(providers or get_provider(config), now, config["PUBLIC_BASE_URL"], stop)
    if once:
        return worker.drain()
    _configure_logging()
    with _stop_on_signals(worker.stop), closing(_Waker(worker.stop)) as waker:
        log.info("worker started (%s provider, %s database)", config["NOTIFY_PROVIDER"],
                 db.engine.dialect.name)
        while not worker.stop.is_set():
            try:
                worker.drain()
            except OperationalError:
                db.session.rollback()
                log.exception("database unavailable; trying again in %s s", ERROR_PAUSE_SECONDS)
                worker.stop.wait(ERROR_PAUSE_SECONDS)
                continue
            waker.wait()
    log.info("worker stopped")
