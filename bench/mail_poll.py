"""Benchmark: the desk mailbox drained into incidents by the poller (issue 14).

Target: at least 50 mails/s from the mailbox to committed incidents (fetch, parse, route,
commit, move to the done folder), on PostgreSQL, against a real Dovecot (IMAP over TCP on
127.0.0.1, the server started by this script with its own configuration, as in the tests).

The mailbox holds `--mails` mails of a realistic mix, placed with IMAP APPEND before the
clock starts: 70% from a registered domain (a new incident, its first-response clock and the
Japanese acknowledgement in the outbox), 10% from unknown senders (unmatched), 10% replies
naming an incident in the subject (a message on its timeline), 10% with a 40 kB PNG attached
(kept as evidence with SHA-256 and custody). Subjects and bodies are ISO-2022-JP or UTF-8.

Runs, each on a fresh mailbox:
(ref) the reference: the same mails fetched and moved to the done folder with nothing done
      to them: what the IMAP round trips alone cost;
(1)   `poller.run(once=True)` in this process: everything Kaketsuke does per mail.

    .venv/bin/python -m bench.mail_poll              # 1,000 mails (validation size)
    .venv/bin/python -m bench.mail_poll --full       # 5,000 mails
"""

import argparse
import base64
import shutil
import sys
import tempfile
import time

from bench import serve
from bench.common import print_json, scratch, scratch_options

TARGET_MAILS_PER_S = 50
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench_mail_poll"
DONE = "Kaketsuke/Done"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 160  # 40 kB


def _parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    scratch_options(parser, DEFAULT_URL)
    parser.add_argument("--full", action="store_true", help="5,000 mails")
    parser.add_argument("--mails", type=int, help="mails in the mailbox (default 1,000)")
    args = parser.parse_args(argv)
    args.mails = args.mails or (5000 if args.full else 1000)
    return args


def _words(text, charset):
    codec = "iso2022_jp" if charset == "ISO-2022-JP" else "utf-8"
    return f"=?{charset}?B?{base64.b64encode(text.encode(codec)).decode()}?="


def mail(n, reference):
    """The n-th mail of the mix (bytes as a mailer sends them)."""
    kind = n % 10
    charset = "ISO-2022-JP" if n % 2 else "UTF-8"
    sender = f"user{n % 50}@org{n % 20}.bench.example.jp"
    subject = f"ウイルス感染の疑い 第{n}報"
    if kind == 7:
        sender = f"stranger{n}@unknown.example"
    elif kind == 8 and reference:
        subject = f"Re: [{reference}] 追加の情報です"
    body = f"画面に警告が表示されました。PCはネットワークから外しました。({n})\r\n"
    codec = "iso2022_jp" if charset == "ISO-2022-JP" else "utf-8"
    head = [f"From: {sender}", "To: desk@kaketsuke.test", f"Subject: {_words(subject, charset)}",
            f"Message-ID: <bench{n}@bench.example.jp>", "Date: Wed, 25 Nov 2026 10:00:00 +0900",
            "MIME-Version: 1.0"]
    if kind != 9:
        head += [f"Content-Type: text/plain; charset={charset}",
                 "Content-Transfer-Encoding: base64"]
        return ("\r\n".join(head) + "\r\n\r\n").encode() + \
            base64.encodebytes(body.encode(codec)).replace(b"\n", b"\r\n")
    parts = [f"--b{n}", f"Content-Type: text/plain; charset={charset}",
             "Content-Transfer-Encoding: base64", "",
             base64.encodebytes(body.encode(codec)).decode().strip(),
             f"--b{n}", "Content-Type: image/png", "Content-Transfer-Encoding: base64",
             'Content-Disposition: attachment; filename="screen.png"', "",
             base64.encodebytes(PNG).decode().strip(), f"--b{n}--", ""]
    head.append(f'Content-Type: multipart/mixed; boundary="b{n}"')
    return ("\r\n".join(head) + "\r\n\r\n" + "\r\n".join(parts)).encode()


def fill(mailbox, count, reference):
    with mailbox._session() as imap:
        for n in range(count):
            imap.append("INBOX", None, None, mail(n, reference))


def reference_drain(mailbox):
    """Fetch every mail and move it as the poller does (chunks, bulk FETCH, one MOVE a
    chunk), doing nothing else with it: the IMAP cost alone."""
    from app.services.mail import poller

    address = poller.parse_imap_url(mailbox.url)
    with poller.connect(address) as imap:
        poller.ensure_folder(imap, DONE)
        started = time.perf_counter()
        uids = [int(uid) for uid in imap.uids("ALL")]
        for start in range(0, len(uids), poller.CHUNK):
            chunk = uids[start:start + poller.CHUNK]
            for _uid, _raw in poller.fetch_many(imap, chunk):
                pass
            imap.move([str(uid) for uid in chunk], DONE)
        return time.perf_counter() - started


def kaketsuke_drain(app):
    from app.services.mail import poller

    started = time.perf_counter()
    result = poller.run(app.config, once=True)
    return time.perf_counter() - started, result


def seed_domains(app, organizations=20):
    from app.extensions import db
    from app.models import OrganizationDomain
    from app.testkit import factories

    with app.app_context():
        orgs = [factories.make_organization() for _ in range(organizations)]
        for n, org in enumerate(orgs):
            db.session.add(OrganizationDomain(organization_id=org.id,
                                              domain=f"org{n}.bench.example.jp"))
        db.session.commit()
        incident = factories.make_incident(orgs[8])
        # The replies name an incident their senders' organization reported.
        reference = incident.reference
        db.session.remove()
    return reference


def counts(app):
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Evidence, Incident, MailMessage

    with app.app_context():
        statuses = dict(db.session.execute(select(MailMessage.status, func.count()).where(
            MailMessage.direction == "in").group_by(MailMessage.status)).all())
        values = {"mail": statuses, "incidents": db.session.scalar(
            select(func.count(Incident.id))), "evidence": db.session.scalar(
            select(func.count(Evidence.id)))}
        db.session.remove()
    return values


def main(argv=None):
    from app.testkit.dovecot import Dovecot, available

    args = _parse(argv)
    reason = available()
    if reason:
        print(reason, file=sys.stderr)
        return 2
    folder = tempfile.mkdtemp(prefix="kk-bench-dovecot-")
    evidence = tempfile.mkdtemp(prefix="kk-bench-evidence-")
    server = Dovecot(folder).start()
    try:
        with scratch(args) as url:
            serve.prepare_kaketsuke(url)
            app = serve.kaketsuke_app(url)
            app.config["EVIDENCE_DIR"] = evidence
            reference = seed_domains(app)

            box = server.new_mailbox()
            fill(box, args.mails, reference)
            ref_seconds = reference_drain(box)

            box = server.new_mailbox()
            fill(box, args.mails, reference)
            app.config["IMAP_URL"] = box.url
            with app.app_context():
                seconds, result = kaketsuke_drain(app)
            left = len(box.uids())
            rate = args.mails / seconds
            report = {"mails": args.mails, "reference_s": round(ref_seconds, 2),
                      "reference_mails_per_s": round(args.mails / ref_seconds, 1),
                      "kaketsuke_s": round(seconds, 2), "kaketsuke_mails_per_s": round(rate, 1),
                      "processed": result.processed, "left_in_inbox": left,
                      "outcome": counts(app),
                      "target_mails_per_s": TARGET_MAILS_PER_S,
                      "met": rate >= TARGET_MAILS_PER_S and left == 0}
            print_json("result", report)
            with app.app_context():
                from app.extensions import db
                db.engine.dispose()
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(evidence, ignore_errors=True)
    return 0 if report["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
