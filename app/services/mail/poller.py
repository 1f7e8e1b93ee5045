"""The desk mailbox's poller: read each mail, process it, commit, then move it to the done
folder. IDLE where the server offers it, else a poll every IMAP_POLL_SECONDS; a server or
mailbox that goes away is reconnected to with backoff.

Exactly once: the move comes only after the commit. A poller killed between the two
leaves the mail in the inbox; the next pass finds it processed (receive.already_received)
and only moves it. A mail that cannot be processed is kept as refused with the reason,
so one bad mail never stops the rest.
"""

import hashlib
import imaplib
import logging
import re
import socket
import threading
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from imap_tools import MailBox, MailBoxUnencrypted
from imap_tools.errors import ImapToolsError
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from app.domain.timeutil import utcnow
from app.errors import InvalidInput
from app.extensions import db
from app.models import MailMessage
from app.services.mail.receive import Source, receive

log = logging.getLogger(__name__)

BACKOFF_FIRST_SECONDS = 1
BACKOFF_CAP_SECONDS = 300
CHUNK = 50  # UIDs handled together: one lookup, one MOVE
# Mails committed together: fewer commits (each a disk flush), while the year's reference
# counter row, locked by each new incident until the commit, is held for at most a batch.
BATCH = 10
BATCH_MAX_BYTES = 4 * 1024 * 1024
BULK_FETCH_MAX_BYTES = 4 * 1024 * 1024  # small mails fetched together up to this size
IDLE_MAX_SECONDS = 25 * 60  # RFC 2177: renew IDLE before the server's 30 minutes
CONNECT_TIMEOUT_SECONDS = 30
# The server, the mailbox or the database went away: reconnect with backoff, never skip.
TROUBLE = (OSError, socket.timeout, imaplib.IMAP4.error, imaplib.IMAP4.abort, ImapToolsError,
           OperationalError)


@dataclass(frozen=True)
class MailboxAddress:
    """IMAP_URL read: imaps://user:password@host:993/INBOX (or imap:// for local tests)."""

    secure: bool
    host: str
    port: int
    user: str
    password: str
    folder: str

    @property
    def key(self):
        """How the mailbox is named in the received-mail table (no password)."""
        return f"{self.user}@{self.host}:{self.port}/{self.folder}"


def parse_imap_url(url):
    parts = urlsplit(url or "")
    if parts.scheme not in ("imap", "imaps") or not parts.hostname or not parts.username:
        raise InvalidInput("IMAP_URL must look like imaps://user:password@host:993/INBOX.",
                           {"field": "IMAP_URL"})
    secure = parts.scheme == "imaps"
    return MailboxAddress(secure, parts.hostname, parts.port or (993 if secure else 143),
                          unquote(parts.username), unquote(parts.password or ""),
                          unquote(parts.path.lstrip("/")) or "INBOX")


@dataclass
class PassResult:
    processed: int = 0
    moved_only: int = 0  # processed before (a crash before the move): only moved now


def connect(address):
    cls = MailBox if address.secure else MailBoxUnencrypted
    mailbox = cls(address.host, address.port, timeout=CONNECT_TIMEOUT_SECONDS)
    mailbox.login(address.user, address.password, initial_folder=address.folder)
    _refresh_capabilities(mailbox.client)
    return mailbox


def _refresh_capabilities(client):
    """Ask again after login: servers list MOVE (and more) only to a logged-in client, and
    without MOVE a move is COPY then delete, which a crash between the two would leave as
    a copy in both folders."""
    typ, data = client.capability()
    if typ == "OK" and data and data[-1]:
        client.capabilities = tuple(data[-1].decode("ascii", "replace").upper().split())


def ensure_folder(mailbox, folder):
    if not mailbox.folder.exists(folder):
        mailbox.folder.create(folder)


def drain(mailbox, address, done_folder, clock=utcnow):
    """Process every mail in the folder and move it to the done folder; one pass.

    A chunk of UIDs at a time: one query finds those processed before, the others are
    fetched together (small ones in one FETCH) and processed in batches of a few mails,
    each batch one commit; then the whole chunk is moved with one MOVE. A crash before the
    MOVE leaves committed mail in the inbox, which the next pass recognises and only moves.
    """
    ensure_folder(mailbox, done_folder)
    mailbox.folder.set(address.folder)
    uidvalidity = int(mailbox.folder.status(address.folder, ["UIDVALIDITY"])["UIDVALIDITY"])
    result = PassResult()
    uids = [int(uid) for uid in mailbox.uids("ALL")]
    for start in range(0, len(uids), CHUNK):
        chunk = uids[start:start + CHUNK]
        seen = received_uids(address.key, uidvalidity, chunk)
        fetched = fetch_many(mailbox, [uid for uid in chunk if uid not in seen])
        for batch in _batches(fetched):
            work = [(Source(address.key, uidvalidity, uid), raw) for uid, raw in batch]
            _process_batch(work, clock)
            result.processed += len(work)
        result.moved_only += len(seen)
        mailbox.move([str(uid) for uid in chunk], done_folder)
    return result


