"""Syslog for tests and the benchmark: the receiver as a real `flask alerts syslog` process
(ready when it prints its ports), frames, a raw TCP/TLS/UDP sender, CEF lines the ingest
accepts, and a throwaway TLS certificate."""

import datetime
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
from contextlib import contextmanager

from app.config import BASE_DIR
from app.domain.syslog_senders import certificate_fingerprint

READY = re.compile(r"listening tcp=(\S+) udp=(\S+) tls=(\S+)")
START_SECONDS = 30


def octet_counted(message):
    """One RFC 6587 octet-counted frame of a message (bytes or text)."""
    data = message.encode() if isinstance(message, str) else message
    return str(len(data)).encode() + b" " + data


def cef_line(n, *, host="fgt-01", signature=None, severity=5, epoch_ms=1764990000000):
    """A FortiGate-like CEF line with rt and dvchost (accepted by every CEF parser
    revision); n varies the destination, so lines are distinct alerts."""
    signature = signature or f"IPS-{n % 97}"
    return (f"CEF:0|Fortinet|FortiGate|7.2.5|{signature}|utm:ips {signature} detected|"
            f"{severity}|rt={epoch_ms + n} dvchost={host} src=203.0.113.{n % 250 + 1} "
            f"dst=192.168.{n // 250 % 250}.{n % 250 + 1} cs1Label=attack cs1={signature}")


def rfc5424(body, host="fgt-01", app="fgt"):
    """A message with an RFC 5424 header."""
    return f"<134>1 2026-12-06T10:00:00.000+09:00 {host} {app} - - - {body}"


def send_tcp(port, frames, *, source="127.0.0.1", context=None, host="127.0.0.1"):
    """Send bytes over one TCP (or TLS, with an ssl client context) connection from the
    source address, then close it."""
    raw = socket.create_connection((host, port), source_address=(source, 0))
    stream = context.wrap_socket(raw, server_hostname="localhost") if context else raw
    with stream:
        stream.sendall(frames if isinstance(frames, bytes) else b"".join(frames))
        if context:
            stream.unwrap()  # close_notify: the receiver sees a clean end


def send_udp(port, messages, *, source="127.0.0.1", host="127.0.0.1"):
    """One datagram per message from the source address."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        for message in messages:
            sock.sendto(message.encode() if isinstance(message, str) else message,
                        (host, port))


def self_signed_certificate(directory, name="localhost"):
    """(cert.pem, key.pem) paths of a fresh self-signed server certificate for name."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(days=1))
                   .not_valid_after(now + datetime.timedelta(days=30))
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]),
                                  critical=False)
                   .sign(key, hashes.SHA256()))
    os.makedirs(directory, exist_ok=True)
    cert_path, key_path = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    with open(cert_path, "wb") as out:
        out.write(certificate.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as out:
        out.write(key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    return cert_path, key_path


def client_context(cert_path, client_cert=None, client_key=None):
    """A TLS client context trusting only the given (self-signed) server certificate, showing
    the client certificate if one is given."""
    context = ssl.create_default_context(cafile=cert_path)
    if client_cert:
        context.load_cert_chain(client_cert, client_key)
    return context


def fingerprint_of(cert_path):
    """The SHA-256 fingerprint (hex) of a PEM certificate file."""
    with open(cert_path) as pem:
        return certificate_fingerprint(ssl.PEM_cert_to_DER_cert(pem.read()))


class ReceiverProcess:
    """A running `flask alerts syslog`: its ports, its output, and how it ended."""

    def __init__(self, process, ports, log):
        self.process, self.ports, self._log = process, ports, log
        self._final = None

    def stop(self, timeout=20):
        """SIGTERM, then the exit code (what it logged is in .stderr())."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def stderr(self):
        """What the process wrote to stderr so far (its log)."""
        if self._final is not None:
            return self._final
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def close(self):
        """Keep the log's text and close its file."""
        self._final = self.stderr()
        self._log.close()


@contextmanager
def receiver_process(database_url, *, tcp=True, udp=True, tls=None, env=None, options=()):
    """Start the receiver on free ports of 127.0.0.1 (tls: (cert, key) paths); yield a
    ReceiverProcess once it printed its ready line; kill it if it is still running after."""
    args = [sys.executable, "-m", "flask", "alerts", "syslog", "--bind", "127.0.0.1"]
    args += ["--tcp", "0"] if tcp else []
    args += ["--udp", "0"] if udp else []
    args += ["--tls", "0", "--cert", tls[0], "--key", tls[1]] if tls else []
    args += list(options)
    environment = {**os.environ, "DATABASE_URL": database_url, "FLASK_APP": "wsgi",
                   **(env or {})}
    log = tempfile.TemporaryFile()  # a pipe nobody reads could fill and stall it
    process = subprocess.Popen(args, cwd=BASE_DIR, env=environment, stdout=subprocess.PIPE,
                               stderr=log, text=True)
    guard = threading.Timer(START_SECONDS, process.kill)  # a receiver that never gets ready
    running = None
    guard.start()
    try:
        ready = next((READY.search(line) for line in iter(process.stdout.readline, "")
                      if READY.search(line)), None)
        guard.cancel()
        if ready is None:
            process.wait(5)
            log.seek(0)
            raise RuntimeError("the receiver ended before it was ready:\n"
                               + log.read().decode(errors="replace"))
        ports = {name: int(port) if port != "-" else None
                 for name, port in zip(("tcp", "udp", "tls"), ready.groups(), strict=True)}
        running = ReceiverProcess(process, ports, log)
        yield running
    finally:
        guard.cancel()
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        if running is not None:
            running.close()
        else:
            log.close()
