"""The syslog receiver in-process (its loop on a thread, real sockets): frames split across
reads, oversized frames, a database error that loses one batch but not the receiver, refused
batches, and the bounded keeping of unknown senders' lines."""

import asyncio
import re
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from app.errors import InvalidInput
from app.extensions import db
from app.models import Alert, Organization, RejectedPayload
from app.services.monitoring import ingest, receiver, senders
from app.testkit import factories
from app.testkit.syslog import (
    cef_line,
    client_context,
    fingerprint_of,
    octet_counted,
    rfc5424,
    self_signed_certificate,
    send_tcp,
    send_udp,
)

DEADLINE_SECONDS = 10


@pytest.fixture
def org_a(app):
    with app.app_context():
        world = factories.make_world()
        senders.create_bound_key(db.session.get(Organization, world["org_a"]), ["127.0.0.1"])
        db.session.remove()
    return world["org_a"]


@contextmanager
def running(app, **options):
    """A Receiver serving on free ports on a thread; stopped (and joined) at the end."""
    ready, state = threading.Event(), {}

    def announce(line):
        state["ports"] = {name: int(port) for name, port in
                          re.findall(r"(tcp|udp|tls)=(\d+)", line)}
        ready.set()

    instance = receiver.Receiver(app, receiver.Options(**{"tcp": 0, "udp": 0, **options}),
                                 announce)

    async def main():
        state["loop"], state["stop"] = asyncio.get_running_loop(), asyncio.Event()
        await instance.serve(state["stop"])

    thread = threading.Thread(target=asyncio.run, args=(main(),))
    thread.start()
    try:
        assert ready.wait(DEADLINE_SECONDS), "the receiver did not start"
        yield instance, state["ports"]
    finally:
        state["loop"].call_soon_threadsafe(state["stop"].set)
        thread.join(DEADLINE_SECONDS)
    assert not thread.is_alive()


def wait_until(condition, what):
    deadline, pause = time.monotonic() + DEADLINE_SECONDS, threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        pause.wait(0.02)


def stored(app):
    with app.app_context():
        value = db.session.scalar(select(func.count(Alert.id)))
        db.session.remove()
        return value


class RecordingDecoder(receiver.StreamDecoder):
    """A StreamDecoder that keeps every chunk it was fed."""

    chunks = []

    def feed(self, data):
        RecordingDecoder.chunks.append(bytes(data))
        return super().feed(data)


def test_a_frame_split_across_reads_is_reassembled(app, org_a, monkeypatch):
    RecordingDecoder.chunks = []
    monkeypatch.setattr(receiver, "StreamDecoder", RecordingDecoder)
    frame = octet_counted(rfc5424(cef_line(7)))
    with running(app, batch_seconds=0.05) as (instance, ports):
        with socket.create_connection(("127.0.0.1", ports["tcp"])) as sock:
            sock.sendall(frame[:40])
            wait_until(lambda: b"".join(RecordingDecoder.chunks) == frame[:40],
                       "the first part read")
            sock.sendall(frame[40:])
        wait_until(lambda: stored(app) == 1, "the alert stored")
    assert len(RecordingDecoder.chunks) >= 2 and b"".join(RecordingDecoder.chunks) == frame
    assert instance.counters.received == 1


def test_an_oversized_frame_is_refused_and_the_next_one_kept(app, org_a):
    big = octet_counted(rfc5424("x" * 2000))
    with running(app, max_frame=1024, batch_seconds=0.05) as (instance, ports):
        send_tcp(ports["tcp"], big + octet_counted(rfc5424(cef_line(1))))
        wait_until(lambda: stored(app) == 1, "the frame after the big one")
    assert (instance.counters.oversized, instance.counters.received) == (1, 1)