def received_uids(mailbox_key, uidvalidity, uids):
    """Which of these UIDs were processed before (one query)."""
    if not uids:
        return set()
    found = db.session.scalars(select(MailMessage.uid).where(
        MailMessage.mailbox == mailbox_key, MailMessage.uidvalidity == uidvalidity,
        MailMessage.uid.in_(uids))).all()
    db.session.rollback()  # end the read: nothing is held while mail is fetched
    return set(found)


def fetch_many(mailbox, uids):
    """(uid, bytes exactly as stored) for each UID still there, in order, not marked as
    read: small mails together in one FETCH, a large one alone (memory stays bounded)."""
    if not uids:
        return
    sizes = _sizes(mailbox, uids)
    group, group_bytes = [], 0
    for uid in uids:
        if uid not in sizes:
            continue  # gone since the search (another client moved or deleted it)
        if group and group_bytes + sizes[uid] > BULK_FETCH_MAX_BYTES:
            yield from _fetch(mailbox, group)
            group, group_bytes = [], 0
        group.append(uid)
        group_bytes += sizes[uid]
    if group:
        yield from _fetch(mailbox, group)


_UID = re.compile(rb"UID (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


def _sizes(mailbox, uids):
    typ, data = mailbox.client.uid("FETCH", ",".join(map(str, uids)), "(RFC822.SIZE)")
    if typ != "OK":
        raise imaplib.IMAP4.error(f"FETCH sizes: {typ}")
    sizes = {}
    for item in data or ():
        line = item[0] if isinstance(item, tuple) else item
        uid, size = _UID.search(line or b""), _SIZE.search(line or b"")
        if uid and size:
            sizes[int(uid.group(1))] = int(size.group(1))
    return sizes


def _fetch(mailbox, uids):
    typ, data = mailbox.client.uid("FETCH", ",".join(map(str, uids)), "(BODY.PEEK[])")
    if typ != "OK":
        raise imaplib.IMAP4.error(f"FETCH: {typ}")
    raws = {}
    for item in data or ():
        if isinstance(item, tuple) and len(item) == 2:
            uid = _UID.search(item[0])
            if uid:
                raws[int(uid.group(1))] = item[1]
    for uid in uids:
        if uid in raws:
            yield uid, raws.pop(uid)


def _batches(fetched):
    """Groups of at most BATCH mails and BATCH_MAX_BYTES (one large mail alone)."""
    batch, size = [], 0
    for uid, raw in fetched:
        if batch and (len(batch) >= BATCH or size + len(raw) > BATCH_MAX_BYTES):
            yield batch
            batch, size = [], 0
        batch.append((uid, raw))
        size += len(raw)
    if batch:
        yield batch


def _process_batch(batch, clock):
    """Several mails in one transaction (one commit, one disk flush, for all); if any of
    them fails, the batch is rolled back and each mail is processed again on its own, so a
    bad mail costs only itself."""
    if len(batch) > 1:
        try:
            for source, raw in batch:
                receive(raw, source, now=clock(), commit=False)
            db.session.commit()
            return
        except TROUBLE:
            db.session.rollback()
            raise
        except Exception:  # noqa: BLE001 - retried one by one below
            db.session.rollback()
    for source, raw in batch:
        _process_one(raw, source, clock)


def _process_one(raw, source, clock):
    try:
        receive(raw, source, now=clock())
    except TROUBLE:
        raise
    except Exception as exc:  # noqa: BLE001 - one bad mail must not stop the others
        db.session.rollback()
        log.exception("mail uid %s: processing failed", source.uid)
        _keep_failed(raw, source, clock(), exc)


def _keep_failed(raw, source, now, exc):
    """A mail whose processing raised: kept as refused with the reason, for the desk."""
    row = MailMessage(direction="in", kind="customer", status="refused",
                      reason=f"processing failed: {type(exc).__name__}",
                      mailbox=source.mailbox, uidvalidity=source.uidvalidity, uid=source.uid,
                      raw_sha256=hashlib.sha256(raw).hexdigest(), raw=raw, received_at=now)
    db.session.add(row)
    db.session.commit()


def wait_for_mail(mailbox, seconds, stop):
    """Until the server says something changed (IDLE), or `seconds` pass."""
    if "IDLE" in mailbox.client.capabilities:
        mailbox.idle.wait(timeout=min(seconds, IDLE_MAX_SECONDS))
    else:
        stop.wait(seconds)


def run(config, *, once=False, stop=None, clock=utcnow, on_pass=None):
    """Poll until `stop` is set (or, with once, drain the mailbox a single time)."""
    address = parse_imap_url(config["IMAP_URL"])
    stop = stop or threading.Event()
    backoff = BACKOFF_FIRST_SECONDS
    while not stop.is_set():
        try:
            with connect(address) as mailbox:
                backoff = BACKOFF_FIRST_SECONDS
                while not stop.is_set():
                    result = drain(mailbox, address, config["IMAP_DONE_FOLDER"], clock)
                    if on_pass:
                        on_pass(result)
                    if once:
                        return result
                    wait_for_mail(mailbox, config["IMAP_POLL_SECONDS"], stop)
        except TROUBLE as exc:
            db.session.rollback()
            if once:
                raise
            log.warning("mailbox %s: %s; trying again in %s s", address.key, exc, backoff)
            stop.wait(backoff)
            backoff = min(backoff * 2, BACKOFF_CAP_SECONDS)
    return None
