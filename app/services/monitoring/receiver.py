"""The syslog receiver: TCP (octet-counted or LF frames), UDP and TLS (RFC 5425) into the
alert ingest, as one long-running process (`flask alerts syslog`).

The network side is one asyncio loop; the database side is WRITERS threads beside it.
Messages are collected per sender address and handed to those threads in batches (up to
BATCH_LINES messages, or whatever arrived within BATCH_SECONDS), each stored through
`ingest.ingest_lines` in one app context: the same parsing, dedup and policy as the HTTP
endpoint, at one transaction per batch. The queue between the two sides is bounded: when
the database falls behind, TCP senders are simply read more slowly (their own buffers hold
the rest, as syslog over TCP expects); UDP has no such brake, so a sender's pending UDP
messages beyond MAX_PENDING are dropped and counted.

A sender is identified by the TLS client certificate it showed, if one is bound to an active
ingest key, else by its source address, resolved to the most specific network bound to an
active key (services/monitoring/senders.py; the tables are reloaded every TABLE_SECONDS).
Lines of unknown senders are never stored as alerts: they are counted, and kept as refused
payloads, at most one row per sender per UNKNOWN_KEEP_SECONDS and
UNKNOWN_ROWS_PER_MINUTE rows in all, so a flood cannot fill the table.

A database error loses that batch (logged, counted) and never stops the receiver.
"""

import asyncio
import logging
import signal
import ssl
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields

from app.domain.safetext import escaped
from app.domain.syslog_framing import (
    DEFAULT_MAX_FRAME,
    StreamDecoder,
    datagram_message,
    decode_message,
)
from app.domain.syslog_senders import certificate_fingerprint
from app.domain.timeutil import utcnow
from app.errors import AppError
from app.extensions import db
from app.models import RejectedPayload
from app.services.monitoring import ingest, senders

log = logging.getLogger(__name__)

BATCH_LINES = 500
MERGE_LINES = 5000  # queued batches of one sender merged up to this many messages
WRITERS = 2  # database threads: one parses its batch while the other waits on the database
BATCH_SECONDS = 0.2
QUEUE_BATCHES = 64
MAX_PENDING = 20 * BATCH_LINES  # per sender, UDP only (TCP waits instead)
READ_BYTES = 256 * 1024
TABLE_SECONDS = 5.0
STATS_SECONDS = 60.0
UNKNOWN_KEEP_SECONDS = 60.0
UNKNOWN_ROWS_PER_MINUTE = 60


@dataclass
class Options:
    """Where to listen (a port of None is not opened; 0 takes a free one)."""

    bind: str = "127.0.0.1"
    tcp: int | None = None
    udp: int | None = None
    tls: int | None = None
    cert: str | None = None
    key: str | None = None
    client_ca: str | None = None  # TLS: ask for client certificates issued under these
    max_frame: int = DEFAULT_MAX_FRAME
    batch_lines: int = BATCH_LINES
    batch_seconds: float = BATCH_SECONDS
    stats_seconds: float = STATS_SECONDS
    merge_lines: int = MERGE_LINES
    writers: int = WRITERS


@dataclass
class Counters:
    """What the receiver did since it started (logged periodically and at the end)."""

    received: int = 0  # messages framed
    stored: int = 0  # messages handed to the ingest and committed
    refused: int = 0  # messages of batches the ingest refused (kept on the refused page)
    unknown: int = 0  # messages from senders bound to no active key
    unknown_kept: int = 0  # rows of refused payloads written for them
    lost: int = 0  # messages of batches a database error lost
    dropped: int = 0  # UDP messages dropped while the database was behind
    oversized: int = 0  # frames over the size limit

    def line(self):
        return " ".join(f"{f.name}={getattr(self, f.name)}" for f in fields(self))