def test_a_database_error_loses_one_batch_and_the_receiver_keeps_serving(
        app, org_a, monkeypatch):
    real, calls = ingest.ingest_lines, []

    def failing_once(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise OperationalError("INSERT", {}, Exception("server closed the connection"))
        return real(*args, **kwargs)

    monkeypatch.setattr(ingest, "ingest_lines", failing_once)
    with running(app, batch_seconds=0.05) as (instance, ports):
        send_udp(ports["udp"], [rfc5424(cef_line(1))])
        wait_until(lambda: instance.counters.lost == 1, "the lost batch counted")
        send_udp(ports["udp"], [rfc5424(cef_line(2))])
        wait_until(lambda: stored(app) == 1, "the next batch stored")
    assert (instance.counters.stored, instance.counters.lost) == (1, 1)


def test_a_batch_the_ingest_refuses_is_counted_as_refused(app, org_a, monkeypatch):
    def refusing(*_args, **_kwargs):
        raise InvalidInput("The payload was refused: not a CEF line")

    monkeypatch.setattr(ingest, "ingest_lines", refusing)
    with running(app, batch_seconds=0.05) as (instance, ports):
        send_tcp(ports["tcp"], b"<13>Dec  6 10:00:00 host app: hello\n" * 2)
        wait_until(lambda: instance.counters.refused == 2, "the refusal counted")
    assert instance.counters.stored == 0


def test_unknown_senders_keep_one_row_per_sender_per_minute_and_are_all_counted(app, ctx):
    clock = [1000.0]
    store = receiver.Store(app, receiver.Counters(), clock=lambda: clock[0])
    lines = [b"<13>1 - host app - - - " + b"y" * (ingest.KEPT_BODY_BYTES - 32), b"second",
             b"third"]  # "third" crosses the limit: cut to "t"
    store.store("192.0.2.1", lines)
    store.store("192.0.2.1", [b"again"])
    store.store("192.0.2.2", [b"other"])
    clock[0] += receiver.UNKNOWN_KEEP_SECONDS
    store.store("192.0.2.1", [b"a minute later"])
    rows = db.session.scalars(select(RejectedPayload).order_by(RejectedPayload.id)).all()
    assert [r.reason for r in rows] == ["unknown sender 192.0.2.1 (3 message(s))",
                                        "unknown sender 192.0.2.2 (1 message(s))",
                                        "unknown sender 192.0.2.1 (1 message(s))"]
    assert len(rows[0].body.encode()) == ingest.KEPT_BODY_BYTES
    assert rows[0].body.startswith("<13>1 - host app") and rows[0].body.endswith("\nsecond\nt")
    assert (store.counters.unknown, store.counters.unknown_kept) == (6, 3)
    assert db.session.scalar(select(func.count(Alert.id))) == 0


def test_unknown_senders_write_at_most_the_rows_per_minute_in_all(app, ctx):
    store = receiver.Store(app, receiver.Counters(), clock=lambda: 120.0)
    for n in range(receiver.UNKNOWN_ROWS_PER_MINUTE + 5):
        store.store(f"10.0.{n // 250}.{n % 250}", [b"spoofed"])
    assert db.session.scalar(select(func.count(RejectedPayload.id))) == \
        receiver.UNKNOWN_ROWS_PER_MINUTE
    assert store.counters.unknown == receiver.UNKNOWN_ROWS_PER_MINUTE + 5


def test_a_bound_client_certificate_names_the_sender_before_its_address(
        app, org_a, tmp_path):
    """127.0.0.1 is org A's; the client certificate bound to org B's key wins over it. A
    certificate bound to no key leaves the sender known by its address."""
    server = self_signed_certificate(str(tmp_path / "server"), "localhost")
    bound_client = self_signed_certificate(str(tmp_path / "b"), "fgt-b")
    other_client = self_signed_certificate(str(tmp_path / "other"), "fgt-other")
    with app.app_context():
        org_b = factories.make_organization()
        senders.create_bound_key(org_b, cert_fingerprint=fingerprint_of(bound_client[0]))
        org_b_id = org_b.id
        db.session.remove()
    (tmp_path / "clients.pem").write_text(
        Path(bound_client[0]).read_text() + Path(other_client[0]).read_text())
    options = {"tls": 0, "cert": server[0], "key": server[1],
               "client_ca": str(tmp_path / "clients.pem"), "batch_seconds": 0.05}
    with running(app, **options) as (_instance, ports):
        for client, n in ((bound_client, 1), (other_client, 2), (None, 3)):
            context = client_context(server[0], *(client or ()))
            send_tcp(ports["tls"], octet_counted(rfc5424(cef_line(n))), context=context)
        wait_until(lambda: stored(app) == 3, "three alerts over TLS")
    with app.app_context():
        owners = {a.rule_id: a.organization_id for a in db.session.scalars(select(Alert))}
        db.session.remove()
    assert owners == {"IPS-1": org_b_id, "IPS-2": org_a, "IPS-3": org_a}


def test_ipv6_senders_are_bound_by_their_ipv6_networks(app, ctx):
    world = factories.make_world()
    senders.create_bound_key(db.session.get(Organization, world["org_b"]), ["::1/128"])
    db.session.remove()
    with running(app, bind="::1", udp=None, batch_seconds=0.05) as (instance, ports):
        send_tcp(ports["tcp"], octet_counted(rfc5424(cef_line(4))), source="::1", host="::1")
        wait_until(lambda: stored(app) == 1, "the IPv6 sender's alert")
    assert db.session.scalars(select(Alert)).one().organization_id == world["org_b"]
