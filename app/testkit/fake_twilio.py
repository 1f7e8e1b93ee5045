"""A local fake of Twilio's REST API, so tests run the real `twilio` client against it.

It answers POST /2010-04-01/Accounts/<sid>/Messages.json and Calls.json as Twilio
does (201 with a JSON resource, SID SM... or CA..., status queued), checks HTTP Basic
auth, records every request, and can be told to answer 500, to refuse a number (400,
code 21211) or to hang past the client's timeout for the next requests, or to fail a
share of all requests at random (HTTP 500 or a hang). It also posts status callbacks
back to the app, signed like Twilio signs them.

Standalone, for the fault scripts and for trying things by hand:

    .venv/bin/python -m app.testkit.fake_twilio --port 8099 \
        --error-rate 0.15 --hang-rate 0.05 --hang-seconds 2
"""

import argparse
import base64
import json
import random
import re
import secrets
import signal
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from twilio.request_validator import RequestValidator

API_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC\w+)/(?P<kind>Messages|Calls)\.json$")
PREFIX = {"Messages": "SM", "Calls": "CA"}


@dataclass
class Recorded:
    """One request as the fake received it."""

    method: str
    path: str
    kind: str  # Messages, Calls or "" for anything else
    form: dict  # field -> first value
    form_lists: dict  # field -> every value (StatusCallbackEvent repeats)
    authorization: str
    arrived_at: float  # time.monotonic()
    status: int = 0  # what the fake answered (0: it hung up)
    sid: str = ""
    answered_at: float = 0.0  # time.monotonic() when the answer (or the hang-up) was decided


@dataclass
class Fault:
    """How to answer one coming request instead of accepting it."""

    status: int = 500
    code: int = 20500
    message: str = "Internal Server Error"
    hang_seconds: float = 0.0