@dataclass
class _UnknownLimiter:
    """Whether another refused row may be kept for an unknown sender now."""

    last_kept: dict = field(default_factory=dict)
    minute: int = -1
    rows_this_minute: int = 0

    def allow(self, address, clock):
        if clock - self.last_kept.get(address, -UNKNOWN_KEEP_SECONDS) < UNKNOWN_KEEP_SECONDS:
            return False
        minute = int(clock // 60)
        if minute != self.minute:
            self.minute, self.rows_this_minute = minute, 0
            self.last_kept = {a: t for a, t in self.last_kept.items()
                              if clock - t < UNKNOWN_KEEP_SECONDS}
        if self.rows_this_minute >= UNKNOWN_ROWS_PER_MINUTE:
            return False
        self.rows_this_minute += 1
        self.last_kept[address] = clock
        return True


class Store:
    """The database side: one batch of one sender's messages at a time, in an app context."""

    def __init__(self, app, counters, clock=time.monotonic):
        self.app, self.counters, self.clock = app, counters, clock
        self._table, self._table_at = None, None
        self._limiter = _UnknownLimiter()
        self._lock = threading.Lock()  # the writer threads share the counters and caches

    def _count(self, name, n):
        with self._lock:
            setattr(self.counters, name, getattr(self.counters, name) + n)

    def store(self, address, messages, fingerprint=None):
        """Store one sender's batch (fingerprint: of its TLS client certificate, if it showed
        one); never raises (a failure is logged and counted)."""
        with self.app.app_context():
            try:
                self._store(address, messages, fingerprint)
            except AppError as error:  # the ingest refused the batch and kept it
                self._count("refused", len(messages))
                log.warning("syslog from %s: %s message(s) refused: %s", address,
                            len(messages), error.message)
            except Exception:
                db.session.rollback()
                self._count("lost", len(messages))
                log.exception("syslog from %s: %s message(s) lost to a database error",
                              address, len(messages))
            finally:
                db.session.remove()

    def _store(self, address, messages, fingerprint):
        table, certificates = self._sender_tables()
        key_id = certificates.get(fingerprint) if fingerprint else None
        if key_id is None:
            key_id = table.resolve(address)
        key = senders.active_key(key_id) if key_id is not None else None
        if key is None:
            self._keep_unknown(address, messages)
            return
        lines = [decode_message(message) for message in messages]
        ingest.ingest_lines(key, lines, sender=address)
        self._count("stored", len(messages))

    def _sender_tables(self):
        """(the networks' SenderTable, {certificate fingerprint: key id}), at most
        TABLE_SECONDS old."""
        with self._lock:
            now = self.clock()
            if self._table is None or now - self._table_at >= TABLE_SECONDS:
                self._table = (senders.sender_table(), senders.certificate_table())
                self._table_at = now
            return self._table

    def _keep_unknown(self, address, messages):
        """Count an unknown sender's messages; keep them as one refused payload if the
        limiter allows (their first KEPT_BODY_BYTES, escaped)."""
        self._count("unknown", len(messages))
        with self._lock:
            if not self._limiter.allow(address, self.clock()):
                return
        body = "\n".join(decode_message(m) for m in _within(messages, ingest.KEPT_BODY_BYTES))
        size = sum(len(m) + 1 for m in messages)
        db.session.add(RejectedPayload(
            organization_id=None, received_at=utcnow(),
            content_type=escaped(f"syslog from {address}")[:200], size=size,
            reason=escaped(f"unknown sender {address} ({len(messages)} message(s))")[:500],
            body=escaped(body)))
        db.session.commit()
        self._count("unknown_kept", 1)


def _within(messages, limit):
    """The first messages whose bytes (and a separator each) fit in limit; the one that
    crosses it is cut."""
    kept, used = [], 0
    for message in messages:
        if used + len(message) + 1 > limit:
            kept.append(message[:max(0, limit - used)])
            break
        kept.append(message)
        used += len(message) + 1
    return kept


def _by_sender(batches):
    """(sender, messages) batches merged per sender, in the order first seen."""
    merged = {}
    for sender, messages in batches:
        merged.setdefault(sender, []).extend(messages)
    return list(merged.items())


def _fingerprint(writer):
    """The SHA-256 of the TLS client certificate the connection showed, else None."""
    ssl_object = writer.get_extra_info("ssl_object")
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    return certificate_fingerprint(der) if der else None


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, receiver):
        self.receiver = receiver

    def datagram_received(self, data, addr):
        message = datagram_message(data)
        if message is not None:
            self.receiver.take_datagram(addr[0], message)


