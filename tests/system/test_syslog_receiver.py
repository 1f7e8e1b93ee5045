"""The syslog receiver as a real `flask alerts syslog` process, fed by real clients: util-linux
`logger` (TCP octet-counted, UDP, RFC 3164 and RFC 5424 headers) and `rsyslogd` forwarding a
file over TCP with octet counting; plus raw sockets for unknown senders and TLS.

The receiver shares the suite's database (a SQLite file, or TEST_DATABASE_URL). Without
`logger` or `rsyslogd` the tests that need them are skipped with the reason shown, except in
CI (CI=true), where that is a failure.
"""

import os
import shutil
import socket
import subprocess
import threading
import time

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Alert, Organization, RejectedPayload
from app.services.monitoring import senders
from app.testkit import factories
from app.testkit.syslog import (
    cef_line,
    client_context,
    octet_counted,
    receiver_process,
    rfc5424,
    self_signed_certificate,
    send_tcp,
)
from tests.scenes.tools import unavailable

RSYSLOGD = "/usr/sbin/rsyslogd"
DEADLINE_SECONDS = 20


def _require(tool, path, package):
    if path and os.path.exists(path):
        return path
    reason = f"{tool} not found: install the Debian package {package} to run this test"
    unavailable("the syslog test", reason)


@pytest.fixture
def logger():
    return _require("logger", shutil.which("logger"), "bsdutils (util-linux logger)")


@pytest.fixture
def rsyslogd():
    return _require("rsyslogd", RSYSLOGD, "rsyslog")


@pytest.fixture
def bound(app):
    """Org A has a key bound to 127.0.0.1 (sensor name "honsha-utm"); org B one bound to
    127.0.0.9. {"org_a", "org_b"} ids."""
    with app.app_context():
        world = factories.make_world()
        for org_id, network, sensor in ((world["org_a"], "127.0.0.1", "honsha-utm"),
                                        (world["org_b"], "127.0.0.9/32", "")):
            senders.create_bound_key(db.session.get(Organization, org_id), [network], sensor)
        db.session.remove()
    return world


@pytest.fixture
def receiver(app):
    with receiver_process(app.config["SQLALCHEMY_DATABASE_URI"]) as running:
        yield running
        assert running.stop() == 0, running.stderr()


def wait_for(app, condition, what):
    """Poll the database until condition() (run in an app context) is true; fail after the
    deadline saying what was awaited."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    pause = threading.Event()
    while True:
        with app.app_context():
            value = condition()
            db.session.remove()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        pause.wait(0.05)


def alerts_of(org_id):
    return db.session.scalars(select(Alert).where(Alert.organization_id == org_id)
                              .order_by(Alert.id)).all()


def count_alerts(org_id):
    return db.session.scalar(select(func.count(Alert.id)).where(
        Alert.organization_id == org_id))


def run_logger(logger, port, *options, message):
    subprocess.run([logger, "--server", "127.0.0.1", "--port", str(port), "--tag", "fgt",
                    *options, message], check=True, timeout=10)


@pytest.mark.parametrize("transport, header", [
    (["--tcp", "--octet-count"], "--rfc5424"),
    (["--tcp", "--octet-count"], "--rfc3164"),
    (["--udp"], "--rfc5424"),
    (["--udp"], "--rfc3164"),
])
def test_logger_lines_land_as_alerts_of_the_bound_organization(
        app, bound, receiver, logger, transport, header):
    port = receiver.ports["udp" if "--udp" in transport else "tcp"]
    for n in range(3):
        run_logger(logger, port, *transport, header, message=cef_line(n, host="fgt-kobe"))
    alerts = wait_for(app, lambda: len(alerts_of(bound["org_a"])) == 3
                      and alerts_of(bound["org_a"]), "three alerts of org A")
    assert {a.sensor for a in alerts} == {"fgt-kobe"}
    assert {a.rule_id for a in alerts} == {"IPS-0", "IPS-1", "IPS-2"}
    assert all("CEF:0|Fortinet|FortiGate" in a.raw for a in alerts)
    with app.app_context():
        assert count_alerts(bound["org_b"]) == 0
        assert db.session.scalar(select(func.count(RejectedPayload.id))) == 0


def test_rsyslog_forwarding_a_file_over_tcp_with_octet_counting(
        app, bound, receiver, rsyslogd, tmp_path):
    source = tmp_path / "fortigate.log"
    source.write_text("".join(cef_line(n, host="fgt-osaka") + "\n" for n in range(50)))
    config = tmp_path / "rsyslog.conf"
    config.write_text(f"""
