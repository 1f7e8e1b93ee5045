"""A tiny SMTP server for tests (the stdlib's smtpd is deprecated, then gone).

It speaks enough ESMTP for smtplib: EHLO/HELO, AUTH PLAIN and LOGIN, MAIL, RCPT,
DATA (with dot-unstuffing), RSET, NOOP, QUIT. It records each message and can be
told to refuse the next recipients with a 4xx or 5xx reply.
"""

import base64
import socketserver
import threading
from collections import deque
from dataclasses import dataclass, field
from email import message_from_bytes
from email.policy import default as default_policy


@dataclass
class Received:
    """One message as the server accepted it."""

    mail_from: str
    rcpt_tos: list
    data: bytes
    login: str  # the user who authenticated, "" for none

    @property
    def message(self):
        """The parsed message (headers decoded, line ends as in Python)."""
        return message_from_bytes(self.data.replace(b"\r\n", b"\n"), policy=default_policy)


@dataclass
class FakeSmtp:
    """Start it, set SMTP_HOST/SMTP_PORT to its .host/.port."""

    username: str = ""
    password: str = ""
    received: list = field(default_factory=list)

    def __post_init__(self):
        self._refusals = deque()
        self._lock = threading.Lock()
        self._server = None

    def start(self):
        """Serve on 127.0.0.1 at a free port, in a thread."""
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    @property
    def host(self):
        return self._server.server_address[0]

    @property
    def port(self):
        return self._server.server_address[1]

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def reset(self):
        """Forget messages and planned refusals (between tests)."""
        with self._lock:
            self.received.clear()
            self._refusals.clear()

    def refuse_next(self, n=1, reply="550 5.1.1 No such user"):
        """Answer the next `n` RCPT commands with `reply` (e.g. a 451 for a busy server)."""
        with self._lock:
            self._refusals.extend([reply] * n)

    def next_refusal(self):
        with self._lock:
            return self._refusals.popleft() if self._refusals else None

    def record(self, received):
        with self._lock:
            self.received.append(received)


def _handler_for(server):
    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            self.reply("220 fake-smtp ESMTP ready")
            self.login, self.mail_from, self.rcpt_tos = "", None, []
            while line := self.rfile.readline():
                command, _, argument = line.decode().rstrip("\r\n").partition(" ")
                if not self.dispatch(command.upper(), argument):
                    return

        def reply(self, text):
            self.wfile.write(text.encode() + b"\r\n")

        def dispatch(self, command, argument):
            """Answer one command; False ends the session."""
            handlers = {"EHLO": self.ehlo, "HELO": lambda _a: self.reply("250 fake-smtp"),
                        "AUTH": self.auth, "MAIL": self.mail, "RCPT": self.rcpt,
                        "DATA": self.data, "RSET": self.rset,
                        "NOOP": lambda _a: self.reply("250 OK")}
            if command == "QUIT":
                self.reply("221 Bye")
                return False
            handlers.get(command, lambda _a: self.reply("502 Command not implemented"))(
                argument)
            return True

        def ehlo(self, _argument):
            lines = ["fake-smtp", "8BITMIME", "SMTPUTF8"]
            if server.username:
                lines.append("AUTH PLAIN LOGIN")
            lines.append("HELP")
            for line in lines[:-1]:
                self.reply(f"250-{line}")
            self.reply(f"250 {lines[-1]}")

        def auth(self, argument):
            mechanism, _, initial = argument.partition(" ")
            if mechanism.upper() == "PLAIN":
                _zid, user, password = base64.b64decode(initial).decode().split("\0")
            else:
                self.reply("334 VXNlcm5hbWU6")
                user = base64.b64decode(self.rfile.readline().strip()).decode()
                self.reply("334 UGFzc3dvcmQ6")
                password = base64.b64decode(self.rfile.readline().strip()).decode()
            if (user, password) == (server.username, server.password):
                self.login = user
                self.reply("235 2.7.0 Authentication successful")
            else:
                self.reply("535 5.7.8 Authentication credentials invalid")

        def mail(self, argument):
            if server.username and not self.login:
                self.reply("530 5.7.0 Authentication required")
                return
            self.mail_from, self.rcpt_tos = _address(argument), []
            self.reply("250 OK")

        def rcpt(self, argument):
            refusal = server.next_refusal()
            if refusal:
                self.reply(refusal)
                return
            self.rcpt_tos.append(_address(argument))
            self.reply("250 OK")

        def data(self, _argument):
            if self.mail_from is None or not self.rcpt_tos:
                self.reply("503 5.5.1 Need MAIL and RCPT first")
                return
            self.reply("354 End data with <CR><LF>.<CR><LF>")
            lines = []
            while (line := self.rfile.readline()) not in (b".\r\n", b""):
                lines.append(line[1:] if line.startswith(b".") else line)
            server.record(Received(self.mail_from, self.rcpt_tos, b"".join(lines), self.login))
            self.mail_from, self.rcpt_tos = None, []
            self.reply("250 OK queued")

        def rset(self, _argument):
            self.mail_from, self.rcpt_tos = None, []
            self.reply("250 OK")

    return Handler


def _address(argument):
    """The address in 'FROM:<a@b> SIZE=1' or 'TO:<a@b>'."""
    return argument.partition(":")[2].strip().split(" ")[0].strip("<>")