class Receiver:
    """Listens, frames, batches per sender, and hands batches to a Store."""

    def __init__(self, app, options, announce=print):
        self.options, self.announce = options, announce
        self.counters = Counters()
        self.store = Store(app, self.counters)
        self._pending = defaultdict(list)
        self._connections = set()
        self._servers, self._transports = [], []
        self._queue = None
        self._executor = ThreadPoolExecutor(options.writers, thread_name_prefix="syslog-db")

    def run(self):
        """Serve until SIGTERM or SIGINT; everything received is stored before it returns."""
        asyncio.run(self.serve())

    async def serve(self, stop=None):
        """Serve until `stop` (an asyncio.Event) is set, or a signal sets it."""
        loop = asyncio.get_running_loop()
        stop = stop or asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(signum, stop.set)
            except (RuntimeError, ValueError):  # not the main thread (in-process tests)
                pass
        self._queue = asyncio.Queue(QUEUE_BATCHES)
        consumers = [asyncio.create_task(self._consume())
                     for _ in range(self.options.writers)]
        ports = await self._listen(loop)
        self.announce("listening " + " ".join(f"{name}={port or '-'}"
                                                for name, port in ports.items()))
        ticker = asyncio.create_task(self._tick(stop))
        await stop.wait()
        await self._shut_down(ticker, consumers)
        log.info("syslog receiver stopped: %s", self.counters.line())

    async def _listen(self, loop):
        """Open the listeners asked for; {transport: the port bound, or None}."""
        o, ports = self.options, {"tcp": None, "udp": None, "tls": None}
        if o.tcp is not None:
            ports["tcp"] = await self._stream_server(o.tcp, None)
        if o.udp is not None:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Datagrams(self), local_addr=(o.bind, o.udp))
            self._transports.append(transport)
            ports["udp"] = transport.get_extra_info("sockname")[1]
        if o.tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.minimum_version = ssl.TLSVersion.TLSv1_2  # TLS 1.2 or later
            context.load_cert_chain(o.cert, o.key)
            if o.client_ca:  # a certificate is asked for, not required: else the address
                context.verify_mode = ssl.CERT_OPTIONAL
                context.load_verify_locations(o.client_ca)
            ports["tls"] = await self._stream_server(o.tls, context)
        return ports

    async def _stream_server(self, port, context):
        server = await asyncio.start_server(self._serve_stream, self.options.bind, port,
                                            ssl=context, limit=READ_BYTES)
        self._servers.append(server)
        return server.sockets[0].getsockname()[1]

    async def _serve_stream(self, reader, writer):
        """One TCP or TLS connection, until the sender closes it or the receiver stops."""
        sender = (writer.get_extra_info("peername")[0], _fingerprint(writer))
        decoder = StreamDecoder(self.options.max_frame)
        task = asyncio.current_task()
        self._connections.add(task)
        try:
            while data := await reader.read(READ_BYTES):
                self._take(sender, decoder.feed(data), decoder)
                if len(self._pending[sender]) >= self.options.batch_lines:
                    await self._hand_off(sender)
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError) as error:
            log.info("syslog connection from %s ended: %s", sender[0], error)
        except asyncio.CancelledError:
            pass  # the receiver is stopping: keep what the decoder holds, below
        finally:
            self._take(sender, decoder.close(), decoder)
            self._connections.discard(task)
            writer.close()

    def _take(self, sender, messages, decoder):
        self.counters.received += len(messages)
        self._pending[sender].extend(messages)
        if decoder.refused:
            for refusal in decoder.refused:
                log.warning("syslog from %s: frame refused: %s", sender[0], refusal.reason)
            self.counters.oversized += len(decoder.refused)
            decoder.refused.clear()

    def take_datagram(self, address, message):
        """One UDP message (the loop's callback cannot wait for a full queue)."""
        self.counters.received += 1
        pending = self._pending[(address, None)]
        if len(pending) >= MAX_PENDING:
            self.counters.dropped += 1
            return
        pending.append(message)

    async def _hand_off(self, sender):
        """Queue the sender's pending messages in batches (waits while the queue is full)."""
        pending = self._pending.pop(sender, [])
        size = self.options.batch_lines
        while pending:
            try:
                await self._queue.put((sender, pending[:size]))
            except asyncio.CancelledError:  # not queued: back before what came since
                self._pending[sender][:0] = pending
                raise
            del pending[:size]

    async def _tick(self, stop):
        """Every batch_seconds hand off what every sender has pending; log the counters
        every stats_seconds."""
        o = self.options
        last_batch = last_stats = time.monotonic()
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), min(o.batch_seconds, o.stats_seconds))
            except TimeoutError:
                pass
            now = time.monotonic()
            if now - last_batch >= o.batch_seconds:
                last_batch = now
                for address in list(self._pending):
                    await self._hand_off(address)
            if now - last_stats >= o.stats_seconds:
                last_stats = now
                log.info("syslog receiver: %s", self.counters.line())

    async def _consume(self):
        """Store queued batches on the database threads until the None that ends it. When
        the database is behind, the batches waiting in the queue are merged per sender (up
        to merge_lines): fewer, larger transactions exactly when throughput matters."""
        loop = asyncio.get_running_loop()
        ending = False
        while not ending:
            batches = [await self._queue.get()]
            while sum(len(b[1]) for b in batches if b) < self.options.merge_lines \
                    and batches[-1] is not None and not self._queue.empty():
                batches.append(self._queue.get_nowait())
            ending = batches[-1] is None
            for (address, fingerprint), messages in _by_sender(
                    [b for b in batches if b is not None]):
                await loop.run_in_executor(self._executor, self.store.store, address,
                                           messages, fingerprint)
        await self._queue.put(None)  # the next consumer ends too

    async def _shut_down(self, ticker, consumers):
        """Stop listening, end the connections, store everything pending, then return."""
        for server in self._servers:
            server.close()
        for transport in self._transports:
            transport.close()
        connections = list(self._connections)
        for task in connections:
            task.cancel()
        await asyncio.gather(*connections, return_exceptions=True)
        await ticker
        for address in list(self._pending):
            await self._hand_off(address)
        await self._queue.put(None)
        await asyncio.gather(*consumers)
        for server in self._servers:
            await server.wait_closed()
        self._executor.shutdown(wait=True)
