"""The mail poller killed mid-batch, again and again: every mail ends exactly once.

Real `flask mail poll --once` processes read a real Dovecot and are SIGKILLed as soon as
they have committed part of the batch (so some die between a commit and its move, some
mid-transaction). A last run drains the rest. Every mail must then be one row, one
incident, and in the done folder; none left in the inbox, none processed twice.
"""

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from app.extensions import db
from app.models import Incident, MailMessage
from scripts.faults.common import plain_url
from tests.scenes.mail import plain_mail, register_domain
from tests.scenes.mailbox import dovecot, mailbox  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parents[3]
MAILS = 400  # enough that a poller is still busy when it is killed, on a quiet machine too
KILLS = 4
DEADLINE_SECONDS = 120
DONE = "Kaketsuke/Done"


def _environment(app, url):
    env = {**os.environ, "FLASK_APP": "wsgi", "DATABASE_URL": plain_url(db.engine.url),
           "IMAP_URL": url, "NOTIFY_PROVIDER": "console",
           "EVIDENCE_DIR": app.config["EVIDENCE_DIR"], "PYTHONUNBUFFERED": "1"}
    env.pop("TEST_DATABASE_URL", None)
    return env


def _received():
    db.session.rollback()  # a fresh snapshot: other processes are writing
    count = db.session.scalar(select(func.count(MailMessage.id)).where(
        MailMessage.direction == "in"))
    db.session.rollback()  # no read lock held while a poller must commit (SQLite)
    return count


def _poll(env, log):
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "mail", "poll",
                             "--once"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def test_killed_pollers_process_every_mail_exactly_once(app, world, mailbox, tmp_path):  # noqa: F811
    rand = random.Random(14)
    with app.app_context():
        register_domain(world.org_a)
        for n in range(MAILS):
            mailbox.append(plain_mail(message_id=f"kill{n}@kou.example.jp",
                                      subject=f"件名 {n}"))
        env = _environment(app, mailbox.url)
        deadline = time.monotonic() + DEADLINE_SECONDS
        kills = mid_batch = 0
        with open(tmp_path / "poll.log", "w") as log:
            while kills < KILLS and time.monotonic() < deadline:
                before = _received()
                if before == MAILS:
                    break  # nothing left to kill a poller in the middle of
                waiting = len(mailbox.uids())
                process = _poll(env, log)
                # Progress is watched in the mailbox (a chunk moved after its commit), not in
                # the database: SQLite's writer would starve this reader until the poller
                # had gone far past its first commit.
                while process.poll() is None and len(mailbox.uids()) >= waiting \
                        and time.monotonic() < deadline:
                    time.sleep(0.01)  # watching a real process's progress
                time.sleep(rand.uniform(0, 0.05))
                if process.poll() is None:
                    process.send_signal(signal.SIGKILL)
                    kills += 1
                    process.wait()
                    after = _received()
                    mid_batch += before < after
                process.wait()
            final = _poll(env, log)
            assert final.wait(DEADLINE_SECONDS) == 0, (tmp_path / "poll.log").read_text()
        db.session.rollback()
        message_ids = Counter(db.session.scalars(select(MailMessage.message_id).where(
            MailMessage.direction == "in")).all())
        incidents = db.session.scalar(select(func.count(Incident.id)))
        db.session.remove()
    assert kills == KILLS, "the pollers finished before they could be killed"
    assert mid_batch == KILLS, "every kill should come after part of a batch was committed"
    assert message_ids == Counter({f"kill{n}@kou.example.jp": 1 for n in range(MAILS)})
    assert incidents == MAILS
    assert mailbox.uids() == []
    assert len(mailbox.uids(DONE)) == MAILS