@dataclass
class FakeTwilio:
    """The fake server; start() it, point TWILIO_BASE_URL at .base_url."""

    account_sid: str = "AC" + "f" * 32
    auth_token: str = "fake-auth-token"
    requests: list = field(default_factory=list)
    # Besides the planned faults: this share of API requests answers HTTP 500, and this
    # share hangs for hang_seconds and hangs up (chosen at random, reproducible by seed).
    error_rate: float = 0.0
    hang_rate: float = 0.0
    hang_seconds: float = 2.0
    seed: int | None = None

    def __post_init__(self):
        self._random = random.Random(self.seed)
        self._faults = deque()
        self._lock = threading.Lock()
        self._hung_up = threading.Event()
        self._server = None

    # ------------------------------------------------------------ control

    def start(self, port=0):
        """Serve on 127.0.0.1 at `port` (default: a free one), in a thread."""
        self._server = _QuietServer(("127.0.0.1", port), _handler_for(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    @property
    def base_url(self):
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self):
        """Release hanging requests and shut the server down."""
        self._hung_up.set()
        self._server.shutdown()
        self._server.server_close()

    def reset(self):
        """Forget requests and planned faults (between tests)."""
        with self._lock:
            self.requests.clear()
            self._faults.clear()

    def fail_next(self, n=1, status=500, code=20500, message="Internal Server Error"):
        """Answer the next `n` API requests with this error."""
        with self._lock:
            self._faults.extend(Fault(status, code, message) for _ in range(n))

    def reject_next(self, n=1):
        """Refuse the next `n` requests as an invalid 'To' number (permanent, 400/21211)."""
        self.fail_next(n, 400, 21211, "The 'To' number is not a valid phone number.")

    def hang_next(self, n=1, seconds=2.0):
        """Keep the next `n` requests waiting `seconds`, then hang up without answering."""
        with self._lock:
            self._faults.extend(Fault(hang_seconds=seconds) for _ in range(n))

    # ------------------------------------------------------------ what happened

    @property
    def messages(self):
        """Accepted Messages requests (SMS handed to the 'network')."""
        return [r for r in self.requests if r.kind == "Messages" and r.status == 201]

    @property
    def calls(self):
        """Accepted Calls requests."""
        return [r for r in self.requests if r.kind == "Calls" and r.status == 201]

    def status_callback(self, client, sid, status, **extra):
        """POST Twilio's signed status callback for `sid` to the URL its request named."""
        request = next(r for r in self.requests if r.sid == sid)
        if sid.startswith("SM"):
            params = {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status,
                      "SmsStatus": status}
        else:
            params = {"CallSid": sid, "CallStatus": status, "Direction": "outbound-api",
                      "CallbackSource": "call-progress-events", "SequenceNumber": "0"}
        params.update({"AccountSid": self.account_sid, "From": request.form["From"],
                       "To": request.form["To"], "ApiVersion": "2010-04-01", **extra})
        return post_signed(client, request.form["StatusCallback"], params, self.auth_token)

    # ------------------------------------------------------------ serving

    def _next_fault(self):
        with self._lock:
            if self._faults:
                return self._faults.popleft()
            draw = self._random.random() if self.error_rate or self.hang_rate else 1.0
        if draw < self.error_rate:
            return Fault()
        if draw < self.error_rate + self.hang_rate:
            return Fault(hang_seconds=self.hang_seconds)
        return None

    def _authorized(self, header, sid):
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return header == f"Basic {expected}" and sid == self.account_sid

    def handle(self, method, path, body, authorization):
        """(status, JSON answer or None to hang up) for one request; records it."""
        form_lists = parse_qs(body.decode(), keep_blank_values=True)
        match = API_PATH.match(path) if method == "POST" else None
        recorded = Recorded(method, path, match["kind"] if match else "",
                            {k: v[0] for k, v in form_lists.items()}, form_lists,
                            authorization, time.monotonic())
        with self._lock:
            self.requests.append(recorded)
        status, answer = self._answer(match, recorded)
        recorded.status, recorded.sid = status, (answer or {}).get("sid", "")
        recorded.answered_at = time.monotonic()
        return status, answer

    def _answer(self, match, recorded):
        if match is None:
            return 404, _error(404, 20404, "The requested resource was not found")
        if not self._authorized(recorded.authorization, match["sid"]):
            return 401, _error(401, 20003, "Authenticate")
        fault = self._next_fault()
        if fault and fault.hang_seconds:
            self._hung_up.wait(fault.hang_seconds)
            return 0, None
        if fault:
            return fault.status, _error(fault.status, fault.code, fault.message)
        return 201, _resource(match["kind"], self.account_sid, recorded.form)


def _error(status, code, message):
    return {"code": code, "message": message, "status": status,
            "more_info": f"https://www.twilio.com/docs/errors/{code}"}


def _resource(kind, account_sid, form):
    sid = PREFIX[kind] + secrets.token_hex(16)
    now = formatdate(usegmt=True)
    common = {"sid": sid, "account_sid": account_sid, "to": form.get("To"),
              "from": form.get("From"), "status": "queued", "api_version": "2010-04-01",
              "date_created": now, "date_updated": now, "direction": "outbound-api",
              "price": None, "price_unit": "USD",
              "uri": f"/2010-04-01/Accounts/{account_sid}/{kind}/{sid}.json"}
    if kind == "Messages":
        return {**common, "body": form.get("Body"), "num_segments": "1", "num_media": "0",
                "date_sent": None, "error_code": None, "error_message": None,
                "messaging_service_sid": None}
    return {**common, "start_time": None, "end_time": None, "duration": None,
            "answered_by": None, "caller_name": None, "parent_call_sid": None}


class _QuietServer(ThreadingHTTPServer):
    """Says nothing when a client went away before its answer (killed, or timed out)."""

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _handler_for(fake):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: without this, Nagle's algorithm holds the
        # body until the client's delayed ACK (about 40 ms per request).
        disable_nagle_algorithm = True

        def do_POST(self):  # noqa: N802 (http.server's naming)
            self._serve()

        def do_GET(self):  # noqa: N802
            self._serve()

        def _serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, answer = fake.handle(self.command, urlsplit(self.path).path, body,
                                         self.headers.get("Authorization", ""))
            if answer is None:
                self.close_connection = True  # the client gave up long ago
                return
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass  # quiet test output

    return Handler


def post_signed(client, url, params, auth_token):
    """POST form `params` to the app's `url` with the X-Twilio-Signature Twilio would send."""
    parts = urlsplit(url)
    signature = RequestValidator(auth_token).compute_signature(url, params)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return client.post(path, data=params, base_url=f"{parts.scheme}://{parts.netloc}",
                       headers={"X-Twilio-Signature": signature})


# ---------------------------------------------------------------- standalone


def _parse(argv):
    parser = argparse.ArgumentParser(description="A local fake of Twilio's REST API.")
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument("--account-sid", default=FakeTwilio.account_sid)
    parser.add_argument("--auth-token", default=FakeTwilio.auth_token)
    parser.add_argument("--error-rate", type=float, default=0.0,
                        help="share of requests answered HTTP 500 (0-1)")
    parser.add_argument("--hang-rate", type=float, default=0.0,
                        help="share of requests left hanging, then hung up on (0-1)")
    parser.add_argument("--hang-seconds", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=None)
    return parser.parse_args(argv)


def main(argv=None):
    """Serve until SIGINT/SIGTERM; print the base URL first and the answers' tally last."""
    args = _parse(argv)
    fake = FakeTwilio(account_sid=args.account_sid, auth_token=args.auth_token,
                      error_rate=args.error_rate, hang_rate=args.hang_rate,
                      hang_seconds=args.hang_seconds, seed=args.seed).start(args.port)
    print(f"TWILIO_BASE_URL={fake.base_url} TWILIO_ACCOUNT_SID={fake.account_sid} "
          f"TWILIO_AUTH_TOKEN={fake.auth_token}", flush=True)
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    stopping.wait()
    fake.stop()
    tally = {}
    for request in fake.requests:
        tally[request.status] = tally.get(request.status, 0) + 1
    print("answers (0 = hung up):", dict(sorted(tally.items())), flush=True)


if __name__ == "__main__":
    main()