global(workDirectory="{tmp_path}")
module(load="imfile" mode="polling" PollingInterval="1")
input(type="imfile" File="{source}" Tag="fortigate:" Severity="warning" Facility="local0")
action(type="omfwd" target="127.0.0.1" port="{receiver.ports['tcp']}" protocol="tcp"
       TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
""")
    relay = subprocess.Popen([rsyslogd, "-n", "-f", str(config), "-i", str(tmp_path / "pid")],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(app, lambda: count_alerts(bound["org_a"]) == 50, "50 alerts via rsyslog")
    finally:
        relay.terminate()
        output = relay.communicate(timeout=10)[0]
    with app.app_context():
        alerts = alerts_of(bound["org_a"])
        assert {a.sensor for a in alerts} == {"fgt-osaka"}, output
        assert len({a.dedup_key for a in alerts}) == 50


def test_unknown_senders_are_refused_and_kept_never_stored_as_alerts(app, bound, receiver):
    line = rfc5424(cef_line(1))
    send_tcp(receiver.ports["tcp"], [octet_counted(line)] * 3, source="127.0.0.5")
    kept = wait_for(app, lambda: db.session.scalars(select(RejectedPayload)).all(),
                    "the unknown sender's lines kept as refused")
    (row,) = kept
    assert row.reason == "unknown sender 127.0.0.5 (3 message(s))"
    assert row.organization_id is None and row.body == "\n".join([line] * 3)
    # org B's sender is bound: its line is org B's; nothing was stored for the unknown one
    send_tcp(receiver.ports["tcp"], octet_counted(rfc5424(cef_line(2))), source="127.0.0.9")
    wait_for(app, lambda: count_alerts(bound["org_b"]) == 1, "org B's alert")
    with app.app_context():
        assert db.session.scalar(select(func.count(Alert.id))) == 1
        db.session.remove()
    assert receiver.stop() == 0
    assert "unknown=3 unknown_kept=1" in receiver.stderr()


def test_tls_with_octet_counted_and_lf_frames_on_one_connection(app, bound, tmp_path):
    cert, key = self_signed_certificate(str(tmp_path))
    with receiver_process(app.config["SQLALCHEMY_DATABASE_URI"], tls=(cert, key)) as running:
        frames = octet_counted(rfc5424(cef_line(1))) + (rfc5424(cef_line(2)) + "\n").encode()
        send_tcp(running.ports["tls"], frames, context=client_context(cert))
        wait_for(app, lambda: count_alerts(bound["org_a"]) == 2, "two alerts over TLS")
        assert running.stop() == 0
    assert "stored=2" in running.stderr()


def test_sigterm_stores_what_was_received_and_exits_zero(app, bound):
    """Lines still waiting for their batch when SIGTERM arrives are stored before the exit."""
    options = ["--batch-seconds", "3600", "--stats-seconds", "0.1"]
    with receiver_process(app.config["SQLALCHEMY_DATABASE_URI"], options=options) as running:
        send_tcp(running.ports["tcp"], [octet_counted(rfc5424(cef_line(n)))
                                        for n in range(200)])
        wait_for(app, lambda: "received=200 " in running.stderr(), "200 lines read")
        with app.app_context():
            assert count_alerts(bound["org_a"]) == 0  # still waiting for their batch
            db.session.remove()
        assert running.stop() == 0
    assert "syslog receiver stopped: received=200 stored=200" in running.stderr()
    with app.app_context():
        assert count_alerts(bound["org_a"]) == 200


def _invoke_serving(runner, args):
    """Invoke a command that starts an asyncio loop, in a thread of its own: the browser
    tests' Playwright (sync API, session-scoped) keeps a loop running in the main thread,
    where asyncio.run refuses to start another. In production the command has the process."""
    results = []
    worker = threading.Thread(target=lambda: results.append(runner.invoke(args=args)))
    worker.start()
    worker.join(60)
    assert results, f"{args} did not return"
    return results[0]


def test_the_command_refuses_what_it_cannot_serve_clearly(app, runner, tmp_path):
    nothing = runner.invoke(args=["alerts", "syslog"])
    assert nothing.exit_code == 2 and "Give at least one of --tcp, --udp and --tls" in \
        nothing.output
    no_cert = runner.invoke(args=["alerts", "syslog", "--tls", "0"])
    assert no_cert.exit_code == 2 and "--tls needs --cert and --key" in no_cert.output
    ca_without_tls = runner.invoke(args=["alerts", "syslog", "--tcp", "0", "--client-ca",
                                         __file__])
    assert ca_without_tls.exit_code == 2 and "--client-ca is for --tls" in ca_without_tls.output
    not_a_cert = tmp_path / "cert.pem"
    not_a_cert.write_text("not a certificate")
    bad_cert = _invoke_serving(runner, ["alerts", "syslog", "--tls", "0", "--cert",
                                        str(not_a_cert), "--key", str(not_a_cert)])
    assert bad_cert.exit_code == 1 and "Cannot listen (or read the certificate)" in \
        bad_cert.output
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = _invoke_serving(runner, ["alerts", "syslog", "--tcp", str(port)])
    assert busy.exit_code == 1 and "Cannot listen" in busy.output
